"""Settings.from_env: what each variable may hold, and the message a bad value gets."""

from __future__ import annotations

import pytest
from agentcron.config import InvalidSetting, Settings

BASE = {"TABLE_NAME": "t"}


def settings(**env: str) -> Settings:
    return Settings.from_env({**BASE, **env})


def test_defaults() -> None:
    config = settings()
    assert (config.due_shards, config.tick_seconds, config.dispatch_lookahead) == (4, 300, True)


@pytest.mark.parametrize("raw", ["on", "ON", "true", "True", "yes", "1", " on ", ""])
def test_lookahead_on(raw: str) -> None:
    assert settings(DISPATCH_LOOKAHEAD=raw).dispatch_lookahead is True


@pytest.mark.parametrize("raw", ["off", "OFF", "false", "no", "0", " off\n"])
def test_lookahead_off(raw: str) -> None:
    assert settings(DISPATCH_LOOKAHEAD=raw).dispatch_lookahead is False


@pytest.mark.parametrize("raw", ["maybe", "2", "enabled", "of"])
def test_a_lookahead_that_is_no_switch_is_refused_by_name(raw: str) -> None:
    with pytest.raises(InvalidSetting) as refused:
        settings(DISPATCH_LOOKAHEAD=raw)
    assert (
        str(refused.value) == f"DISPATCH_LOOKAHEAD={raw!r} is not a switch: use on or off (or true/false, yes/no, 1/0)"
    )


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("TICK_SECONDS", "5m", "TICK_SECONDS='5m' is not a whole number"),
        ("TICK_SECONDS", "0", "TICK_SECONDS='0' must be at least 1"),
        ("DUE_SHARDS", "-4", "DUE_SHARDS='-4' must be at least 1"),
        ("DUE_SHARDS", "4.0", "DUE_SHARDS='4.0' is not a whole number"),
    ],
)
def test_counts_must_be_positive_whole_numbers(name: str, raw: str, message: str) -> None:
    with pytest.raises(InvalidSetting) as refused:
        settings(**{name: raw})
    assert str(refused.value) == message
