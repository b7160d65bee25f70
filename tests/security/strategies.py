"""Hypothesis strategies for request bodies the API must ACCEPT: valid by the
models' own rules (which are stricter than the OpenAPI document: cron syntax,
time zones, tool names), but as awkward as valid input gets (any Unicode,
astral planes, RTL marks, lone combining characters, NUL inside prompts,
boundary lengths and numbers). Schema-driven generation alone rarely passes
the validators, so without these the fuzzing would stop at the 422 and never
reach the store, the claim or the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agentcron.tools_catalog import TOOL_NAMES
from hypothesis import strategies as st

# Every code point but surrogates (not encodable in UTF-8 JSON).
ANY_TEXT = st.characters(exclude_categories=["Cs"])
# Names: printable (no C0 controls nor DEL), must not strip to empty.
NAME_CHARS = st.characters(exclude_categories=["Cs", "Cc"])
AWKWARD = st.sampled_from(
    [
        "\u202e",  # right-to-left override
        "\u200b",  # zero-width space
        "\ufeff",  # byte order mark
        "\u0301",  # a lone combining accent
        "\U0001f980",  # astral plane
        "\U0001d518",
        "\ufdfa",
        "'; DROP TABLE x;--",
        "{{x}}",
        "%s",
    ]
)

CRON_EXPRESSIONS = ["0 9 * * 1-5", "*/5 * * * *", "30 2 * * *", "0 0 1 * *", "15 14 1-7 * mon", "59 23 31 12 *"]
AWS_EXPRESSIONS = [
    "cron(0 9 ? * MON-FRI *)",
    "cron(0/15 * * * ? *)",
    "cron(0 9 ? * 2#1 *)",
    "cron(0 9 L * ? *)",
    "rate(5 minutes)",
    "rate(1 day)",
    "at(2030-01-01T09:00:00)",
]
DST_POLICIES = [{}, {"repeated_hour": "auto"}, {"repeated_hour": "once"}, {"repeated_hour": "both"}]
TIMEZONES = ["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu", "Pacific/Chatham", "Australia/Lord_Howe"]


def names() -> st.SearchStrategy[str]:
    core = st.text(NAME_CHARS, min_size=1, max_size=200).filter(lambda s: s.strip() != "")
    return st.one_of(core, st.builds(lambda a, b: (a + b)[:200] or "x", AWKWARD, core))


def prompts() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(ANY_TEXT, min_size=1, max_size=2000),
        st.builds(lambda a, b: a + b, AWKWARD, st.text(ANY_TEXT, min_size=0, max_size=50)),
        st.just("x" * 50_000),
    )


def variable_maps(max_size: int = 5) -> st.SearchStrategy[dict[str, str]]:
    keys = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
    return st.dictionaries(keys, st.text(ANY_TEXT, max_size=200), max_size=max_size)


def instants() -> st.SearchStrategy[str]:
    """ISO 8601 with an offset, from the epoch to the ten-digit limit, in odd offsets."""
    offsets = st.sampled_from(["Z", "+00:00", "+05:45", "-03:30", "+14:00", "-12:00"])
    moments = st.one_of(
        st.integers(min_value=0, max_value=9_999_999_999 - 86_400 * 2),
        st.integers(min_value=-3600, max_value=86_400 * 30).map(
            lambda delta: int((datetime.now(UTC) + timedelta(seconds=delta)).timestamp())
        ),
    )

    def render(epoch: int, offset: str) -> str:
        text = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        if offset in ("Z", "+00:00"):
            return text + offset
        sign = 1 if offset[0] == "+" else -1
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        local = datetime.fromtimestamp(epoch, UTC) + sign * timedelta(hours=hours, minutes=minutes)
        return local.strftime("%Y-%m-%dT%H:%M:%S") + offset

    return st.builds(render, moments, offsets).filter(lambda s: not s.startswith("1969") and s[:4] <= "2286")


def schedules() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("cron"), "expression": st.sampled_from(CRON_EXPRESSIONS)},
            optional={"timezone": st.sampled_from(TIMEZONES), "dst": st.sampled_from(DST_POLICIES)},
        ),
        st.fixed_dictionaries(
            {"type": st.just("aws"), "expression": st.sampled_from(AWS_EXPRESSIONS)},
            optional={"timezone": st.sampled_from(TIMEZONES)},
        ),
        st.fixed_dictionaries(
            {"type": st.just("interval"), "every_seconds": st.integers(min_value=60, max_value=366 * 86_400)},
            optional={"start_at": instants()},
        ),
        st.fixed_dictionaries({"type": st.just("once"), "at": instants()}),
        st.fixed_dictionaries(
            {"type": st.just("preset"), "preset": st.sampled_from(["hourly", "daily", "weekly", "monthly"])},
            optional={"timezone": st.sampled_from(TIMEZONES)},
        ),
        st.just({"type": "manual"}),
    )


def policies() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "overlap": st.sampled_from(["skip", "allow", "buffer_one"]),
            "misfire": st.sampled_from(["skip", "run_once", "catch_up"]),
            "misfire_grace_seconds": st.integers(0, 86_400),
            "catch_up_max": st.integers(1, 100),
            "max_attempts": st.integers(1, 10),
            "timeout_seconds": st.integers(10, 900),
            "auto_pause_after_failures": st.integers(1, 100),
            "max_runs": st.one_of(st.none(), st.integers(1, 1_000_000)),
        },
    )


def agents() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "model": st.from_regex(r"\A[a-z0-9][a-z0-9.:@_-]{0,99}\Z"),
            "max_turns": st.integers(1, 50),
            "max_tokens": st.integers(1, 64_000),
            "tools": st.lists(st.sampled_from(sorted(TOOL_NAMES)), unique=True),
        },
    )


def tags() -> st.SearchStrategy[list[str]]:
    return st.lists(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}\Z"), max_size=20)


def task_bodies() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"name": names(), "prompt": prompts(), "schedule": schedules()},
        optional={
            "description": st.text(ANY_TEXT, max_size=2000),
            "variables": variable_maps(),
            "enabled": st.booleans(),
            "policies": policies(),
            "agent": agents(),
            "notify": st.one_of(st.just({}), st.just({"webhook_url": "https://hooks.example.com/x?y=1"})),
            "tags": tags(),
        },
    )


def task_patches() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "name": names(),
            "description": st.one_of(st.none(), st.text(ANY_TEXT, max_size=2000)),
            "prompt": prompts(),
            "variables": variable_maps(),
            "schedule": schedules(),
            "policies": policies(),
            "agent": agents(),
            "notify": st.one_of(st.none(), st.just({})),
            "tags": tags(),
        },
    )


def previews() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"schedule": schedules()}, optional={"count": st.integers(1, 100), "after": instants()}
    )


# Phrases the words parser documents, in any case, said in a zone or not (agentcron.schedules.words).
PHRASES_IN_WORDS = (
    "every weekday at 9am",
    "every 15 minutes",
    "hourly",
    "the last friday of the month at 17:00",
    "the first day of the month",
    "every monday and thursday at 14:30",
    "in 20 minutes",
    "tomorrow at noon",
    "every day at 9am Tokyo time",
    "every day at 9am in Europe/Paris",
)


def schedule_words() -> st.SearchStrategy[dict[str, Any]]:
    phrase = st.sampled_from(PHRASES_IN_WORDS).flatmap(lambda p: st.sampled_from([p, p.upper(), p.title()]))
    return st.fixed_dictionaries(
        {"text": phrase},
        optional={
            "timezone": st.sampled_from(["UTC", "Europe/Berlin", "Pacific/Auckland"]),
            "count": st.integers(1, 100),
        },
    )


def run_now_bodies() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={"variables": variable_maps()})


def replies() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"reply": st.text(ANY_TEXT, min_size=1, max_size=2000)})


def disables() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={"reason": st.one_of(st.none(), st.text(ANY_TEXT, max_size=500))})


# (method, path) -> bodies the API must accept (2xx, or 404/409 for the resource's state).
VALID_BODIES: dict[tuple[str, str], st.SearchStrategy[dict[str, Any]]] = {
    ("POST", "/v1/tasks"): task_bodies(),
    ("PATCH", "/v1/tasks/{task_id}"): task_patches(),
    ("POST", "/v1/schedules/preview"): previews(),
    ("POST", "/v1/schedules/parse"): schedule_words(),
    ("POST", "/v1/tasks/{task_id}/runs"): run_now_bodies(),
    ("POST", "/v1/runs/{run_id}/reply"): replies(),
    ("POST", "/v1/tasks/{task_id}/disable"): disables(),
}
