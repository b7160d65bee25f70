"""Chat turn latency on the local stack: a user's message posted → the assistant's answer visible.

One local stack (`agentcron local`'s parts in this process: moto server, API gateway,
the queue poller running the real runner handler, the fake model over HTTP through the
real anthropic SDK). A conversation gets TURNS messages one after another, each timed
from just before its POST to the moment a GET of the messages `after` it (polled every
POLL_SECONDS, as a client would) shows the assistant's answer: the API's write, the
queue, the runner's turn (reading the thread, the model, writing the answer) and the
client's poll, as a user waits for them. Two kinds of turn:

- `plain`: the model answers at once (one model request);
- `tool`: the model calls `list_tasks` and then answers (two model requests, a tool
  call through the task Service, an action-free read).

The runner's cold start (importing `anthropic`) happens before the first timed turn.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import support

TURNS = 20
POLL_SECONDS = 0.05
KINDS = {"plain": "how are my tasks doing?", "tool": "how are my tasks doing?\ntool: list_tasks {}"}


def measure(turns: int = TURNS) -> dict[str, Any]:
    import requests
    from agentcron_local import tokens
    from agentcron_local.gateway import load_function_handler
    from agentcron_local.services import model_for, poller_for
    from agentcron_local.stack import LocalStack, StackOptions

    state = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    options = StackOptions(port=0, moto_port=0, state_dir=state / "state", persist=False, access_log=False)
    latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with LocalStack(options, service_factories=[model_for, poller_for], out=sys.stderr) as stack:
        load_function_handler("runner")
        import anthropic  # noqa: F401  (the runner's cold start is not a turn's latency)

        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {tokens.issue_token('bench-chat')}"
        api = stack.api_url
        conversation = session.post(f"{api}/v1/conversations", json={"title": "bench"}, timeout=30).json()
        messages = f"{api}/v1/conversations/{conversation['id']}/messages"
        # One untimed turn: the first request of each kind warms the gateway and the runner.
        for kind in ["plain", *[k for k in KINDS for _ in range(turns)]]:
            started = time.perf_counter()
            posted = session.post(messages, json={"text": KINDS[kind]}, timeout=30)
            posted.raise_for_status()
            user = posted.json()
            while True:
                page = session.get(messages, params={"after": user["id"]}, timeout=30).json()["items"]
                answer = next(
                    (m for m in page if m["role"] in ("assistant", "error") and m["run_id"] == user["run_id"]), None
                )
                if answer is not None:
                    break
                if time.perf_counter() - started > 60:
                    raise RuntimeError(f"no answer to {user['id']} within 60 s")
                time.sleep(POLL_SECONDS)
            if answer["role"] == "error":
                raise RuntimeError(f"the turn failed: {answer['text']}")
            latencies[kind].append(time.perf_counter() - started)
        latencies["plain"].pop(0)
    return {"turns": turns, "poll_seconds": POLL_SECONDS, "latencies": latencies}


def summarise(values: Sequence[float]) -> dict[int, float]:
    return {pct: support.percentile(values, pct) for pct in (50, 90, 100)}


def render(result: dict[str, Any]) -> str:
    rows = []
    for kind, values in result["latencies"].items():
        summary = summarise(values)
        rows.append([kind, len(values), *(f"{summary[p] * 1000:.0f}" for p in (50, 90, 100))])
    table = support.md_table(["turn", "turns", "p50 (ms)", "p90 (ms)", "max (ms)"], rows, align="lrrrr")
    return "\n".join(
        [
            "User message posted → assistant message visible, on the local stack with the fake model "
            f"(a client polling every {result['poll_seconds'] * 1000:.0f} ms):",
            "",
            table,
            "",
            "- A turn is a run of the conversation's chat task: POST (message + turn + idempotency record in one "
            "transaction, then SQS), the queue poller's receive, the runner (thread read, model, answer written), "
            "and the client's next poll. `tool` adds a second model request and a `list_tasks` call through the "
            "task Service. On AWS the SQS event source mapping replaces the local poller; the model's own time "
            "(seconds for Claude) dominates there.",
        ]
    )


def headline(result: dict[str, Any]) -> dict[str, float]:
    return {f"chat {kind}: p50 (ms)": summarise(v)[50] * 1000 for kind, v in result["latencies"].items()}


def main(argv: Sequence[str] | None = None) -> int:
    def options(parser: Any) -> None:
        parser.add_argument("--turns", type=int, help=f"turns of each kind (default {TURNS})")

    return support.main("bench.chat", measure, render, argv, description=__doc__ or "", add_arguments=options)


if __name__ == "__main__":
    raise SystemExit(main())
