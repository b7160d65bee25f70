"""Each function's settings from its environment: what each variable may hold, and the message a bad value gets."""

from __future__ import annotations

import pytest
from agentcron.config import (
    AnthropicSettings,
    ApiSettings,
    DispatcherSettings,
    InvalidSetting,
    RunnerSettings,
    Settings,
)

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


API = {**BASE, "RUN_QUEUE_URL": "https://sqs.example/q", "ARTIFACTS_BUCKET": "b"}
RUNNER = {**API, "EVENT_BUS_NAME": "bus"}


@pytest.mark.parametrize(
    ("settings_class", "env", "missing"),
    [
        (Settings, {}, "TABLE_NAME"),
        (DispatcherSettings, BASE, "RUN_QUEUE_URL"),
        (ApiSettings, {**BASE, "RUN_QUEUE_URL": "https://sqs.example/q"}, "ARTIFACTS_BUCKET"),
        (RunnerSettings, API, "EVENT_BUS_NAME"),
        (RunnerSettings, {**RUNNER, "EVENT_BUS_NAME": "  "}, "EVENT_BUS_NAME"),
    ],
)
def test_a_variable_the_function_needs_is_refused_by_name_when_missing(
    settings_class: type[Settings], env: dict[str, str], missing: str
) -> None:
    # Not an empty default that would, say, skip publishing run events without a word.
    with pytest.raises(InvalidSetting) as refused:
        settings_class.from_env(env)
    assert str(refused.value) == f"{missing} is not set: this function needs it (template.yaml sets it)"


def test_each_function_reads_what_it_needs() -> None:
    runner = RunnerSettings.from_env({**RUNNER, "RETRY_BASE_SECONDS": "2.5"})
    assert (runner.run_queue_url, runner.artifacts_bucket, runner.event_bus_name) == (
        "https://sqs.example/q",
        "b",
        "bus",
    )
    assert runner.retry_base_seconds == 2.5
    assert ApiSettings.from_env(API).artifacts_bucket == "b"
    assert DispatcherSettings.from_env(API).run_queue_url == "https://sqs.example/q"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("ten", "RETRY_BASE_SECONDS='ten' is not a number of seconds"),
        ("0", "RETRY_BASE_SECONDS='0' must be a number of seconds above 0"),
        ("-1", "RETRY_BASE_SECONDS='-1' must be a number of seconds above 0"),
        ("nan", "RETRY_BASE_SECONDS='nan' must be a number of seconds above 0"),
        ("inf", "RETRY_BASE_SECONDS='inf' must be a number of seconds above 0"),
    ],
)
def test_a_retry_base_that_is_no_positive_number_is_refused_by_name(raw: str, message: str) -> None:
    with pytest.raises(InvalidSetting) as refused:
        RunnerSettings.from_env({**RUNNER, "RETRY_BASE_SECONDS": raw})
    assert str(refused.value) == message


def test_the_runner_reads_the_anthropic_settings() -> None:
    runner = RunnerSettings.from_env(
        {
            **RUNNER,
            "ANTHROPIC_API_KEY": "sk-local",
            "ANTHROPIC_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:key",
            "ANTHROPIC_BASE_URL": "http://127.0.0.1:8081",
        }
    )
    assert runner.anthropic == AnthropicSettings(
        api_key="sk-local",
        secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:key",
        base_url="http://127.0.0.1:8081",
    )
    assert RunnerSettings.from_env(RUNNER).anthropic == AnthropicSettings()


def test_the_api_key_is_not_in_the_settings_repr() -> None:
    # Settings end up in tracebacks and debug logs; the key must not.
    runner = RunnerSettings.from_env({**RUNNER, "ANTHROPIC_API_KEY": "sk-very-secret"})
    assert "sk-very-secret" not in repr(runner)


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("ANTHROPIC_BASE_URL", "127.0.0.1:8081", "ANTHROPIC_BASE_URL='127.0.0.1:8081' is not an http(s) URL"),
        ("ANTHROPIC_SECRET_ARN", "my-secret", "ANTHROPIC_SECRET_ARN='my-secret' is not an ARN"),
    ],
)
def test_anthropic_settings_of_the_wrong_shape_are_refused_by_name(name: str, raw: str, message: str) -> None:
    with pytest.raises(InvalidSetting) as refused:
        RunnerSettings.from_env({**RUNNER, name: raw})
    assert str(refused.value) == message


def test_the_account_cap_is_off_unless_set_above_zero() -> None:
    assert RunnerSettings.from_env(RUNNER).account_monthly_budget_usd is None
    assert RunnerSettings.from_env({**RUNNER, "ACCOUNT_MONTHLY_BUDGET_USD": "0"}).account_monthly_budget_usd is None
    capped = RunnerSettings.from_env({**RUNNER, "ACCOUNT_MONTHLY_BUDGET_USD": "250.50"})
    assert str(capped.account_monthly_budget_usd) == "250.50"


@pytest.mark.parametrize("raw", ["ten", "-1", "nan", "inf"])
def test_an_account_cap_that_is_no_amount_is_refused_by_name(raw: str) -> None:
    with pytest.raises(InvalidSetting, match="ACCOUNT_MONTHLY_BUDGET_USD"):
        RunnerSettings.from_env({**RUNNER, "ACCOUNT_MONTHLY_BUDGET_USD": raw})
