"""The agent's own tools never cross owners: memory (remember/recall) and
follow-ups (schedule_followup) are scoped to the run's task and its owner, and
nothing in a tool's input can name another task or owner. Driven through the
real runner, the real SDK and the fake model (tests/integration/test_runner_harness.py)."""

from __future__ import annotations

import re

from tests.integration.test_runner_harness import Runner

pytest_plugins = ["tests.integration.test_runner_harness"]

TOOLS = {"tools": ["remember", "recall", "schedule_followup"]}


def run_as(runner: Runner, user: str, task_id: str, step: str) -> str:
    run = runner.run_now(task_id, {"step": step}, user=user)
    for _ in range(20):
        if run["status"] not in ("QUEUED", "RUNNING"):
            break
        runner.poll()
        run = runner.get_run(run["id"], user=user)
    assert run["status"] == "SUCCEEDED", run
    return str(run["output"])


def test_memory_and_followups_of_two_owners_with_the_same_keys_never_meet(runner: Runner) -> None:
    # Same names, same prompts, same memory keys: only the owner differs.
    alice = runner.create_task("{{step}}", user="alice", name="daily", agent=TOOLS)
    bob = runner.create_task("{{step}}", user="bob", name="daily", agent=TOOLS)

    assert run_as(runner, "alice", alice["id"], "remember: account=alice-secret").startswith("Remembered account")
    assert run_as(runner, "bob", bob["id"], "recall: account") == "Recalled account: Nothing is stored under account"
    run_as(runner, "bob", bob["id"], "remember: account=bob-value")
    assert run_as(runner, "alice", alice["id"], "recall: account") == "Recalled account: account=alice-secret"
    assert run_as(runner, "bob", bob["id"], "recall: account") == "Recalled account: account=bob-value"

    followups = {}
    for user, task in (("alice", alice), ("bob", bob)):
        output = run_as(runner, user, task["id"], "followup: 600 look again")
        match = re.search(r"Scheduled follow-up task (task_\w+)", output)
        assert match is not None, output
        followups[user] = match[1]

    parents = {"alice": alice["id"], "bob": bob["id"]}
    for user, other in (("alice", "bob"), ("bob", "alice")):
        mine = runner.api.get(f"/v1/tasks/{followups[user]}", user=user)
        assert mine.status == 200 and mine.json["description"].endswith(f"of {parents[user]}")
        assert runner.api.get(f"/v1/tasks/{followups[user]}", user=other).status == 404
        listed = {t["id"] for t in runner.api.get("/v1/tasks", user=user).json["items"]}
        assert listed == {parents[user], followups[user]}, "own tasks only"
        # The follow-up's memory is its own task's: it starts empty, for either owner.
        assert runner.store.recall(followups[user], "account") is None
    assert runner.store.recall(alice["id"], "account") == "alice-secret"
    assert runner.store.recall(bob["id"], "account") == "bob-value"
