"""Conversations in the web app (issue 14), in Chromium against a started local stack.

A person starts a conversation, sends messages and reads the assistant's answers; the list
shows the most recently active first with each one's status; a send whose answer was lost on
the way is retried with the same Idempotency-Key and posts once; the pages pass axe.

The fake model answers a message without directives with ``Done: <its first line>``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import DESKTOP, PHONE, SignIn, User, axe_violations, screenshot

TURN_MS = 30_000  # a chat turn of the fake model takes about a second; the thread polls at 1.5 s
CONVERSATION_URL = re.compile(r"/conversations/conv_[0-9A-HJKMNP-TV-Z]{26}$")


def messages_of(user: User, conversation_id: str) -> list[dict[str, Any]]:
    response = user.api("GET", f"/v1/conversations/{conversation_id}/messages", params={"limit": 200})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def start_conversation(user: User, **body: Any) -> dict[str, Any]:
    response = user.api("POST", "/v1/conversations", json=body)
    assert response.status_code == 201, response.text
    conversation: dict[str, Any] = response.json()
    return conversation


def message_box(page: Page) -> Any:
    return page.get_by_label("Message", exact=True)


def assistant_messages(page: Page) -> Any:
    return page.locator('[data-testid="message"][data-role="assistant"]')


def user_messages(page: Page) -> Any:
    return page.locator('[data-testid="message"][data-role="user"]')


def test_a_person_starts_a_conversation_and_reads_the_assistants_answers(sign_in: SignIn) -> None:
    user = sign_in("cleo")
    page = user.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Conversations").click()
    expect(page.get_by_role("heading", name="No conversations yet")).to_be_visible()
    page.get_by_role("link", name="New conversation").click()
    expect(page.get_by_role("heading", name="New conversation", level=1)).to_be_visible()

    box = message_box(page)
    box.fill("Plan the **launch**")
    box.press("Shift+Enter")  # a new line, not a send
    box.press_sequentially("with the whole team")
    expect(box).to_have_value("Plan the **launch**\nwith the whole team")
    expect(page).not_to_have_url(CONVERSATION_URL)
    box.press("Enter")

    expect(page).to_have_url(CONVERSATION_URL)
    conversation_id = page.url.rsplit("/", 1)[1]
    expect(user_messages(page)).to_have_count(1)
    expect(user_messages(page)).to_contain_text("Plan the **launch**")  # the person's text, as typed
    answer = assistant_messages(page)
    expect(answer).to_have_count(1, timeout=TURN_MS)
    expect(answer.get_by_label("Assistant message")).to_contain_text("Done: Plan the launch")
    expect(answer.locator("strong")).to_have_text("launch")  # the model's Markdown, rendered
    expect(page.get_by_test_id("assistant-working")).to_have_count(0)

    stored = messages_of(user, conversation_id)
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert stored[0]["text"] == "Plan the **launch**\nwith the whole team"
    assert stored[1]["text"].startswith("Done: Plan the **launch**")
    assert stored[0]["run_id"] is not None and stored[0]["run_id"] == stored[1]["run_id"]

    # A second turn, sent with the button this time: the box empties, a second answer comes.
    message_box(page).fill("Book the venue")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(message_box(page)).to_have_value("")
    expect(user_messages(page)).to_have_count(2)
    expect(user_messages(page).nth(1)).to_contain_text("Book the venue")
    expect(assistant_messages(page)).to_have_count(2, timeout=TURN_MS)
    expect(assistant_messages(page).nth(1)).to_contain_text("Done:")
    assert [m["role"] for m in messages_of(user, conversation_id)] == ["user", "assistant", "user", "assistant"]
    screenshot(page, "conversation-desktop")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Conversations").click()
    row = page.get_by_test_id("conversation")
    expect(row).to_have_count(1)
    expect(row.get_by_role("link")).to_have_attribute("href", f"/conversations/{conversation_id}")
    expect(row.locator(".badge")).to_have_attribute("data-status", re.compile("^(active|background|waiting_input)$"))


def test_the_list_shows_the_most_recently_active_conversation_first_with_its_status(sign_in: SignIn) -> None:
    user = sign_in("otto")
    older = start_conversation(user, title="Garden plans")
    start_conversation(user, title="Reading list")
    archived = start_conversation(user, title="Old trip")
    assert user.api("POST", f"/v1/conversations/{archived['id']}/archive").status_code == 200
    # A message to the oldest makes it the most recently active.
    posted = user.api("POST", f"/v1/conversations/{older['id']}/messages", json={"text": "Water the roses"})
    assert posted.status_code == 202, posted.text

    page = user.page
    page.goto("/conversations")
    titles = page.get_by_test_id("conversation").get_by_role("heading")
    # The others' order follows when the runner posted their answers (an answer is activity too).
    expect(titles).to_have_count(3)
    expect(titles.first).to_have_text("Garden plans")
    assert sorted(titles.all_inner_texts()) == ["Garden plans", "Old trip", "Reading list"]
    trip = page.get_by_test_id("conversation").filter(has_text="Old trip")
    expect(trip).to_have_attribute("data-status", "archived")
    expect(trip.get_by_text("Archived", exact=True)).to_be_visible()

    page.get_by_label("Status").select_option("archived")
    expect(titles).to_have_text(["Old trip"])


def test_a_send_whose_answer_was_lost_is_retried_with_the_same_key_and_posts_once(sign_in: SignIn) -> None:
    user = sign_in("ivo")
    conversation = start_conversation(user, title="Flaky network")
    page = user.page
    sent_keys: list[str | None] = []

    def drop_the_first_answer(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        sent_keys.append(route.request.headers.get("idempotency-key"))
        if len(sent_keys) == 1:
            route.fetch()  # the server stores the message...
            route.abort("connectionreset")  # ...and its answer never reaches the page
        else:
            route.continue_()

    page.route("**/v1/conversations/*/messages*", drop_the_first_answer)
    page.goto(f"/conversations/{conversation['id']}")
    message_box(page).fill("Only once, please")
    message_box(page).press("Enter")

    expect(message_box(page)).to_have_value("", timeout=15_000)  # the retry succeeded
    assert len(sent_keys) == 2, sent_keys
    assert sent_keys[0] and sent_keys[0] == sent_keys[1]
    expect(user_messages(page)).to_have_count(1)
    stored = [m for m in messages_of(user, conversation["id"]) if m["role"] == "user"]
    assert [m["text"] for m in stored] == ["Only once, please"]


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_conversation_pages_have_no_serious_or_critical_accessibility_violation(
    sign_in: SignIn, width: str
) -> None:
    user = sign_in("ada", viewport=DESKTOP if width == "desktop" else PHONE)
    page = user.page
    conversation = start_conversation(user, title="Weekly digest", message="Summarise the week's *incidents*")
    start_conversation(user, title="Someday")

    found: dict[str, list[dict[str, Any]]] = {}
    page.goto(f"/conversations/{conversation['id']}")
    expect(assistant_messages(page)).to_have_count(1, timeout=TURN_MS)
    found["conversation"] = axe_violations(page)
    screenshot(page, f"conversation-{width}")

    page.goto("/conversations")
    expect(page.get_by_test_id("conversation")).to_have_count(2)
    found["conversations"] = axe_violations(page)
    screenshot(page, f"conversations-{width}")

    page.goto("/conversations/new")
    expect(message_box(page)).to_be_visible()
    found["new-conversation"] = axe_violations(page)
    screenshot(page, f"new-conversation-{width}")

    summary = {
        name: [(v["id"], v["impact"], len(v["nodes"])) for v in violations] for name, violations in found.items()
    }
    assert all(not violations for violations in found.values()), summary
