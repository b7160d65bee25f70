"""What the API returns: resource views with working `_links`.

Views are pydantic models so the OpenAPI document describes the responses
exactly; internal bookkeeping (owner, counters) stays out of them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from agentcron.models import (
    AgentConfig,
    ChainLink,
    NotifySettings,
    Policies,
    ReportFormat,
    ReportSettings,
    Run,
    RunAttempt,
    RunError,
    RunStatus,
    RunSummary,
    Task,
    Trigger,
    Usage,
)
from agentcron.overlap import manual_run_refusal
from agentcron.pricing import PRICES_AS_OF, CostEstimate, estimate_cost, round_usd
from agentcron.read_models import CostTotals, MonthBudget, Preview, RunStatistics, WordsPreview
from agentcron.schedules import Schedule, to_epoch
from agentcron.tools_catalog import ToolSpec
from pydantic import BaseModel, ConfigDict, Field

API_PREFIX = "/v1"


class Link(BaseModel):
    href: str
    method: str = "GET"


class View(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class TaskView(View):
    id: str
    name: str
    description: str
    prompt: str
    variables: dict[str, str]
    schedule: Schedule
    enabled: bool
    paused_reason: str | None
    budget_paused_until: datetime | None = Field(
        default=None,
        description="Set while the task's monthly budget pauses it: when it resumes by itself (the 1st of the "
        "next month, UTC); raising policies.monthly_budget_usd resumes it at once",
    )
    policies: Policies
    agent: AgentConfig
    notify: NotifySettings
    tags: list[str]
    version: int
    next_run_at: datetime | None
    next_runs: list[datetime] | None = Field(default=None, description="The next occurrences (only on GET of one task)")
    last_run: RunSummary | None
    output_schema: dict[str, Any] | None = Field(
        default=None, description="The JSON Schema each run's structured `result` validates against"
    )
    report: ReportSettings | None = Field(
        default=None, description="The report each run gets when it ends (GET /v1/runs/{id}/report); null: none"
    )
    conversation_id: str | None = Field(
        default=None, description="The conversation it was created in: its runs report there"
    )
    template: str | None = Field(default=None, description="The template it was created from (GET /v1/templates)")
    on_success: list[ChainLink] = Field(default_factory=list, description="Tasks to run after each successful run")
    on_failure: list[ChainLink] = Field(
        default_factory=list, description="Tasks to run after each failed or timed-out run"
    )
    created_at: datetime
    updated_at: datetime
    webhook_secret: str | None = Field(
        default=None,
        description="Signs webhook deliveries (Standard Webhooks: webhook-signature v1 HMAC). Returned only by the "
        "create or update that sets notify.webhook_url; keep it.",
    )
    links: dict[str, Link] = Field(alias="_links")


COST_BASIS = (
    f"Anthropic API list prices as of {PRICES_AS_OF}, model tokens only: excludes AWS costs, web search and "
    "other tool fees, batch, data-residency and long-context rates, discounts and taxes"
)
COST_EXCLUDES = f"An estimate at {COST_BASIS}."


class RunCost(View):
    usd: float | None = Field(
        description="The run's model tokens in USD, each kind (input, output, 5-minute cache writes, cache "
        "reads) at its own price, rounded to a millionth; null when the model has no known price. " + COST_EXCLUDES
    )
    priced_as: str | None = Field(
        description="The price-table entry used: the run's model without its snapshot date, e.g. "
        "claude-sonnet-4-5 for claude-sonnet-4-5-20250929. Models are priced by exact id, never "
        "by family, so a model agentcron does not know has no estimate rather than a guess."
    )
    note: str | None = Field(description="Why there is no estimate, e.g. 'unknown model claude-x: ...'")


class RunView(View):
    id: str
    task_id: str
    status: RunStatus
    trigger: Trigger
    conversation_id: str | None = Field(
        default=None, description="A chat turn's conversation (trigger `chat`); its task is the conversation's own"
    )
    scheduled_for: datetime
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempt: int
    prompt: str | None
    variables: dict[str, str]
    output: str | None
    question: str | None
    question_kind: str | None = Field(default=None, description="free_text, confirm (yes/no) or choice")
    question_options: list[str] | None = Field(default=None, description="The answers a choice question takes")
    error: RunError | None
    usage: Usage | None
    duration_ms: int | None
    model: str | None = Field(description="The model that answered (as the API named it); priced in cost_estimate")
    cost_estimate: RunCost | None = Field(description="Null while the run has not reached the model (no usage)")
    reason: str | None
    attempts: list[RunAttempt] = Field(
        description="Every attempt, oldest first (the newest 20 when replies gave the run more): when it ran, "
        "how it ended, its error and its own tokens"
    )
    total_messages: int = Field(
        description="Messages exchanged with the model over all attempts: the prompt (or reply) that opened "
        "each, every answer and every tool-result turn; 0 when the run never got an answer"
    )
    total_tool_calls: int = Field(description="Tool calls the model made over all attempts (client and server tools)")
    result: dict[str, Any] | None = Field(
        default=None, description="The structured result (the task's output_schema), once the run succeeded"
    )
    notified: bool | None = Field(
        default=None, description="Whether the run notified its owner (the task's notify.when); null before it ends"
    )
    parent_run_id: str | None = Field(
        default=None, description="The run whose end started this one (its task's on_success / on_failure)"
    )
    chain_depth: int = Field(default=0, description="Links from the run that started the chain (0: not chained)")
    children: list[str] = Field(default_factory=list, description="The runs this run's end started (chains)")
    trigger_id: str | None = Field(default=None, description="The webhook trigger whose delivery started it")
    event: dict[str, Any] | None = Field(
        default=None, description="The delivery's JSON body (the prompt's {{event}}), for a webhook run"
    )
    notify_reason: str | None = Field(default=None, description="Why it did or did not notify")
    notify_message: str | None = Field(default=None, description="What the agent told notify_user to say")
    report_format: ReportFormat | None = Field(
        default=None, description="The format of the run's report, once stored (`_links.report` fetches it)"
    )
    links: dict[str, Link] = Field(alias="_links")


class TaskPage(View):
    items: list[TaskView]
    next_cursor: str | None


class RunPage(View):
    items: list[RunView]
    next_cursor: str | None


class ListedTool(ToolSpec):
    """A tool a task may give its agent: built in (``client``: the runner runs it), Anthropic's
    (``server``), or one of the caller's connectors' (``connector``: name it through
    ``agent.connectors``; this is what the connector's last test listed)."""

    kind: Literal["client", "server", "connector"]
    connector_id: str | None = Field(default=None, description="The connector offering it (kind connector)")
    tool: str | None = Field(default=None, description="Its name on the connector's server (kind connector)")
    checked_at: datetime | None = Field(default=None, description="When the connector's test listed it")


class ToolList(View):
    items: list[ListedTool]


class DstChangeView(View):
    at: datetime = Field(description="The occurrence (one of `occurrences`) the DST rule touched")
    change: Literal["moved", "skipped", "doubled"] = Field(
        description="moved: its wall time does not exist (the clocks go forward), so it runs later; skipped: "
        "a wall time that does not run on its own (the repeat of a time that happens twice, or a nonexistent "
        "time that coincides with this run); doubled: one of the two runs of a time that happens twice"
    )
    local_time: str = Field(description="The wall time the schedule names, in its time zone (no offset)")
    note: str = Field(description="The same in words")


class SchedulePreview(View):
    description: str
    occurrences: list[datetime]
    dst_changes: list[DstChangeView] = Field(
        default_factory=list,
        description="The occurrences whose time the daylight-saving rule decided (the schedule's `dst` policy); "
        "empty when no clock change falls among them",
    )


class ScheduleFromWords(SchedulePreview):
    """A schedule read from words: the schedule to save, and its preview."""

    schedule: Schedule


class FailureSummary(View):
    run_id: str
    scheduled_for: datetime
    status: RunStatus
    error: RunError | None


class CostSummary(View):
    total_usd: float | None = Field(
        description="The estimated model-token cost of the priced runs in the window, in USD; null when none "
        "is priced. " + COST_EXCLUDES
    )
    mean_per_run_usd: float | None = Field(
        description="total_usd over runs_priced: the mean cost of a run that reached the model (runs "
        "with no usage, such as skipped or missed ones, cost nothing and are not counted)"
    )
    runs_priced: int = Field(description="Runs in the window with usage and a model with a known price")
    runs_unpriced: int = Field(
        description="Runs in the window with usage but no estimate (unknown model, or none recorded): "
        "their tokens are in the token totals, not in total_usd"
    )
    pricing: dict[str, str | None] = Field(
        description="Each model the window's runs used, with the price-table entry that priced it "
        "(null: no known price, so those runs are unpriced)"
    )
    basis: str = Field(default=COST_BASIS, description="What the estimate counts and what it leaves out")


class MonthBudgetView(View):
    month: str = Field(description="The UTC calendar month, YYYY-MM")
    budget_usd: float = Field(description="policies.monthly_budget_usd")
    spent_usd: float = Field(
        description="What the task's runs spent this month on model tokens (estimated, counted per attempt as it "
        "ends). " + COST_EXCLUDES
    )
    left_usd: float
    runs_priced: int = Field(description="Attempts this month whose model has a known price")
    runs_unpriced: int = Field(
        description="Attempts this month whose model has no known price: unknown cost, not counted as $0"
    )
    paused_until: datetime | None = Field(
        description="Set while the budget pauses the task: when it resumes (the 1st of the next month, UTC)"
    )


class TaskStats(View):
    task_id: str
    window: int = Field(description="How many of the most recent runs these figures cover")
    counts: dict[str, int]
    success_rate: float | None
    duration_ms_p50: int | None
    duration_ms_p95: int | None
    input_tokens_total: int = Field(description="Uncached input tokens")
    output_tokens_total: int
    cache_creation_input_tokens_total: int = Field(description="Input tokens written to the prompt cache")
    cache_read_input_tokens_total: int = Field(description="Input tokens read from the prompt cache")
    cost_estimate: CostSummary
    last_failures: list[FailureSummary]
    this_month: MonthBudgetView | None = Field(
        default=None, description="The task's monthly budget and this month's spend; null without a budget"
    )


class DueExecutionView(View):
    started: list[RunView] = Field(description="The runs this call claimed and queued: every occurrence due now")
    already_queued: list[RunView] = Field(
        description="Due runs that were queued already (claimed ahead by the schedule, or waiting for a retry): "
        "they start without this call"
    )


class Transcript(View):
    run_id: str
    messages: list[dict[str, Any]] = Field(description="The Messages API conversation, as sent and received")


class Health(View):
    status: str
    time: datetime


def from_epoch(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def task_links(task: Task, now: datetime) -> dict[str, Link]:
    """Only what would succeed now: a deleted task offers nothing, a paused one
    `enable`, an enabled one `disable`, and `run_now` unless the overlap policy
    would refuse it (agentcron.overlap)."""
    if task.deleted_at is not None:
        return {}
    base = f"{API_PREFIX}/tasks/{task.id}"
    links = {"self": Link(href=base), "runs": Link(href=f"{base}/runs")}
    if manual_run_refusal(task, to_epoch(now)) is None:
        links["run_now"] = Link(href=f"{base}/runs", method="POST")
    links["stats"] = Link(href=f"{base}/stats")
    links["history"] = Link(href=f"{base}/history")
    if task.enabled:
        links["disable"] = Link(href=f"{base}/disable", method="POST")
    else:
        links["enable"] = Link(href=f"{base}/enable", method="POST")
    return links


def task_view(task: Task, *, next_runs: list[datetime] | None = None, reveal_secret: bool = False) -> TaskView:
    data: dict[str, Any] = task.model_dump(
        include={
            "id",
            "name",
            "description",
            "prompt",
            "variables",
            "enabled",
            "paused_reason",
            "tags",
            "version",
            "last_run",
            "conversation_id",
            "output_schema",
            "report",
            "template",
            "on_success",
            "on_failure",
            "created_at",
            "updated_at",
        }
    )
    return TaskView(
        **data,
        schedule=task.schedule,
        policies=task.policies,
        agent=task.agent,
        notify=task.notify,
        # (A budget-paused task keeps its resume time as next_run_at, for the Due index: not a run.)
        next_run_at=None if task.budget_paused_until is not None else from_epoch(task.next_run_at),
        budget_paused_until=from_epoch(task.budget_paused_until),
        next_runs=next_runs,
        webhook_secret=task.webhook_secret if reveal_secret else None,
        links=task_links(task, datetime.now(UTC)),
    )


def run_links(run: Run, *, task_deleted: bool = False) -> dict[str, Link]:
    """Only what would succeed now. `task` stays for a deleted task: it answers
    410 Gone, which says what became of it."""
    base = f"{API_PREFIX}/runs/{run.id}"
    links = {"self": Link(href=base)}
    if run.conversation_id is not None:
        # A chat turn's task is the conversation's own, not one the task API shows.
        links["conversation"] = Link(href=f"{API_PREFIX}/conversations/{run.conversation_id}")
    else:
        links["task"] = Link(href=f"{API_PREFIX}/tasks/{run.task_id}")
    if run.status == RunStatus.WAITING_INPUT and not task_deleted:
        links["reply"] = Link(href=f"{base}/reply", method="POST")
    if run.status in (RunStatus.QUEUED, RunStatus.WAITING_INPUT):
        links["cancel"] = Link(href=f"{base}/cancel", method="POST")
    if run.parent_run_id:
        links["parent"] = Link(href=f"{API_PREFIX}/runs/{run.parent_run_id}")
    if run.transcript_key:
        links["transcript"] = Link(href=f"{base}/transcript")
    if run.report_key:
        links["report"] = Link(href=f"{base}/report")
    return links


def cost_view(estimate: CostEstimate | None) -> RunCost | None:
    if estimate is None:
        return None
    amount = None if estimate.usd is None else round_usd(estimate.usd)
    return RunCost(usd=amount, priced_as=estimate.priced_as, note=estimate.note)


def run_view(run: Run, *, task_deleted: bool = False) -> RunView:
    """`task_deleted`: the run's task is deleted (a waiting run then cannot be resumed)."""
    data: dict[str, Any] = run.model_dump(
        exclude={"owner", "reply", "transcript_key", "report_key", "active_until", "resends", "attempts"}
    )
    data["error"], data["usage"] = run.error, run.usage
    return RunView(
        **data,
        attempts=run.attempts,
        cost_estimate=cost_view(estimate_cost(run.usage, run.model)),
        links=run_links(run, task_deleted=task_deleted),
    )


def run_views(runs: list[Run], deleted_tasks: set[str]) -> list[RunView]:
    """`deleted_tasks`: the runs' deleted tasks (Service.deleted_tasks_of), whose waiting runs offer no `reply`."""
    return [run_view(run, task_deleted=run.task_id in deleted_tasks) for run in runs]


def preview_view(preview: Preview) -> SchedulePreview:
    return SchedulePreview(
        description=preview.description,
        occurrences=preview.occurrences,
        dst_changes=[
            DstChangeView(
                at=at,
                change=change.change,
                local_time=change.local_time.isoformat(timespec="minutes"),
                note=change.note,
            )
            for at, change in preview.dst_changes
        ],
    )


def words_view(words: WordsPreview) -> ScheduleFromWords:
    preview = preview_view(words.preview)
    return ScheduleFromWords(schedule=words.schedule, **preview.model_dump())


def cost_summary_view(cost: CostTotals) -> CostSummary:
    """Rounded once, here, from the exact sums."""
    return CostSummary(
        total_usd=None if cost.total_usd is None else round_usd(cost.total_usd),
        mean_per_run_usd=None if cost.mean_per_run_usd is None else round_usd(cost.mean_per_run_usd),
        runs_priced=cost.runs_priced,
        runs_unpriced=cost.runs_unpriced,
        pricing=cost.pricing,
    )


def stats_view(stats: RunStatistics) -> TaskStats:
    return TaskStats(
        task_id=stats.task_id,
        window=stats.window,
        counts=stats.counts,
        success_rate=stats.success_rate,
        duration_ms_p50=stats.duration_ms_p50,
        duration_ms_p95=stats.duration_ms_p95,
        input_tokens_total=stats.input_tokens_total,
        output_tokens_total=stats.output_tokens_total,
        cache_creation_input_tokens_total=stats.cache_creation_input_tokens_total,
        cache_read_input_tokens_total=stats.cache_read_input_tokens_total,
        cost_estimate=cost_summary_view(stats.cost),
        last_failures=[
            FailureSummary(run_id=f.run_id, scheduled_for=f.scheduled_for, status=f.status, error=f.error)
            for f in stats.last_failures
        ],
        this_month=month_budget_view(stats.this_month),
    )


def month_budget_view(month: MonthBudget | None) -> MonthBudgetView | None:
    if month is None:
        return None
    spend = month.spend
    return MonthBudgetView(
        month=spend.month,
        budget_usd=round_usd(month.budget_usd),
        spent_usd=round_usd(spend.usd),
        left_usd=round_usd(max(Decimal(0), month.budget_usd - spend.usd)),
        runs_priced=spend.runs_priced,
        runs_unpriced=spend.runs_unpriced,
        paused_until=month.paused_until,
    )
