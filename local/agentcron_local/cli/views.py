"""How the CLI shows the API's resources: times, durations, costs, schedules, task and run tables
and fields, previews and transcripts.

Times are shown in the user's zone (``--tz``, ``$TZ``, else the system's), set per command in
``DISPLAY_ZONE``; outside a command they are shown as the API gave them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime, tzinfo
from typing import Any

from agentcron_local.cli.output import Column, one_line, render_fields
from agentcron_local.client import EXIT_USAGE, CliError

LOCAL_ZONE = "local"
# None: as the API gave it; LOCAL_ZONE: the system's zone at each instant (DST included); or a zone.
DISPLAY_ZONE: ContextVar[tzinfo | str | None] = ContextVar("agentcron_display_zone", default=None)

STATUS_STYLES = {
    "SUCCEEDED": "green",
    "FAILED": "red",
    "TIMED_OUT": "red",
    "CANCELLED": "yellow",
    "WAITING_INPUT": "magenta",
    "RUNNING": "cyan",
    "MISSED": "yellow",
}


def status_style(status: str) -> str | None:
    return STATUS_STYLES.get(status)


def fmt_time(value: Any) -> str:
    """ISO 8601 to the second in the display zone (as given when none is set), ``Z`` for UTC; ``-`` for none."""
    if not value:
        return "-"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    zone = DISPLAY_ZONE.get()
    if isinstance(zone, tzinfo) and moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    elif zone == LOCAL_ZONE and moment.tzinfo is not None:
        moment = moment.astimezone()  # the system's zone at that instant, DST included
    text = moment.isoformat(timespec="seconds")
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def display_zone(name: str | None, environ: Mapping[str, str]) -> tzinfo | str:
    """``--tz NAME``, else ``$TZ`` when it names an IANA zone, else the system's zone (LOCAL_ZONE)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    for candidate, given in ((name, True), (environ.get("TZ", "").removeprefix(":"), False)):
        if not candidate:
            continue
        if candidate.upper() in ("UTC", "Z"):
            return UTC
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            if given:
                raise CliError(
                    f"--tz {candidate}: not an IANA time zone (e.g. Europe/Berlin, UTC)", EXIT_USAGE
                ) from None
    return LOCAL_ZONE


def fmt_seconds(seconds: int) -> str:
    """14400 -> 4h, 5400 -> 90m, 90 -> 90s, 172800 -> 2d."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def fmt_duration_ms(value: Any) -> str:
    if not isinstance(value, int | float):
        return "-"
    seconds = value / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def fmt_usd(value: Any) -> str:
    """Dollars to the cent from $1, to a hundredth of a cent below it (a run often costs less than a cent)."""
    if not isinstance(value, int | float):
        return "-"
    if value == 0:
        return "$0.00"
    if value < 0.0001:
        return "<$0.0001"
    return f"${value:,.2f}" if value >= 1 else f"${value:.4f}"


def fmt_tokens(usage: Mapping[str, Any], suffix: str = "") -> str:
    """Input and output always; the prompt cache's writes and reads when there were any."""
    parts = [f"{usage.get('input_tokens' + suffix, 0)} input", f"{usage.get('output_tokens' + suffix, 0)} output"]
    for key, label in (("cache_creation_input_tokens", "cache write"), ("cache_read_input_tokens", "cache read")):
        if usage.get(key + suffix):
            parts.append(f"{usage[key + suffix]} {label}")
    return ", ".join(parts)


def fmt_run_cost(cost: Mapping[str, Any] | None) -> str | None:
    if not cost:
        return None
    if cost.get("usd") is None:
        return f"- ({cost.get('note') or 'not priced'})"
    return f"{fmt_usd(cost['usd'])} ({cost.get('priced_as')} list prices, model tokens only)"


def fmt_cost_summary(cost: Mapping[str, Any]) -> str:
    """Total and mean of the priced runs, the prices used, then what could not be priced and why."""
    lines = []
    pricing = cost.get("pricing") or {}
    if priced := cost.get("runs_priced") or 0:
        total, mean = fmt_usd(cost.get("total_usd")), fmt_usd(cost.get("mean_per_run_usd"))
        lines.append(f"{total} over {plural(priced, 'run')}, {mean} a run")
        used = ", ".join(sorted({entry for entry in pricing.values() if entry}))
        lines.append(f"{used} list prices, model tokens only (no AWS costs)")
    if unpriced := cost.get("runs_unpriced") or 0:
        unknown = sorted(model for model, entry in pricing.items() if entry is None)
        why = f"unknown model {', '.join(unknown)}" if unknown else "no model recorded"
        lines.append(f"{plural(unpriced, 'run')} not priced: {why}")
    return "\n".join(lines)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def schedule_summary(schedule: Mapping[str, Any] | None) -> str:
    if not schedule:
        return "-"
    kind = schedule.get("type")
    if kind == "cron":
        text = f"cron {schedule.get('expression')} {schedule.get('timezone', 'UTC')}"
    elif kind == "interval":
        text = f"every {fmt_seconds(int(schedule.get('every_seconds') or 0))}"
    elif kind == "once":
        text = f"once at {fmt_time(schedule.get('at'))}"
    elif kind == "preset":
        text = f"{schedule.get('preset')} {schedule.get('timezone', 'UTC')}"
    elif kind == "aws":
        text = f"{schedule.get('expression')} {schedule.get('timezone', 'UTC')}"
    else:
        text = str(kind)
    repeated_hour = (schedule.get("dst") or {}).get("repeated_hour")
    if repeated_hour:
        text += f" (repeated hour: {repeated_hour})"
    if schedule.get("start_at"):
        text += f" from {fmt_time(schedule['start_at'])}"
    if schedule.get("end_at"):
        text += f" until {fmt_time(schedule['end_at'])}"
    return text


TASK_COLUMNS = (
    Column("ID", lambda t: str(t["id"])),
    Column("NAME", lambda t: str(t.get("name")), 30),
    Column("STATE", lambda t: "enabled" if t.get("enabled") else "paused"),
    Column("SCHEDULE", lambda t: schedule_summary(t.get("schedule")), 36),
    Column("NEXT RUN", lambda t: fmt_time(t.get("next_run_at"))),
    Column("LAST RUN", lambda t: str((t.get("last_run") or {}).get("status") or "-"), style=status_style),
    Column("TAGS", lambda t: ",".join(t.get("tags") or []) or "-", 24),
    Column("MODEL", lambda t: str((t.get("agent") or {}).get("model") or "-"), wide_only=True),
    Column("TOOLS", lambda t: ",".join((t.get("agent") or {}).get("tools") or []) or "-", wide_only=True),
    Column("VERSION", lambda t: str(t.get("version") or "-"), wide_only=True),
    Column("UPDATED", lambda t: fmt_time(t.get("updated_at")), wide_only=True),
)

RUN_COLUMNS = (
    Column("ID", lambda r: str(r["id"])),
    Column("TASK", lambda r: str(r.get("task_id"))),
    Column("STATUS", lambda r: str(r.get("status")), style=status_style),
    Column("TRIGGER", lambda r: str(r.get("trigger"))),
    Column("SCHEDULED FOR", lambda r: fmt_time(r.get("scheduled_for"))),
    Column("DURATION", lambda r: fmt_duration_ms(r.get("duration_ms"))),
    Column("ATTEMPT", lambda r: str(r.get("attempt") or "-"), wide_only=True),
    Column("MODEL", lambda r: str(r.get("model") or "-"), wide_only=True),
    Column("FINISHED", lambda r: fmt_time(r.get("finished_at")), wide_only=True),
    Column("ERROR", lambda r: str((r.get("error") or {}).get("type") or "-"), 40, wide_only=True),
)


def fmt_history_value(value: Any) -> str:
    """A before/after value as compact JSON text (a string as itself, quoted)."""
    return "-" if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def fmt_changes(entry: Mapping[str, Any]) -> str:
    """An entry's changed fields: `name: "a" -> "b"; tags: [...] -> [...]`."""
    changes = entry.get("changes") or []
    return "; ".join(
        f"{c['field']}: {fmt_history_value(c.get('before'))} -> {fmt_history_value(c.get('after'))}" for c in changes
    )


HISTORY_COLUMNS = (
    Column("WHEN", lambda e: fmt_time(e.get("at"))),
    Column("ACTION", lambda e: str(e.get("action"))),
    Column("BY", lambda e: str(e.get("actor")), 24),
    Column("VIA", lambda e: str(e.get("via"))),
    Column("RUN", lambda e: str(e.get("run_id") or "-")),
    Column("CHANGES", lambda e: fmt_changes(e) or str(e.get("reason") or "-"), 60),
    Column("REASON", lambda e: str(e.get("reason") or "-"), 60, wide_only=True),
    Column("ID", lambda e: str(e["id"]), wide_only=True),
)


def render_task(task: Mapping[str, Any]) -> str:
    agent = task.get("agent") or {}
    last = task.get("last_run") or {}
    state = "enabled" if task.get("enabled") else f"paused ({task.get('paused_reason') or 'no reason given'})"
    return render_fields(
        [
            ("id", task.get("id")),
            ("name", task.get("name")),
            ("description", task.get("description")),
            ("state", state),
            ("schedule", schedule_summary(task.get("schedule"))),
            ("next run", fmt_time(task.get("next_run_at")) if task.get("next_run_at") else None),
            ("next runs", "\n".join(fmt_time(t) for t in task.get("next_runs") or [])),
            ("last run", f"{last['id']} {last.get('status')} {fmt_time(last.get('scheduled_for'))}" if last else None),
            ("prompt", task.get("prompt")),
            ("variables", "\n".join(f"{k}={v}" for k, v in sorted((task.get("variables") or {}).items()))),
            ("tools", ", ".join(agent.get("tools") or [])),
            ("model", agent.get("model")),
            ("limits", _agent_limits(agent)),
            ("policies", _policies(task.get("policies") or {})),
            ("webhook", (task.get("notify") or {}).get("webhook_url")),
            ("signing key", task.get("webhook_secret")),  # the webhook secret: shown once, when it is set
            ("tags", ", ".join(task.get("tags") or [])),
            ("version", task.get("version")),
            ("created", fmt_time(task.get("created_at"))),
            ("updated", fmt_time(task.get("updated_at"))),
        ]
    )


def _agent_limits(agent: Mapping[str, Any]) -> str | None:
    parts = [
        f"{agent[key]} {label}" for key, label in (("max_turns", "turns"), ("max_tokens", "tokens")) if key in agent
    ]
    return ", ".join(parts) if parts else None


def _policies(policies: Mapping[str, Any]) -> str:
    """The policies as ``name=value``, three to a line: the flags of ``tasks create`` say what each is."""
    pairs = [f"{key}={value}" for key, value in policies.items() if value is not None]
    return "\n".join("  ".join(pairs[i : i + 3]) for i in range(0, len(pairs), 3))


def render_stats(stats: Mapping[str, Any]) -> str:
    rate = stats.get("success_rate")
    failures = [
        f"{f['run_id']} {f['status']} {(f.get('error') or {}).get('type', '')}".strip()
        for f in stats.get("last_failures") or []
    ]
    return render_fields(
        [
            ("task", stats.get("task_id")),
            (
                "runs",
                f"{stats.get('window')} most recent: "
                + ", ".join(f"{k} {v}" for k, v in sorted((stats.get("counts") or {}).items())),
            ),
            ("success rate", "-" if rate is None else f"{rate:.0%}"),
            ("duration p50", fmt_duration_ms(stats.get("duration_ms_p50"))),
            ("duration p95", fmt_duration_ms(stats.get("duration_ms_p95"))),
            ("tokens", fmt_tokens(stats, suffix="_total")),
            ("est. cost", fmt_cost_summary(stats.get("cost_estimate") or {})),
            ("last failures", "\n".join(failures)),
        ]
    )


def render_due_execution(done: Mapping[str, Any]) -> str:
    """POST /v1/tasks/execute-due's answer: what it started, and what was on its way already."""
    started, waiting = done.get("started") or [], done.get("already_queued") or []
    lines = [f"started {len(started)} run(s)" + (":" if started else "")]
    lines += [f"  {run['id']}  {run['task_id']}  due {run['scheduled_for']}" for run in started]
    if waiting:
        lines.append(f"{len(waiting)} due run(s) were queued already:")
        lines += [f"  {run['id']}  {run['task_id']}  due {run['scheduled_for']}" for run in waiting]
    return "\n".join(lines)


def render_run(run: Mapping[str, Any]) -> str:
    usage = run.get("usage") or {}
    error = run.get("error") or {}
    return render_fields(
        [
            ("id", run.get("id")),
            ("task", run.get("task_id")),
            ("status", run.get("status")),
            ("trigger", run.get("trigger")),
            ("scheduled for", fmt_time(run.get("scheduled_for"))),
            ("started", fmt_time(run.get("started_at")) if run.get("started_at") else None),
            ("finished", fmt_time(run.get("finished_at")) if run.get("finished_at") else None),
            ("attempt", run.get("attempt")),
            ("duration", fmt_duration_ms(run["duration_ms"]) if run.get("duration_ms") is not None else None),
            ("model", run.get("model")),
            ("usage", f"{fmt_tokens(usage)} tokens" if usage else None),
            ("est. cost", fmt_run_cost(run.get("cost_estimate"))),
            ("variables", " ".join(f"{k}={v}" for k, v in sorted((run.get("variables") or {}).items()))),
            ("question", run.get("question")),
            ("output", run.get("output")),
            ("error", f"{error.get('type')}: {error.get('message')}" if error else None),
            ("reason", run.get("reason")),
        ]
    )


def render_preview(preview: Mapping[str, Any]) -> str:
    notes = {change.get("at"): change.get("note") for change in preview.get("dst_changes") or []}
    lines = [str(preview.get("description", ""))]
    for i, at in enumerate(preview.get("occurrences") or [], 1):
        note = notes.get(at)
        lines.append(f"{i:>3}  {fmt_time(at)}" + (f"  DST: {note}" if note else ""))
    return "\n".join(lines)


def render_transcript(transcript: Mapping[str, Any]) -> str:
    lines: list[str] = []
    for message in transcript.get("messages") or []:
        lines.append(f"[{message.get('role', '?')}]")
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        for block in blocks:
            kind = block.get("type")
            if kind == "text":
                lines.extend(f"  {line}" for line in str(block.get("text", "")).splitlines() or [""])
            elif kind in ("tool_use", "server_tool_use"):
                lines.append(f"  -> {block.get('name')} {json.dumps(block.get('input'), sort_keys=True)}")
            elif kind == "tool_result":
                result = block.get("content")
                if isinstance(result, list):
                    result = " ".join(str(part.get("text", "")) for part in result if isinstance(part, dict))
                marker = "<- error" if block.get("is_error") else "<-"
                lines.append(f"  {marker} {one_line(result)}")
            else:
                lines.append(f"  ({kind})")
    return "\n".join(lines)
