"""The web app as a person uses it: in Chromium, against a started local stack.

Each journey of issue 13 is a test: sign in, create a cron task and see its preview, run it
now and watch it succeed, answer a question from the inbox, pause and resume, edit with a
stale version (the 412 is shown and the edits are kept), delete, and a second user who sees
none of it. The fake model ends a plain run with "Done:" and the prompt's first line, and
a prompt line ``ask: QUESTION`` makes it call ask_user.
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, SignIn, User, screenshot
from tests.e2e.conftest import RunningStack

RUN_SECONDS = 30_000  # ms: a run of the fake model takes about a second; the poll is 3 s


def open_task(user: User, name: str) -> None:
    user.page.goto("/")
    user.page.get_by_role("link", name=name, exact=True).click()
    expect(user.page.get_by_role("heading", name=name, level=1)).to_be_visible()


def test_a_person_creates_a_cron_task_and_sees_its_schedule_previewed_as_they_type(sign_in: SignIn) -> None:
    user = sign_in("alice")
    page = user.page
    expect(page.get_by_role("heading", name="No tasks yet")).to_be_visible()
    page.get_by_role("link", name="New task").click()
    page.get_by_label("Name").fill("Morning digest")
    page.get_by_label("Prompt").fill("Summarise the news about {{topic}}")
    expect(page.get_by_label("topic")).to_be_visible()  # a field for the detected variable
    page.get_by_label("topic").fill("volcanoes")

    expression = page.get_by_label(re.compile("^Cron expression"))
    expression.fill("0 9 * * 1-5")
    page.get_by_label("Time zone").fill("Europe/Berlin")
    preview = page.get_by_test_id("schedule-description")
    expect(preview).to_have_text("At 09:00, Monday through Friday (Europe/Berlin)")
    expect(page.get_by_test_id("occurrences").locator("li")).to_have_count(5)
    # A wrong expression: the API's message appears at the field it names.
    expression.fill("61 9 * * *")
    expect(expression).to_have_attribute("aria-invalid", "true")
    expect(page.locator("p.field-error").filter(has_text="minute")).to_be_visible()
    page.get_by_role("button", name="Every weekday at 09:00").click()
    expect(preview).to_have_text("At 09:00, Monday through Friday (Europe/Berlin)")
    screenshot(page, "task-form-desktop")

    page.get_by_role("button", name="Create task").click()
    expect(page.get_by_role("heading", name="Morning digest", level=1)).to_be_visible()
    expect(page.get_by_text("At 09:00, Monday through Friday (Europe/Berlin)")).to_be_visible()
    task = user.api("GET", "/v1/tasks").json()["items"][0]
    assert task["schedule"] == {
        "type": "cron",
        "expression": "0 9 * * 1-5",
        "timezone": "Europe/Berlin",
        "dst": None,  # the default DST policy ("auto": Debian cron's rule)
        "start_at": None,
        "end_at": None,
    }
    assert task["variables"] == {"topic": "volcanoes"}

    page.get_by_role("link", name="Tasks", exact=True).click()
    card = page.get_by_test_id("task-card").filter(has_text="Morning digest")
    expect(card.get_by_text("At 09:00, Monday through Friday (Europe/Berlin)")).to_be_visible()
    expect(card.locator("time.countdown")).to_have_text(re.compile(r"^in \d+"))


def test_server_validation_errors_appear_at_the_field_they_name(sign_in: SignIn) -> None:
    page = sign_in("vera").page
    page.get_by_role("link", name="New task").click()
    page.get_by_label("Name").fill("x" * 300)
    page.get_by_label("Prompt").fill("hello")
    page.get_by_role("button", name="Create task").click()
    name = page.get_by_label("Name")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#task-name-error")).to_contain_text("at most")


def test_run_now_shows_the_run_succeed_without_a_reload(sign_in: SignIn) -> None:
    user = sign_in("rita")
    user.create_task(name="Greeter", prompt="Greet the **team**")
    open_task(user, "Greeter")
    page = user.page
    page.get_by_role("button", name="Run now").click()
    row = page.get_by_test_id("run-row").first
    expect(row).to_have_attribute("data-status", "SUCCEEDED", timeout=RUN_SECONDS)
    expect(row).to_contain_text("manual")
    row.get_by_role("link").click()
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "SUCCEEDED")
    output = page.get_by_label("Run output")
    expect(output).to_contain_text("Done:")
    expect(output.locator("strong")).to_have_text("team")  # Markdown, rendered
    page.get_by_text("Transcript").click()
    expect(page.locator(".message.assistant")).to_contain_text("Done:")
    screenshot(page, "run-desktop")


def test_run_now_asks_for_the_prompts_variables(sign_in: SignIn) -> None:
    user = sign_in("vic")
    user.create_task(name="Weather", prompt="Weather in {{city}}", variables={"city": "Oslo"})
    open_task(user, "Weather")
    page = user.page
    page.get_by_role("button", name="Run now").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("city")).to_have_value("Oslo")
    dialog.get_by_label("city").fill("Lima")
    dialog.get_by_role("button", name="Start the run").click()
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "SUCCEEDED", timeout=RUN_SECONDS)
    expect(page.get_by_label("Run output")).to_contain_text("Weather in Lima")


def test_a_question_from_a_run_is_answered_from_the_inbox_and_the_run_resumes(sign_in: SignIn) -> None:
    user = sign_in("quinn")
    task = user.create_task(name="Asker", prompt="Plan the week\nask: Which colour?", agent={"tools": ["ask_user"]})
    assert user.api("POST", f"/v1/tasks/{task['id']}/runs", json={}).status_code == 202
    page = user.page
    expect(page.get_by_test_id("question-count")).to_have_text("1", timeout=RUN_SECONDS)
    page.get_by_role("link", name=re.compile("^Questions")).click()
    card = page.get_by_test_id("question")
    expect(card).to_contain_text("Which colour?")
    screenshot(page, "questions-desktop")
    card.get_by_label("Your answer").fill("blue")
    card.get_by_role("button", name="Send answer").click()
    expect(page.get_by_text("Answer sent")).to_be_visible()
    expect(page.get_by_test_id("question-count")).to_have_text("0", timeout=RUN_SECONDS)
    run = user.api("GET", f"/v1/tasks/{task['id']}/runs").json()["items"][0]
    page.goto(f"/runs/{run['id']}")
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "SUCCEEDED", timeout=RUN_SECONDS)
    expect(page.get_by_label("Run output")).to_contain_text("Answer received: blue")


def test_pause_with_a_reason_greys_the_task_and_resume_brings_it_back(sign_in: SignIn) -> None:
    user = sign_in("paula")
    user.create_task(name="Nightly", schedule={"type": "cron", "expression": "0 2 * * *", "timezone": "UTC"})
    open_task(user, "Nightly")
    page = user.page
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("dialog").get_by_label(re.compile("^Reason")).fill("on holiday")
    page.get_by_role("dialog").get_by_role("button", name="Pause the task").click()
    expect(page.locator(".paused-reason")).to_have_text("on holiday")
    page.get_by_role("link", name="Tasks", exact=True).click()
    card = page.get_by_test_id("task-card").filter(has_text="Nightly")
    expect(card).to_have_class(re.compile("paused"))
    expect(card).to_contain_text("Paused: on holiday")
    page.get_by_label("State").select_option("active")
    expect(card).to_be_hidden()
    page.get_by_label("State").select_option("paused")
    expect(card).to_be_visible()
    card.get_by_role("link", name="Nightly").click()
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    assert user.api("GET", "/v1/tasks").json()["items"][0]["enabled"] is True


def test_an_edit_over_a_newer_version_shows_the_conflict_and_keeps_the_edits(sign_in: SignIn) -> None:
    user = sign_in("eddie")
    task = user.create_task(name="Report", prompt="first version")
    open_task(user, "Report")
    page = user.page
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Prompt").fill("my version")
    # Meanwhile, another window saves a change.
    theirs = user.api("PATCH", f"/v1/tasks/{task['id']}", json={"name": "Report (theirs)"}, headers={"If-Match": '"1"'})
    assert theirs.status_code == 200, theirs.text
    page.get_by_role("button", name="Save changes").click()
    conflict = page.get_by_test_id("conflict")
    expect(conflict).to_contain_text("Someone else changed this task")
    expect(conflict).to_contain_text("version 2")
    expect(page.get_by_label("Prompt")).to_have_value("my version")  # not lost
    screenshot(page, "edit-conflict-desktop")
    conflict.get_by_role("button", name=re.compile("^Keep my edits")).click()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_test_id("task-version")).to_have_text("3")
    saved = user.api("GET", f"/v1/tasks/{task['id']}").json()
    assert saved["prompt"] == "my version"


def test_delete_asks_for_confirmation_then_the_task_is_gone(sign_in: SignIn) -> None:
    user = sign_in("dora")
    user.create_task(name="Throwaway")
    user.create_task(name="Keeper")
    open_task(user, "Throwaway")
    page = user.page
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Keep it").click()
    expect(page.get_by_role("heading", name="Throwaway", level=1)).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete the task").click()
    expect(page.get_by_role("heading", name="Tasks", exact=True)).to_be_visible()
    expect(page.get_by_test_id("task-card")).to_have_count(1)
    expect(page.get_by_test_id("task-card")).to_contain_text("Keeper")


def test_a_second_user_sees_none_of_the_first_users_tasks_runs_or_questions(sign_in: SignIn) -> None:
    alice = sign_in("alice")
    task = alice.create_task(name="Secret plan", prompt="ask: Ready?", agent={"tools": ["ask_user"]})
    alice.api("POST", f"/v1/tasks/{task['id']}/runs", json={})
    expect(alice.page.get_by_test_id("question-count")).to_have_text("1", timeout=RUN_SECONDS)
    bob = sign_in("bob")
    page = bob.page
    expect(page.get_by_role("heading", name="No tasks yet")).to_be_visible()
    expect(page.get_by_test_id("question-count")).to_have_text("0")
    expect(page.get_by_text("Secret plan")).to_have_count(0)
    page.goto(f"/tasks/{task['id']}")
    expect(page.get_by_role("alert")).to_contain_text("not found")
    page.get_by_role("link", name="Statistics").click()
    expect(page.get_by_text("Your last 0 runs")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("User name")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('agentcron.token')") is None


def test_model_output_with_scripts_handlers_and_javascript_links_renders_inert(sign_in: SignIn) -> None:
    user = sign_in("mallory")
    hostile = (
        "<script>window.__pwned = 'script'</script>"
        "<img src=x onerror=\"window.__pwned = 'img'\">"
        " [click me](javascript:window.__pwned='link')"
        " <a href=\"javascript:window.__pwned='a'\">tap</a>"
    )
    task = user.create_task(name="Hostile", prompt=hostile)
    run = user.api("POST", f"/v1/tasks/{task['id']}/runs", json={}).json()
    page = user.page
    page.goto(f"/runs/{run['id']}")
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "SUCCEEDED", timeout=RUN_SECONDS)
    output = page.get_by_label("Run output")
    expect(output).to_contain_text("Done:")
    assert "<script>" in user.api("GET", f"/v1/runs/{run['id']}").json()["output"]  # it did reach the output
    assert output.locator("script").count() == 0
    assert output.locator("[onerror]").count() == 0
    for link in output.locator("a").all():
        assert not (link.get_attribute("href") or "").lower().startswith("javascript:")
    for text in ("click me", "tap"):
        output.get_by_text(text).click()
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None


def test_statistics_chart_the_accounts_runs(sign_in: SignIn) -> None:
    user = sign_in("stan")
    task = user.create_task(name="Counter")
    for _ in range(2):
        # One after the other: a run-now while the last is still running is refused (overlap skip).
        run = user.api("POST", f"/v1/tasks/{task['id']}/runs", json={}).json()
        deadline = time.monotonic() + RUN_SECONDS / 1000
        while user.api("GET", f"/v1/runs/{run['id']}").json()["status"] not in ("SUCCEEDED", "FAILED"):
            assert time.monotonic() < deadline, run
            time.sleep(0.1)
    page = user.page
    page.get_by_role("link", name="Statistics").click()
    stats = page.get_by_test_id("account-stats")
    expect(stats).to_contain_text("100%", timeout=RUN_SECONDS)
    expect(page.locator(".charts canvas")).to_have_count(4)
    open_task(user, "Counter")
    expect(page.get_by_test_id("task-stats")).to_contain_text("of 2 runs", timeout=RUN_SECONDS)
    expect(page.locator(".stats .charts canvas")).to_have_count(4)


def test_the_app_works_at_phone_width(sign_in: SignIn) -> None:
    user = sign_in("phoebe", viewport=PHONE)
    user.create_task(name="Pocket task", schedule={"type": "preset", "preset": "daily", "timezone": "UTC"})
    page: Page = user.page
    page.reload()
    card = page.get_by_test_id("task-card")
    expect(card).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways at phone width ({width} px)"


def test_a_connectors_tools_are_granted_from_the_task_form(sign_in: SignIn, web_stack: RunningStack) -> None:
    demo_url = re.search(r"demo MCP: +(\S+)", web_stack.output())
    assert demo_url, web_stack.output()
    user = sign_in("connie")
    connector = user.api("POST", "/v1/connectors", json={"name": "mail", "url": demo_url[1]}).json()
    assert user.api("POST", f"/v1/connectors/{connector['id']}/test").json()["ok"]
    page = user.page
    page.goto("/")
    page.get_by_role("link", name="New task").click()
    page.get_by_label("Name").fill("Receipt finder")
    page.get_by_label("Prompt").fill('Find the receipt\ntool: mail__search_messages {"query": "receipt"}')
    page.get_by_label(re.compile("^Cron expression")).fill("*/5 * * * *")
    connected = page.get_by_role("group", name="Your connectors' tools")
    connected.get_by_role("checkbox", name=re.compile("^mail__search_messages")).check()
    page.get_by_role("button", name="Create task").click()
    expect(page.get_by_role("heading", name="Receipt finder", level=1)).to_be_visible()
    task = user.api("GET", "/v1/tasks").json()["items"][0]
    assert task["agent"]["connectors"] == [{"connector": connector["id"], "tools": ["search_messages"]}]
    # An edit keeps the grant, and fields the form does not show.
    user.api("PATCH", f"/v1/tasks/{task['id']}", json={"agent": {**task["agent"], "disallowed_tools": ["web_fetch"]}},
             headers={"If-Match": f'"{task["version"]}"'})  # fmt: skip
    page.goto(f"/tasks/{task['id']}/edit")
    expect(connected.get_by_role("checkbox", name=re.compile("^mail__search_messages"))).to_be_checked()
    page.get_by_label("Name").fill("Receipt finder 2")
    page.get_by_role("button", name=re.compile("^Save")).click()
    expect(page.get_by_role("heading", name="Receipt finder 2", level=1)).to_be_visible()
    saved = user.api("GET", f"/v1/tasks/{task['id']}").json()
    assert saved["agent"]["connectors"] == task["agent"]["connectors"]
    assert saved["agent"]["disallowed_tools"] == ["web_fetch"]
    # Another person sees none of them.
    other = sign_in("nobody")
    other.page.goto("/")
    other.page.get_by_role("link", name="New task").click()
    expect(other.page.get_by_text("Tools the agent may use")).to_be_visible()
    expect(other.page.get_by_role("group", name="Your connectors' tools")).to_have_count(0)


def test_a_report_is_asked_for_in_the_form_and_downloaded_from_the_run(sign_in: SignIn) -> None:
    user = sign_in("rory")
    page = user.page
    page.goto("/")
    page.get_by_role("link", name="New task").click()
    page.get_by_label("Name").fill("Weekly report")
    page.get_by_label("Prompt").fill("Summarise the week")
    page.get_by_label(re.compile("^Cron expression")).fill("0 9 * * 1")
    page.get_by_text("Advanced: model, limits and policies").click()
    page.get_by_label("Report of each run").select_option("pdf")
    page.get_by_role("button", name="Create task").click()
    expect(page.get_by_role("heading", name="Weekly report", level=1)).to_be_visible()
    task = user.api("GET", "/v1/tasks").json()["items"][0]
    assert task["report"] == {"format": "pdf"}

    run = user.api("POST", f"/v1/tasks/{task['id']}/runs", json={}).json()
    page.goto(f"/runs/{run['id']}")
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "SUCCEEDED", timeout=RUN_SECONDS)
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download the report (PDF)").click()
    download = downloading.value
    assert download.suggested_filename.endswith(".pdf"), download.suggested_filename
    path = download.path()
    assert path is not None and path.read_bytes().startswith(b"%PDF")
