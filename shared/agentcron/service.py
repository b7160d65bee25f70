"""Core logic behind the API: tasks, runs, previews, stats.

Handlers validate input into models and call these; these call the store and
the queue. Time comes from an injected clock so tests can move it. Every change
to a task is made by an `Actor` (who, and through what) and stored with its
history entry in the same transaction (agentcron.history)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from agentcron import webhook_signatures
from agentcron.artifacts import Reports, Transcripts
from agentcron.chains import chain_cycle
from agentcron.clock import utcnow
from agentcron.dispatch import LOOKAHEAD_MARGIN_SECONDS, Dispatcher
from agentcron.errors import Conflict, FieldError, InvalidRequest, NotFound, PreconditionFailed, QueueUnavailable
from agentcron.history import Actor, HistoryAction, HistoryEntry, Via, field_changes, new_entry
from agentcron.ids import manual_run_id, new_task_id, task_id_of_run
from agentcron.models import (
    CANCELLABLE_STATUSES,
    QUESTION_FIELDS,
    AgentConfig,
    ChainLink,
    Policies,
    PreviewRequest,
    Run,
    RunStatus,
    ScheduleWordsRequest,
    Task,
    TaskCreate,
    TaskPatch,
    Trigger,
    reply_problem,
)
from agentcron.monthly_budgets import MonthSpend, month_of, next_month_start, task_limit
from agentcron.observability import logger
from agentcron.overlap import manual_run_refusal
from agentcron.queue import RunMessage, RunQueue
from agentcron.read_models import MonthBudget, Preview, RunStatistics, WordsPreview, run_statistics
from agentcron.reports.formats import RunReport, report_filename
from agentcron.schedules import (
    Schedule,
    annotated_occurrences,
    describe,
    from_epoch,
    next_occurrences,
    next_run_epoch,
    to_epoch,
)
from agentcron.store import KEEP, QUEUED_GRACE_SECONDS, IdempotencyClaim, Keep, Page, Store
from agentcron.store.spend import task_spend_key

STATS_WINDOW = 100
NEXT_RUNS_SHOWN = 5
# Bounds the due listing's read of waiting runs (100 a page).
MAX_WAITING_PAGES = 10


# What resuming a task writes: a budget's pause is over too, and its failure streak starts again.
RESUMED_FIELDS: dict[str, Any] = {
    "enabled": True,
    "paused_reason": None,
    "budget_paused_until": None,
    "consecutive_failures": 0,
}


def new_webhook_secret() -> str:
    return webhook_signatures.new_secret()


@dataclass(frozen=True)
class DueExecution:
    """What POST /v1/tasks/execute-due did: runs it claimed now, and due runs already queued."""

    started: list[Run]
    already_queued: list[Run]


@dataclass
class Service:
    store: Store
    queue: RunQueue
    clock: Callable[[], datetime] = field(default=utcnow)
    tick_seconds: int = 300
    # Claims a task's occurrences that fall before the next tick (create, edit,
    # enable), through the same code path as the dispatcher.
    dispatcher: Dispatcher | None = None
    transcripts: Transcripts | None = None
    reports: Reports | None = None
    # Answer a report with a presigned S3 URL to redirect to (deployed) rather than its bytes.
    report_redirect: bool = False
    # Told when a task's state or one of its waiting runs changed (the conversation it
    # was created from derives its status from them); set by the composition root.
    on_task_changed: Callable[[Task], None] | None = None

    # ---- tasks -------------------------------------------------------

    def create_task(
        self, actor: Actor, body: TaskCreate, idempotency_key: str | None, *, conversation_id: str | None = None
    ) -> tuple[Task, bool]:
        """Returns the task and whether this request created it (False on an idempotent replay).
        `conversation_id`: the conversation it is created from (its runs report there)."""
        owner = actor.owner
        now = self.clock()
        _refuse_never_running(body.schedule, now)
        self._refuse_foreign_connectors(owner, body.agent)
        self._refuse_bad_chains(owner, None, {"on_success": body.on_success, "on_failure": body.on_failure})
        task = Task(
            id=new_task_id(),
            owner=owner,
            **body.model_dump(exclude={"schedule", "policies", "agent", "notify"}),
            schedule=body.schedule,
            policies=body.policies,
            agent=body.agent,
            notify=body.notify,
            next_run_at=next_run_epoch(body.schedule, now=now, anchor=now) if body.enabled else None,
            paused_reason=None if body.enabled else "created disabled",
            webhook_secret=new_webhook_secret() if body.notify.webhook_url else None,
            conversation_id=conversation_id,
            created_at=now,
            updated_at=now,
        )
        # The values the request gave (the defaults of the rest are the task view's to show).
        given = body.model_dump(mode="json", exclude_unset=True)
        created = new_entry(
            task.id, HistoryAction.CREATED, at=now, actor=actor, changes=field_changes({}, given, given)
        )
        claim = self._claim(owner, idempotency_key, "create_task", body.model_dump(mode="json"), task.id)
        task_id = self.store.create_task(task, claim, history=created)
        if task_id != task.id:
            return self.store.get_task(owner, task_id, include_deleted=True), False
        return self.shown(self._claim_near_term(task)), True

    def _refuse_foreign_connectors(self, owner: str, agent: AgentConfig) -> None:
        """A task names only its owner's connectors: another owner's id is answered exactly
        as one that does not exist (a 422 naming the field), so ids cannot be probed."""
        problems = []
        for index, grant in enumerate(agent.connectors):
            try:
                self.store.get_connector(owner, grant.connector)
            except NotFound:
                problems.append(
                    FieldError(f"body.agent.connectors.{index}.connector", f"you have no connector {grant.connector}")
                )
        if problems:
            raise InvalidRequest("the task names connectors you do not have", problems)

    def _refuse_bad_chains(self, owner: str, current: Task | None, chains: dict[str, list[ChainLink] | None]) -> None:
        """A chain names only the owner's tasks (another owner's id reads as one that does not
        exist) and never leads back to the task itself (a 422 naming the field, with the loop)."""
        problems = []
        for name, links in chains.items():
            for index, link in enumerate(links or []):
                try:
                    self.store.get_task(owner, link.task)
                except NotFound:
                    problems.append(FieldError(f"body.{name}.{index}.task", f"you have no task {link.task}"))
        if problems:
            raise InvalidRequest("the chain names tasks you do not have", problems)
        if current is None:
            return  # a new task: nothing links to it yet, so it closes no loop

        def next_links(task_id: str) -> list[str]:
            if task_id == current.id:
                links = [
                    *(chains.get("on_success", current.on_success) or []),
                    *(chains.get("on_failure", current.on_failure) or []),
                ]
            else:
                task = self.store.get_task(owner, task_id, include_deleted=True)
                links = [*task.on_success, *task.on_failure]
            return [link.task for link in links]

        for name, links in chains.items():
            loop = chain_cycle(current.id, links or [], next_links)
            if loop is not None:
                why = f"this would make a loop: {' -> '.join(loop)}"
                raise InvalidRequest(f"{name}: {why}", [FieldError(f"body.{name}", why)])

    def get_task(self, owner: str, task_id: str) -> Task:
        return self.shown(self.store.get_task(owner, task_id))

    # ---- what a task's next runs are -----------------------------------
    # A stored task's next_run_at is its next *unclaimed* occurrence (what the Due index
    # needs). The dispatcher and the API claim ahead, so an occurrence about to start is
    # often a QUEUED run already; the owner is shown that run's time instead.

    def shown(self, task: Task) -> Task:
        """The task with next_run_at as its owner sees it: its next run, claimed or not."""
        claimed = self._claimed_ahead(task)
        if not claimed:
            return task
        return task.model_copy(update={"next_run_at": claimed[0]})

    def upcoming(self, task: Task, count: int = NEXT_RUNS_SHOWN) -> list[datetime]:
        """The task's next `count` runs: those claimed ahead, then the schedule's
        following occurrences, as many as max_runs still allows (end_at bounds them too)."""
        if not task.enabled:
            return []
        claimed = self._claimed_ahead(task)
        policies = task.policies
        # runs_scheduled counts the claimed runs already.
        allowed = count if policies.max_runs is None else max(0, policies.max_runs - task.runs_scheduled)
        unclaimed: list[datetime] = []
        wanted = min(count - len(claimed), allowed)
        if claimed and wanted > 0:
            after = from_epoch(claimed[-1])
            unclaimed = next_occurrences(task.schedule, after, wanted, anchor=task.created_at)
        elif task.next_run_at is not None and wanted > 0:
            first = from_epoch(task.next_run_at)
            unclaimed = [first, *next_occurrences(task.schedule, first, wanted - 1, anchor=task.created_at)]
        return [from_epoch(epoch) for epoch in claimed[:count]] + unclaimed

    def _claimed_ahead(self, task: Task) -> list[int]:
        """Epochs of the task's runs claimed ahead of their time (QUEUED, not yet due)."""
        if not task.enabled:
            return []
        now = to_epoch(self.clock())
        # No claim reaches further ahead than one tick and its margin.
        horizon = now + self.tick_seconds + LOOKAHEAD_MARGIN_SECONDS
        first = next_run_epoch(task.schedule, now=from_epoch(now), anchor=task.created_at)
        # Only an occurrence up to the next_run_at can have been claimed (up to, not before:
        # a task already shown carries its first claimed run there), and only inside the
        # lookahead: most tasks need no read at all.
        if first is None or first > horizon or (task.next_run_at is not None and first > task.next_run_at):
            return []
        return self.store.queued_run_times(task.id, now, horizon)

    def list_tasks(self, owner: str, **filters: Any) -> Page[Task]:
        page = self.store.list_tasks(owner, **filters)
        return Page(items=[self.shown(task) for task in page.items], next_cursor=page.next_cursor)

    def update_task(self, actor: Actor, task_id: str, patch: TaskPatch, if_match: int | None) -> Task:
        owner = actor.owner
        current = self.store.get_task(owner, task_id)
        if if_match is not None and if_match != current.version:
            # Versions only grow: the task has moved past the one the caller saw.
            raise PreconditionFailed(
                f"task {task_id} is at version {current.version}, not {if_match}; GET it again and retry"
            )
        changes: dict[str, Any] = {}
        for name in patch.model_fields_set:
            value = getattr(patch, name)
            if value is None:  # only the clearable fields may be null (the model checks)
                value = "" if name == "description" else None if name in ("output_schema", "report") else {}
            if isinstance(value, list):
                value = [item.model_dump(mode="json") if isinstance(item, BaseModel) else item for item in value]
            changes[name] = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
        if patch.notify is not None and patch.notify.webhook_url and current.webhook_secret is None:
            changes["webhook_secret"] = new_webhook_secret()
        now = self.clock()
        if patch.schedule is not None:
            _refuse_never_running(patch.schedule, now)
        if patch.agent is not None:
            self._refuse_foreign_connectors(owner, patch.agent)
        chains: dict[str, list[ChainLink] | None] = {
            name: getattr(patch, name) for name in ("on_success", "on_failure") if name in patch.model_fields_set
        }
        if chains:
            self._refuse_bad_chains(owner, current, chains)
        next_run: int | Keep | None = KEEP
        if patch.schedule is not None and current.enabled:
            next_run = next_run_epoch(patch.schedule, now=now, anchor=current.created_at)
        shown_fields = set(patch.model_fields_set)
        if patch.policies is not None and self._budget_lifted(current, patch.policies, now):
            # Raising the budget that paused the task resumes it, in the same write.
            changes.update(RESUMED_FIELDS)
            shown_fields |= {"enabled", "paused_reason"}
            schedule = patch.schedule or current.schedule
            next_run = next_run_epoch(schedule, now=now, anchor=current.created_at)
        # The patch's own fields (never the webhook secret it may mint), as they were and will be.
        edited = new_entry(
            task_id,
            HistoryAction.UPDATED,
            at=now,
            actor=actor,
            changes=field_changes(current.model_dump(mode="json"), changes, shown_fields),
        )
        try:
            # Always conditional on the version we read: the new next_run_at (and the
            # history's before) were computed from that state, so a concurrent change
            # must not be overwritten with it.
            updated = self.store.update_task(
                owner,
                task_id,
                changes,
                expected_version=current.version,
                now=now,
                next_run_at=next_run,
                history=edited,
            )
        except PreconditionFailed:
            if if_match is not None:
                raise
            raise Conflict(f"task {task_id} changed while it was being updated; retry") from None
        return self.shown(self._claim_near_term(updated))

    def delete_task(self, actor: Actor, task_id: str, if_match: int | None) -> None:
        owner = actor.owner
        now = self.clock()
        deleted_entry = new_entry(task_id, HistoryAction.DELETED, at=now, actor=actor)
        self.store.delete_task(owner, task_id, expected_version=if_match, now=now, history=deleted_entry)
        if self.on_task_changed is not None:
            deleted = self.store.get_task(owner, task_id, include_deleted=True)
            self._task_changed(deleted)

    def task_history(self, owner: str, task_id: str, *, limit: int, cursor: str | None) -> Page[HistoryEntry]:
        """Every change to the task, newest first (a deleted task's too: its owner may
        still ask what became of it)."""
        return self.store.task_history(owner, task_id, limit=limit, cursor=cursor)

    def _task_changed(self, task: Task) -> Task:
        if self.on_task_changed is not None and task.conversation_id is not None:
            self.on_task_changed(task)
        return task

    def enable_task(self, actor: Actor, task_id: str) -> Task:
        owner = actor.owner
        current = self.store.get_task(owner, task_id)
        if current.enabled:
            return current
        now = self.clock()
        self._refuse_spent_month(current, now)
        changes = {"enabled": True, "paused_reason": None}
        entry = new_entry(
            task_id,
            HistoryAction.ENABLED,
            at=now,
            actor=actor,
            changes=field_changes(current.model_dump(mode="json"), changes, changes),
        )
        enabled = self.store.update_task(
            owner,
            task_id,
            RESUMED_FIELDS,
            expected_version=current.version,
            now=now,
            next_run_at=next_run_epoch(current.schedule, now=now, anchor=current.created_at),
            history=entry,
        )
        return self.shown(self._claim_near_term(self._task_changed(enabled)))

    def disable_task(self, actor: Actor, task_id: str, reason: str | None) -> Task:
        owner = actor.owner
        current = self.store.get_task(owner, task_id)
        now = self.clock()
        why = reason or "paused by the owner"
        changes: dict[str, Any] = {"enabled": False, "paused_reason": why}
        entry = new_entry(
            task_id,
            HistoryAction.DISABLED,
            at=now,
            actor=actor,
            changes=field_changes(current.model_dump(mode="json"), changes, changes),
            reason=why,
        )
        disabled = self.store.update_task(
            owner,
            task_id,
            # The owner's pause replaces a budget's: it lasts until they resume it.
            {**changes, "budget_paused_until": None},
            expected_version=current.version,
            now=now,
            next_run_at=None,
            history=entry,
        )
        return self._task_changed(disabled)

    # ---- monthly budgets (agentcron.monthly_budgets) -------------------------

    def month_spend(self, task: Task, now: datetime) -> MonthSpend:
        month = month_of(now)
        return self.store.month_spend(task_spend_key(task.id, month), month)

    def _refuse_spent_month(self, task: Task, now: datetime) -> None:
        """Resuming a task whose month is spent would only skip its next run: say what to do."""
        limit = task_limit(task.policies.monthly_budget_usd, task.policies.unpriced_model, self.month_spend(task, now))
        if limit is not None and limit.spent:
            raise Conflict(
                f"task {task.id} cannot be resumed: {limit.reached_reason()}; raise policies.monthly_budget_usd, "
                f"or it resumes by itself on {next_month_start(now).date().isoformat()}"
            )

    def _budget_lifted(self, task: Task, policies: Policies, now: datetime) -> bool:
        """Whether an edit to a task its budget paused leaves this month's spend under the budget."""
        if task.enabled or task.budget_paused_until is None:
            return False
        limit = task_limit(policies.monthly_budget_usd, policies.unpriced_model, self.month_spend(task, now))
        return limit is None or not limit.spent

    def due_tasks(self, owner: str, within_seconds: int | None = None) -> list[Task]:
        """The owner's tasks that will start within the window (default: one tick),
        each with next_run_at set to the occurrence that is due: the earliest of its
        runs claimed and waiting in the queue (the dispatcher claims ahead, so a task
        about to start has usually moved its stored next_run_at on) and its next
        unclaimed occurrence inside the window."""
        now = self.clock()
        horizon = to_epoch(now) + (self.tick_seconds if within_seconds is None else within_seconds)
        due_at: dict[str, int] = {}
        tasks: dict[str, Task] = {}
        for task in self._all_tasks(owner):
            if task.next_run_at is not None and task.next_run_at <= horizon:
                due_at[task.id], tasks[task.id] = task.next_run_at, task
        for run in self._waiting_runs(owner, now):
            epoch = to_epoch(run.scheduled_for)
            if epoch > horizon or due_at.get(run.task_id, epoch + 1) <= epoch:
                continue
            if run.task_id not in tasks:
                try:
                    tasks[run.task_id] = self.store.get_task(owner, run.task_id)
                except NotFound:
                    continue  # deleted since; its run will be cancelled by the runner
            due_at[run.task_id] = epoch
        shown = [tasks[task_id].model_copy(update={"next_run_at": epoch}) for task_id, epoch in due_at.items()]
        return sorted(shown, key=lambda t: (t.next_run_at or 0, t.id))

    def execute_due(self, owner: str) -> DueExecution:
        """Start every task of the owner that is due now, for an external cron (POST
        /v1/tasks/execute-due): through the dispatcher's claim, so an occurrence the
        schedule claimed (or claims at the same moment) is never started twice."""
        now = self.clock()
        if self.dispatcher is None:
            raise QueueUnavailable("this API has no dispatcher to claim runs with")
        started: list[Run] = []
        for task in self._all_tasks(owner):
            if task.enabled and task.next_run_at is not None and task.next_run_at <= to_epoch(now):
                started += self.dispatcher.claim_task(task, now, due_only=True).claimed
        started_ids = {run.id for run in started}
        # Claimed ahead by the schedule and waiting for their second (or a retry): already on their way.
        waiting = [
            run
            for run in self._waiting_runs(owner, now)
            if run.id not in started_ids and to_epoch(run.scheduled_for) <= to_epoch(now)
        ]
        return DueExecution(started=started, already_queued=waiting)

    def _waiting_runs(self, owner: str, now: datetime) -> Iterator[Run]:
        """The owner's QUEUED runs of the last day (older ones are recovery's business)."""
        cursor: str | None = None
        for _ in range(MAX_WAITING_PAGES):
            page = self.store.list_owner_runs(
                owner, limit=100, cursor=cursor, status=RunStatus.QUEUED, since=now - timedelta(days=1)
            )
            yield from page.items
            cursor = page.next_cursor
            if cursor is None:
                return

    def _all_tasks(self, owner: str) -> Iterator[Task]:
        cursor: str | None = None
        while True:
            page = self.store.list_tasks(owner, limit=100, cursor=cursor, enabled=True)
            yield from page.items
            cursor = page.next_cursor
            if cursor is None:
                return

    # ---- runs --------------------------------------------------------

    def run_now(
        self, actor: Actor, task_id: str, variables: dict[str, str], idempotency_key: str | None
    ) -> tuple[Run, bool]:
        owner = actor.owner
        # A console event's run is a console run (its rule is a schedule kept elsewhere).
        trigger = Trigger.CONSOLE if actor.via is Via.CONSOLE_EVENT else Trigger.MANUAL
        task = self.store.get_task(owner, task_id)
        now = self.clock()
        # A pause stops the schedule, and a console rule is a schedule kept elsewhere;
        # the owner's own run-now goes ahead (agentcron.overlap), the pause staying as it is.
        if not task.enabled and trigger != Trigger.MANUAL:
            raise Conflict(f"task {task_id} is paused ({task.paused_reason}); enable it first")
        refusal = manual_run_refusal(task, to_epoch(now))
        if refusal is not None:
            raise Conflict(refusal)
        run = Run(
            id=manual_run_id(task.id, to_epoch(now)),
            task_id=task.id,
            owner=owner,
            status=RunStatus.QUEUED,
            trigger=trigger,
            scheduled_for=now,
            created_at=now,
            variables=variables,
        )
        requested = new_entry(task.id, HistoryAction.RUN_REQUESTED, at=now, actor=actor, run_id=run.id)
        claim = self._claim(owner, idempotency_key, f"run_now:{task_id}", {"variables": variables}, run.id)
        run_id = self.store.create_run(run, claim, history=requested)
        if run_id != run.id:
            return self.store.get_run(owner, run_id), False
        self.enqueue(run)
        return run, True

    def get_run(self, owner: str, run_id: str) -> Run:
        return self.store.get_run(owner, run_id)

    def deleted_tasks_of(self, owner: str, runs: list[Run]) -> set[str]:
        """The deleted tasks among those of the runs waiting for a reply (one read per
        such task, not per run): such a run cannot be resumed."""
        waiting = {run.task_id for run in runs if run.status == RunStatus.WAITING_INPUT}
        return {task_id for task_id in waiting if self._task_deleted(owner, task_id)}

    def _task_deleted(self, owner: str, task_id: str) -> bool:
        try:
            self.store.get_task(owner, task_id)
        except NotFound:  # Gone: deleted; plain NotFound cannot be (the owner's runs name the owner's tasks)
            return True
        return False

    def list_task_runs(
        self, owner: str, task_id: str, *, limit: int, cursor: str | None, status: RunStatus | None
    ) -> Page[Run]:
        return self.store.list_task_runs(owner, task_id, limit=limit, cursor=cursor, status=status)

    def list_runs(
        self,
        owner: str,
        *,
        limit: int,
        cursor: str | None,
        status: RunStatus | None,
        since: datetime | None,
    ) -> Page[Run]:
        return self.store.list_owner_runs(owner, limit=limit, cursor=cursor, status=status, since=since)

    def transcript(self, owner: str, run_id: str) -> list[dict[str, Any]]:
        """The run's whole conversation with the model (kept in S3)."""
        run = self.store.get_run(owner, run_id)
        if run.transcript_key is None or self.transcripts is None:
            raise NotFound(f"run {run_id} has no transcript yet")
        return self.transcripts.load(run.transcript_key)

    def report(self, owner: str, run_id: str) -> RunReport:
        """The run's report (kept in S3): its bytes, or where to fetch it when redirecting."""
        run = self.store.get_run(owner, run_id)
        if run.report_key is None or run.report_format is None or self.reports is None:
            raise NotFound(f"run {run_id} has no report (its task asks for none, or it has not ended)")
        format, filename = run.report_format, report_filename(run.id, run.report_format)
        if self.report_redirect:
            return RunReport(format, filename, url=self.reports.presigned_url(run.report_key, run.id, format))
        return RunReport(format, filename, body=self.reports.load(run.report_key))

    def cancel_run(self, actor: Actor, run_id: str) -> Run:
        now = self.clock()
        cancelled = self.store.transition_run(
            actor.owner,
            run_id,
            from_statuses=CANCELLABLE_STATUSES,
            to_status=RunStatus.CANCELLED,
            fields={"finished_at": now.isoformat(), "reason": "cancelled by the owner"},
            remove=QUESTION_FIELDS,
            history=self._run_entry(run_id, HistoryAction.RUN_CANCELLED, now, actor),
        )
        self.store.release_buffered(cancelled.task_id, cancelled.id)
        self._run_changed(cancelled)
        return cancelled

    def _run_changed(self, run: Run) -> None:
        """A run stopped waiting for its owner: its task's conversation may show it no more."""
        if self.on_task_changed is None or run.conversation_id is not None:
            return
        task = self.store.get_task_by_id(run.task_id)
        if task is not None:
            self._task_changed(task)

    def reply_to_run(self, actor: Actor, run_id: str, reply: str, *, field: str = "body.reply") -> Run:
        """`field`: where the reply was in the request, named by the 422 when it does not fit."""
        owner = actor.owner
        waiting = self.store.get_run(owner, run_id)
        problem = reply_problem(waiting.question_kind, waiting.question_options, reply)
        if problem is not None and waiting.status == RunStatus.WAITING_INPUT:
            raise InvalidRequest(f"the reply does not answer the question: {problem}", [FieldError(field, problem)])
        now = self.clock()
        run = self.store.get_run(owner, run_id)
        if self._task_deleted(owner, run.task_id):
            # It would be queued only for the runner to cancel it.
            raise Conflict(f"run {run_id} cannot be resumed: its task {run.task_id} was deleted; cancel it instead")
        run = self.store.transition_run(
            owner,
            run_id,
            from_statuses={RunStatus.WAITING_INPUT},
            to_status=RunStatus.QUEUED,
            # A reply resumes the conversation: a fresh budget of attempts.
            fields={"reply": reply, "attempt": 0},
            active_until=to_epoch(now) + QUEUED_GRACE_SECONDS,
            # The reply itself stays on the run; the history records that one was given.
            history=self._run_entry(run_id, HistoryAction.REPLIED, now, actor),
        )
        self.enqueue(run)
        self._run_changed(run)
        return run

    def _claim_near_term(self, task: Task) -> Task:
        """A task due before the next tick would otherwise start late: claim it now."""
        if self.dispatcher is None or task.next_run_at is None or not task.enabled:
            return task
        now = self.clock()
        if task.next_run_at > self.dispatcher.horizon(now):
            return task
        self.dispatcher.claim_task(task, now)
        return self.store.get_task(task.owner, task.id)

    def enqueue(self, run: Run) -> None:
        delay = max(0, to_epoch(run.scheduled_for) - to_epoch(self.clock()))
        try:
            message = RunMessage(run_id=run.id, task_id=run.task_id, owner=run.owner)
            self.queue.send(message, delay_seconds=delay)
        except QueueUnavailable:
            # The run is stored QUEUED; the dispatcher's recovery re-sends overdue
            # QUEUED runs, so the request still succeeds.
            logger.warning("run stored but not queued; recovery will re-send", extra={"run_id": run.id})

    # ---- read models ---------------------------------------------------

    def preview(self, request: PreviewRequest) -> Preview:
        now = self.clock()
        after = request.after or now
        found = annotated_occurrences(request.schedule, after, request.count, anchor=now)
        return Preview(
            description=describe(request.schedule),
            occurrences=[at for at, _ in found],
            dst_changes=[(at, change) for at, change in found if change is not None],
        )

    def parse_words(self, request: ScheduleWordsRequest) -> WordsPreview:
        """The schedule `request.text` says, previewed from now; relative phrases count from the clock."""
        # Imported here: the dispatcher and the runner build this service too, and the grammar's
        # ~10 ms of regex compilation is only the parse route's to pay.
        from agentcron.schedules.words import NotUnderstood, parse_words

        try:
            schedule = parse_words(request.text, request.timezone, self.clock())
        except NotUnderstood as refused:
            raise InvalidRequest(
                f"text: {refused.reason}",
                [FieldError("body.text", refused.reason)],
                suggestions=refused.suggestions,
            ) from None
        return WordsPreview(schedule, self.preview(PreviewRequest(schedule=schedule, count=request.count)))

    def stats(self, owner: str, task_id: str) -> RunStatistics:
        runs = self.store.list_task_runs(owner, task_id, limit=STATS_WINDOW, cursor=None, status=None).items
        statistics = run_statistics(task_id, runs)
        task = self.store.get_task(owner, task_id, include_deleted=True)
        if task.policies.monthly_budget_usd is None:
            return statistics
        month = MonthBudget(
            budget_usd=Decimal(str(task.policies.monthly_budget_usd)),
            spend=self.month_spend(task, self.clock()),
            paused_until=from_epoch(task.budget_paused_until) if task.budget_paused_until is not None else None,
        )
        return replace(statistics, this_month=month)

    # ---- helpers -------------------------------------------------------

    @staticmethod
    def _run_entry(run_id: str, action: HistoryAction, now: datetime, actor: Actor) -> HistoryEntry:
        """A history entry of the run's task, for a change to one of its runs."""
        task_id = task_id_of_run(run_id)
        if task_id is None:
            raise NotFound(f"run {run_id} not found")
        return new_entry(task_id, action, at=now, actor=actor, run_id=run_id)

    @staticmethod
    def _claim(
        owner: str, key: str | None, operation: str, payload: dict[str, Any], resource_id: str
    ) -> IdempotencyClaim | None:
        return IdempotencyClaim.for_request(owner, key, operation, payload, resource_id)


def _refuse_never_running(schedule: Schedule, now: datetime) -> None:
    """A task is refused a schedule that could never run (a once task in the past):
    created, it would leave no run and no trace. Previews still show such schedules."""
    refusal = schedule.refusal(now)
    if refusal is not None:
        field, why = refusal
        raise InvalidRequest(f"schedule.{field}: {why}", [FieldError(f"body.schedule.{field}", why)])
