"""`agentcron chat` and `agentcron conversations`: how a thread is drawn (untrusted text cleaned,
Markdown on a terminal, run cards, waiting questions and the answers they take), when a chat turn
is over, and the requests the commands send against a scripted API (tests.unit.test_cli_requests)."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from agentcron_local.cli.conversations import ends_turn, failure
from agentcron_local.cli.thread import Look, answer_choices, clean, describe_question, render_message

from tests.unit.test_cli_requests import CliRunner, run_cli

__all__ = ["run_cli"]  # the fixture

CONV = "conv_01HZX3J5Q8W2M7N4K6P9R1T3V5"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
FAST = ("--interval", "0.01")


def conversation(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": CONV,
        "title": "Morning checks",
        "status": "active",
        "created_at": "2026-05-01T09:00:00Z",
        "updated_at": "2026-05-01T09:05:00Z",
        "task_ids": [],
        "waiting": [],
        "_links": {"self": {"href": f"/v1/conversations/{CONV}"}},
    }
    return {**document, **overrides}


def message(number: int, role: str, text: str = "", **overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": f"msg_01HZX3J5Q8W2M7N4K6P9R1T{number:03d}",
        "conversation_id": CONV,
        "created_at": "2026-05-01T09:00:00Z",
        "role": role,
        "text": text,
        "run_id": None,
        "task_id": None,
        "run_status": None,
        "question": None,
        "answers_run_id": None,
        "action": None,
    }
    return {**document, **overrides}


def waiting(kind: str, options: list[str] | None = None, run_id: str = "run_W1") -> dict[str, Any]:
    return {
        "run_id": run_id,
        "task_id": "task_T1",
        "question": "Deploy now?",
        "question_kind": kind,
        "question_options": options,
    }


def page(*items: dict[str, Any], has_more: bool = False) -> dict[str, Any]:
    return {"items": list(items), "has_more": has_more}


# --------------------------------------------------------------- untrusted text


def test_control_characters_are_stripped_and_layout_kept() -> None:
    hostile = "ok\x1b]0;owned\x07 \x1b[2Jnext\rline\u202eevil\x9b31m\nsecond\tcolumn"
    assert clean(hostile) == "ok]0;owned [2Jnextlineevil31m\nsecond\tcolumn"


@pytest.mark.parametrize("look", [Look(), Look(markdown=True, colour=True, width=80)], ids=["pipe", "terminal"])
def test_no_escape_from_the_model_reaches_the_terminal(look: Look) -> None:
    text = "Done\x1b]8;;https://evil.example\x07click\x1b]8;;\x07 \x1b[31mred\x1b[0m"
    shown = render_message(message(1, "assistant", text, run_id="run_C1"), look)
    assert "\x07" not in shown and "\x1b]" not in shown, "no OSC sequence (title, hyperlink) gets through"
    sgr_removed = re.sub(r"\x1b\[[0-9;]*m", "", shown)  # rich's own colours, on a terminal
    assert "\x1b" not in sgr_removed
    assert "]8;;https://evil.exampleclick]8;; [31mred[0m" in sgr_removed, "the text is shown, defused"


def test_markdown_is_rendered_on_a_terminal_and_kept_as_written_in_a_pipe() -> None:
    text = "# Report\n\n* first item\n* [the docs](https://docs.example/x)\n\nUse `make test`."
    answer = message(2, "assistant", text, run_id="run_C1")
    terminal = render_message(answer, Look(markdown=True, width=80))
    assert "# Report" not in terminal and "Report" in terminal
    assert "• first item" in terminal
    assert "https://docs.example/x" in terminal, "a link's target stays in view"
    piped = render_message(answer, Look())
    assert piped.splitlines() == [
        "assistant  2026-05-01T09:00:00Z",
        "  # Report",
        "",
        "  * first item",
        "  * [the docs](https://docs.example/x)",
        "",
        "  Use `make test`.",
    ]


def test_markup_in_text_is_not_console_markup() -> None:
    shown = render_message(message(3, "user", "[bold red]not a style[/] and [link=x]y[/link]"), Look(colour=True))
    assert "[bold red]not a style[/] and [link=x]y[/link]" in shown


# ----------------------------------------------------------------- run cards


def test_a_run_message_is_a_card_with_its_status_and_question() -> None:
    asked = message(
        4,
        "run",
        "I need a decision.",
        run_id="run_W1",
        task_id="task_T1",
        run_status="WAITING_INPUT",
        question={"text": "Which region?", "kind": "choice", "options": ["eu-west-1", "us-east-1"]},
    )
    piped = render_message(asked, Look())
    assert piped.splitlines() == [
        "run  run_W1 of task task_T1: WAITING_INPUT  2026-05-01T09:00:00Z",
        "  I need a decision.",
        "  asks: Which region? [eu-west-1/us-east-1]",
    ]
    card = render_message(asked, Look(markdown=True, width=80)).splitlines()
    assert card[0].startswith("╭─ run  run_W1 of task task_T1: WAITING_INPUT")
    assert card[-1].startswith("╰") and any("asks: Which region? [eu-west-1/us-east-1]" in line for line in card)


def test_an_action_message_says_what_was_done_and_how_to_undo_it() -> None:
    action = {
        "tool": "create_task",
        "summary": "Created task 'Morning checks', every day at 09:00",
        "task_id": "task_T1",
        "run_id": None,
        "undo": {"method": "DELETE", "href": "/v1/tasks/task_T1", "body": None},
    }
    shown = render_message(message(5, "action", "", task_id="task_T1", action=action), Look())
    assert shown.splitlines() == [
        "action  create_task  2026-05-01T09:00:00Z",
        "  Created task 'Morning checks', every day at 09:00",
        "  task task_T1",
        "  undo: DELETE /v1/tasks/task_T1",
    ]


def test_a_user_answer_names_the_run_it_answers() -> None:
    shown = render_message(message(6, "user", "yes", answers_run_id="run_W1"), Look())
    assert shown.splitlines() == ["user  (answer to run run_W1)  2026-05-01T09:00:00Z", "  yes"]


# --------------------------------------------------------------- questions


@pytest.mark.parametrize(
    ("kind", "options", "choices"),
    [
        ("confirm", None, ["yes", "no"]),
        ("choice", ["eu-west-1", "us-east-1"], ["eu-west-1", "us-east-1"]),
        ("choice", ["bad\x1b[2Joption"], ["bad[2Joption"]),
        ("choice", None, None),
        ("free_text", None, None),
    ],
)
def test_the_answers_a_question_takes(kind: str, options: list[str] | None, choices: list[str] | None) -> None:
    assert answer_choices(kind, options) == choices


def test_a_question_is_described_with_its_answers() -> None:
    assert describe_question("Deploy now?", "confirm", None) == "Deploy now? [yes/no]"
    assert describe_question("Why?", "free_text", None) == "Why?"


# ------------------------------------------------------------- the end of a turn


def test_a_chat_turn_ends_with_its_own_assistant_or_error_message() -> None:
    posted = message(10, "user", "hello", run_id="run_C1")
    assert ends_turn(posted, message(11, "assistant", "Done: hello", run_id="run_C1"))
    assert ends_turn(posted, message(11, "error", "failed", run_id="run_C1"))
    assert not ends_turn(posted, message(11, "assistant", "an older turn", run_id="run_C0"))
    assert not ends_turn(posted, message(11, "action", "", run_id="run_C1"))
    assert not ends_turn(posted, message(11, "run", "report", run_id="run_C1"))


def test_an_answer_ends_with_the_answered_runs_next_message() -> None:
    posted = message(10, "user", "yes", answers_run_id="run_W1")
    assert ends_turn(posted, message(11, "run", "Answer received: yes", run_id="run_W1", run_status="SUCCEEDED"))
    assert not ends_turn(posted, message(11, "run", "another run", run_id="run_X9", run_status="SUCCEEDED"))
    assert not ends_turn(posted, message(11, "assistant", "chat", run_id="run_W1"))


def test_which_endings_are_failures() -> None:
    assert failure(message(1, "error", "", run_id="run_C1")) == "the assistant could not answer (run run_C1)"
    assert failure(message(1, "run", "", run_id="run_W1", run_status="TIMED_OUT")) == "run run_W1 ended TIMED_OUT"
    assert failure(message(1, "run", "", run_id="run_W1", run_status="WAITING_INPUT")) is None
    assert failure(message(1, "assistant", "fine", run_id="run_C1")) is None


# ------------------------------------------------------------ chat --message


def test_chat_message_creates_a_conversation_and_prints_the_answer(run_cli: CliRunner) -> None:
    first = message(1, "user", "hello", run_id="run_C1")
    action = message(2, "action", "", action={"tool": "list_tasks", "summary": "Read 0 tasks", "undo": None})
    answer = message(3, "assistant", "Done: hello", run_id="run_C1")
    result = run_cli(
        "chat", "--message", "hello", "--title", "Greetings", *FAST,
        answers=[
            (201, conversation(), {"Location": f"/v1/conversations/{CONV}"}),
            (200, page(first)),
            (200, page()),
            (200, page(action, answer)),
            (200, conversation()),
        ],
    )  # fmt: skip
    assert result.code == 0, result.err
    create, first_read, poll, second_poll, _ = result.sent
    assert (create.method, create.path, create.body) == (
        "POST",
        "/v1/conversations",
        {"title": "Greetings", "message": "hello"},
    )
    assert UUID.match(create.headers["Idempotency-Key"])
    assert first_read.query == {"limit": "200"}
    assert poll.path == f"/v1/conversations/{CONV}/messages" and poll.query["after"] == first["id"]
    assert second_poll.query["after"] == first["id"], "an empty poll moves nothing on"
    assert "Done: hello" in result.out and "Read 0 tasks" in result.out
    assert result.out.index("Read 0 tasks") < result.out.index("Done: hello")
    assert "hello\n" not in result.out.replace("Done: hello\n", ""), "the user's own message is not echoed"
    assert f"agentcron chat {CONV}" in result.err


def test_chat_message_continues_a_conversation_and_reads_every_page(run_cli: CliRunner) -> None:
    posted = message(10, "user", "status?", run_id="run_C2")
    background = message(
        11, "run", "Nightly report: all green", run_id="run_N1", task_id="task_T1", run_status="SUCCEEDED"
    )
    answer = message(12, "assistant", "Done: status?", run_id="run_C2")
    result = run_cli(
        "chat", CONV, "-m", "status?", *FAST,
        answers=[(202, posted), (200, page(background, has_more=True)), (200, page(answer)), (200, conversation())],
    )  # fmt: skip
    assert result.code == 0, result.err
    post, first_page, second_page, _ = result.sent
    assert (post.path, post.body) == (f"/v1/conversations/{CONV}/messages", {"text": "status?"})
    assert first_page.query["after"] == posted["id"] and second_page.query["after"] == background["id"]
    assert "run  run_N1 of task task_T1: SUCCEEDED" in result.out and "Done: status?" in result.out


def test_an_error_message_ends_the_turn_with_exit_6(run_cli: CliRunner) -> None:
    posted = message(10, "user", "hello", run_id="run_C2")
    error = message(11, "error", "The assistant failed after 3 attempts.", run_id="run_C2")
    result = run_cli(
        "chat", CONV, "-m", "hello", *FAST, answers=[(202, posted), (200, page(error)), (200, conversation())]
    )
    assert result.code == 6
    assert "The assistant failed after 3 attempts." in result.out
    assert "agentcron: the assistant could not answer (run run_C2)" in result.err


def test_an_answer_to_a_waiting_run_waits_for_that_runs_message(run_cli: CliRunner) -> None:
    posted = message(10, "user", "yes", answers_run_id="run_W1")
    other = message(11, "run", "Other report", run_id="run_X9", task_id="task_T2", run_status="FAILED")
    resumed = message(12, "run", "Answer received: yes", run_id="run_W1", task_id="task_T1", run_status="SUCCEEDED")
    result = run_cli(
        "chat", CONV, "-m", "yes", "--reply-to", "run_W1", *FAST,
        answers=[(202, posted), (200, page(other)), (200, page(resumed)), (200, conversation())],
    )  # fmt: skip
    assert result.code == 0, "another run's failure is shown, not the outcome"
    assert result.sent[0].body == {"text": "yes", "reply_to": "run_W1"}
    assert "Other report" in result.out and "Answer received: yes" in result.out


def test_an_answered_run_that_fails_exits_6(run_cli: CliRunner) -> None:
    posted = message(10, "user", "no", answers_run_id="run_W1")
    ended = message(11, "run", "Stopped.", run_id="run_W1", task_id="task_T1", run_status="FAILED")
    result = run_cli(
        "chat", CONV, "-m", "no", *FAST, answers=[(202, posted), (200, page(ended)), (200, conversation())]
    )
    assert result.code == 6 and "run run_W1 ended FAILED" in result.err


def test_no_answer_within_the_timeout_exits_7(run_cli: CliRunner) -> None:
    posted = message(10, "user", "hello", run_id="run_C2")
    result = run_cli(
        "chat", CONV, "-m", "hello", "--interval", "0.05", "--timeout", "0", answers=[(202, posted), (200, page())]
    )
    assert result.code == 7
    assert f"no answer in conversation {CONV} after 0 s" in result.err
    assert f"agentcron conversations show {CONV}" in result.err


def test_a_question_left_waiting_is_shown_with_how_to_answer_it(run_cli: CliRunner) -> None:
    posted = message(10, "user", "deploy it", run_id="run_C2")
    answer = message(11, "assistant", "I started the deploy task.", run_id="run_C2")
    result = run_cli(
        "chat", CONV, "-m", "deploy it", *FAST,
        answers=[(202, posted), (200, page(answer)), (200, conversation(waiting=[waiting("confirm")]))],
    )  # fmt: skip
    assert result.code == 0
    assert "run run_W1 (task task_T1) asks: Deploy now? [yes/no]" in result.out
    assert f'agentcron chat {CONV} --message "..."' in result.err


def test_chat_message_as_json_is_the_conversation_and_its_new_messages(run_cli: CliRunner) -> None:
    posted = message(10, "user", "hello", run_id="run_C2")
    answer = message(11, "assistant", "Done: hello", run_id="run_C2")
    result = run_cli(
        "chat", CONV, "-m", "hello", "-o", "json", *FAST,
        answers=[(202, posted), (200, page(answer)), (200, conversation())],
    )  # fmt: skip
    assert result.code == 0
    assert result.json == {"conversation": conversation(), "items": [posted, answer]}
    quiet = run_cli("chat", CONV, "-m", "hello", "-q", *FAST, answers=[(202, posted), (200, page(answer))])
    assert quiet.out == f"{CONV}\n"


def test_a_refused_answer_is_the_apis_field_error(run_cli: CliRunner) -> None:
    problem = {
        "type": "about:blank",
        "title": "Unprocessable Entity",
        "status": 422,
        "detail": "the reply does not fit the question",
        "errors": [{"field": "body.text", "message": "answer yes or no"}],
    }
    result = run_cli("chat", CONV, "-m", "maybe", answers=[(422, problem)])
    assert result.code == 1
    assert "body.text: answer yes or no" in result.err


def test_empty_or_interactive_machine_output_is_a_usage_error(run_cli: CliRunner) -> None:
    assert run_cli("chat", CONV, "-m", "  ").code == 2
    interactive_json = run_cli("chat", CONV, "-o", "json")
    assert interactive_json.code == 2 and "--message" in interactive_json.err


# ---------------------------------------------------------- interactive chat


def test_the_interactive_chat_offers_a_waiting_questions_answers(
    run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "maybe" is not an answer the question takes: rich's prompt asks again; then "yes" is sent.
    monkeypatch.setattr("sys.stdin", io.StringIO("maybe\nyes\nhow is it going?\n"))
    asking = conversation(status="waiting_input", waiting=[waiting("confirm")])
    answered = message(10, "user", "yes", answers_run_id="run_W1")
    resumed = message(11, "run", "Deployed.", run_id="run_W1", task_id="task_T1", run_status="SUCCEEDED")
    posted = message(12, "user", "how is it going?", run_id="run_C3")
    reply = message(13, "assistant", "Done: how is it going?", run_id="run_C3")
    result = run_cli(
        "chat", CONV, *FAST,
        answers=[
            (200, asking),  # the title line
            (200, asking),  # before the first prompt: a question waits
            (202, answered),
            (200, page(resumed)),
            (200, conversation()),  # nothing waits: a free message
            (202, posted),
            (200, page(reply)),
            (200, conversation()),  # Ctrl-D at this prompt
        ],
    )  # fmt: skip
    assert result.code == 0, result.err
    posts = [sent for sent in result.sent if sent.method == "POST"]
    assert [post.body for post in posts] == [{"text": "yes", "reply_to": "run_W1"}, {"text": "how is it going?"}]
    keys = {post.headers["Idempotency-Key"] for post in posts}
    assert len(keys) == 2 and all(UUID.match(key) for key in keys), "a fresh key for every message"
    assert result.sent[6].query["after"] == resumed["id"], "the next poll starts after the last message seen"
    assert "run run_W1 (task task_T1) asks: Deploy now? [yes/no]" in result.out
    assert "answer [yes/no]:" in result.out and "Please select one of the available options" in result.out
    assert "Deployed." in result.out and "Done: how is it going?" in result.out


def test_exit_ends_the_interactive_chat_even_at_a_choice(run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("exit\n"))
    asking = conversation(waiting=[waiting("choice", ["eu-west-1", "us-east-1"])])
    result = run_cli("chat", CONV, answers=[(200, asking), (200, asking)])
    assert result.code == 0 and "answer [eu-west-1/us-east-1]:" in result.out
    assert not [sent for sent in result.sent if sent.method == "POST"]


def test_the_first_interactive_message_creates_the_conversation(
    run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\nhello\n"))  # an empty line sends nothing
    first = message(1, "user", "hello", run_id="run_C1")
    reply = message(2, "assistant", "Done: hello", run_id="run_C1")
    result = run_cli(
        "chat", *FAST,
        answers=[(201, conversation()), (200, page(first)), (200, page(reply)), (200, conversation())],
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.sent[0].body == {"message": "hello"}
    assert "Done: hello" in result.out and f"conversation {CONV}" in result.err


# ----------------------------------------------------------- conversations


def test_conversations_list_is_a_table_filtered_by_status(run_cli: CliRunner) -> None:
    listed = {
        "items": [conversation(status="waiting_input", waiting=[waiting("confirm")], title="Deploy\x1b[2J the app")],
        "next_cursor": None,
    }
    result = run_cli("conversations", "list", "--status", "WAITING_INPUT", "--limit", "5", answers=[(200, listed)])
    assert result.code == 0, result.err
    assert result.sent[0].path == "/v1/conversations"
    assert result.sent[0].query == {"status": "waiting_input", "limit": "5"}
    header, row = result.out.splitlines()
    assert header.split() == ["ID", "TITLE", "STATUS", "WAITING", "UPDATED"]
    assert row.split() == [CONV, "Deploy[2J", "the", "app", "waiting_input", "1", "2026-05-01T09:05:00Z"]
    as_yaml = run_cli("conversations", "list", "-o", "json", answers=[(200, listed)])
    assert as_yaml.json == listed


def test_conversations_show_prints_the_conversation_and_its_thread(run_cli: CliRunner) -> None:
    thread = [
        message(1, "user", "hello", run_id="run_C1"),
        message(2, "assistant", "Done: hello", run_id="run_C1"),
        message(3, "run", "Which one?", run_id="run_W1", task_id="task_T1", run_status="WAITING_INPUT",
                question={"text": "Which one?", "kind": "choice", "options": ["a", "b"]}),
    ]  # fmt: skip
    shown = conversation(status="waiting_input", task_ids=["task_T1"], waiting=[waiting("choice", ["a", "b"])])
    result = run_cli(
        "conversations", "show", CONV,
        answers=[(200, shown), (200, page(*thread[:2], has_more=True)), (200, page(thread[2]))],
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.sent[2].query["after"] == thread[1]["id"]
    lines = result.out.splitlines()
    assert lines[:7] == [
        f"id:      {CONV}",
        "title:   Morning checks",
        "status:  waiting_input",
        "created: 2026-05-01T09:00:00Z",
        "updated: 2026-05-01T09:05:00Z",
        "tasks:   task_T1",
        "waiting: run run_W1 (task task_T1) asks: Deploy now? [a/b]",
    ]
    assert lines[8:] == [
        "user  2026-05-01T09:00:00Z",
        "  hello",
        "",
        "assistant  2026-05-01T09:00:00Z",
        "  Done: hello",
        "",
        "run  run_W1 of task task_T1: WAITING_INPUT  2026-05-01T09:00:00Z",
        "  Which one?",
        "  asks: Which one? [a/b]",
    ]
    as_json = run_cli("conversations", "show", CONV, "--json", answers=[(200, shown), (200, page(*thread))])
    assert as_json.json == {"conversation": shown, "items": thread}


def test_conversations_archive(run_cli: CliRunner) -> None:
    result = run_cli("conversations", "archive", CONV, "-q", answers=[(200, conversation(status="archived"))])
    assert result.code == 0 and result.out == f"{CONV}\n"
    assert (result.sent[0].method, result.sent[0].path) == ("POST", f"/v1/conversations/{CONV}/archive")
