"""``agentcron invoke FUNCTION -e EVENT``: one event through a function's real handler,
against the running local stack (what ``sam local invoke -e`` does, without Docker).

The handler runs in this process with the environment the stack gives its
functions (``stack.json``'s ``env``: table, queues, bucket, bus, and moto as
AWS_ENDPOINT_URL), so it reads and writes the stack's data. Logs and metrics go
to stderr, the handler's return value to stdout, as ``sam local invoke`` does.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentcron_local.client import EXIT_SERVER, EXIT_UNREACHABLE, EXIT_USAGE, CliError
from agentcron_local.endpoint import STACK_FILE_NAME, read_stack_file

REPO_ROOT = Path(__file__).resolve().parents[2]
# An explicit profile wins over AWS_ACCESS_KEY_ID, and a real session token must not reach moto.
AWS_VARIABLES_TO_CLEAR = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def function_names() -> list[str]:
    return sorted(p.parent.name for p in (REPO_ROOT / "functions").glob("*/app.py"))


def function_name(given: str) -> str:
    """``runner``, ``RunnerFunction`` (the template's logical id, as sam takes it) -> ``runner``."""
    known = function_names()
    name = given.removesuffix("Function").lower() if given.endswith("Function") else given
    if name not in known:
        raise CliError(f"no function {given!r}", EXIT_USAGE, [f"functions: {', '.join(known)}"])
    return name


def read_event(source: str | None) -> Any:
    """The event file's JSON (``-`` reads stdin); no file means ``{}``."""
    if source is None:
        return {}
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read the event file {source}: {exc.strerror or exc}", EXIT_USAGE) from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CliError(f"the event file {source} is not JSON: {exc}", EXIT_USAGE) from exc


def running_stack(state_dir: Path) -> dict[str, Any]:
    stack = read_stack_file(state_dir)
    if stack is None or not isinstance(stack.get("env"), dict):
        raise CliError(
            f"no running local stack on state dir {state_dir} (no live {STACK_FILE_NAME} there)",
            EXIT_UNREACHABLE,
            [
                "start it with `agentcron local` in another terminal (with the same --state-dir), then invoke again",
                "without a local stack, `sam local invoke -e EVENT` runs the same event in Docker",
            ],
        )
    return stack


def function_environment(stack: Mapping[str, Any]) -> dict[str, str]:
    """The variables the stack's functions run with (moto as every AWS endpoint)."""
    env = {str(k): str(v) for k, v in stack["env"].items()}
    if "AWS_ENDPOINT_URL" not in env and isinstance(stack.get("moto_endpoint"), str):
        env["AWS_ENDPOINT_URL"] = stack["moto_endpoint"]
    env.setdefault("AWS_ACCESS_KEY_ID", "testing")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    return env


@contextlib.contextmanager
def model_for_runner(name: str, env: Mapping[str, str]) -> Iterator[None]:
    """The runner talks to a model: the stack's (if stack.json names it), Claude (ANTHROPIC_API_KEY),
    or a fake Messages API started for this invocation."""
    if name != "runner" or env.get("ANTHROPIC_BASE_URL") or os.environ.get("ANTHROPIC_API_KEY"):
        yield
        return
    from agentcron_local.fake_model import FakeModel

    model = FakeModel().start()
    os.environ["ANTHROPIC_BASE_URL"] = model.base_url
    os.environ["ANTHROPIC_API_KEY"] = "local-fake-model"
    try:
        yield
    finally:
        model.stop()


@dataclass
class Invocation:
    result: Any
    error: dict[str, Any] | None  # Lambda's error shape when the handler raised


def invoke(function: str, event: Any, state_dir: Path) -> Invocation:
    """Run ``functions/<function>/app.py``'s handler with ``event`` against the running stack.

    Changes this process's environment (it is the function's container now).
    """
    name = function_name(function)
    stack = running_stack(state_dir)
    env = function_environment(stack)
    for variable in AWS_VARIABLES_TO_CLEAR:
        os.environ.pop(variable, None)
    os.environ.update(env)
    from agentcron_local.gateway import lambda_context, load_function_handler

    # Handlers log (and Powertools prints metrics) to stdout; stdout is for the result.
    # The loggers bind their stream at import, so the import happens inside the redirect.
    with contextlib.redirect_stdout(sys.stderr), model_for_runner(name, env):
        handler = load_function_handler(name)
        context = lambda_context(name)
        try:
            return Invocation(result=handler(event, context), error=None)
        except Exception as exc:
            traceback.print_exc()
            return Invocation(
                result=None,
                error={
                    "errorMessage": str(exc),
                    "errorType": type(exc).__name__,
                    "stackTrace": traceback.format_tb(exc.__traceback__),
                },
            )


def run(function: str, event_source: str | None, state_dir: Path) -> tuple[Any, int]:
    """The command: the document to print (the result, or Lambda's error document) and the exit code
    (5 when the handler raised)."""
    event = read_event(event_source)
    outcome = invoke(function, event, state_dir)
    if outcome.error is not None:
        return outcome.error, EXIT_SERVER
    return outcome.result, 0
