"""Exactly-once scheduling: claim due occurrences, queue them, recover stragglers.

A claim is one transaction (store.commit_claim): the task's `next_run_at`
moves from the value we saw to the following occurrence, and the run, whose
id is derived from (task, scheduled_for), is put only if absent. Whoever
loses (another dispatcher, the API's near-term claim, an edit) gets ClaimLost,
re-reads the task and plans again from what is now true; nothing is retried
blindly, and a run can never be created twice.

Lookahead: everything due up to `now + tick + margin` is claimed now and sent
with `DelaySeconds = scheduled_for - now`, so a run starts at its second,
not up to a tick late. (DISPATCH_LOOKAHEAD=off claims only what is due
already: a plain cron poller, kept for comparison.)

Cost per claim, which bounds how many tasks one tick can claim: the Stores
(boto3 resources) are built once per container and lent to the shard threads,
and the claimed runs' messages go out ten to a SendMessageBatch across claims.
When the invocation is about to run out of time, the tick stops taking new
work and leaves it to the next tick; every claim is conditional, so whatever
it did not reach is still due and nothing is half done.

Overlap (skip / buffer_one) is decided when a run starts (agentcron.execution),
not here: with lookahead, whether the previous run is still running at an
occurrence's time is only knowable at that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial

from aws_lambda_powertools.metrics import MetricUnit

from agentcron.clock import utcnow
from agentcron.errors import Conflict, NotFound, StoreUnavailable
from agentcron.ids import scheduled_run_id
from agentcron.models import Run, RunAttempt, RunError, RunStatus, Task, Trigger
from agentcron.monthly_budgets import month_of
from agentcron.observability import logger, metrics, tracer
from agentcron.queue import MAX_BATCH_ENTRIES, RunMessage, RunQueue
from agentcron.schedules import from_epoch, next_occurrences, next_run_epoch, to_epoch
from agentcron.store import QUEUED_GRACE_SECONDS, ClaimLost, RunsAlreadyExist, Store

LOOKAHEAD_MARGIN_SECONDS = 60
# Bounds the work one tick does for one task (a 1-minute task needs ~7 per tick).
MAX_CLAIMS_PER_TASK_PER_TICK = 64
# Counting missed occurrences after a long outage stops here; the history says "at least".
MAX_MISSED_COUNTED = 10_000
# Shards worked at once, each by a thread of its own (the work is mostly waiting on DynamoDB).
MAX_SHARD_THREADS = 8
# A claimed run's message waits at most this long for others to share its SendMessageBatch
# (its DelaySeconds is computed when it is sent, so a run due later loses nothing by waiting).
MAX_SEND_HOLD_SECONDS = 1.0
# An epoch past every active run's deadline: recover_all_active's horizon.
EVERY_DEADLINE = 10**10
# A tick takes no new claim or recovery once less than this is left of its invocation:
# time to finish the claim in hand, send what was claimed and report.
TIME_RESERVE_SECONDS = 15.0
# The longest a re-sent QUEUED run waits for its message before the next re-send.
MAX_RESEND_GRACE_SECONDS = 3600


@dataclass(frozen=True)
class ClaimPlan:
    """What claiming a task's next occurrence writes (pure: computed, not yet done)."""

    seen_next_run_at: int
    new_next_run_at: int | None
    runs: list[Run]

    @property
    def queued(self) -> list[Run]:
        return [run for run in self.runs if run.status == RunStatus.QUEUED]


def _run(task: Task, epoch: int, status: RunStatus, now: datetime, reason: str | None = None) -> Run:
    return Run(
        id=scheduled_run_id(task.id, epoch),
        task_id=task.id,
        owner=task.owner,
        status=status,
        trigger=Trigger.SCHEDULE,
        scheduled_for=from_epoch(epoch),
        created_at=now,
        finished_at=None if status == RunStatus.QUEUED else now,
        reason=reason,
    )


def _missed_occurrences(task: Task, first: int, before: int, wanted: int) -> tuple[list[int], int, bool]:
    """The first `wanted` occurrences in [first, before), how many there are
    in all (capped), and whether the count hit the cap."""
    kept: list[int] = []
    total = 0
    cursor = from_epoch(first - 1)
    while total < MAX_MISSED_COUNTED:
        batch = [to_epoch(t) for t in next_occurrences(task.schedule, cursor, 1000, anchor=task.created_at)]
        inside = [t for t in batch if t < before]
        kept += inside[: max(0, wanted - len(kept))]
        total += len(inside)
        if len(inside) < len(batch) or not batch:
            return kept, total, False
        cursor = from_epoch(batch[-1])
    return kept, total, True


def _following(task: Task, epoch: int) -> int | None:
    found = next_occurrences(task.schedule, from_epoch(epoch), 1, anchor=task.created_at)
    return to_epoch(found[0]) if found else None


def plan_claim(task: Task, now: datetime) -> ClaimPlan:
    """Decide what claiming `task.next_run_at` means under the task's policies."""
    assert task.next_run_at is not None
    seen = task.next_run_at
    policies = task.policies
    late_limit = to_epoch(now) - policies.misfire_grace_seconds
    # Runs the schedule may still start (max_runs); None: unbounded.
    remaining = None if policies.max_runs is None else max(0, policies.max_runs - task.runs_scheduled)

    if seen >= late_limit:
        if remaining == 0:
            return ClaimPlan(seen_next_run_at=seen, new_next_run_at=None, runs=[])
        new_next = None if remaining == 1 else _following(task, seen)
        return ClaimPlan(
            seen_next_run_at=seen, new_next_run_at=new_next, runs=[_run(task, seen, RunStatus.QUEUED, now)]
        )

    # A misfire: occurrences older than the grace period (an outage, a paused
    # account). The policy decides how many still run; the rest are recorded
    # as one MISSED row so the history tells the truth.
    wanted = {"skip": 0, "run_once": 1, "catch_up": policies.catch_up_max}[policies.misfire]
    ends_here = remaining is not None and remaining <= wanted
    if remaining is not None:
        wanted = min(wanted, remaining)
    kept, total, capped = _missed_occurrences(task, seen, late_limit, wanted + 1)
    runs = [_run(task, epoch, RunStatus.QUEUED, now) for epoch in kept[:wanted]]
    if ends_here and len(runs) == wanted:
        # max_runs ends the schedule with these runs: nothing after its end was "missed".
        return ClaimPlan(seen_next_run_at=seen, new_next_run_at=None, runs=runs)
    rest = kept[wanted:]
    if rest:
        missed = total - len(runs)
        runs.append(
            _run(
                task,
                rest[0],
                RunStatus.MISSED,
                now,
                f"{'at least ' if capped else ''}{missed} occurrence(s) from {from_epoch(rest[0]).isoformat()} "
                f"missed their start by more than {policies.misfire_grace_seconds}s "
                f"(misfire policy: {policies.misfire})",
            )
        )
    return ClaimPlan(seen_next_run_at=seen, new_next_run_at=_following(task, max(late_limit - 1, seen)), runs=runs)


@dataclass
class TickReport:
    claimed: list[Run] = field(default_factory=list)
    missed: list[Run] = field(default_factory=list)
    lost: int = 0
    resent: list[str] = field(default_factory=list)
    timed_out: list[str] = field(default_factory=list)
    errors: int = 0
    # Claimed (or recovered) runs whose message SQS refused: still QUEUED, recovery re-sends them.
    unsent: list[str] = field(default_factory=list)
    # Shards whose work stopped early because the invocation was running out of time.
    shards_out_of_time: int = 0

    def merge(self, other: TickReport) -> None:
        self.claimed += other.claimed
        self.missed += other.missed
        self.lost += other.lost
        self.resent += other.resent
        self.timed_out += other.timed_out
        self.errors += other.errors
        self.unsent += other.unsent
        self.shards_out_of_time += other.shards_out_of_time

    def summary(self) -> dict[str, int]:
        return {
            "claimed": len(self.claimed),
            "missed": len(self.missed),
            "lost": self.lost,
            "resent": len(self.resent),
            "timed_out": len(self.timed_out),
            "errors": self.errors,
            "unsent": len(self.unsent),
            "shards_out_of_time": self.shards_out_of_time,
        }


@dataclass(frozen=True)
class TimeBudget:
    """What is left of the invocation (Lambda's context.get_remaining_time_in_millis, in
    seconds), and how much of it the tick keeps for finishing: no limit without `time_left`."""

    time_left: Callable[[], float] | None = None
    reserve_seconds: float = TIME_RESERVE_SECONDS

    def spent(self) -> bool:
        return self.time_left is not None and self.time_left() < self.reserve_seconds


class StorePool:
    """Stores lent to the threads that work the shards, kept for the container's life.

    Building a Store builds a boto3 resource (~100 ms of CPU from a fresh boto3
    session, a few ms from a warm one), and a resource must never be used by two
    threads at once: so a Store is lent to one thread at a time and taken back,
    not built again per shard and per tick."""

    def __init__(self, factory: Callable[[], Store]) -> None:
        self._factory = factory
        self._idle: list[Store] = []
        self._lock = threading.Lock()

    @contextmanager
    def lease(self) -> Iterator[Store]:
        with self._lock:
            store = self._idle.pop() if self._idle else None
        if store is None:
            store = self._factory()
        try:
            yield store
        finally:
            with self._lock:
                self._idle.append(store)


class Outbox:
    """Claimed runs waiting for their message, sent ten to a SendMessageBatch across claims.

    One per thread (a shard's work, or one API claim). A run waits for company at most
    `hold_seconds`, and never past `flush()`, which the owner calls when its work ends.
    SQS refusing a message (the whole request, or one entry of it) leaves that run QUEUED:
    recovery re-sends it after its grace, as for any message lost after a claim."""

    def __init__(self, send: Callable[[list[Run]], list[str]], *, hold_seconds: float = MAX_SEND_HOLD_SECONDS) -> None:
        self._send = send
        self._hold_seconds = hold_seconds
        self._pending: list[Run] = []
        self._oldest = 0.0  # time.monotonic() when the oldest pending run was added
        self.unsent: list[str] = []

    def add(self, runs: Iterable[Run]) -> None:
        if not self._pending:
            self._oldest = time.monotonic()
        self._pending += runs
        while len(self._pending) >= MAX_BATCH_ENTRIES:
            self._send_now(MAX_BATCH_ENTRIES)
        if self._pending and time.monotonic() - self._oldest >= self._hold_seconds:
            self.flush()

    def flush(self) -> None:
        while self._pending:
            self._send_now(MAX_BATCH_ENTRIES)

    def _send_now(self, count: int) -> None:
        batch, self._pending = self._pending[:count], self._pending[count:]
        self._oldest = time.monotonic()
        self.unsent += self._send(batch)


def resend_grace(resends: int) -> int:
    """How long a re-sent QUEUED run waits before recovery sends it again: doubling
    from QUEUED_GRACE_SECONDS. A run still QUEUED after a re-send is far more often
    waiting behind a backlog than lost again; re-sending it every tick would add one
    more message per waiting run per tick, just when the queue is behind."""
    return min(QUEUED_GRACE_SECONDS << min(resends, 8), MAX_RESEND_GRACE_SECONDS)


def _listing[T](items: Iterator[T], what: str, shard: str, report: TickReport) -> Iterator[T]:
    """The items of one shard's query, paged lazily. A page that fails (throttled, say)
    ends this shard's listing, not the whole tick: what it did not reach is still in
    the index for the next tick, and the other shards go on."""
    try:
        yield from items
    except StoreUnavailable:
        logger.exception(f"{what} query failed; the next tick takes the rest of the shard", extra={"shard": shard})
        report.errors += 1


class Dispatcher:
    def __init__(
        self,
        store_factory: Callable[[], Store],
        queue: RunQueue,
        *,
        shards: int,
        tick_seconds: int,
        lookahead: bool = True,
        send_hold_seconds: float = MAX_SEND_HOLD_SECONDS,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._stores = StorePool(store_factory)
        self.send_hold_seconds = send_hold_seconds
        self.queue = queue
        self.shards = shards
        self.tick_seconds = tick_seconds
        self.lookahead = lookahead
        self.clock = clock or utcnow

    def horizon(self, now: datetime) -> int:
        """The latest occurrence this tick claims: up to the next tick (and a margin) with
        lookahead; without it, only what is due already."""
        if not self.lookahead:
            return to_epoch(now)
        return to_epoch(now) + self.tick_seconds + LOOKAHEAD_MARGIN_SECONDS

    # ---- the tick --------------------------------------------------------

    @tracer.capture_method
    def tick(self, *, time_left: Callable[[], float] | None = None) -> TickReport:
        """Recover runs that were claimed but never ran, then claim and queue everything
        due before the next tick, on every shard in parallel. `time_left`: seconds left of
        the invocation; the tick stops taking new work when it runs low."""
        now = self.clock()
        budget = TimeBudget(time_left)
        report = TickReport()
        with ThreadPoolExecutor(max_workers=min(self.shards, MAX_SHARD_THREADS)) as pool:
            for shard_report in pool.map(lambda s: self._tick_shard(str(s), now, budget), range(self.shards)):
                report.merge(shard_report)
        self._publish(report)
        logger.info("tick done", extra={"tick": report.summary()})
        return report

    def _tick_shard(self, shard: str, now: datetime, budget: TimeBudget) -> TickReport:
        report = TickReport()
        with self._stores.lease() as store:
            outbox = self._outbox(now)
            try:
                # Recovery first: it is bounded, and the runs it finds are late already.
                report.merge(self._recover(shard, now, store, outbox, budget))
                if not report.shards_out_of_time:
                    report.merge(self._claim_shard(shard, now, store, outbox, budget))
            finally:
                outbox.flush()
                report.unsent += outbox.unsent
        return report

    def _claim_shard(self, shard: str, now: datetime, store: Store, outbox: Outbox, budget: TimeBudget) -> TickReport:
        report = TickReport()
        for task in _listing(store.due_tasks(shard, self.horizon(now)), "due", shard, report):
            if budget.spent():
                # The rest of the shard is still due (claims are conditional): the next tick takes it.
                logger.warning("out of time; the next tick claims the rest of the shard", extra={"shard": shard})
                report.shards_out_of_time += 1
                break
            try:
                report.merge(self._claim_task(task, now, store, outbox))
            except StoreUnavailable:
                # One contended or throttled task must not stop the rest of its shard; its
                # occurrence is still due and the next tick claims it.
                logger.exception("claim failed; the next tick retries", extra={"task_id": task.id})
                report.errors += 1
        return report

    def claim_task(self, task: Task, now: datetime, *, due_only: bool = False) -> TickReport:
        """Claim every occurrence of `task` inside the horizon and queue the runs
        (the API's near-term claim: its messages are sent before this returns).
        `due_only`: only what is due already (POST /v1/tasks/execute-due)."""
        with self._stores.lease() as store:
            outbox = self._outbox(now)
            try:
                report = self._claim_task(task, now, store, outbox, horizon=to_epoch(now) if due_only else None)
            finally:
                outbox.flush()
            report.unsent += outbox.unsent
        return report

    def _claim_task(
        self, task: Task, now: datetime, store: Store, outbox: Outbox, *, horizon: int | None = None
    ) -> TickReport:
        report = TickReport()
        horizon = self.horizon(now) if horizon is None else horizon
        current: Task | None = task
        for _ in range(MAX_CLAIMS_PER_TASK_PER_TICK):
            if current is not None and not current.enabled and current.budget_paused_until is not None:
                current = self._resume_budget_paused(store, current, now)
            if current is None or not current.enabled or current.deleted_at is not None:
                break
            if current.next_run_at is None or current.next_run_at > horizon:
                break
            plan = plan_claim(current, now)
            try:
                try:
                    self._commit(store, current, plan)
                except RunsAlreadyExist as taken:
                    # Claimed ahead before (then paused and resumed, or edited back):
                    # those runs stand; move past them and claim the rest.
                    plan = replace(plan, runs=[r for r in plan.runs if r.id not in taken.run_ids])
                    self._commit(store, current, plan)
            except ClaimLost:
                # Someone else claimed it, or the task was edited/paused: look
                # again at what is true now and plan from that.
                report.lost += 1
                current = store.get_task_by_id(current.id)
                continue
            outbox.add(plan.queued)
            report.claimed += plan.queued
            report.missed += [run for run in plan.runs if run.status == RunStatus.MISSED]
            current = current.model_copy(
                update={
                    "next_run_at": plan.new_next_run_at,
                    "runs_scheduled": current.runs_scheduled + len(plan.queued),
                }
            )
        return report

    @staticmethod
    def _resume_budget_paused(store: Store, task: Task, now: datetime) -> Task | None:
        """A task its monthly budget paused is in the Due index at the 1st of the next
        month (agentcron.monthly_budgets): from then on, resume it and claim as usual."""
        assert task.budget_paused_until is not None
        if task.deleted_at is not None or task.budget_paused_until > to_epoch(now):
            return None
        resumed = store.budget_resume(
            task,
            now,
            next_run_epoch(task.schedule, now=now, anchor=task.created_at),
            reason=f"resumed: the monthly budget renews for {month_of(now)}",
        )
        if resumed is not None:
            logger.info("task resumed: its monthly budget renewed", extra={"task_id": task.id})
            metrics.add_metric(name="TasksBudgetResumed", unit=MetricUnit.Count, value=1)
        return resumed

    @staticmethod
    def _commit(store: Store, task: Task, plan: ClaimPlan) -> None:
        store.commit_claim(
            task,
            seen_next_run_at=plan.seen_next_run_at,
            new_next_run_at=plan.new_next_run_at,
            runs=plan.runs,
            queued=len(plan.queued),
        )

    # ---- recovery ----------------------------------------------------------

    def recover_all_active(self, cause: str) -> TickReport:
        """Recovery of EVERY active run, overdue or not, on every shard: for when the run
        messages and the runners are known to be gone at once (the local stack restarting:
        its queue lived in memory). `cause` is the reason written on re-queued runs."""
        now = self.clock()
        report = TickReport()
        for shard in range(self.shards):
            with self._stores.lease() as store:
                outbox = self._outbox(now)
                try:
                    report.merge(
                        self._recover(
                            str(shard), now, store, outbox, TimeBudget(), overdue_before=EVERY_DEADLINE, cause=cause
                        )
                    )
                finally:
                    outbox.flush()
                    report.unsent += outbox.unsent
        return report

    def _recover(
        self,
        shard: str,
        now: datetime,
        store: Store,
        outbox: Outbox,
        budget: TimeBudget,
        *,
        overdue_before: int | None = None,
        cause: str = "lost its runner (lease expired)",
    ) -> TickReport:
        """Runs claimed but never finished, found through the sparse Active index.

        QUEUED past its grace: the message was lost (a crash between claim and
        send, an SQS outage), so send it again; the runner's conditional start
        makes a duplicate harmless. RUNNING past its lease: the runner died
        mid-run, so queue it again while attempts remain, else TIMED_OUT.
        Every write is conditional on the deadline we saw, so when several
        dispatchers recover the same run, exactly one acts."""
        report = TickReport()
        now_epoch = to_epoch(now)
        new_deadline = now_epoch + QUEUED_GRACE_SECONDS
        horizon = now_epoch if overdue_before is None else overdue_before
        for run in _listing(store.overdue_active_runs(shard, horizon), "recovery", shard, report):
            if run.active_until is None:
                continue
            if budget.spent():
                logger.warning("out of time; the next tick recovers the rest of the shard", extra={"shard": shard})
                report.shards_out_of_time += 1
                break
            try:
                if run.status == RunStatus.QUEUED:
                    resend_deadline = now_epoch + resend_grace(run.resends)
                    if store.bump_active_deadline(run, seen_until=run.active_until, new_until=resend_deadline):
                        outbox.add([run])
                        report.resent.append(run.id)
                    continue
                task = store.get_task_by_id(run.task_id)
                max_attempts = task.policies.max_attempts if task else 1
                message = f"the runner stopped responding on attempt {run.attempt} of {max_attempts}"
                lost = run.attempts_with(
                    RunAttempt(
                        attempt=run.attempt,
                        status=RunStatus.TIMED_OUT,
                        started_at=run.started_at or now,
                        finished_at=now,
                        duration_ms=max(0, now_epoch - to_epoch(run.started_at or now)) * 1000,
                        error=RunError(type="lease_expired", message=message),
                    )
                )
                if run.attempt < max_attempts:
                    requeued = store.transition_run(
                        run.owner,
                        run.id,
                        from_statuses={RunStatus.RUNNING},
                        to_status=RunStatus.QUEUED,
                        fields={"reason": f"attempt {run.attempt} {cause}; retrying", "attempts": lost},
                        active_until=new_deadline,
                        expect_active_until=run.active_until,
                    )
                    outbox.add([requeued.model_copy(update={"scheduled_for": now})])
                    report.resent.append(run.id)
                else:
                    timed_out = store.transition_run(
                        run.owner,
                        run.id,
                        from_statuses={RunStatus.RUNNING},
                        to_status=RunStatus.TIMED_OUT,
                        fields={
                            "finished_at": now.isoformat(),
                            "error": {"type": "lease_expired", "message": message},
                            "attempts": lost,
                        },
                        expect_active_until=run.active_until,
                    )
                    # Release the task's running marker and count the failure, as the runner would have.
                    store.record_outcome(timed_out, failed=True)
                    report.timed_out.append(run.id)
            except (Conflict, NotFound):
                continue  # another dispatcher or the runner moved it first
            except StoreUnavailable:
                # Throttled, say: this run stays overdue and the next tick recovers it;
                # the rest of the shard goes on.
                logger.exception("recovery of a run failed; the next tick retries", extra={"run_id": run.id})
                report.errors += 1
        return report

    # ---- sending -----------------------------------------------------------

    def _outbox(self, now: datetime) -> Outbox:
        return Outbox(partial(self._send, now=now), hold_seconds=self.send_hold_seconds)

    def _send(self, runs: list[Run], now: datetime) -> list[str]:
        """One SendMessageBatch (at most ten runs); returns the ids SQS refused."""
        # The delay counts from the moment of sending, not from the tick's start:
        # a tick over many tasks takes a while, and each run would be late by that much.
        now_epoch = max(to_epoch(now), to_epoch(self.clock()))
        batch = [
            (RunMessage(run_id=r.id, task_id=r.task_id, owner=r.owner), max(0, to_epoch(r.scheduled_for) - now_epoch))
            for r in runs
        ]
        failed = self.queue.send_batch(batch)
        for run_id in failed:
            # Stays QUEUED; the next tick's recovery re-sends it.
            logger.warning("run claimed but not queued; recovery will re-send", extra={"run_id": run_id})
        for _, delay in batch:
            metrics.add_metric(name="PlannedDelay", unit=MetricUnit.Seconds, value=delay)
        return failed

    def _publish(self, report: TickReport) -> None:
        metrics.add_metric(name="RunsClaimed", unit=MetricUnit.Count, value=len(report.claimed))
        metrics.add_metric(name="RunsMissed", unit=MetricUnit.Count, value=len(report.missed))
        metrics.add_metric(name="ClaimsLost", unit=MetricUnit.Count, value=report.lost)
        metrics.add_metric(name="RunsResent", unit=MetricUnit.Count, value=len(report.resent))
        metrics.add_metric(name="RunsUnsent", unit=MetricUnit.Count, value=len(report.unsent))
        metrics.add_metric(name="ShardsOutOfTime", unit=MetricUnit.Count, value=report.shards_out_of_time)
