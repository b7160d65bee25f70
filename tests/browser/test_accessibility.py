"""Every page of the web app passes axe-core with no serious or critical violation, at desktop
and phone width, and leaves a screenshot of itself in tests/browser/screenshots/ for review."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS, SignIn, axe_violations, screenshot
from tests.e2e.conftest import RunningStack

DOCS_SCREENSHOT = SCREENSHOTS.parents[2] / "docs" / "web-tasks.png"


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_every_page_has_no_serious_or_critical_accessibility_violation(
    sign_in: SignIn, browser: object, web_stack: RunningStack, width: str
) -> None:
    viewport = DESKTOP if width == "desktop" else PHONE
    # The sign-in page, before anyone is signed in.
    signer_page = sign_in.browser.new_context(viewport=viewport, base_url=web_stack.url).new_page()
    signer_page.goto("/")
    expect(signer_page.get_by_label("User name")).to_be_visible()
    found = {"sign-in": axe_violations(signer_page)}
    screenshot(signer_page, f"sign-in-{width}")
    signer_page.context.close()

    user = sign_in("ada", viewport=viewport)
    page = user.page
    daily = user.create_task(
        name="Incident digest",
        description="Every weekday morning",
        prompt="Summarise the open incidents for {{team}}",
        variables={"team": "payments"},
        schedule={"type": "cron", "expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"},
        tags=["ops"],
    )
    user.create_task(
        name="Weekly report", schedule={"type": "preset", "preset": "weekly", "timezone": "UTC"}, tags=["reports"]
    )
    paused = user.create_task(name="Cleanup", schedule={"type": "interval", "every_seconds": 3600})
    user.api("POST", f"/v1/tasks/{paused['id']}/disable", json={"reason": "waiting for the migration"})
    asker = user.create_task(name="Planner", prompt="ask: Which day suits you?", agent={"tools": ["ask_user"]})
    run = user.api("POST", f"/v1/tasks/{daily['id']}/runs", json={}).json()
    user.api("POST", f"/v1/tasks/{asker['id']}/runs", json={})

    page.goto(f"/runs/{run['id']}")
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "SUCCEEDED", timeout=30_000)
    page.get_by_text("Transcript").click()
    expect(page.locator(".message").first).to_be_visible()
    found["run"] = axe_violations(page)
    screenshot(page, f"run-{width}")

    expect(page.get_by_test_id("question-count")).to_have_text("1", timeout=30_000)
    pages = {
        "tasks": ("/", lambda: expect(page.get_by_test_id("task-card")).to_have_count(4)),
        "new-task": ("/tasks/new", lambda: expect(page.get_by_test_id("occurrences").locator("li")).to_have_count(5)),
        "task": (f"/tasks/{daily['id']}", lambda: expect(page.locator(".stats .charts canvas")).to_have_count(4)),
        "edit-task": (
            f"/tasks/{daily['id']}/edit",
            lambda: expect(page.get_by_test_id("schedule-description")).to_be_visible(),
        ),
        "questions": ("/questions", lambda: expect(page.get_by_test_id("question")).to_have_count(1)),
        "statistics": ("/stats", lambda: expect(page.locator(".charts canvas")).to_have_count(4)),
    }
    for name, (path, ready) in pages.items():
        page.goto(path)
        ready()
        page.wait_for_timeout(200)  # the countdowns' and charts' first paint
        found[name] = axe_violations(page)
        screenshot(page, f"{name}-{width}")
    if width == "desktop":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(SCREENSHOTS / "tasks-desktop.png", DOCS_SCREENSHOT)

    summary = {
        name: [(v["id"], v["impact"], len(v["nodes"])) for v in violations] for name, violations in found.items()
    }
    assert all(not violations for violations in found.values()), summary
