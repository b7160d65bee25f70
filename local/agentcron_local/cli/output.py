"""Everything the CLI prints goes through here: the streams, documents (JSON, YAML, a JMESPath of
them), tables and ``label: value`` fields, colour, the ``--wait`` spinner, and errors.

rich draws the tables: its cell widths count a CJK character as two columns, so wide names stay
aligned. Colour only when the stream is a terminal and ``NO_COLOR`` is unset (rich's own checks);
never in a pipe or a file. Untrusted text (names, model output) is passed as ``rich.text.Text``,
never as markup.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from agentcron_local.client import EXIT_USAGE, ApiError, CliError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

# Where echo() writes; None: sys.stdout / sys.stderr at the time of writing.
STREAMS: ContextVar[tuple[IO[str] | None, IO[str] | None]] = ContextVar("agentcron_streams", default=(None, None))
# A table in a pipe is never squeezed to 80 columns: each column gets its natural width.
UNBOUNDED_WIDTH = 100_000


def stream(*, err: bool = False) -> IO[str]:
    out, error = STREAMS.get()
    return (error or sys.stderr) if err else (out or sys.stdout)


def echo(text: str = "", *, err: bool = False) -> None:
    """A line to stdout (or stderr)."""
    target = stream(err=err)
    target.write(f"{text}\n")
    target.flush()


def note(message: str) -> None:
    echo(message, err=True)


# ---------------------------------------------------------------- documents


def emit(document: Any, *, format: str = "json", query: str | None = None) -> None:
    """The document as JSON (or YAML), or with ``query`` the JMESPath of it."""
    if query:
        import jmespath
        from jmespath.exceptions import JMESPathError

        try:
            document = jmespath.search(query, document)
        except JMESPathError as exc:
            raise CliError(f"--query {query!r} is not a JMESPath expression: {exc}", EXIT_USAGE) from exc
    if format == "yaml":
        echo(yaml_text(document).rstrip("\n"))
    else:
        echo(json.dumps(document, indent=2, ensure_ascii=False))


def yaml_text(document: Any) -> str:
    """YAML in the document's own key order; a multi-line text (a prompt, an output) as a ``|``
    block, which reads and edits as the text itself (PyYAML quotes it instead when a block cannot
    hold it exactly, e.g. trailing spaces)."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    Dumper.add_representer(str, text)
    return yaml.dump(document, Dumper=Dumper, sort_keys=False, allow_unicode=True)


def error_document(error: CliError) -> dict[str, Any]:
    """``{"error": ...}``: what ``--json``/``-o json`` prints on stdout when a command fails."""
    body: dict[str, Any] = {"message": error.message, "exit_code": error.exit_code, "hints": list(error.hints)}
    if isinstance(error, ApiError):
        body["status"] = error.status
        body["problem"] = error.problem
    return {"error": body}


def report(error: CliError, *, format: str | None = None) -> None:
    """The error on stderr for people; with a machine format also as a document on stdout."""
    echo(f"agentcron: {error.message}", err=True)
    for hint in error.hints:
        echo(f"  {hint}", err=True)
    if format in ("json", "yaml"):
        emit(error_document(error), format=format)


# ------------------------------------------------------------------- colour


def console_for(target: IO[str]) -> Console:
    """rich's console on ``target``: it decides whether that is a terminal and whether NO_COLOR is set."""
    from rich.console import Console

    return Console(file=target, highlight=False, soft_wrap=True)


def colour_wanted(target: IO[str]) -> bool:
    console = console_for(target)
    return console.is_terminal and not console.no_color and console.color_system is not None


def render(renderable: Any, *, colour: bool, width: int | None = None) -> str:
    """A rich renderable as text (ANSI styled only with ``colour``), no trailing spaces."""
    from rich.console import Console

    console = Console(
        file=io.StringIO(),
        width=width or UNBOUNDED_WIDTH,
        force_terminal=colour,
        color_system="standard" if colour else None,
        no_color=not colour,
        highlight=False,
    )
    with console.capture() as captured:
        console.print(renderable)
    return "\n".join(line.rstrip() for line in captured.get().rstrip("\n").splitlines())


# ------------------------------------------------------------------- tables

Style = Callable[[str], str | None]


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Mapping[str, Any]], str]
    max_width: int | None = None
    wide_only: bool = False  # shown with -o wide
    style: Style | None = None  # a rich style for a cell's text (e.g. a status colour)


def one_line(value: Any) -> str:
    return " ".join(str(value).split()) if value not in (None, "") else "-"


def render_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    wide: bool = False,
    colour: bool = False,
    width: int | None = None,
) -> str:
    """Columns two spaces apart, a header row, long cells clipped with an ellipsis; aligned by
    display width (CJK characters take two columns)."""
    from rich.table import Table
    from rich.text import Text

    shown = [col for col in columns if wide or not col.wide_only]
    table = Table(box=None, pad_edge=False, padding=(0, 1), show_edge=False, header_style="bold")
    for col in shown:
        # -o wide never clips: it is for reading everything.
        table.add_column(col.header, no_wrap=True, overflow="ellipsis", max_width=None if wide else col.max_width)
    for row in rows:
        cells = []
        for col in shown:
            text = one_line(col.value(row))
            cells.append(Text(text, style=(col.style(text) if col.style else None) or ""))
        table.add_row(*cells)
    return render(table, colour=colour, width=width)


def render_fields(pairs: Iterable[tuple[str, Any]]) -> str:
    """``label:  value`` lines, empty values left out; multi-line values continue indented."""
    pairs = list(pairs)
    # Aligned on every label, shown or not: the same command always lines up the same way.
    width = max(len(label) for label, _ in pairs) + 2
    kept = [(label, str(value)) for label, value in pairs if value not in (None, "", [], {})]
    lines = []
    for label, value in kept:
        first, *rest = value.splitlines() or [""]
        lines.append(f"{label + ':':<{width}}{first}".rstrip())
        lines.extend(f"{'':<{width}}{line}".rstrip() for line in rest)
    return "\n".join(lines)


def print_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *, wide: bool) -> None:
    target = stream()
    colour = colour_wanted(target)
    # On a terminal rich fits the table to its width; in a pipe every column keeps its natural width.
    width = console_for(target).width if colour else None
    echo(render_table(rows, columns, wide=wide, colour=colour, width=width))


# ------------------------------------------------------------------ spinner


@contextlib.contextmanager
def spinner(message: str, *, enabled: bool) -> Iterator[Status | None]:
    """rich's spinner on stderr while waiting, when stderr is a terminal (never in a pipe or a log)."""
    target = stream(err=True)
    if not enabled or not console_for(target).is_terminal:
        yield None
        return
    with console_for(target).status(message) as status:
        yield status
