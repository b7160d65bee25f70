"""How conversations are shown: the list's columns, a conversation's fields, its thread of
role-labelled messages (a task run's message as a small card with its status), a waiting
question with its options, and the answers a question takes.

Message text comes from the model and from the tasks' runs: it is untrusted. Control characters
(escape sequences, carriage returns, bidi overrides) are stripped before anything is drawn, and it
is drawn as ``rich.text.Text`` or ``rich.markdown.Markdown``, never as console markup. Markdown is
rendered on a terminal only; in a pipe the cleaned source is printed, as the model wrote it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from agentcron_local.cli.output import Column, colour_wanted, console_for, render, render_fields
from agentcron_local.cli.views import fmt_time, status_style

if TYPE_CHECKING:
    from rich.console import RenderableType

CONVERSATION_STATUSES = ("active", "background", "waiting_input", "archived")
CONVERSATION_STYLES = {"active": "green", "background": "cyan", "waiting_input": "magenta", "archived": "dim"}
ROLE_STYLES = {"user": "bold blue", "assistant": "bold green", "action": "yellow", "error": "bold red"}
# The answers a confirm question takes (the API accepts exactly these).
CONFIRM_ANSWERS = ("yes", "no")
# Format characters that reorder or hide what is shown (bidi embeddings, overrides and isolates).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_KEPT_CONTROLS = frozenset("\n\t")


def clean(value: Any) -> str:
    """Untrusted text made safe for a terminal: no control characters but newline and tab."""
    text = "" if value is None else str(value)
    return "".join(
        char
        for char in text
        if char in _KEPT_CONTROLS or (unicodedata.category(char) != "Cc" and char not in _BIDI_CONTROLS)
    )


def conversation_style(status: str) -> str | None:
    return CONVERSATION_STYLES.get(status)


CONVERSATION_COLUMNS = (
    Column("ID", lambda c: str(c["id"])),
    Column("TITLE", lambda c: clean(c.get("title")), 40),
    Column("STATUS", lambda c: str(c.get("status")), style=conversation_style),
    Column("WAITING", lambda c: str(len(c.get("waiting") or [])) if c.get("waiting") else "-"),
    Column("UPDATED", lambda c: fmt_time(c.get("updated_at"))),
    Column("TASKS", lambda c: ",".join(c.get("task_ids") or []) or "-", 40, wide_only=True),
    Column("CREATED", lambda c: fmt_time(c.get("created_at")), wide_only=True),
)


# ----------------------------------------------------------------- questions


def answer_choices(kind: Any, options: Sequence[Any] | None) -> list[str] | None:
    """The answers a question takes, when only some do: confirm is yes or no, choice one of its
    options; None for a free-text question (any answer)."""
    if kind == "confirm":
        return list(CONFIRM_ANSWERS)
    if kind == "choice" and options:
        return [clean(option) for option in options]
    return None


def describe_question(text: Any, kind: Any, options: Sequence[Any] | None) -> str:
    """``Deploy now? [yes/no]``: the question, and the answers it takes if only some do."""
    choices = answer_choices(kind, options)
    question = clean(text) or "(no question text)"
    return f"{question} [{'/'.join(choices)}]" if choices else question


def describe_waiting(waiting: Mapping[str, Any]) -> str:
    """One waiting entry of a conversation: which run asks what."""
    asked = describe_question(waiting.get("question"), waiting.get("question_kind"), waiting.get("question_options"))
    return f"run {waiting.get('run_id')} (task {waiting.get('task_id')}) asks: {asked}"


# ---------------------------------------------------------------- conversation


def render_conversation(conversation: Mapping[str, Any]) -> str:
    return render_fields(
        [
            ("id", conversation.get("id")),
            ("title", clean(conversation.get("title"))),
            ("status", conversation.get("status")),
            ("created", fmt_time(conversation.get("created_at"))),
            ("updated", fmt_time(conversation.get("updated_at"))),
            ("tasks", ", ".join(conversation.get("task_ids") or [])),
            ("waiting", "\n".join(describe_waiting(w) for w in conversation.get("waiting") or [])),
        ]
    )


# --------------------------------------------------------------------- thread


@dataclass(frozen=True)
class Look:
    """How messages are drawn on a stream: Markdown and a width on a terminal, colour if wanted."""

    markdown: bool = False
    colour: bool = False
    width: int | None = None


def look_for(target: IO[str]) -> Look:
    console = console_for(target)
    if not console.is_terminal:
        return Look()
    return Look(markdown=True, colour=colour_wanted(target), width=console.width)


def message_header(message: Mapping[str, Any]) -> str:
    """The role, what the message is about, and when it was posted."""
    role = str(message.get("role"))
    parts = [role]
    if role == "user" and message.get("answers_run_id"):
        parts.append(f"(answer to run {message['answers_run_id']})")
    elif role == "run":
        parts.append(f"{message.get('run_id')} of task {message.get('task_id')}: {message.get('run_status') or '-'}")
    elif role == "action" and message.get("action"):
        parts.append(clean(message["action"].get("tool")))
    parts.append(fmt_time(message.get("created_at")))
    return "  ".join(part for part in parts if part)


def message_details(message: Mapping[str, Any]) -> list[str]:
    """What follows a message's text: the question a run asks, an action's ids and how to undo it."""
    lines = []
    question = message.get("question")
    if question:
        asked = describe_question(question.get("text"), question.get("kind"), question.get("options"))
        lines.append(f"asks: {asked}")
    action = message.get("action")
    if action:
        if action.get("summary"):
            lines.append(clean(action["summary"]))
        made = [f"{label} {action[key]}" for key, label in (("task_id", "task"), ("run_id", "run")) if action.get(key)]
        if made:
            lines.append(", ".join(made))
        undo = action.get("undo")
        if undo:
            lines.append(f"undo: {clean(undo.get('method'))} {clean(undo.get('href'))}")
    return lines


def message_renderable(message: Mapping[str, Any], look: Look) -> RenderableType:
    """A message as rich draws it: a header, then its text (as Markdown on a terminal) and details
    indented; a run's message framed as a card in its status's colour on a terminal."""
    from rich.console import Group
    from rich.markdown import Markdown
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.text import Text

    role = str(message.get("role"))
    text = clean(message.get("text")).strip("\n")
    # Links keep their target in view (hyperlinks off): a model's link text may name another place.
    rich_text = role in ("assistant", "run") and look.markdown
    body: list[RenderableType] = []
    if text:
        body.append(Markdown(text, hyperlinks=False) if rich_text else Text(text))
    body.extend(Text(line, style="italic") for line in message_details(message))
    header = Text(message_header(message), style=ROLE_STYLES.get(role, ""))
    if role == "run" and look.markdown:
        border = status_style(str(message.get("run_status"))) or "blue"
        return Panel(Group(*body), title=header, title_align="left", border_style=border, expand=False)
    return Group(header, Padding(Group(*body), (0, 0, 0, 2))) if body else header


def render_message(message: Mapping[str, Any], look: Look | None = None) -> str:
    look = look or Look()
    return render(message_renderable(message, look), colour=look.colour, width=look.width)


def render_thread(messages: Sequence[Mapping[str, Any]], look: Look | None = None) -> str:
    """The messages one after another, a blank line between them."""
    return "\n\n".join(render_message(message, look) for message in messages)
