"""A bounded load test on loopback: N users at once against the local stack's HTTP API.

An in-process local stack with all its services (the JWT gateway and api
function, the dispatcher ticker, the queue poller running the real runner, the
fake model) serves N users, each in its own thread with its own dev token and
keep-alive connection, for a fixed time. Each user loops over a realistic mix:
create a task (manual, cron or near-term once), list its tasks (following
every cursor), run one of its tasks now, read a run, list its runs.

Asserted: no 5xx, no connection error, no unexpected status, and nothing lost:
every task answered 201 is listed afterwards for its owner (and for no one
else), every run answered 202 is readable and listed under its task, and every
run the runner picked up ends SUCCEEDED. Throughput and p50/p95 latency per
operation are printed (``pytest -s`` shows them).

CI: 10 s, 4 users. ``LOAD_SECONDS`` and ``LOAD_USERS`` run it longer/wider.
The local stack serialises invocations (one warm Lambda environment) and
moto's DynamoDB (one lock): the figures measure this code on a laptop, not AWS.
"""

from __future__ import annotations

import io
import math
import os
import random
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from agentcron_local import tokens
from agentcron_local.stack import LocalStack, StackOptions

LOAD_SECONDS = float(os.environ.get("LOAD_SECONDS", "10"))
LOAD_USERS = int(os.environ.get("LOAD_USERS", "4"))
DRAIN_SECONDS = max(60.0, LOAD_SECONDS * 3)
EXPECTED: dict[str, set[int]] = {
    "create": {201},
    "list tasks": {200},
    # 409: a run of that task is still in progress and its overlap policy (skip) refuses another.
    "run now": {202, 409},
    "get run": {200},
    "list runs": {200},
}
MIX = [("create", 3), ("list tasks", 3), ("run now", 2), ("get run", 3), ("list runs", 2)]


@dataclass
class Sample:
    op: str
    status: int  # 0: connection error / timeout
    seconds: float
    detail: str = ""


@dataclass
class User:
    name: str
    api: str
    rng: random.Random
    session: requests.Session = field(default_factory=requests.Session)
    samples: list[Sample] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    runs: dict[str, str] = field(default_factory=dict)  # run id -> task id

    def __post_init__(self) -> None:
        self.session.headers["Authorization"] = f"Bearer {tokens.issue_token(self.name)}"

    def call(self, op: str, method: str, path: str, body: Any = None) -> requests.Response | None:
        started = time.perf_counter()
        try:
            response = self.session.request(method, self.api + path, json=body, timeout=30)
        except requests.RequestException as error:
            self.samples.append(Sample(op, 0, time.perf_counter() - started, f"{type(error).__name__}: {error}"))
            return None
        elapsed = time.perf_counter() - started
        detail = "" if response.status_code in EXPECTED[op] else f"{method} {path}: {response.text[:300]}"
        self.samples.append(Sample(op, response.status_code, elapsed, detail))
        return response

    def step(self) -> None:
        ops, weights = zip(*MIX, strict=True)
        op = self.rng.choices(ops, weights)[0]
        if op != "create" and not self.tasks:
            op = "create"
        if op == "get run" and not self.runs:
            op = "run now"
        getattr(self, "do_" + op.replace(" ", "_"))()

    def do_create(self) -> None:
        kind = self.rng.choice(["manual", "cron", "soon"])
        schedule: dict[str, Any] = {
            "manual": {"type": "manual"},
            "cron": {"type": "cron", "expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"},
            # Due within the tick: the API claims it at once, through the dispatcher's code path.
            "soon": {"type": "once", "at": (datetime.now(UTC) + timedelta(seconds=30)).isoformat()},
        }[kind]
        body = {"name": f"{self.name} {len(self.tasks)}", "prompt": "Summarise {{topic}}", "schedule": schedule}
        body["variables"] = {"topic": "load"}
        response = self.call("create", "POST", "/v1/tasks", body)
        if response is not None and response.status_code == 201:
            self.tasks.append(response.json()["id"])

    def do_list_tasks(self) -> None:
        cursor: str | None = None
        while True:
            path = "/v1/tasks?limit=50" + (f"&cursor={cursor}" if cursor else "")
            response = self.call("list tasks", "GET", path)
            if response is None or response.status_code != 200:
                return
            cursor = response.json()["next_cursor"]
            if cursor is None:
                return

    def do_run_now(self) -> None:
        task_id = self.rng.choice(self.tasks)
        response = self.call("run now", "POST", f"/v1/tasks/{task_id}/runs", {"variables": {"topic": "now"}})
        if response is not None and response.status_code == 202:
            self.runs[response.json()["id"]] = task_id

    def do_get_run(self) -> None:
        self.call("get run", "GET", f"/v1/runs/{self.rng.choice(list(self.runs))}")

    def do_list_runs(self) -> None:
        self.call("list runs", "GET", "/v1/runs?limit=50")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with pytest.MonkeyPatch.context() as env:
        # The fake model, whatever the developer's shell holds.
        for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_SECRET_ARN"):
            env.delenv(name, raising=False)
        state: Path = tmp_path_factory.mktemp("load") / "state"
        options = StackOptions(port=0, moto_port=0, state_dir=state, access_log=False, persist=False)
        with LocalStack(options, out=io.StringIO()) as running:
            warm_up(running)
            yield running


def warm_up(stack: LocalStack) -> None:
    """One run end to end before the load: a warm runner, as a busy deployment has (and the
    first import of the runner module done once; see test_cold_start_race.py)."""
    user = User("load-warm-up", stack.api_url, random.Random(0))
    user.do_create()
    user.do_run_now()
    [run_id] = user.runs
    deadline = time.monotonic() + 60
    while user.session.get(f"{stack.api_url}/v1/runs/{run_id}", timeout=30).json()["status"] != "SUCCEEDED":
        assert time.monotonic() < deadline, "the warm-up run did not succeed"
        time.sleep(0.2)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else float("nan")


def report(samples: list[Sample], seconds: float, users: int) -> str:
    by_op: dict[str, list[float]] = defaultdict(list)
    for sample in samples:
        by_op[sample.op].append(sample.seconds)
    every = [s.seconds for s in samples]
    lines = [
        f"load: {users} users for {seconds:.1f} s: {len(samples)} requests, {len(samples) / seconds:.1f} req/s, "
        f"p50 {percentile(every, 50) * 1000:.0f} ms, p95 {percentile(every, 95) * 1000:.0f} ms",
    ]
    for op, values in sorted(by_op.items()):
        lines.append(
            f"  {op:<11} {len(values):>5} requests  {len(values) / seconds:6.1f}/s  "
            f"p50 {percentile(values, 50) * 1000:6.0f} ms  p95 {percentile(values, 95) * 1000:6.0f} ms  "
            f"max {max(values) * 1000:6.0f} ms"
        )
    return "\n".join(lines)


def test_concurrent_users_lose_nothing_and_get_no_errors(stack: LocalStack) -> None:
    users = [User(f"load-user-{i}", stack.api_url, random.Random(i)) for i in range(LOAD_USERS)]
    deadline = time.monotonic() + LOAD_SECONDS
    crashes: list[BaseException] = []

    def work(user: User) -> None:
        try:
            while time.monotonic() < deadline:
                user.step()
        except BaseException as error:  # surfaced below: a crashed worker must fail the test
            crashes.append(error)

    threads = [threading.Thread(target=work, args=(u,), name=u.name) for u in users]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(LOAD_SECONDS + 60)
    elapsed = time.monotonic() - started
    samples = [s for u in users for s in u.samples]
    print("\n" + report(samples, elapsed, len(users)))

    assert crashes == []
    assert not any(t.is_alive() for t in threads), "a user thread hung"
    errors = [s for s in samples if s.status == 0 or s.status >= 500]
    assert errors == [], [f"{s.op} {s.status} {s.detail}" for s in errors[:10]]
    unexpected = [s for s in samples if s.status not in EXPECTED[s.op]]
    assert unexpected == [], [f"{s.op} {s.status} {s.detail}" for s in unexpected[:10]]
    assert sum(len(u.tasks) for u in users) >= len(users) and sum(len(u.runs) for u in users) >= len(users)

    # Nothing lost: every 201'd task is listed for its owner (and only its owner) ...
    checker = {u.name: User(u.name, stack.api_url, random.Random(0)) for u in users}
    for user in users:
        listed: list[str] = []
        cursor: str | None = None
        while True:
            response = checker[user.name].session.get(
                f"{stack.api_url}/v1/tasks?limit=100" + (f"&cursor={cursor}" if cursor else ""), timeout=30
            )
            assert response.status_code == 200, response.text
            listed += [t["id"] for t in response.json()["items"]]
            cursor = response.json()["next_cursor"]
            if cursor is None:
                break
        assert sorted(listed) == sorted(user.tasks), f"{user.name}: listed {len(listed)}, created {len(user.tasks)}"
        assert len(set(listed)) == len(listed), "a task was listed twice"

    # ... and every 202'd run is readable, under its task, and is run to the end by the runner.
    pending = {(u.name, run_id): task_id for u in users for run_id, task_id in u.runs.items()}
    drain_deadline = time.monotonic() + DRAIN_SECONDS
    final: dict[str, str] = {}
    last_seen: dict[str, dict[str, Any]] = {}
    while pending and time.monotonic() < drain_deadline:
        for (name, run_id), task_id in list(pending.items()):
            response = checker[name].session.get(f"{stack.api_url}/v1/runs/{run_id}", timeout=30)
            assert response.status_code == 200, f"run {run_id} of {name}: {response.status_code} {response.text}"
            run = response.json()
            last_seen[run_id] = run
            assert run["task_id"] == task_id
            if run["status"] not in ("QUEUED", "RUNNING"):
                final[run_id] = run["status"]
                del pending[(name, run_id)]
        time.sleep(0.5)
    stuck = [
        {k: last_seen[run_id].get(k) for k in ("id", "status", "trigger", "attempt", "reason", "started_at")}
        for (_, run_id) in pending
    ]
    assert stuck == [], f"{len(stuck)} runs still QUEUED/RUNNING after {DRAIN_SECONDS:.0f} s: {stuck}"
    assert set(final.values()) == {"SUCCEEDED"}, {s: list(final.values()).count(s) for s in set(final.values())}
    for user in users:
        for task_id in set(user.runs.values()):
            response = checker[user.name].session.get(f"{stack.api_url}/v1/tasks/{task_id}/runs?limit=100", timeout=30)
            listed_runs = {r["id"] for r in response.json()["items"]}
            mine = {run_id for run_id, t in user.runs.items() if t == task_id}
            assert mine <= listed_runs, f"runs missing from {task_id}'s listing: {sorted(mine - listed_runs)}"
    print(f"load: {len(final)} runs queued by the users, all SUCCEEDED")
