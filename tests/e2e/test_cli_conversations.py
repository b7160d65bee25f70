"""`agentcron chat` and `agentcron conversations` as a user runs them: the CLI in a subprocess
against `agentcron local` (its gateway, queue poller, runner and the fake model). With no
directive in the message, the fake assistant answers ``Done: <first line of the message>``."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

from tests.e2e.conftest import RunningStack, agentcron, clean_env

CONVERSATION_ID = re.compile(r"^conv_[0-9A-HJKMNP-TV-Z]{26}$")
POLL = ("--interval", "0.2", "--timeout", "90")


def cli(stack: RunningStack, *args: str, user: str = "alice", stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        agentcron(stack.state_dir, "--user", user, *args),
        input=stdin,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=180,
        check=False,
    )


def document(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_chat_message_starts_a_conversation_and_prints_the_answer(stack: RunningStack) -> None:
    started = document(
        cli(stack, "chat", "-m", "check the backups\nand tell me", "--title", "Backups", "-o", "json", *POLL)
    )
    conversation, items = started["conversation"], started["items"]
    assert CONVERSATION_ID.match(conversation["id"]) and conversation["title"] == "Backups"
    asked, answer = items[0], items[-1]
    assert (asked["role"], asked["text"]) == ("user", "check the backups\nand tell me")
    assert (answer["role"], answer["text"]) == ("assistant", "Done: check the backups")
    assert answer["run_id"] == asked["run_id"] is not None
    assert all(item["role"] == "action" for item in items[1:-1])

    again = cli(stack, "chat", conversation["id"], "--message", "and the logs", *POLL)
    assert again.returncode == 0, again.stderr
    assert "Done: and the logs" in again.stdout


def test_conversations_list_and_show_the_thread(stack: RunningStack) -> None:
    started = document(cli(stack, "chat", "-m", "first turn", "--title", "Thread under test", "-o", "json", *POLL))
    conversation_id = started["conversation"]["id"]
    assert cli(stack, "chat", conversation_id, "-m", "second turn", *POLL).returncode == 0

    listed = document(cli(stack, "conversations", "list", "-o", "json"))
    assert conversation_id in [item["id"] for item in listed["items"]]
    table = cli(stack, "conversations", "list", "--limit", "100")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split()[:3] == ["ID", "TITLE", "STATUS"]
    row = next(line for line in table.stdout.splitlines() if line.startswith(conversation_id))
    assert "Thread under test" in row

    shown = document(cli(stack, "conversations", "show", conversation_id, "--json"))
    said = [(m["role"], m["text"]) for m in shown["items"] if m["role"] in ("user", "assistant")]
    assert said == [
        ("user", "first turn"),
        ("assistant", "Done: first turn"),
        ("user", "second turn"),
        ("assistant", "Done: second turn"),
    ]
    ids = [m["id"] for m in shown["items"]]
    assert ids == sorted(ids), "oldest first"

    printed = cli(stack, "conversations", "show", conversation_id)
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.splitlines()
    assert f"id:      {conversation_id}" in lines and "title:   Thread under test" in lines
    headers = [line.split()[0] for line in lines if line.startswith(("user  ", "assistant  "))]
    assert headers == ["user", "assistant"] * 2, "each message under its role"
    assert "  Done: second turn" in lines


def test_the_interactive_chat_reads_messages_until_exit(stack: RunningStack) -> None:
    result = cli(stack, "chat", "--title", "Interactive", *POLL, stdin="what is due today?\n\nexit\nnever sent\n")
    assert result.returncode == 0, result.stderr
    assert "Done: what is due today?" in result.stdout
    created = re.search(r"conversation (conv_\w+)", result.stderr)
    assert created is not None, result.stderr
    shown = document(cli(stack, "conversations", "show", created.group(1), "-o", "json"))
    users = [m["text"] for m in shown["items"] if m["role"] == "user"]
    assert users == ["what is due today?"], "the empty line sends nothing and nothing is sent after exit"


def test_archive_and_a_new_message_reopens(stack: RunningStack) -> None:
    conversation_id = document(cli(stack, "chat", "-m", "to be archived", "-o", "json", *POLL))["conversation"]["id"]
    archived = document(cli(stack, "conversations", "archive", conversation_id, "-o", "json"))
    assert archived["status"] == "archived"
    only_archived = cli(stack, "conversations", "list", "--status", "archived", "--limit", "100", "-q")
    assert conversation_id in only_archived.stdout.split()

    reopened = cli(stack, "chat", conversation_id, "-m", "back again", *POLL)
    assert reopened.returncode == 0, reopened.stderr
    assert "Done: back again" in reopened.stdout
    assert document(cli(stack, "conversations", "show", conversation_id, "-o", "json"))["conversation"]["status"] != (
        "archived"
    )


def test_another_users_conversation_is_not_found(stack: RunningStack) -> None:
    conversation_id = document(cli(stack, "chat", "-m", "mine only", "-o", "json", *POLL))["conversation"]["id"]
    for args in (("conversations", "show", conversation_id), ("chat", conversation_id, "-m", "hi", *POLL)):
        result = cli(stack, *args, user="mallory")
        assert result.returncode == 1, result.stderr
        assert "404" in result.stderr
    mallorys = document(cli(stack, "conversations", "list", "-o", "json", user="mallory"))
    assert conversation_id not in [item["id"] for item in mallorys["items"]]
