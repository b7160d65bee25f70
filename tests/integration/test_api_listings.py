"""Listings and task state that tell the truth (issue 11): full filtered pages,
the next run of a task whose run is claimed already, schedules that could never run,
and query parameters a route does not take."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from agentcron.ids import scheduled_run_id
from agentcron.models import Run, RunStatus, Trigger
from agentcron.schedules import from_epoch, to_epoch
from agentcron.store import Store

from tests.integration.conftest import ApiClient, cron_task


def create(api: ApiClient, **overrides: object) -> dict:
    response = api.post("/v1/tasks", cron_task(**overrides))
    assert response.status == 201, response.text
    return response.json


def pages(api: ApiClient, path: str) -> list[list[dict]]:
    """Every page of a listing, following next_cursor to the end."""
    found: list[list[dict]] = []
    cursor: str | None = None
    while True:
        separator = "&" if "?" in path else "?"
        response = api.get(path + (f"{separator}cursor={cursor}" if cursor else ""))
        assert response.status == 200, response.text
        found.append(response.json["items"])
        cursor = response.json["next_cursor"]
        if cursor is None:
            return found


def store_runs(store: Store, task_id: str, statuses: list[RunStatus], *, first: int) -> list[str]:
    """Finished runs of `task_id`, one a minute from `first`, oldest first."""
    ids = []
    for offset, status in enumerate(statuses):
        epoch = first + 60 * offset
        run = Run(
            id=scheduled_run_id(task_id, epoch),
            task_id=task_id,
            owner="alice",
            status=status,
            trigger=Trigger.SCHEDULE,
            scheduled_for=from_epoch(epoch),
            created_at=from_epoch(epoch),
            finished_at=from_epoch(epoch),
        )
        store.create_run(run)
        ids.append(run.id)
    return ids


# ---- 1: a filtered page is never empty while matches remain -------------------------


def test_filtered_run_pages_are_full_until_the_listing_ends(api: ApiClient, store: Store) -> None:
    task = create(api, schedule={"type": "manual"})
    first = to_epoch(datetime.now(UTC)) - 86_400
    # Nine old SKIPPED runs behind forty newer SUCCEEDED ones: the newest-first read
    # meets only non-matching runs for its first forty items.
    skipped = store_runs(store, task["id"], [RunStatus.SKIPPED] * 9, first=first)
    store_runs(store, task["id"], [RunStatus.SUCCEEDED] * 40, first=first + 9 * 60)
    for path in ("/v1/runs?status=SKIPPED&limit=2", f"/v1/tasks/{task['id']}/runs?status=SKIPPED&limit=2"):
        found = pages(api, path)
        assert [len(page) for page in found] == [2, 2, 2, 2, 1], path
        assert [run["id"] for page in found for run in page] == skipped[::-1], path


def test_filtered_task_pages_are_full_until_the_listing_ends(api: ApiClient) -> None:
    tagged = [create(api, tags=["ops"])["id"] for _ in range(4)]
    for _ in range(35):
        create(api, tags=["billing"])
    found = pages(api, "/v1/tasks?tag=ops&limit=3")
    assert [len(page) for page in found] == [3, 1]
    assert [task["id"] for page in found for task in page] == tagged[::-1]


# ---- 3: schedules that could never run --------------------------------------------


def test_a_once_task_in_the_past_is_refused_naming_schedule_at(api: ApiClient) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    response = api.post("/v1/tasks", cron_task(schedule={"type": "once", "at": past}))
    assert response.status == 422, response.text
    assert [error["field"] for error in response.json["errors"]] == ["body.schedule.at"]
    assert api.get("/v1/tasks").json["items"] == [], "nothing half-written"
    task = create(api)
    patched = api.patch(f"/v1/tasks/{task['id']}", {"schedule": {"type": "once", "at": past}})
    assert patched.status == 422 and patched.json["errors"][0]["field"] == "body.schedule.at"
    assert api.get(f"/v1/tasks/{task['id']}").json["schedule"]["type"] == "cron", "the task is unchanged"
    # A preview is a question, not a task: it shows the past instant's schedule with nothing to come.
    preview = api.post("/v1/schedules/preview", {"schedule": {"type": "once", "at": past}})
    assert preview.status == 200 and preview.json["occurrences"] == []
    assert preview.json["description"].startswith("Once at ")


def test_a_sub_second_start_never_yields_an_occurrence_before_it(api: ApiClient) -> None:
    schedule = {"type": "interval", "every_seconds": 3600, "start_at": "2030-01-01T12:00:00.456Z"}
    preview = api.post("/v1/schedules/preview", {"schedule": schedule, "count": 2, "after": "2030-01-01T11:00:00Z"})
    assert preview.status == 200, preview.text
    assert preview.json["occurrences"] == ["2030-01-01T12:00:01Z", "2030-01-01T13:00:01Z"]
    task = create(api, schedule=schedule)
    assert task["schedule"]["start_at"] == "2030-01-01T12:00:01Z"
    assert task["next_run_at"] == "2030-01-01T12:00:01Z"


# ---- 7: query parameters ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/tasks?stauts=ok"),
        ("GET", "/v1/tasks/due?stauts=ok"),
        ("GET", "/v1/runs?stauts=ok"),
        ("GET", "/v1/tools?stauts=ok"),
        ("GET", "/v1/health?stauts=ok"),
        ("GET", "/v1/tasks/{task}?stauts=ok"),
        ("GET", "/v1/tasks/{task}/runs?stauts=ok"),
        ("GET", "/v1/tasks/{task}/stats?stauts=ok"),
        ("POST", "/v1/tasks/{task}/disable?stauts=ok"),
        ("POST", "/v1/schedules/preview?stauts=ok"),
    ],
)
def test_an_unknown_query_parameter_is_a_422_naming_it(api: ApiClient, method: str, path: str) -> None:
    task = create(api)
    body = {"schedule": {"type": "manual"}} if "preview" in path else None
    response = api.request(method, path.format(task=task["id"]), json_body=body)
    assert response.status == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json["errors"]] == ["query.stauts"]
    assert "stauts" in response.json["detail"]
    assert api.get(f"/v1/tasks/{task['id']}").json["enabled"] is True, "nothing was done"


def test_known_query_parameters_are_still_accepted(api: ApiClient) -> None:
    assert api.get("/v1/tasks?limit=5&tag=ops&enabled=true&schedule_type=cron").status == 200
    assert api.get("/v1/runs?limit=5&status=FAILED&since=1h").status == 200


@pytest.mark.parametrize(
    ("since", "back"), [("1h", timedelta(hours=1)), ("30m", timedelta(minutes=30)), ("7d", timedelta(days=7))]
)
def test_since_takes_a_duration_as_well_as_an_instant(
    api: ApiClient, store: Store, since: str, back: timedelta
) -> None:
    task = create(api, schedule={"type": "manual"})
    now = to_epoch(datetime.now(UTC))
    inside, outside = (
        int((back - timedelta(seconds=120)).total_seconds()),
        int((back + timedelta(seconds=120)).total_seconds()),
    )
    old = store_runs(store, task["id"], [RunStatus.SUCCEEDED], first=now - outside)
    recent = store_runs(store, task["id"], [RunStatus.SUCCEEDED], first=now - inside)
    assert [r["id"] for r in api.get(f"/v1/runs?since={since}").json["items"]] == recent
    instant = from_epoch(now - outside - 60).isoformat().replace("+00:00", "Z")
    assert [r["id"] for r in api.get(f"/v1/runs?since={instant}").json["items"]] == recent + old
    assert api.get("/v1/runs?since=100000000w").status == 422
    assert api.get("/v1/runs?since=999999w").status == 200, "longer ago than 1970 lists everything"
    bad = api.get("/v1/runs?since=yesterday")
    assert bad.status == 422 and bad.json["errors"][0]["field"] == "query.since"


def test_a_listing_reads_within_its_budget_and_resumes_where_it_stopped(
    api: ApiClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = create(api, schedule={"type": "manual"})
    first = to_epoch(datetime.now(UTC)) - 86_400
    skipped = store_runs(store, task["id"], [RunStatus.SKIPPED] * 3, first=first)
    store_runs(store, task["id"], [RunStatus.SUCCEEDED] * 12, first=first + 3 * 60)
    # The budget made small enough to reach: twelve non-matching runs come first.
    monkeypatch.setattr("agentcron.store.paging.READ_BUDGET_ITEMS", 10)
    scanned: list[int] = []
    store.table.meta.client.meta.events.register(
        "after-call.dynamodb.Query", lambda parsed, **_: scanned.append(parsed.get("ScannedCount", 0))
    )
    page = store.list_task_runs("alice", task["id"], limit=2, cursor=None, status=RunStatus.SKIPPED)
    assert sum(scanned) <= 10, scanned
    assert page.items == [] and page.next_cursor is not None, "the whole budget held no match"
    rest = store.list_task_runs("alice", task["id"], limit=2, cursor=page.next_cursor, status=RunStatus.SKIPPED)
    assert [run.id for run in rest.items] == skipped[::-1][:2] and rest.next_cursor is not None


# ---- 2: a claimed next run still shows; next_runs respects max_runs and end bounds ----


def iso_z(epoch: int) -> str:
    return from_epoch(epoch).isoformat().replace("+00:00", "Z")


def test_a_task_whose_next_run_is_claimed_still_shows_that_time(api: ApiClient) -> None:
    at = to_epoch(datetime.now(UTC)) + 20
    task = create(api, schedule={"type": "once", "at": iso_z(at)})
    runs = api.get(f"/v1/tasks/{task['id']}/runs").json["items"]
    assert [run["status"] for run in runs] == ["QUEUED"], "claimed at once by the API"
    assert datetime.fromisoformat(task["next_run_at"]) == from_epoch(at)
    shown = api.get(f"/v1/tasks/{task['id']}").json
    assert datetime.fromisoformat(shown["next_run_at"]) == from_epoch(at)
    assert [datetime.fromisoformat(t) for t in shown["next_runs"]] == [from_epoch(at)]
    listed = api.get("/v1/tasks").json["items"]
    assert [datetime.fromisoformat(t["next_run_at"]) for t in listed] == [from_epoch(at)]
    due = api.get("/v1/tasks/due").json["items"]
    assert [(t["id"], datetime.fromisoformat(t["next_run_at"])) for t in due] == [(task["id"], from_epoch(at))]
    api.post(f"/v1/runs/{runs[0]['id']}/cancel")
    assert api.get(f"/v1/tasks/{task['id']}").json["next_run_at"] is None, "a cancelled run is no next run"


def test_next_runs_stop_at_max_runs_and_end_at(api: ApiClient) -> None:
    hourly = create(api, schedule={"type": "preset", "preset": "hourly"}, policies={"max_runs": 2})
    assert len(api.get(f"/v1/tasks/{hourly['id']}").json["next_runs"]) == 2
    # Every minute, at most three runs: the API claims them all ahead (they are inside
    # the lookahead), so the task shows them although its stored next run is gone.
    start = to_epoch(datetime.now(UTC)) + 30
    minutely = create(
        api, schedule={"type": "interval", "every_seconds": 60, "start_at": iso_z(start)}, policies={"max_runs": 3}
    )
    shown = api.get(f"/v1/tasks/{minutely['id']}").json
    expected = [from_epoch(start + 60 * k) for k in range(3)]
    assert [datetime.fromisoformat(t) for t in shown["next_runs"]] == expected
    assert datetime.fromisoformat(shown["next_run_at"]) == expected[0]
    end = to_epoch(datetime.now(UTC)) + 3 * 3600
    bounded = create(api, schedule={"type": "preset", "preset": "hourly", "end_at": iso_z(end)})
    upcoming = [datetime.fromisoformat(t) for t in api.get(f"/v1/tasks/{bounded['id']}").json["next_runs"]]
    assert len(upcoming) == 3 and all(t <= from_epoch(end) for t in upcoming)
