"""The dispatcher against many due tasks: requests per claim, claims per second per shard.

In a worker: moto in-process with the template's table and queue, N tasks
(daily cron, ~1 KB each, due within the last minute) spread over the template's
DueShards, then ONE real tick (`Dispatcher.tick`, the dispatcher handler's
code path: all shards in parallel threads, a Store lent to each). Every AWS
request is counted (bench.harness.Recorder in counting mode: no extra reads).

moto is not AWS: its TransactWriteItems deep-copies the whole table on every
call (5/s at 5,000 items, NOTES.md), so that copy is switched off for the run
(bench.harness.moto_transactions_without_table_copy; sound because a single
dispatcher never has a claim cancelled, which the run checks), and moto serves
every DynamoDB request under one lock in this same process. So the local claim
rate is a ratio, not an AWS figure. To stay within a couple of minutes the
tick claims for BUDGET seconds, through the dispatcher's own time budget (what
the handler feeds with the invocation's remaining time): the claims are a
sample, and requests per claim are exact either way, since every claim makes
the same requests.

Reported besides: the dispatcher's own CPU per claim (shard threads' CPU time,
which includes botocore's serialisation but not moto's work), what building its
Stores costs (once per container), and an estimate of the tick on Lambda at the
template's MemorySize and Timeout.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bench import support

TASKS = 10_000
BUDGET_SECONDS = 30.0


def measure(tasks: int = TASKS, budget: float = BUDGET_SECONDS) -> dict[str, Any]:
    from agentcron_local.gateway import function_settings

    from bench.harness import Recorder, local_aws, moto_transactions_without_table_copy, template_indexes

    with local_aws(prefix="benchdisp"), moto_transactions_without_table_copy() as moto_copy:
        from agentcron import bootstrap
        from agentcron.bootstrap.dispatcher import root as dispatcher_root
        from agentcron.dispatch import TIME_RESERVE_SECONDS

        bootstrap.reset()
        shards = dispatcher_root().settings.due_shards
        store = dispatcher_root().new_store()
        started = time.monotonic()
        per_shard = _seed(store, tasks)
        seeded = time.monotonic() - started
        recorder = Recorder(template_indexes(), images=False).install()
        result = _tick(recorder, budget)
        if moto_copy.cancelled:
            raise RuntimeError(f"{moto_copy.cancelled} claim(s) cancelled: moto's state is unsound, so is this run")
        memory_mb, timeout_seconds = function_settings(function_logical_id="DispatcherFunction")
        result.update(
            {
                "tasks": tasks,
                "shards": shards,
                "memory_mb": memory_mb,
                "timeout_seconds": timeout_seconds,
                "time_reserve_seconds": TIME_RESERVE_SECONDS,
                "seed_seconds": round(seeded, 1),
                "budget": budget,
                "due_per_shard": per_shard,
            }
        )
        result["load"] = support.load_average()
        return result


def _seed(store: Any, count: int) -> dict[str, int]:
    """`count` daily tasks, due within the last minute (inside the misfire grace),
    written straight into moto's backend (this process's own): seeding is not
    what is measured, and 400 BatchWriteItem calls would take longer than the tick.
    Returns how many landed in each due shard."""
    from agentcron.ids import new_task_id
    from agentcron.models import AgentConfig, Task
    from agentcron.store import shard_of
    from agentcron_local.resources import LOCAL_ACCOUNT_ID
    from boto3.dynamodb.types import TypeSerializer
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[LOCAL_ACCOUNT_ID][os.environ.get("AWS_DEFAULT_REGION", "us-east-1")]
    serializer = TypeSerializer()
    rng = random.Random(7)
    now = datetime.now(UTC).replace(microsecond=0)
    now_epoch = int(now.timestamp())
    template = Task.model_validate(
        {
            "id": new_task_id(),
            "owner": "owner-0",
            "name": "Morning incidents",
            "description": "Daily summary of open incidents for the platform team",
            "prompt": "Summarise the open incidents for {{team}} and list the three oldest.",
            "variables": {"team": "platform", "channel": "#ops"},
            "schedule": {"type": "cron", "expression": "0 9 * * *", "timezone": "Europe/Berlin"},
            "agent": AgentConfig(tools=["web_fetch"]).model_dump(),
            "tags": ["ops"],
            "next_run_at": now_epoch,
            "created_at": now,
            "updated_at": now,
        }
    )
    wire = {k: serializer.serialize(v) for k, v in store.task_item(template).items()}
    per_shard: dict[str, int] = {}
    for index in range(count):
        task_id = new_task_id()
        shard = shard_of(task_id, store.due_shards)
        item = dict(wire)
        item.update(
            {
                "PK": {"S": f"TASK#{task_id}"},
                "id": {"S": task_id},
                "name": {"S": f"Morning incidents {index}"},
                "owner": {"S": f"owner-{index % 97}"},
                "GSI1PK": {"S": f"OWNER#owner-{index % 97}#TASKS"},
                "GSI1SK": {"S": task_id},
                "due_shard": {"S": shard},
                "next_run_at": {"N": str(now_epoch - rng.randint(0, 60))},
            }
        )
        backend.put_item(store.table_name, item)
        per_shard[shard] = per_shard.get(shard, 0) + 1
    return per_shard


def _tick(recorder: Any, budget: float) -> dict[str, Any]:
    from agentcron.bootstrap.dispatcher import dispatcher as wired_dispatcher
    from agentcron.dispatch import TIME_RESERVE_SECONDS, Dispatcher, TickReport, TimeBudget
    from agentcron.store import Store

    shard_stats: dict[str, dict[str, float]] = {}
    store_builds: list[tuple[float, float]] = []
    lock = threading.Lock()
    original_tick_shard = Dispatcher._tick_shard
    original_store_init = Store.__init__

    def timed_store_init(self: Store, *args: Any, **kwargs: Any) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        original_store_init(self, *args, **kwargs)
        with lock:
            store_builds.append((time.perf_counter() - wall, time.thread_time() - cpu))

    def timed_tick_shard(self: Dispatcher, shard: str, now: datetime, time_budget: TimeBudget) -> TickReport:
        threading.current_thread().name = f"shard-{shard}"
        wall, cpu = time.perf_counter(), time.thread_time()
        report = original_tick_shard(self, shard, now, time_budget)
        with lock:
            shard_stats[shard] = {
                "wall": time.perf_counter() - wall,
                "cpu": time.thread_time() - cpu,
                "claimed": len(report.claimed),
                "lost": report.lost,
            }
        return report

    Dispatcher._tick_shard = timed_tick_shard  # type: ignore[method-assign]
    Store.__init__ = timed_store_init  # type: ignore[method-assign]
    try:
        dispatcher = wired_dispatcher()
        with recorder.recording("tick"):
            wall = time.perf_counter()
            # The dispatcher's own time budget, as the handler gives it the invocation's
            # remaining time: it stops claiming `budget` seconds from now.
            deadline = wall + budget + TIME_RESERVE_SECONDS
            report = dispatcher.tick(time_left=lambda: deadline - time.perf_counter())
            wall = time.perf_counter() - wall
    finally:
        Dispatcher._tick_shard = original_tick_shard  # type: ignore[method-assign]
        Store.__init__ = original_store_init  # type: ignore[method-assign]

    calls = recorder.in_phase("tick")
    ops: dict[str, dict[str, float]] = {}
    aws_seconds_by_shard: dict[str, float] = {}
    queries: dict[str, dict[str, float]] = {}
    for call in calls:
        if call.operation == "Query":
            q = queries.setdefault(call.index or "table", {"requests": 0, "items": 0, "rru": 0.0, "seconds": 0.0})
            q["requests"] += 1
            q["items"] += call.items
            q["rru"] += call.usage.ddb_read_units
            q["seconds"] += call.seconds
        row = ops.setdefault(f"{call.service} {call.operation}", {"requests": 0, "seconds": 0.0, "rru": 0.0})
        row["requests"] += 1
        row["seconds"] += call.seconds
        row["rru"] += call.usage.ddb_read_units
        aws_seconds_by_shard[call.thread] = aws_seconds_by_shard.get(call.thread, 0.0) + call.seconds
    for shard, stats in shard_stats.items():
        stats["aws_seconds"] = aws_seconds_by_shard.get(f"shard-{shard}", 0.0)
    return {
        "claimed": len(report.claimed),
        "lost": report.lost,
        "resent": len(report.resent),
        "shards_out_of_time": report.shards_out_of_time,
        "unsent": len(report.unsent),
        "tick_wall": wall,
        "operations": ops,
        "queries": queries,
        "shards_detail": shard_stats,
        "store_builds": store_builds,
    }


# ---- the table -------------------------------------------------------------------------------------


PAGE_SIZE = 200  # Store.due_tasks' page size


def full_tick_queries(due_per_shard: dict[str, int], page_size: int = PAGE_SIZE) -> int:
    """Queries one tick makes over a due set: per shard, full pages plus the last
    (short or empty) one, and one recovery query."""
    return sum(n // page_size + 1 + 1 for n in due_per_shard.values())


# What a claim waits for on AWS (estimates): TransactWriteItems, and SendMessageBatch (shared by its claims).
TRANSACT_LATENCY_SECONDS = 0.015
SEND_BATCH_LATENCY_SECONDS = 0.008
LAMBDA_MB_PER_VCPU = 1769  # Lambda's CPU share grows with memory: one vCPU at 1,769 MB


def aws_estimate(
    cpu_per_claim: float, sends_per_claim: float, shards: int, memory_mb: float
) -> tuple[float, float, float]:
    """(vCPU, claims/s, CPU-bound claims/s) of one tick on Lambda at `memory_mb`.

    Python runs one thread at a time (the GIL), so past one vCPU the shard threads
    gain nothing; each thread alternates its CPU share with its request latency."""
    vcpu = memory_mb / LAMBDA_MB_PER_VCPU
    usable = min(vcpu, 1.0)
    latency = TRANSACT_LATENCY_SECONDS + SEND_BATCH_LATENCY_SECONDS * sends_per_claim
    cpu_bound = usable / cpu_per_claim
    return vcpu, min(cpu_bound, shards / (latency + cpu_per_claim / usable)), cpu_bound


def render(result: dict[str, Any]) -> str:
    claimed = result["claimed"]
    ops = result["operations"]
    shards = result["shards_detail"]
    tasks = result["tasks"]
    per_claim = {op: row["requests"] / claimed for op, row in ops.items() if op != "dynamodb Query"} if claimed else {}
    sends_per_claim = per_claim.get("sqs SendMessageBatch", float("nan"))
    due_q = result["queries"].get("Due", {"requests": 0, "items": 0, "rru": 0.0, "seconds": 0.0})
    rru_per_task = due_q["rru"] / due_q["items"] if due_q["items"] else float("nan")
    full_queries = full_tick_queries(result["due_per_shard"])
    rates = [s["claimed"] / s["wall"] for s in shards.values() if s["wall"] > 0 and s["claimed"]]
    cpu_per_claim = sum(s["cpu"] for s in shards.values()) / claimed * 1000 if claimed else float("nan")
    aws_per_claim = sum(s["aws_seconds"] for s in shards.values()) / claimed * 1000 if claimed else float("nan")
    builds = result["store_builds"]
    per_claim_text = " + ".join(f"{support.fmt(v)} {op.split(' ', 1)[1]}" for op, v in sorted(per_claim.items()))
    rows = [
        [
            "due tasks in the table (per shard)",
            f"{tasks:,} ({', '.join(f'{v:,}' for _, v in sorted(result['due_per_shard'].items()))})",
        ],
        [
            "claimed within the budget (the dispatcher's own time budget)",
            f"{claimed:,} in {result['tick_wall']:.0f} s (budget {result['budget']:.0f} s), lost {result['lost']}, "
            f"shards out of time {result.get('shards_out_of_time', '-')}",
        ],
        ["requests per claim", per_claim_text],
        [
            "due-set Query pages read (items)",
            f"{due_q['requests']} ({due_q['items']:,}); {support.fmt(rru_per_task, 3)} RRU per due task",
        ],
        [
            f"requests for the whole tick over {tasks:,} due tasks",
            f"{tasks:,} TransactWriteItems + {support.fmt(tasks * sends_per_claim)} SendMessageBatch "
            f"+ {full_queries} Query ({support.fmt(tasks * rru_per_task)} RRU)",
        ],
        [
            "claims/s per shard, local (moto-bound)",
            f"median {support.fmt(support.median(rates))} "
            f"(range {support.fmt(min(rates) if rates else None)}-{support.fmt(max(rates) if rates else None)})",
        ],
        ["claims/s, all shards, local", support.fmt(claimed / result["tick_wall"] if result["tick_wall"] else None)],
        ["dispatcher CPU per claim (its threads; excl. moto)", f"{cpu_per_claim:.1f} ms"],
        ["wall time inside AWS calls per claim, local", f"{aws_per_claim:.0f} ms (moto, one DynamoDB lock)"],
        [
            "Stores built (the container's first tick; later ticks reuse them)",
            f"{len(builds)} x {support.fmt(support.median([b[0] for b in builds]) * 1000 if builds else None)} ms wall "
            f"({support.fmt(sum(b[1] for b in builds) * 1000)} ms CPU in all)",
        ],
    ]
    memory, timeout = result.get("memory_mb", 512), result.get("timeout_seconds", 120)
    reserve = result.get("time_reserve_seconds", 0)
    vcpu, rate, cpu_bound = aws_estimate(cpu_per_claim / 1000, sends_per_claim, result["shards"], memory)
    needed = tasks / rate if claimed else float("nan")
    usable = timeout - reserve
    verdict = "within" if needed <= usable else "over"
    return "\n".join(
        [
            f"One dispatcher tick over {tasks:,} due tasks on moto (in-process, DynamoDB serialised, no table copy per "
            f"transaction), claiming for {result['budget']:.0f} s. Requests per claim are exact; "
            "local rates are ratios only.",
            "",
            support.md_table(["dispatcher", "measured"], rows, align="ll"),
            "",
            f"- SQS: claimed runs' messages share SendMessageBatch requests across claims, "
            f"{support.fmt(1 / sends_per_claim if sends_per_claim else None)} runs per request here "
            "(at most ten; a run waits at most 1 s for company, and moto's slow claims make it wait out that second).",
            f"- What it means on AWS (an estimate, not a measurement): {cpu_per_claim:.1f} ms of CPU per claim here; "
            f"at the template's {memory:.0f} MB Lambda gives ~{vcpu:.2f} vCPU (Python's threads use at most one), "
            f"so {cpu_bound:.0f} claims/s at most on CPU; with {TRANSACT_LATENCY_SECONDS * 1000:.0f} ms per "
            f"TransactWriteItems and {SEND_BATCH_LATENCY_SECONDS * 1000:.0f} ms per SendMessageBatch over "
            f"{result['shards']} shard threads, about {rate:.0f} claims/s: ~{needed:.0f} s for {tasks:,} claims, "
            f"{verdict} the {usable:.0f} s its {timeout:.0f} s timeout leaves after the tick's "
            f"{reserve:.0f} s reserve. Past that, the tick stops claiming and the next tick takes the rest.",
            f"- Load average at the end: {result.get('load', '?')}; moto and the dispatcher share this process's GIL.",
        ]
    )


def headline(result: dict[str, Any]) -> dict[str, float]:
    """The figures compared from run to run (bench.run)."""
    claimed = max(result["claimed"], 1)
    shards = result["shards_detail"].values()
    rates = [s["claimed"] / s["wall"] for s in shards if s["wall"] > 0 and s["claimed"]]
    return {
        "dispatcher: requests per claim": sum(
            row["requests"] for op, row in result["operations"].items() if op != "dynamodb Query"
        )
        / claimed,
        "dispatcher: CPU per claim (ms)": sum(s["cpu"] for s in shards) / claimed * 1000,
        "dispatcher: local claims/s per shard": support.median(rates),
    }


def main(argv: Sequence[str] | None = None) -> int:
    def options(parser: Any) -> None:
        parser.add_argument("--tasks", type=int, help=f"due tasks (default {TASKS})")
        parser.add_argument("--budget", type=float, help=f"seconds of claiming (default {BUDGET_SECONDS:.0f})")

    return support.main("bench.dispatcher", measure, render, argv, description=__doc__ or "", add_arguments=options)


if __name__ == "__main__":
    raise SystemExit(main())
