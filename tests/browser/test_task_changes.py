"""The task page's Changes section (issue 16's history) in Chromium against a started local
stack: a change made in the app is recorded as the web app's, and an edit's before and after
are shown as text, whatever they hold."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import SignIn
from tests.browser.test_web_app import open_task

HOSTILE_NAME = "<img src=x onerror=\"window.__pwned = 'img'\">"


def test_the_changes_show_who_how_and_an_edits_before_and_after_as_text(sign_in: SignIn) -> None:
    user = sign_in("hilda")
    task = user.create_task(name="Ledger")
    renamed = user.api("PATCH", f"/v1/tasks/{task['id']}", json={"name": HOSTILE_NAME})
    assert renamed.status_code == 200, renamed.text
    page = user.page
    open_task(user, HOSTILE_NAME)

    page.get_by_role("button", name="Pause").click()
    page.get_by_label("Reason (shown on the task)").fill("audit week")
    page.get_by_role("dialog").get_by_role("button", name="Pause the task").click()
    expect(page.get_by_text("Paused.", exact=True)).to_be_visible()

    changes = page.get_by_test_id("task-changes")
    rows = changes.locator("tbody tr")
    expect(rows).to_have_count(3)
    paused, edited, created = rows.all()
    expect(paused).to_contain_text("Paused")
    expect(paused).to_contain_text("web")  # clicked in the app
    expect(paused).to_contain_text("audit week")
    expect(edited).to_contain_text("Edited")
    expect(edited).to_contain_text("api")  # a plain API call
    expect(edited.locator("del")).to_have_text("Ledger")
    expect(edited.locator("ins")).to_have_text(HOSTILE_NAME)  # the markup as text, never an element
    expect(created).to_contain_text("Created")
    assert changes.locator("img").count() == 0
    assert page.evaluate("window.__pwned") is None
