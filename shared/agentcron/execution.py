"""Executing one run: from a queue message to a stored outcome.

The run item is the source of truth and every step is a conditional write,
so a duplicate, stale or out-of-order message does nothing:

1. QUEUED → RUNNING (store.start_run), with a lease and the task's running
   marker; overlap policies are decided here, when a run is about to start,
   the only moment it is knowable whether the previous one still runs.
2. the agent runs (agentcron.agent), within the run's timeout;
3. RUNNING → SUCCEEDED | FAILED | TIMED_OUT | WAITING_INPUT, or back to
   QUEUED for a transient model error while attempts remain: the runner then
   raises RetryLater and the queue's visibility timeout does the backoff
   (never a sleep inside the Lambda).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from agentcron.agent import (
    RECENT_RUNS_IN_PROMPT,
    AgentOutcome,
    AgentRequest,
    OutputSchemaInvalid,
    RunDeadlineExceeded,
    Tally,
    TemplateError,
    ToolExecutor,
    answer_pending_question,
    render_prompt,
    run_agent,
    system_blocks,
)
from agentcron.artifacts import Transcripts
from agentcron.aws_errors import AWS_ERRORS
from agentcron.budgets import run_budget
from agentcron.chains import child_runs, links_after
from agentcron.connectors.errors import ConnectorError, ConnectorGone
from agentcron.errors import Conflict, NotFound, QueueUnavailable, StoreUnavailable
from agentcron.models import (
    FINAL_STATUSES,
    QUESTION_FIELDS,
    Run,
    RunAttempt,
    RunError,
    RunStatus,
    Task,
    TaskCreate,
    Usage,
)
from agentcron.monthly_budgets import MonthlyLimit
from agentcron.notifications import RunEvents
from agentcron.notify_policy import NotifyDecision, decide
from agentcron.observability import RUN_OUTCOME_METRICS, logger, metrics, tracer
from agentcron.overlap import asked_by_owner, holder_of
from agentcron.pricing import estimate_cost
from agentcron.queue import RunMessage, RunQueue
from agentcron.reports.writer import ReportWriter
from agentcron.schedules import to_epoch
from agentcron.secrets import MissingApiKey
from agentcron.spend_control import NO_CHARGE, AttemptCharge, MonthlyBudgets
from agentcron.store import QUEUED_GRACE_SECONDS, ClaimLost, Store
from agentcron.tools.client_tools import ClientTools
from agentcron.tools.connected import ConnectedTools, ConnectorRuntime, WithConnectedTools, no_connectors
from agentcron.tools_catalog import NOTIFY_TOOL, TOOLS, ToolSpec

if TYPE_CHECKING:
    from anthropic import Anthropic

    from agentcron.conversations.turns import ConversationRuns

# A RUNNING run whose runner went silent this long past its timeout is recovered.
LEASE_MARGIN_SECONDS = 60
OUTPUT_CHARS_STORED = 20_000
# A rendered prompt can outgrow a DynamoDB item (50 variables of 10,000 characters each);
# the item keeps its start, the transcript in S3 keeps all of it.
PROMPT_CHARS_STORED = 50_000
ERROR_CHARS_STORED = 2_000
MAX_RETRY_DELAY_SECONDS = 900
# Without a queue to wake it, a buffered run looks again this often.
BUFFER_RECHECK_SECONDS = 30
# Leave the Lambda this long after the run's own deadline to write the outcome.
LAMBDA_WRAP_UP_SECONDS = 15


class ConnectorsUnavailable(Exception):
    """The task has connectors but this executor was built without a connector client."""


class RetryLater(Exception):
    """Hand the message back to the queue, visible again after `seconds`."""

    def __init__(self, seconds: int, reason: str) -> None:
        super().__init__(reason)
        self.seconds = max(0, min(MAX_RETRY_DELAY_SECONDS, seconds))


@dataclass(frozen=True)
class AttemptError:
    """Why an attempt failed, and whether another attempt may succeed."""

    type: str
    message: str
    transient: bool
    retry_after: float | None = None


def classify_model_error(error: Exception) -> AttemptError | None:
    """Sort an anthropic SDK error into transient (the queue retries it) or
    permanent (the run fails at once); None when it is not an SDK error."""
    import anthropic

    if isinstance(error, anthropic.APITimeoutError):
        return AttemptError("timeout", "the model did not answer in time", transient=True)
    if isinstance(error, anthropic.APIConnectionError):
        return AttemptError("connection_error", f"could not reach the model: {error}", transient=True)
    if isinstance(error, anthropic.APIStatusError):
        status = error.status_code
        retry_after = None
        raw = error.response.headers.get("retry-after") if error.response is not None else None
        if raw:
            try:
                retry_after = float(raw)
            except ValueError:
                retry_after = None
        body: dict[str, Any] = error.body if isinstance(error.body, dict) else {}
        inner: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else {}
        kind = str(inner.get("type") or type(error).__name__)
        message = str(inner.get("message") or error.message)[:1000]
        transient = status in (408, 409, 429) or status >= 500
        return AttemptError(kind, f"HTTP {status}: {message}", transient=transient, retry_after=retry_after)
    return None


def classify_error(error: Exception) -> AttemptError:
    """Any error of an attempt, after the run started: it must end in a stored
    outcome (a retry or a final state), never leave the run RUNNING until its
    lease runs out."""
    model_error = classify_model_error(error)
    if model_error is not None:
        return model_error
    if isinstance(error, TemplateError):
        return AttemptError("template_error", str(error), transient=False)
    if isinstance(error, OutputSchemaInvalid):
        return AttemptError("output_schema_invalid", str(error), transient=False)
    if isinstance(error, ConnectorError):
        # A server down, a blip or a token being rotated may pass; a refused address will not.
        return AttemptError(f"connector_{error.reason}", str(error)[:1000], transient=error.retryable)
    if isinstance(error, ConnectorGone | ConnectorsUnavailable):
        return AttemptError("connector_unavailable", str(error), transient=False)
    if isinstance(error, MissingApiKey):
        # An operator's mistake: retrying cannot fix it, the message says what to do.
        return AttemptError("configuration_error", str(error), transient=False)
    if isinstance(error, StoreUnavailable):
        # DynamoDB throttling or an outage (the store names the botocore error): worth another attempt.
        return AttemptError("aws_error", str(error)[:1000], transient=True)
    if isinstance(error, AWS_ERRORS):
        # S3 / Secrets Manager throttling or an outage: worth another attempt.
        return AttemptError("aws_error", f"{type(error).__name__}: {error}"[:1000], transient=True)
    return AttemptError("internal_error", f"{type(error).__name__}: {error}"[:1000], transient=False)


def backoff_seconds(attempt: int, base: float, retry_after: float | None) -> int:
    """Exponential backoff with jitter (half to full), at least what retry-after asks."""
    ceiling = min(MAX_RETRY_DELAY_SECONDS, base * 2 ** max(0, attempt - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return int(min(MAX_RETRY_DELAY_SECONDS, max(1.0, delay)))


@dataclass
class Attempt:
    """One execution of a run, from QUEUED → RUNNING to its outcome."""

    task: Task
    run: Run
    started: float  # time.monotonic()
    budget: float  # seconds the agent may take
    usage: Usage  # the run's, this attempt's tokens added as they come
    prompt: str | None
    # What bounds the budget: the task's timeout, or the Lambda's own time left.
    limit: str = ""
    tally: Tally = field(default_factory=Tally)
    # notify_user's messages in this attempt (notify.when agent_decides).
    notifications: list[str] = field(default_factory=list)
    # The month's budgets over the task as this attempt started (agentcron.spend_control).
    monthly: list[MonthlyLimit] = field(default_factory=list)

    def own_usage(self) -> Usage:
        """This attempt's tokens alone (the run's usage carries its earlier attempts')."""
        before = self.run.usage or Usage()
        return Usage(**{name: getattr(self.usage, name) - getattr(before, name) for name in Usage.model_fields})

    def record(self, status: RunStatus, error: tuple[str, str] | None, finished_at: datetime) -> dict[str, Any]:
        """The run's fields that keep this attempt: its entry in `attempts`
        (the newest ATTEMPTS_KEPT) and the run's message and tool-call totals."""
        run = self.run
        entry = RunAttempt(
            attempt=run.attempt,
            status=status,
            started_at=run.started_at or finished_at,
            finished_at=finished_at,
            duration_ms=self.elapsed_ms(),
            error=None if error is None else RunError(type=error[0], message=error[1][:ERROR_CHARS_STORED]),
            usage=self.own_usage(),
        )
        return {
            "attempts": run.attempts_with(entry),
            "total_messages": run.total_messages + self.tally.messages,
            "total_tool_calls": run.total_tool_calls + self.tally.tool_calls,
        }

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)


@dataclass
class RunExecutor:
    store: Store
    transcripts: Transcripts
    events: RunEvents
    client_factory: Callable[[], Anthropic]
    create_task: Callable[[str, TaskCreate, str], Task]
    clock: Callable[[], datetime]
    retry_base_seconds: float = 10.0
    # Wakes a buffered run (overlap buffer_one) as soon as the run holding the
    # task ends; without it the buffered run polls every BUFFER_RECHECK_SECONDS.
    queue: RunQueue | None = None
    # Chat turns and the reports of runs of tasks created in a conversation.
    conversations: ConversationRuns | None = None
    # The runner's MCP client for tasks with agent.connectors (None: such runs fail, saying so).
    connectors: ConnectorRuntime | None = None
    # Renders and stores the report of a task that asks for one (task.report).
    reports: ReportWriter | None = None
    # Monthly budgets: the task's own and the operator's account cap (None: not counted).
    budgets: MonthlyBudgets | None = None

    def now(self) -> datetime:
        return self.clock()

    # ---- 1. start ----------------------------------------------------------

    # Not the response in the trace: a run carries the model's output.
    @tracer.capture_method(capture_response=False)
    def process(self, message: RunMessage, remaining_seconds: float) -> Run | None:
        """Run what the message names, if it still should run. Returns the run
        as it ended up, or None when the message was stale (nothing to do)."""
        run = self.store.get_run_by_id(message.run_id)
        if run is None or run.owner != message.owner or run.task_id != message.task_id:
            logger.warning("message names no such run; dropped", extra={"run_id": message.run_id})
            return None
        logger.append_keys(run_id=run.id, task_id=run.task_id, owner=run.owner)
        if run.status != RunStatus.QUEUED:
            # A duplicate or late message: the run was started, finished or cancelled already.
            logger.info("run is not QUEUED; message ignored", extra={"status": run.status.value})
            return None
        task = self.store.get_task_by_id(run.task_id)
        if task is not None and task.owner != run.owner:
            # (Chains name only the owner's tasks, checked when written: this never happens.)
            logger.error("run's owner is not its task's; dropped", extra={"run_id": run.id})
            return None
        if task is None or task.deleted_at is not None or not (task.enabled or asked_by_owner(run)):
            why = "the task was deleted" if task is None or task.deleted_at else "the task is paused"
            cancelled = self._settle(run, RunStatus.CANCELLED, reason=f"not run: {why}", from_status=RunStatus.QUEUED)
            if task is not None and task.buffered_run_id == run.id:
                self.store.release_buffered(task.id, run.id)
            return cancelled
        now = self.now()
        exclusive = task.policies.overlap != "allow"
        holder = holder_of(task, to_epoch(now))
        if exclusive and holder not in (None, run.id):
            return self._overlap(task, run, str(holder))
        monthly = self.budgets.limits(task) if self.budgets is not None else []
        refusal = self.budgets.refusal(task, monthly) if self.budgets is not None and monthly else None
        if refusal is not None:
            if task.buffered_run_id == run.id:
                self.store.release_buffered(task.id, run.id)
            return self._settle(run, RunStatus.SKIPPED, reason=f"not run: {refusal}", from_status=RunStatus.QUEUED)
        lease = to_epoch(now) + task.policies.timeout_seconds + LEASE_MARGIN_SECONDS
        try:
            started = self.store.start_run(task, run, now=now, lease_until=lease, exclusive=exclusive)
        except ClaimLost:
            fresh = self.store.get_run_by_id(run.id)
            if fresh is None or fresh.status != RunStatus.QUEUED:
                logger.info("a duplicate message started this run first")
                return None
            raise RetryLater(5, "another run took the task at the same moment") from None
        lateness = max(0, to_epoch(now) - to_epoch(run.scheduled_for))
        logger.info("run started", extra={"attempt": started.attempt, "start_lateness_seconds": lateness})
        metrics.add_metric(name="RunsStarted", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="StartLateness", unit=MetricUnit.Seconds, value=lateness)
        return self._execute(task, started, remaining_seconds, monthly)

    def _overlap(self, task: Task, run: Run, holder: str) -> Run | None:
        left = (task.running_until or 0) - to_epoch(self.now())
        if asked_by_owner(run):
            # The owner's own run is never skipped (agentcron.overlap): it waits for
            # the holder, in the buffer when it is free (then woken when the holder
            # ends), else until the holder's lease, the latest it can hold the task.
            buffered = self.store.buffer_run(task.id, run.id)
            wait = left if self.queue is not None or not buffered else min(BUFFER_RECHECK_SECONDS, left)
            raise RetryLater(max(1, wait), f"waiting for run {holder} to finish (asked for by the owner)")
        if task.policies.overlap == "buffer_one" and self.store.buffer_run(task.id, run.id):
            # The holder wakes this run when it ends (_wake_buffered); the lease is
            # the latest it can hold the task, so look again then at the latest.
            wait = left if self.queue is not None else min(BUFFER_RECHECK_SECONDS, left)
            raise RetryLater(max(1, wait), f"waiting for run {holder} to finish (overlap: buffer_one)")
        reason = (
            f"skipped: run {holder} was still running (overlap: skip)"
            if task.policies.overlap == "skip"
            else f"skipped: run {holder} is running and another run is already waiting (overlap: buffer_one)"
        )
        return self._settle(run, RunStatus.SKIPPED, reason=reason, from_status=RunStatus.QUEUED)

    # ---- 2. run the agent ----------------------------------------------------

    def _execute(self, task: Task, run: Run, remaining_seconds: float, monthly: list[MonthlyLimit]) -> Run | None:
        lambda_budget = max(1.0, remaining_seconds - LAMBDA_WRAP_UP_SECONDS)
        timeout = task.policies.timeout_seconds
        limit = f"timeout {timeout}s" if timeout <= lambda_budget else f"the runner's time left, {lambda_budget:.0f}s"
        attempt = Attempt(
            task=task,
            run=run,
            started=time.monotonic(),
            budget=min(timeout, lambda_budget),
            usage=run.usage.model_copy() if run.usage else Usage(),
            prompt=run.prompt,
            limit=limit,
            monthly=monthly,
        )
        deadline = attempt.started + attempt.budget
        try:
            with self._connected(task, deadline) as connected:
                request, tools = self._agent_request(task, run, attempt, deadline)
                request.connected_tools = connected.definitions()
                outcome = run_agent(self.client_factory(), request, WithConnectedTools(connected, tools))
            transcript = self.transcripts.save(task.id, run.id, outcome.messages, outcome.usage)
        except RunDeadlineExceeded as error:
            return self._timed_out(attempt, str(error))
        except Exception as error:
            failure = classify_error(error)
            if failure.type == "timeout" and time.monotonic() >= deadline - 1:
                return self._timed_out(attempt, "the model had not answered when the run's time was up")
            if failure.type == "internal_error":
                logger.exception("run failed on an unexpected error")
            return self._failed_attempt(attempt, failure)
        return self._conclude(attempt, outcome, transcript)

    def _connected(self, task: Task, deadline: float) -> AbstractContextManager[ConnectedTools]:
        """The task's connectors, connected for this attempt (none for most tasks)."""
        if not task.agent.connectors or task.kind is not None:
            return no_connectors()
        if self.connectors is None:
            raise ConnectorsUnavailable("this runner has no connector client: the task's connectors cannot be used")
        return self.connectors.connect(task, deadline - time.monotonic())

    def _agent_request(
        self, task: Task, run: Run, attempt: Attempt, deadline: float
    ) -> tuple[AgentRequest, ToolExecutor]:
        """What the model is sent and who runs its tools: a task's prompt (or the
        conversation so far, with the reply), or a chat turn's thread."""
        tools: ToolExecutor
        catalogue: Sequence[ToolSpec]
        if task.kind == "chat" and self.conversations is not None:
            turn = self.conversations.prepare(run)
            messages, system, tool_names = turn.messages, turn.system, turn.tools
            catalogue, tools = turn.catalogue, turn.execute
        else:
            if run.reply is not None and run.transcript_key:
                messages = answer_pending_question(self.transcripts.load(run.transcript_key), run.reply)
            else:
                prompt = render_prompt(
                    task.prompt, task.variables, run.variables, self._last_result(task, run), event=run.event
                )
                attempt.prompt = prompt[:PROMPT_CHARS_STORED]
                messages = [{"role": "user", "content": prompt}]
            system = system_blocks(task, self.now(), self._recent_runs(task, run))
            tool_names, catalogue = task.agent.allowed(task.agent.tools), TOOLS
            if task.notify.when == "agent_decides":
                tool_names, catalogue = [*tool_names, NOTIFY_TOOL.name], (*TOOLS, NOTIFY_TOOL)
            tools = ClientTools(
                self.store,
                task,
                run.id,
                self.now,
                self.create_task,
                deadline=deadline,
                notifications=attempt.notifications,
            )
        request = AgentRequest(
            model=task.agent.model,
            max_tokens=task.agent.max_tokens,
            max_turns=task.agent.max_turns,
            system=system,
            messages=messages,
            tools=tool_names,
            run_id=run.id,
            deadline=deadline,
            usage=attempt.usage,
            tally=attempt.tally,
            catalogue=catalogue,
            budget=run_budget(task.policies, attempt.monthly, self._cost_so_far(run, task)),
            output_schema=task.output_schema if task.kind is None else None,
        )
        return request, tools

    @staticmethod
    def _cost_so_far(run: Run, task: Task) -> Decimal:
        """What the run's earlier attempts cost (already counted in the month)."""
        estimate = estimate_cost(run.usage, run.model or task.agent.model)
        return estimate.usd if estimate is not None and estimate.usd is not None else Decimal(0)

    def _last_result(self, task: Task, run: Run) -> dict[str, Any] | None:
        """The structured result of the task's last successful run, for {{last_result.field}}
        (read only when the prompt asks for it)."""
        if "last_result" not in task.prompt:
            return None
        page = self.store.list_task_runs(task.owner, task.id, limit=20, cursor=None, status=RunStatus.SUCCEEDED)
        return next((r.result for r in page.items if r.id != run.id and r.result is not None), None)

    def _recent_runs(self, task: Task, run: Run) -> list[Run]:
        """The task's last runs that got an answer or an error (skipped or
        cancelled ones say nothing about the work), newest first."""
        ran = {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.TIMED_OUT}
        page = self.store.list_task_runs(task.owner, task.id, limit=20, cursor=None, status=None)
        return [r for r in page.items if r.id != run.id and r.status in ran][:RECENT_RUNS_IN_PROMPT]

    # ---- 3. outcomes -----------------------------------------------------------

    def _conclude(self, attempt: Attempt, outcome: AgentOutcome, transcript: str) -> Run | None:
        if outcome.status == RunStatus.WAITING_INPUT:
            return self._finish(
                attempt,
                RunStatus.WAITING_INPUT,
                question=outcome.question,
                question_kind=outcome.question_kind,
                question_options=outcome.question_options,
                transcript_key=transcript,
                model=outcome.model,
            )
        error = (outcome.error_type, outcome.error_message or "") if outcome.error_type else None
        return self._finish(
            attempt,
            outcome.status,
            output=outcome.output,
            result=outcome.result,
            error=error,
            transcript_key=transcript,
            model=outcome.model,
            reason="; ".join(outcome.notes) or None,
        )

    def _timed_out(self, attempt: Attempt, why: str) -> Run | None:
        return self._finish(attempt, RunStatus.TIMED_OUT, error=("timeout", f"{why} ({attempt.limit})"))

    def _failed_attempt(self, attempt: Attempt, error: AttemptError) -> Run | None:
        """A permanent error, or the last attempt: FAILED. Otherwise back to
        QUEUED, and the message's visibility timeout does the backoff."""
        run, policies = attempt.run, attempt.task.policies
        if not error.transient or run.attempt >= policies.max_attempts:
            note = f" (gave up after {run.attempt} attempts)" if error.transient else ""
            return self._finish(attempt, RunStatus.FAILED, error=(error.type, error.message + note))
        delay = backoff_seconds(run.attempt, self.retry_base_seconds, error.retry_after)
        kept = attempt.record(RunStatus.FAILED, (error.type, error.message), self.now())
        charge = self._charge(attempt, attempt.task.agent.model)
        try:
            # The task's running marker stays with this run while it waits: the
            # retry is the same run going on, and overlap must treat it so (the
            # marker's lease still bounds how long it can hold the task).
            self.store.transition_run(
                run.owner,
                run.id,
                from_statuses={RunStatus.RUNNING},
                to_status=RunStatus.QUEUED,
                fields={
                    "reason": f"attempt {run.attempt} failed ({error.type}); retrying in {delay}s",
                    "error": {"type": error.type, "message": error.message},
                    # The model with the usage, so the tokens so far can be priced
                    # (GET /v1/runs/{id}) even if the task's model changes before the retry.
                    "usage": attempt.usage.model_dump(),
                    "model": attempt.task.agent.model,
                    **({"prompt": attempt.prompt} if attempt.prompt is not None else {}),
                    **kept,
                },
                active_until=to_epoch(self.now()) + delay + QUEUED_GRACE_SECONDS,
                also=charge.updates,
            )
        except (Conflict, NotFound):
            logger.info("run moved on before its retry was stored")
            return None
        self._after_charge(attempt, charge)
        metrics.add_metric(name="RunsRetried", unit=MetricUnit.Count, value=1)
        raise RetryLater(delay, f"{error.type}: {error.message}")

    def _finish(
        self,
        attempt: Attempt,
        status: RunStatus,
        *,
        output: str | None = None,
        result: dict[str, Any] | None = None,
        question: str | None = None,
        question_kind: str | None = None,
        question_options: list[str] | None = None,
        error: tuple[str, str] | None = None,
        transcript_key: str | None = None,
        model: str | None = None,
        reason: str | None = None,
    ) -> Run | None:
        run = attempt.run
        now = self.now()
        fields: dict[str, Any] = {
            "usage": attempt.usage.model_dump(),
            "duration_ms": (run.duration_ms or 0) + attempt.elapsed_ms(),
            "model": model or attempt.task.agent.model,
            **attempt.record(status, error, now),
        }
        if status in FINAL_STATUSES:
            fields["finished_at"] = now.isoformat()
            fields.update(self._notify_decision(attempt, status, output).fields())
        elif attempt.notifications:
            # Kept across the wait: the reply starts a new attempt.
            fields["notify_message"] = "\n".join(attempt.notifications)
        optional = {"prompt": attempt.prompt, "transcript_key": transcript_key, "reason": reason}
        fields.update({name: value for name, value in optional.items() if value is not None})
        if output is not None:
            fields["output"] = output[:OUTPUT_CHARS_STORED]
        if result is not None:
            fields["result"] = result
        if status == RunStatus.WAITING_INPUT:
            fields["question"] = question or ""
            fields["question_kind"] = question_kind or "free_text"
            if question_options:
                fields["question_options"] = question_options
        if error is not None:
            fields["error"] = {"type": error[0], "message": error[1][:ERROR_CHARS_STORED]}
        children: list[Run] = []
        if status in FINAL_STATUSES and (attempt.task.report is not None or links_after(attempt.task, status)):
            # The run as it is about to be stored, with its whole output (the item keeps its start).
            ended = Run.model_validate({**run.model_dump(), **fields, "status": status, "output": output})
            if self.reports is not None:
                fields.update(self.reports.fields(attempt.task, ended))
            children, unchained = child_runs(attempt.task, ended, now)
            if children:
                fields["children"] = [child.id for child in children]
            if unchained:
                fields["reason"] = "; ".join(part for part in (fields.get("reason"), unchained) if part)
        remove = ["reply"] if status == RunStatus.WAITING_INPUT else list(QUESTION_FIELDS)
        if error is None:
            remove.append("error")
        charge = self._charge(attempt, fields["model"])
        # The attempt's spend and the runs its end starts are written with its outcome, or not at all.
        also = [*charge.updates, *(self.store.run_put(child) for child in children)]
        settled = self._settle(
            run, status, fields=fields, remove=remove, from_status=RunStatus.RUNNING, task=attempt.task, also=also
        )
        if settled is not None:
            self._after_charge(attempt, charge)
            self._start_children(children)
        return settled

    def _start_children(self, children: list[Run]) -> None:
        """Send the chained runs' messages. A lost one is no lost run: it is QUEUED in the
        table, and recovery re-sends it after its grace."""
        for child in children:
            try:
                if self.queue is None:
                    raise QueueUnavailable("this runner has no queue")
                self.queue.send(RunMessage(run_id=child.id, task_id=child.task_id, owner=child.owner))
            except QueueUnavailable:
                logger.warning("chained run not sent; recovery sends it", extra={"child_run_id": child.id})

    def _charge(self, attempt: Attempt, model: str) -> AttemptCharge:
        """What the attempt adds to its months, written with its outcome (both or neither)."""
        if self.budgets is None:
            return NO_CHARGE
        return self.budgets.charge(attempt.task, attempt.own_usage(), model)

    def _after_charge(self, attempt: Attempt, charge: AttemptCharge) -> None:
        if self.budgets is not None:
            self.budgets.after(attempt.task, charge)

    def _notify_decision(self, attempt: Attempt, status: RunStatus, output: str | None) -> NotifyDecision:
        task, run = attempt.task, attempt.run
        previous = None
        if task.notify.when == "on_change" and status == RunStatus.SUCCEEDED:
            page = self.store.list_task_runs(task.owner, task.id, limit=5, cursor=None, status=RunStatus.SUCCEEDED)
            previous = next((r for r in page.items if r.id != run.id), None)
        said = [*([run.notify_message] if run.notify_message else []), *attempt.notifications]
        return decide(task, status, output, previous, "\n".join(said) if said else None)

    def _settle(
        self,
        run: Run,
        status: RunStatus,
        *,
        from_status: RunStatus,
        reason: str | None = None,
        fields: dict[str, Any] | None = None,
        remove: list[str] | None = None,
        task: Task | None = None,
        also: Sequence[dict[str, Any]] = (),
    ) -> Run | None:
        values = dict(fields or {})
        if reason is not None:
            values["reason"] = reason
        if status in FINAL_STATUSES and "finished_at" not in values:
            values["finished_at"] = self.now().isoformat()
        try:
            settled = self.store.transition_run(
                run.owner,
                run.id,
                from_statuses={from_status},
                to_status=status,
                fields=values,
                remove=remove or (),
                also=also,
            )
        except (Conflict, NotFound):
            # Recovery or a cancel moved it first; that state stands.
            logger.info("run moved on before its outcome was stored", extra={"outcome": status.value})
            return None
        # One line per outcome, with what an operator filters on (and no prompt or output).
        logger.info(
            "run settled",
            extra={
                "status": status.value,
                "attempt": settled.attempt,
                "duration_ms": settled.duration_ms,
                "error_type": settled.error.type if settled.error else None,
                "input_tokens": settled.usage.input_tokens if settled.usage else None,
                "output_tokens": settled.usage.output_tokens if settled.usage else None,
            },
        )
        failed = {RunStatus.SUCCEEDED: False, RunStatus.FAILED: True, RunStatus.TIMED_OUT: True}.get(status)
        updated = self.store.record_outcome(settled, failed=failed)
        if updated is not None and from_status == RunStatus.RUNNING:
            self._wake_buffered(updated, settled)
        paused_reason = None
        if failed is True and updated is not None and task is not None:
            paused_reason = self._auto_pause(task, updated.consecutive_failures, settled)
        metrics.add_metric(name=RUN_OUTCOME_METRICS[status], unit=MetricUnit.Count, value=1)
        if settled.duration_ms is not None:
            metrics.add_metric(name="RunDuration", unit=MetricUnit.Milliseconds, value=settled.duration_ms)
        if settled.usage:
            metrics.add_metric(name="InputTokens", unit=MetricUnit.Count, value=settled.usage.input_tokens)
            metrics.add_metric(name="OutputTokens", unit=MetricUnit.Count, value=settled.usage.output_tokens)
            metrics.add_metric(
                name="CacheWriteTokens", unit=MetricUnit.Count, value=settled.usage.cache_creation_input_tokens
            )
            metrics.add_metric(
                name="CacheReadTokens", unit=MetricUnit.Count, value=settled.usage.cache_read_input_tokens
            )
        self.events.publish(settled, task)
        self._tell_conversation(task, settled)
        if paused_reason is not None and task is not None and updated is not None:
            self.events.publish_auto_pause(
                task, reason=paused_reason, consecutive_failures=updated.consecutive_failures, last_run=settled
            )
        return settled

    def _tell_conversation(self, task: Task | None, settled: Run) -> None:
        """Post the outcome to the conversation it belongs to. The run's outcome is
        stored already: a failure here is logged, never turned into the run's."""
        if self.conversations is None or task is None or (task.kind is None and task.conversation_id is None):
            return
        try:
            self.conversations.after_settle(task, settled)
        except Exception:
            logger.exception("run outcome not posted to its conversation")

    def _auto_pause(self, task: Task, consecutive_failures: int, last_run: Run) -> str | None:
        """Pause the task once its failure streak reaches the policy's limit; the reason
        when this call paused it (a concurrent failure may have paused it first)."""
        if consecutive_failures < task.policies.auto_pause_after_failures or task.kind == "chat":
            return None  # (a conversation's chat task is never paused: each turn is the user asking)
        reason = f"auto-paused after {consecutive_failures} consecutive failed runs (last: {last_run.id})"
        if not self.store.auto_pause(task.id, reason, self.now()):
            return None
        logger.warning("task auto-paused", extra={"consecutive_failures": consecutive_failures})
        metrics.add_metric(name="TasksAutoPaused", unit=MetricUnit.Count, value=1)
        return reason

    def _wake_buffered(self, task: Task, ended: Run) -> None:
        """The run holding the task ended: the buffered run may start now, not
        when its message next becomes visible. A lost wake-up only delays it."""
        buffered = task.buffered_run_id
        if self.queue is None or buffered is None or buffered == ended.id:
            return
        try:
            self.queue.send(RunMessage(run_id=buffered, task_id=task.id, owner=task.owner))
        except QueueUnavailable:
            logger.warning("buffered run not woken; it starts when its message reappears", extra={"buffered": buffered})
