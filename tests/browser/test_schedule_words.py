"""The schedule builder's "Say when" field, in Chromium against a started local stack: words
fill the builder with the schedule the API read, and words it cannot read offer phrases it can."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import SignIn, axe_violations, screenshot


def test_words_fill_the_schedule_builder_and_a_refusal_offers_phrases(sign_in: SignIn) -> None:
    user = sign_in("words")
    page = user.page
    page.get_by_role("link", name="New task").click()
    page.get_by_label("Name").fill("Standup notes")
    page.get_by_label("Prompt").fill("Collect the standup notes")

    words = page.get_by_label("Say when")
    words.fill("every weekday at 9am Tokyo time")
    words.press("Enter")  # reads the words; does not submit the task form
    preview = page.get_by_test_id("schedule-description")
    expect(preview).to_have_text("At 09:00, Monday through Friday (Asia/Tokyo)")
    expect(page.get_by_label(re.compile("^Cron expression"))).to_have_value("0 9 * * 1-5")
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    expect(page.get_by_role("heading", name="Standup notes", level=1)).to_have_count(0)

    words.fill("at 9am")
    page.get_by_role("button", name="Use", exact=True).click()
    expect(words).to_have_attribute("aria-invalid", "true")
    expect(page.locator("p.field-error").filter(has_text="does not say which days")).to_be_visible()
    suggestions = page.get_by_label("Phrases it understands")
    expect(suggestions.get_by_role("button", name="every day at 9am", exact=True)).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "say-when-suggestions")

    suggestions.get_by_role("button", name="every day at 9am", exact=True).click()
    expect(words).to_have_value("every day at 9am")
    expect(preview).to_have_text("At 09:00 (Asia/Tokyo)")
    expect(page.get_by_test_id("occurrences").locator("li")).to_have_count(5)
    # Shown in the schedule's zone, not the browser's (UTC here): 09:00 in Tokyo.
    expect(page.get_by_test_id("occurrences").locator("li").first).to_contain_text(re.compile(r"\b0?9:00"))

    words.fill("every 15 minutes")
    words.press("Enter")
    expect(page.get_by_label("Every", exact=True)).to_have_value("15")
    expect(preview).to_have_text("Every 15 minutes starting when the task is created")

    page.get_by_role("button", name="Create task").click()
    expect(page.get_by_role("heading", name="Standup notes", level=1)).to_be_visible()
    task = user.api("GET", "/v1/tasks").json()["items"][0]
    assert task["schedule"]["type"] == "interval" and task["schedule"]["every_seconds"] == 900
