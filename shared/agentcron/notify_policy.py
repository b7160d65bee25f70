"""Whether a finished run notifies its owner: `notify.when`.

- `always`: every run that ends or asks (what agentcron always did);
- `on_failure`: a run that failed or timed out;
- `on_change`: a successful run whose output differs from the last successful run's
  (the first result is news too);
- `agent_decides`: only when the agent called `notify_user`, with its message.

The decision is stored on the run (`notified`, `notify_reason`, `notify_message`), so
the owner can see why a run did or did not notify."""

from __future__ import annotations

from dataclasses import dataclass

from agentcron.models import Run, RunStatus, Task

FAILED = frozenset({RunStatus.FAILED, RunStatus.TIMED_OUT})


@dataclass(frozen=True)
class NotifyDecision:
    notified: bool
    reason: str
    message: str | None = None

    def fields(self) -> dict[str, object]:
        values: dict[str, object] = {"notified": self.notified, "notify_reason": self.reason}
        if self.message is not None:
            values["notify_message"] = self.message
        return values


def decide(
    task: Task, status: RunStatus, output: str | None, previous: Run | None, agent_message: str | None
) -> NotifyDecision:
    """`previous`: the task's last successful run before this one (on_change compares with it)."""
    when = task.notify.when
    if when == "always":
        return NotifyDecision(True, "notify.when is always")
    if when == "on_failure":
        failed = status in FAILED
        return NotifyDecision(failed, "the run failed" if failed else "the run did not fail (notify.when on_failure)")
    if when == "on_change":
        if status != RunStatus.SUCCEEDED:
            return NotifyDecision(False, "no result to compare (notify.when on_change)")
        if previous is None:
            return NotifyDecision(True, "the task's first result")
        if (previous.output or "").strip() != (output or "").strip():
            return NotifyDecision(True, f"the result differs from run {previous.id}'s")
        return NotifyDecision(False, f"the same result as run {previous.id} (notify.when on_change)")
    if agent_message is not None:
        return NotifyDecision(True, "the agent called notify_user", agent_message)
    return NotifyDecision(False, "the agent did not call notify_user (notify.when agent_decides)")
