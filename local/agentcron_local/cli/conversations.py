"""``agentcron conversations`` (list, show, archive) and ``agentcron chat``: talk to the assistant.

A chat turn: the user's message is posted (202), and the assistant answers asynchronously with an
``assistant`` message (``error`` if the turn failed) carrying the turn's ``run_id``. A message that
answers a run waiting for input starts no turn: that run goes on, and its next ``run`` message is
the answer. ``chat`` polls the messages after the last one it has until that message arrives.

Every post carries a fresh Idempotency-Key, so the client's retry of a lost answer never posts the
message twice.
"""

from __future__ import annotations

import argparse
import contextlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentcron_local.cli.context import Ctx, add_paging, add_wait_options
from agentcron_local.cli.output import console_for, echo, note, report, spinner, stream
from agentcron_local.cli.registry import Action, add_connection_options, command, group
from agentcron_local.cli.runs import FAILED_STATUSES
from agentcron_local.cli.thread import (
    CONVERSATION_COLUMNS,
    CONVERSATION_STATUSES,
    answer_choices,
    clean,
    describe_waiting,
    look_for,
    render_conversation,
    render_message,
    render_thread,
)
from agentcron_local.client import (
    EXIT_API,
    EXIT_OK,
    EXIT_RUN_FAILED,
    EXIT_SERVER,
    EXIT_USAGE,
    EXIT_WAIT_TIMEOUT,
    CliError,
)

if TYPE_CHECKING:
    from rich.console import Console

# What ends the interactive chat, besides Ctrl-D.
QUIT_WORDS = frozenset({"exit", "quit"})
# How long `chat` waits for an answer by default: a turn that takes longer is still answered in
# the conversation, and `conversations show` finds it there.
DEFAULT_CHAT_TIMEOUT = 300.0


# ------------------------------------------------------------------ a turn


def ends_turn(posted: Mapping[str, Any], message: Mapping[str, Any]) -> bool:
    """Whether ``message`` answers the user's message ``posted``: the assistant's (or the error)
    message of its chat turn, or, for an answer to a waiting run, that run's next message."""
    if posted.get("answers_run_id"):
        return message.get("role") == "run" and message.get("run_id") == posted["answers_run_id"]
    return message.get("role") in ("assistant", "error") and message.get("run_id") == posted.get("run_id")


def failure(answer: Mapping[str, Any]) -> str | None:
    """What went wrong, when the message that ended a turn says it failed."""
    if answer.get("role") == "error":
        return f"the assistant could not answer (run {answer.get('run_id')})"
    if answer.get("role") == "run" and answer.get("run_status") in FAILED_STATUSES:
        return f"run {answer.get('run_id')} ended {answer.get('run_status')}"
    return None


def awaited(posted: Mapping[str, Any]) -> bool:
    """Whether an answer is coming: the message started a turn or answered a waiting run."""
    return bool(posted.get("answers_run_id") or posted.get("run_id"))


@dataclass
class Chat:
    """One conversation being talked to: its id (None until the first message creates it) and the
    id of the last message seen, after which the next poll starts."""

    ctx: Ctx
    conversation_id: str | None
    title: str | None = None
    last_seen: str | None = None
    received: list[dict[str, Any]] = field(default_factory=list)

    def post(self, text: str, *, reply_to: str | None) -> dict[str, Any]:
        """Post the user's message (creating the conversation with it if there is none yet)."""
        client = self.ctx.client
        key = str(uuid.uuid4())
        if self.conversation_id is not None:
            answer = client.post_message(self.conversation_id, text, reply_to=reply_to, idempotency_key=key)
            posted: dict[str, Any] = answer.body
            if self.last_seen is None:
                self.last_seen = posted["id"]
            return posted
        if reply_to:
            raise CliError("--reply-to answers a run of a conversation: give its CONVERSATION_ID", EXIT_USAGE)
        conversation = client.create_conversation(title=self.title, message=text, idempotency_key=key).body
        self.conversation_id = conversation["id"]
        if not self.ctx.json and not self.ctx.quiet:
            note(f"agentcron: conversation {self.conversation_id} (continue it: agentcron chat {self.conversation_id})")
        # The first user message is the one just posted: the answer comes after it.
        first = next((m for m in client.messages(self.conversation_id) if m.get("role") == "user"), None)
        if first is None:
            raise CliError(f"conversation {self.conversation_id} was created without its first message", EXIT_SERVER)
        self.last_seen = first["id"]
        return first

    def wait(self, posted: Mapping[str, Any]) -> dict[str, Any]:
        """Print (or keep) each message after the last seen until the one that answers ``posted``."""
        assert self.conversation_id is not None
        args = self.ctx.args
        with spinner("waiting for the answer", enabled=not self.ctx.json and not self.ctx.quiet) as status:

            def on_message(message: dict[str, Any]) -> None:
                self.last_seen = message["id"]
                if message["id"] == posted.get("id"):
                    return
                self.received.append(message)
                if self.ctx.json or self.ctx.quiet:
                    return
                if status is not None:
                    status.stop()  # the message is printed in the spinner's place; it resumes below
                echo(render_message(message, look_for(stream())))
                if status is not None:
                    status.start()

            return self.ctx.client.wait_for_message(
                self.conversation_id,
                after=self.last_seen,
                ends=lambda message: ends_turn(posted, message),
                interval=max(args.interval, 0.05),
                timeout=args.timeout,
                on_message=on_message,
            )

    def turn(self, text: str, *, reply_to: str | None) -> int:
        """Post, wait for the answer; the exit code says how the turn ended."""
        posted = self.post(text, reply_to=reply_to)
        self.received.append(posted)
        if not awaited(posted):
            return EXIT_OK
        answer = self.wait(posted)
        problem = failure(answer)
        if problem is not None:
            note(f"agentcron: {problem}")
            return EXIT_RUN_FAILED
        return EXIT_OK


def print_waiting(conversation: Mapping[str, Any]) -> None:
    for waiting in conversation.get("waiting") or []:
        echo(describe_waiting(waiting))


# ------------------------------------------------------------ chat --message


def chat_once(ctx: Ctx, chat: Chat, text: str) -> int:
    code = chat.turn(text, reply_to=ctx.args.reply_to)
    assert chat.conversation_id is not None
    if ctx.json:
        ctx.emit({"conversation": ctx.client.conversation(chat.conversation_id), "items": chat.received})
    elif ctx.quiet:
        echo(chat.conversation_id)
    else:
        conversation = ctx.client.conversation(chat.conversation_id)
        if conversation.get("waiting"):
            echo()
            print_waiting(conversation)
            note(f'Answer: agentcron chat {chat.conversation_id} --message "..."')
    return code


# ---------------------------------------------------------- interactive chat


def _prompt_class() -> type[Any]:
    from rich.prompt import Prompt

    class AnswerPrompt(Prompt):
        """rich's prompt, which also takes a word that quits when it offers only some answers."""

        def process_response(self, value: str) -> str:
            if value.strip().lower() in QUIT_WORDS:
                return value.strip().lower()
            return str(super().process_response(value))

    return AnswerPrompt


def ask(console: Console, waiting: Mapping[str, Any] | None) -> tuple[str, str | None]:
    """The user's next message, and the run it answers: a waiting question's answers are offered
    as choices when it takes only some. EOFError on Ctrl-D."""
    from rich.text import Text

    prompt = _prompt_class()
    if waiting is None:
        return str(prompt.ask(Text("you"), console=console)), None
    console.print(Text(describe_waiting(waiting), style="magenta"))
    choices = answer_choices(waiting.get("question_kind"), waiting.get("question_options"))
    label = Text("answer")
    answer = prompt.ask(label, console=console, choices=choices, case_sensitive=False)
    return str(answer), str(waiting["run_id"])


def chat_interactive(ctx: Ctx, chat: Chat) -> int:
    """Prompt, send, wait, print, until Ctrl-D or ``exit``. A failed or slow turn is reported and the
    conversation goes on."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401 - input() gets line editing and history

    console = console_for(stream())
    if chat.conversation_id is not None:
        conversation = ctx.client.conversation(chat.conversation_id)
        echo(f"{conversation['id']}: {clean(conversation.get('title'))} ({conversation.get('status')})")
    note("Type a message; Ctrl-D or `exit` ends the chat.")
    while True:
        waiting = None
        if chat.conversation_id is not None:
            # The oldest waiting question first; the next ones are asked after it.
            queue = ctx.client.conversation(chat.conversation_id).get("waiting") or []
            waiting = queue[0] if queue else None
        try:
            text, reply_to = ask(console, waiting)
        except EOFError:
            echo()
            return EXIT_OK
        if text.strip().lower() in QUIT_WORDS:
            return EXIT_OK
        if not text.strip():
            continue
        try:
            chat.turn(text, reply_to=reply_to)
        except CliError as exc:
            # A refused message (an answer the question does not take) or a slow answer: say so and go
            # on; an unreachable API or a refused token ends the chat.
            if exc.exit_code not in (EXIT_API, EXIT_WAIT_TIMEOUT):
                raise
            report(exc)


def run_chat(args: argparse.Namespace) -> int:
    ctx = Ctx(args)
    if args.message is not None and not args.message.strip():
        raise CliError("--message is empty", EXIT_USAGE)
    chat = Chat(ctx, args.conversation_id, title=args.title)
    if args.message is not None:
        return chat_once(ctx, chat, args.message)
    if ctx.json or ctx.quiet:
        raise CliError(
            "the interactive chat prints for people: give --message TEXT with -o json, --query or -q", EXIT_USAGE
        )
    return chat_interactive(ctx, chat)


# ------------------------------------------------------------ conversations


def _conversation_id(ctx: Ctx) -> str:
    return str(ctx.args.conversation_id)


def conversations_list(ctx: Ctx) -> int:
    page = ctx.list("/v1/conversations", {"status": ctx.args.status})
    ctx.show_page(page, CONVERSATION_COLUMNS, "conversations")
    return EXIT_OK


def conversations_show(ctx: Ctx) -> int:
    conversation = ctx.client.conversation(_conversation_id(ctx))
    if ctx.quiet:
        echo(conversation["id"])
        return EXIT_OK
    messages = ctx.client.messages(conversation["id"])
    if ctx.json:
        ctx.emit({"conversation": conversation, "items": messages})
        return EXIT_OK
    echo(render_conversation(conversation))
    if messages:
        echo()
        echo(render_thread(messages, look_for(stream())))
    return EXIT_OK


def conversations_archive(ctx: Ctx) -> int:
    ctx.show(ctx.client.archive_conversation(_conversation_id(ctx)), render_conversation)
    return EXIT_OK


def _list_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", choices=CONVERSATION_STATUSES, type=str.lower, help="only conversations in it")
    add_paging(parser)


def _chat_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "conversation_id", metavar="CONVERSATION_ID", nargs="?", help="continue this conversation (default: a new one)"
    )
    parser.add_argument("-m", "--message", metavar="TEXT", help="send this one message, print the answer and exit")
    parser.add_argument("--title", help="a new conversation's title")
    parser.add_argument(
        "--reply-to", metavar="RUN_ID", help="with --message: the waiting run it answers (when several wait)"
    )
    add_wait_options(parser, flag=False)
    parser.set_defaults(timeout=DEFAULT_CHAT_TIMEOUT)
    add_connection_options(parser, after_command=True)
    parser.epilog = CHAT_EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


CHAT_EPILOG = f"""\
Without --message: type messages, Ctrl-D or `exit` ends. A question a run waits on is asked first;
a yes/no or multiple-choice question takes only its answers.
With --message: exit code 0 once the answer arrived, 6 when the turn failed (or the answered run
ended FAILED, TIMED_OUT or CANCELLED), 7 when none came within --timeout (default {DEFAULT_CHAT_TIMEOUT:g} s).
-o json prints {{"conversation": ..., "items": [the messages]}}, -q the conversation's id."""

command("chat", help="talk to the assistant: a new conversation, or continue one", configure=_chat_args)(run_chat)

CONVERSATION = "conversation_id"

group(
    "conversations",
    "list, show and archive conversations with the assistant",
    (
        Action("list", conversations_list, "your conversations, most recently active first", configure=_list_args),
        Action("show", conversations_show, "a conversation and its messages", positional=CONVERSATION),
        Action("archive", conversations_archive, "archive a conversation (a new message reopens it)",
               positional=CONVERSATION),
    ),
)  # fmt: skip
