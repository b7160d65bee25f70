"""Who may run a task now: the overlap policy, and how an owner's own request
(run-now, a reply) meets it.

Scheduled (and console) runs follow `policies.overlap` when they are about to
start: `skip` ends them SKIPPED while another run holds the task, `buffer_one`
lets one wait, `allow` runs them beside it. A run the owner asked for is never
silently SKIPPED: run-now is refused at once (409, naming the run in the way)
when the policy would not let it run or wait, and once accepted, a run that
took the task in the meantime makes it wait its turn, not vanish. It runs on a
paused task too (the owner's explicit wish); pausing stops only the schedule.
"""

from __future__ import annotations

from agentcron.models import Run, Task, Trigger


def holder_of(task: Task, now_epoch: int) -> str | None:
    """The run holding the task (RUNNING, or QUEUED between its attempts), if
    its lease has not run out: an expired marker is a runner that died."""
    if task.running_run_id is None or (task.running_until or 0) <= now_epoch:
        return None
    return task.running_run_id


def asked_by_owner(run: Run) -> bool:
    """A run-now, a chat turn, or a run resumed by the owner's reply: never skipped, and not
    stopped by a pause (a schedule's or a console rule's runs are)."""
    return run.trigger in (Trigger.MANUAL, Trigger.CHAT) or run.reply is not None


def manual_run_refusal(task: Task, now_epoch: int) -> str | None:
    """Why a run-now would not run now under the task's overlap policy (None: it would)."""
    holder = holder_of(task, now_epoch)
    if holder is None or task.policies.overlap == "allow":
        return None
    if task.policies.overlap == "skip":
        return f"task {task.id} is running {holder} and its overlap policy is skip; run it again when that ends"
    if task.buffered_run_id is not None:
        return (
            f"task {task.id} is running {holder} and {task.buffered_run_id} is already waiting "
            "(overlap: buffer_one); run it again when one of them ends"
        )
    return None
