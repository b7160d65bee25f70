"""Cost per scheduled run, end to end, beside a Step Functions design.

What runs (in a worker process, moto in-process, the real handlers):

1. N tasks (weekday-cron, a few variables, two tools) exist, each with 20
   finished runs behind it (the runner's "last runs" query reads up to 20), and
   all are due now;
2. the dispatcher handler ticks once (claims, SendMessageBatch);
3. a poller does what Lambda's SQS event source mapping does (ReceiveMessage,
   invoke the runner handler with BatchSize from the template, DeleteMessageBatch)
   until every run has ended; the model is the local fake (tokens are excluded);
4. one more tick with nothing due: the fixed cost of a tick, subtracted from
   step 2 and reported per month instead.

Every request is recorded (bench.harness.Recorder) and priced with
bench.costmodel; DynamoDB units come from the items' sizes before and after
each write, never from moto. Three shapes of run: a small one (a two-line prompt,
a one-line answer), the same with a PDF report (the runner renders it and PUTs it
to S3 beside the transcript), and one with a 2 KB prompt and a 2 KB answer, since
the run item carries both and every write of it is billed per KB (twice: the table
and the ByOwner index).

The Step Functions alternative (bench.costmodel.StepFunctionsDesign) is costed
from the same measured item sizes: one Standard execution per task looping
Wait → RunAgent → NextOccurrence → Choice, the run record, transcript and
event kept.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import support
from bench.costmodel import (
    CORE_LINES,
    PRICES,
    PRICES_AS_OF,
    PRICES_REGION,
    SFN_STATES_PER_RUN,
    FixedCosts,
    RunShape,
    StepFunctionsDesign,
    Usage,
    item_size,
    per_million_runs,
)

HISTORY_RUNS = 20
TICK_SECONDS_PRODUCTION = 300
SECONDS_PER_MONTH = 30 * 86_400
# Lambda's SQS event source mapping long-polls an idle queue with five pollers (20 s waits).
IDLE_POLLERS = 5
IDLE_POLL_SECONDS = 20

SMALL_PROMPT = "Summarise the open incidents for {{team}} and list the three oldest.\nKeep it under ten lines."
BIG_FIRST_LINE = "Summarise the open incidents for {{team}}: " + "context " * 245  # ~2,000 characters
# name -> (prompt, the task's report format or None). The big shape stays last (render reads it there).
SCENARIOS: dict[str, tuple[str, str | None]] = {
    "small": (SMALL_PROMPT, None),
    "small + PDF report": (SMALL_PROMPT, "pdf"),
    "2 KB prompt + answer": (BIG_FIRST_LINE.strip() + "\nKeep it short.", None),
}


def measure(tasks: int = 10) -> dict[str, Any]:
    from bench.harness import Recorder, local_aws, moto_transactions_without_table_copy, template_indexes

    log_path = Path(tempfile.mkstemp(prefix="bench-cost-stdout-")[1])
    # Everything the handlers print (Powertools JSON logs, EMF metrics) is what
    # CloudWatch Logs would ingest: send fd 1 to a file and weigh it per phase.
    sys.stdout.flush()
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND)
    os.dup2(fd, 1)

    def logged() -> int:
        sys.stdout.flush()
        return log_path.stat().st_size

    with local_aws(prefix="benchcost") as aws:
        from agentcron_local.fake_model import FakeModel

        model = FakeModel().start()
        os.environ["ANTHROPIC_BASE_URL"] = model.base_url
        os.environ["ANTHROPIC_API_KEY"] = "local-fake-model"
        try:
            recorder = Recorder(template_indexes()).install()
            with moto_transactions_without_table_copy() as moto_copy:
                result = _measure(aws.env, recorder, tasks, logged)
            if moto_copy.cancelled:
                raise RuntimeError(f"{moto_copy.cancelled} transaction(s) cancelled: moto's state is unsound")
        finally:
            model.stop()
    return result


def _measure(env: dict[str, str], recorder: Any, tasks: int, logged: Any) -> dict[str, Any]:
    import boto3
    from agentcron import bootstrap
    from agentcron.bootstrap.dispatcher import root as dispatcher_root
    from agentcron_local.gateway import lambda_context, load_function_handler
    from agentcron_local.services import QueuePoller, runner_event_source

    from bench.harness import by_operation, total, write_units_by_target

    bootstrap.reset()
    dispatcher = load_function_handler("dispatcher")
    runner = load_function_handler("runner")
    batch_size, _ = runner_event_source()
    poller = QueuePoller(queue_url=env["RUN_QUEUE_URL"], handler=runner, batch_size=batch_size, wait_seconds=1)
    sqs = boto3.session.Session().client("sqs")
    store = dispatcher_root().new_store()
    tick_event = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}, "time": ""}

    def tick() -> dict[str, Any]:
        result: dict[str, Any] = dispatcher(dict(tick_event), lambda_context("dispatcher"))
        return result

    def drain(expected: int) -> int:
        before = poller.invocations
        done, deadline = 0, time.monotonic() + 120
        while done < expected and time.monotonic() < deadline:
            done += poller.poll_once(sqs)
        if done < expected:
            raise RuntimeError(f"only {done} of {expected} run messages arrived")
        return poller.invocations - before

    scenarios: dict[str, Any] = {}
    clock = time.monotonic()

    def note(what: str) -> None:
        nonlocal clock
        print(f"[bench.cost] {what}: {time.monotonic() - clock:.1f} s", file=sys.stderr, flush=True)
        clock = time.monotonic()

    with recorder.paused():
        tick()  # warm the handlers (imports, clients): a cold start is not per run
    for index, (name, (prompt, report)) in enumerate(SCENARIOS.items()):
        with recorder.paused():
            task_ids = _create_tasks(store, tasks, prompt, tag=f"s{index}", report=report)
            # Due a few seconds ago: a run claimed more than QUEUED_GRACE_SECONDS (120 s) after its
            # time is also re-sent by the same tick's recovery (a duplicate message), which is not
            # the steady state measured here.
            warm_up = int(time.time()) - 5
            _make_due(store, task_ids, warm_up)
            tick()
            drain(len(task_ids))
            _seed_history(store, task_ids, HISTORY_RUNS - 1)
            _make_due(store, task_ids, max(int(time.time()) - 5, warm_up + 1))
        note(f"{name}: set-up")

        marks = {"start": logged()}
        with recorder.recording(f"{name}:tick"):
            summary = tick()
        marks["ticked"] = logged()
        with recorder.recording(f"{name}:run"):
            invocations = drain(len(task_ids))
        marks["ran"] = logged()
        with recorder.recording(f"{name}:idle"):
            idle_summary = tick()
        marks["idle"] = logged()
        note(f"{name}: measured round")
        if summary.get("claimed") != len(task_ids) or idle_summary.get("claimed"):
            raise RuntimeError(f"unexpected ticks: {summary} then {idle_summary}")

        n = len(task_ids)
        tick_calls, run_calls = recorder.in_phase(f"{name}:tick"), recorder.in_phase(f"{name}:run")
        idle_calls = recorder.in_phase(f"{name}:idle")
        idle = total(idle_calls) + Usage(lambda_requests=1, log_bytes=marks["idle"] - marks["ran"])
        ticked = total(tick_calls) + Usage(lambda_requests=1, log_bytes=marks["ticked"] - marks["start"])
        dispatch_per_run = (ticked - idle).scaled(1 / n)
        runner_per_run = (
            total(run_calls) + Usage(lambda_requests=invocations, log_bytes=marks["ran"] - marks["ticked"])
        ).scaled(1 / n)
        agentcron = dispatch_per_run + runner_per_run

        runs = [_final_run(store, task_id) for task_id in task_ids]
        shape = RunShape(
            task_item=round(_mean([_size(store, {"PK": f"TASK#{t}", "SK": "TASK"}) for t in task_ids])),
            run_item_started=round(
                _mean(
                    [
                        w["after"]
                        for c in run_calls
                        if c.operation == "TransactWriteItems"
                        for w in c.writes
                        if w["sk"].startswith("RUN#")
                    ]
                )
            ),
            run_item_final=round(_mean([item_size(r["wire"]) for r in runs])),
            recent_runs_read=round(sum(c.bytes for c in run_calls if c.operation == "Query") / n),
            event_entry=round(_mean([c.bytes for c in run_calls if c.operation == "PutEvents"])),
            transcript_puts=sum(c.usage.s3_puts for c in run_calls) / n,
            runner_log_bytes=runner_per_run.log_bytes,
        )
        sfn = StepFunctionsDesign().per_run(shape)
        statuses: dict[str, int] = {}
        for run in runs:
            statuses[run["status"]] = statuses.get(run["status"], 0) + 1
        scenarios[name] = {
            "runs": n,
            "prompt_chars": len(prompt),
            "output_chars": round(_mean([len(r["output"]) for r in runs])),
            "statuses": statuses,
            "per_run": {"agentcron": agentcron.as_dict(), "step_functions": sfn.as_dict()},
            "per_run_dispatch": dispatch_per_run.as_dict(),
            "per_run_runner": runner_per_run.as_dict(),
            "per_million": {"agentcron": per_million_runs(agentcron), "step_functions": per_million_runs(sfn)},
            "operations": {
                "dispatcher": _per_run_ops(by_operation(tick_calls), by_operation(idle_calls), n),
                "runner + queue": _per_run_ops(by_operation(run_calls), {}, n),
            },
            "write_units_by_target": {
                k: v / n for k, v in sorted(write_units_by_target(tick_calls + run_calls).items())
            },
            "idle_tick": idle.as_dict(),
            "idle_tick_operations": by_operation(idle_calls),
            "shape": asdict(shape),
            "notes": sorted({c.note for c in tick_calls + run_calls if c.note and c.note != "empty"}),
        }

    any_scenario = next(iter(scenarios.values()))
    ticks = SECONDS_PER_MONTH / TICK_SECONDS_PRODUCTION
    fixed = FixedCosts(
        ticks_per_month=ticks,
        per_tick=Usage(**any_scenario["idle_tick"]),
        idle_receives_per_month=IDLE_POLLERS * SECONDS_PER_MONTH / IDLE_POLL_SECONDS,
    )
    return {
        "tasks": tasks,
        "scenarios": scenarios,
        "fixed_per_month": {"usage": fixed.usage().as_dict(), "dollars": fixed.usage().dollars(), "ticks": ticks},
        "prices": asdict(PRICES),
        "prices_as_of": PRICES_AS_OF,
        "region": PRICES_REGION,
    }


# ---- set-up helpers (not recorded) -----------------------------------------------------------


def _create_tasks(store: Any, count: int, prompt: str, tag: str, report: str | None = None) -> list[str]:
    from agentcron.ids import new_task_id
    from agentcron.models import AgentConfig, Task

    now = datetime.now(UTC).replace(microsecond=0)
    ids = []
    for index in range(count):
        task = Task.model_validate(
            {
                "id": new_task_id(),
                "owner": f"owner-{index % 5}",
                "name": f"Morning incidents {tag}-{index}",
                "description": "Daily summary of open incidents for the platform team",
                "prompt": prompt,
                "variables": {"team": "platform", "channel": "#ops"},
                "schedule": {"type": "cron", "expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"},
                "agent": AgentConfig(tools=["web_fetch", "ask_user"]).model_dump(),
                "tags": ["ops", "daily"],
                "report": {"format": report} if report else None,
                "next_run_at": None,
                "created_at": now,
                "updated_at": now,
            }
        )
        store.create_task(task)
        ids.append(task.id)
    return ids


def _make_due(store: Any, task_ids: Sequence[str], epoch: int) -> None:
    from agentcron.store import shard_of, task_key

    for task_id in task_ids:
        store.table.update_item(
            Key=task_key(task_id),
            UpdateExpression="SET next_run_at = :due, due_shard = :shard",
            ExpressionAttributeValues={":due": epoch, ":shard": shard_of(task_id, store.due_shards)},
        )


def _seed_history(store: Any, task_ids: Sequence[str], copies: int) -> None:
    """Copies of each task's finished run, a day apart further back: the task's run history."""
    from agentcron.ids import scheduled_run_id

    client = store.table.meta.client
    for task_id in task_ids:
        items = store.table.query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :run)",
            ExpressionAttributeValues={":pk": f"TASK#{task_id}", ":run": "RUN#"},
        )["Items"]
        (finished,) = items
        epoch = int(str(finished["id"]).rsplit("_", 1)[1])
        for back in range(1, copies + 1):
            older = dict(finished)
            run_id = scheduled_run_id(task_id, epoch - back * 86_400)
            older.update({"id": run_id, "SK": f"RUN#{run_id}", "GSI1SK": f"{epoch - back * 86_400:010d}#{run_id}"})
            client.put_item(TableName=store.table_name, Item=older)


def _final_run(store: Any, task_id: str) -> dict[str, Any]:
    from bench.costmodel import to_wire

    items = store.table.query(
        KeyConditionExpression="PK = :pk AND begins_with(SK, :run)",
        ExpressionAttributeValues={":pk": f"TASK#{task_id}", ":run": "RUN#"},
        ScanIndexForward=False,
        Limit=1,
    )["Items"]
    item = items[0]
    return {"status": item["status"], "output": item.get("output", ""), "wire": to_wire(item)}


def _size(store: Any, key: dict[str, str]) -> int:
    from bench.costmodel import to_wire

    item = store.table.get_item(Key=key, ConsistentRead=True).get("Item")
    return item_size(to_wire(item)) if item else 0


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _per_run_ops(
    ops: dict[str, dict[str, float]], fixed: dict[str, dict[str, float]], n: int
) -> dict[str, dict[str, float]]:
    """Requests and units per run by operation, less what an idle tick does anyway."""
    result = {}
    for op, row in ops.items():
        base = fixed.get(op, {})
        per_run = {k: (v - base.get(k, 0.0)) / n for k, v in row.items() if k != "seconds"}
        if per_run.get("requests", 0) > 1e-9:
            result[op] = per_run
    return result


# ---- the table ---------------------------------------------------------------------------------

LINES = (*CORE_LINES, "Step Functions", "Lambda requests", "CloudWatch Logs")
UNIT_OF_LINE = {
    "DynamoDB writes": ("ddb_write_units", "WRU"),
    "DynamoDB reads": ("ddb_read_units", "RRU"),
    "SQS": ("sqs_requests", "req"),
    "S3": ("s3_puts", "PUT"),
    "EventBridge": ("events", "events"),
    "Step Functions": ("sfn_transitions", "transitions"),
    "Lambda requests": ("lambda_requests", "invokes"),
    "CloudWatch Logs": ("log_bytes", "bytes"),
}


def render(result: dict[str, Any]) -> str:
    scenarios = result["scenarios"]
    headers = ["per 1M scheduled runs"]
    for name in scenarios:
        headers += [f"agentcron, {name}", f"Step Functions, {name}"]
    rows = []
    for line in LINES:
        row = [line]
        for data in scenarios.values():
            for design in ("agentcron", "step_functions"):
                per_run = data["per_run"][design]
                field, unit = UNIT_OF_LINE[line]
                quantity = per_run[field] + (per_run["s3_gets"] if line == "S3" else 0)
                cost = data["per_million"][design][line]
                row.append(f"{support.usd(cost)} ({support.fmt(quantity)} {unit}/run)" if quantity else "-")
        rows.append(row)
    for label, lines in (("**requests subtotal** (DynamoDB, SQS, S3, EventBridge)", CORE_LINES), ("**total**", LINES)):
        row = [label]
        for data in scenarios.values():
            for design in ("agentcron", "step_functions"):
                row.append(f"**{support.usd(sum(data['per_million'][design][line] for line in lines))}**")
        rows.append(row)
    out = [
        f"Cost per 1M scheduled runs at {result['region']} on-demand list prices ({PRICES_AS_OF}; sources in "
        "bench/costmodel.py), "
        f"model tokens excluded; {result['tasks']} runs per shape, each task with {HISTORY_RUNS} runs of history.",
        "",
        support.md_table(headers, rows),
        "",
    ]
    first_name, first = next(iter(scenarios.items()))
    op_rows = []
    for where, ops in first["operations"].items():
        for op, row in sorted(ops.items()):
            units = []
            if row.get("ddb_write_units"):
                units.append(f"{support.fmt(row['ddb_write_units'])} WRU")
            if row.get("ddb_read_units"):
                units.append(f"{support.fmt(row['ddb_read_units'])} RRU")
            op_rows.append([where, op, support.fmt(row["requests"]), ", ".join(units) or "-"])
    out += [
        f"agentcron requests per run ({first_name} shape; dispatcher rows exclude the fixed per-tick queries; "
        "WRU include index writes):",
        "",
        support.md_table(["where", "request", "per run", "units per run"], op_rows, align="llrl"),
        "",
    ]
    shape = first["shape"]
    fixed = result["fixed_per_month"]
    big = list(scenarios.values())[-1]["shape"]
    targets = first["write_units_by_target"]
    kinds: dict[str, list[str]] = {}
    for key, units in targets.items():
        kind, where = key.split(" ", 1)
        kinds.setdefault(kind, []).append(f"{where} {support.fmt(units)}")
    out += [
        f"- Where agentcron's {support.fmt(sum(targets.values()))} WRU per run go ({first_name} shape): "
        + "; ".join(f"{kind} item: {', '.join(parts)}" for kind, parts in kinds.items())
        + ". Every index projects ALL, so each write of an item also rewrites its entry in every index it is in.",
    ]
    out += [
        f"- Item sizes measured ({first_name} / {list(scenarios)[-1]}): "
        f"task {shape['task_item']} / {big['task_item']} B, "
        f"run item at start {shape['run_item_started']} / {big['run_item_started']} B, at the end "
        f"{shape['run_item_final']} / {big['run_item_final']} B; the runner's recent-runs query reads "
        f"{shape['recent_runs_read']:,} / {big['recent_runs_read']:,} B per run.",
        f"- Fixed, whatever the number of runs: {support.fmt(fixed['ticks'])} ticks a month at 300 s "
        f"({support.usd(sum(v for k, v in fixed['dollars'].items() if k != 'SQS'))}) plus the event source "
        f"mapping's idle long polls ({IDLE_POLLERS} pollers x {IDLE_POLL_SECONDS} s, "
        f"{support.usd(fixed['dollars']['SQS'])}): about {support.usd(sum(fixed['dollars'].values()))} a month. "
        "The Step Functions design has no fixed cost.",
        f"- Step Functions design: one Standard execution per task looping {' → '.join(SFN_STATES_PER_RUN)} "
        "(4 transitions, 2 Lambda invocations per run); it still reads the task and its last runs, writes the run "
        "RUNNING and then its outcome, updates the task's last run (each with its ByOwner index entry), saves the "
        "transcript and puts the event; sizes are agentcron's measured ones.",
        "- Not in either total: Lambda duration (the agent's own time dominates and is the same in both), "
        "X-Ray traces (Tracing: Active; $5 per 1M traces recorded beyond sampling), Secrets Manager (one read "
        "per cold start), storage, data transfer.",
    ]
    return "\n".join(out)


def headline(result: dict[str, Any]) -> dict[str, float]:
    """The figures compared from run to run (bench.run)."""
    out = {}
    for name, data in result["scenarios"].items():
        for design in ("agentcron", "step_functions"):
            out[f"cost {name}, {design}: $ per 1M runs"] = sum(data["per_million"][design].values())
        out[f"cost {name}, agentcron: WRU per run"] = data["per_run"]["agentcron"]["ddb_write_units"]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    def options(parser: Any) -> None:
        parser.add_argument("--tasks", type=int, help="runs per shape (default 10)")

    return support.main("bench.cost", measure, render, argv, description=__doc__ or "", add_arguments=options)


if __name__ == "__main__":
    raise SystemExit(main())
