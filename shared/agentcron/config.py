"""Settings read from a function's environment (the template sets them; the
local stack sets the same names), one class per function: each names what
that function needs, so a variable the template forgot stops the container at
its first use with a message that names it, instead of a run that silently
skips publishing. Read once per container (by its composition root,
agentcron.bootstrap), never at import."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Self

_SWITCH_VALUES = {
    **dict.fromkeys(("on", "true", "yes", "1"), True),
    **dict.fromkeys(("off", "false", "no", "0"), False),
}


class InvalidSetting(ValueError):
    """An environment variable holds a value the functions cannot use (or is missing)."""


def _optional(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


def _required(env: Mapping[str, str], name: str) -> str:
    value = _optional(env, name)
    if value is None:
        raise InvalidSetting(f"{name} is not set: this function needs it (template.yaml sets it)")
    return value


def _switch(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return _SWITCH_VALUES[raw.lower()]
    except KeyError:
        raise InvalidSetting(f"{name}={raw!r} is not a switch: use on or off (or true/false, yes/no, 1/0)") from None


def _positive_int(env: Mapping[str, str], name: str, *, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidSetting(f"{name}={raw!r} is not a whole number") from None
    if value < 1:
        raise InvalidSetting(f"{name}={raw!r} must be at least 1")
    return value


def _positive_seconds(env: Mapping[str, str], name: str, *, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidSetting(f"{name}={raw!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise InvalidSetting(f"{name}={raw!r} must be a number of seconds above 0")
    return value


def _usd_or_none(env: Mapping[str, str], name: str) -> Decimal | None:
    """A dollar amount; empty or 0: none (the template's default, no cap)."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise InvalidSetting(f"{name}={raw!r} is not an amount in USD") from None
    if not value.is_finite() or value < 0:
        raise InvalidSetting(f"{name}={raw!r} must be 0 (no cap) or an amount in USD above 0")
    return value or None


def _http_url(env: Mapping[str, str], name: str) -> str | None:
    value = _optional(env, name)
    if value is not None and not value.startswith(("http://", "https://")):
        raise InvalidSetting(f"{name}={value!r} is not an http(s) URL")
    return value


def _arn(env: Mapping[str, str], name: str) -> str | None:
    value = _optional(env, name)
    if value is not None and not value.startswith("arn:"):
        raise InvalidSetting(f"{name}={value!r} is not an ARN")
    return value


def api_key_cache_seconds(env: Mapping[str, str] | None = None) -> float:
    """How long an authorizer trusts its last answer for a key: the revocation delay
    (API_KEY_CACHE_SECONDS, default 60; the local stack's tests set 0)."""
    raw = (os.environ if env is None else env).get("API_KEY_CACHE_SECONDS", "60")
    try:
        seconds = float(raw)
    except ValueError:
        raise InvalidSetting(f"API_KEY_CACHE_SECONDS must be a number of seconds, not {raw!r}") from None
    if not 0 <= seconds <= 3600:
        raise InvalidSetting("API_KEY_CACHE_SECONDS must be between 0 and 3600")
    return seconds


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What every function reads: the table and the dispatch rhythm."""

    table_name: str
    due_shards: int = 4
    tick_seconds: int = 300
    # Claim what falls due before the next tick now, and let SQS hold it until its second.
    # Off: claim only what is due already (a plain cron poller; runs start up to a tick late).
    dispatch_lookahead: bool = True
    # How long a task's history entries are kept (the template's HistoryRetentionDays).
    history_retention_days: int = 365

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        return cls(**cls._read(os.environ if env is None else env))

    @classmethod
    def _read(cls, env: Mapping[str, str]) -> dict[str, Any]:
        """This class's fields from `env`; each subclass adds its own to its parent's."""
        return {
            "table_name": _required(env, "TABLE_NAME"),
            "due_shards": _positive_int(env, "DUE_SHARDS", default=4),
            "tick_seconds": _positive_int(env, "TICK_SECONDS", default=300),
            "dispatch_lookahead": _switch(env, "DISPATCH_LOOKAHEAD", default=True),
            "history_retention_days": _positive_int(env, "HISTORY_RETENTION_DAYS", default=365),
        }


@dataclass(frozen=True, kw_only=True)
class DispatcherSettings(Settings):
    """The dispatcher queues runs."""

    run_queue_url: str

    @classmethod
    def _read(cls, env: Mapping[str, str]) -> dict[str, Any]:
        return {**super()._read(env), "run_queue_url": _required(env, "RUN_QUEUE_URL")}


@dataclass(frozen=True, kw_only=True)
class ApiSettings(DispatcherSettings):
    """The API queues runs (run now, replies), reads transcripts, seals connector secrets
    with the connectors' KMS key and asks the runner function to test a connector."""

    artifacts_bucket: str
    # Optional: without them the connector routes answer that connectors are not set up.
    connector_key_id: str | None = None
    runner_function_name: str | None = None
    # Deployed (the template sets REPORT_REDIRECT=on): GET /v1/runs/{id}/report redirects to a
    # short-lived presigned S3 URL, so the file never passes through the Lambda's 6 MB response.
    # Off (the local stack): the API answers the file itself.
    report_redirect: bool = False

    @classmethod
    def _read(cls, env: Mapping[str, str]) -> dict[str, Any]:
        return {
            **super()._read(env),
            "artifacts_bucket": _required(env, "ARTIFACTS_BUCKET"),
            "connector_key_id": _optional(env, "CONNECTOR_KEY_ID"),
            "runner_function_name": _optional(env, "RUNNER_FUNCTION_NAME"),
            "report_redirect": _switch(env, "REPORT_REDIRECT", default=False),
        }


@dataclass(frozen=True, kw_only=True)
class AuthorizerSettings(Settings):
    """The authorizer reads API keys from the table and checks the JWTs of one issuer."""

    jwt_issuer: str
    jwt_audiences: tuple[str, ...]
    # None: the issuer's own <issuer>/.well-known/jwks.json (where Cognito publishes it).
    jwks_url: str | None = None
    # How long a key's answer is trusted without reading it again: the revocation delay.
    api_key_cache_seconds: float = 60.0

    @classmethod
    def _read(cls, env: Mapping[str, str]) -> dict[str, Any]:
        audiences = tuple(part.strip() for part in _required(env, "JWT_AUDIENCES").split(",") if part.strip())
        return {
            **super()._read(env),
            "jwt_issuer": _required(env, "JWT_ISSUER"),
            "jwt_audiences": audiences,
            "jwks_url": _http_url(env, "JWKS_URL"),
            "api_key_cache_seconds": api_key_cache_seconds(env),
        }

    @property
    def jwks_location(self) -> str:
        return self.jwks_url or f"{self.jwt_issuer.rstrip('/')}/.well-known/jwks.json"


@dataclass(frozen=True)
class AnthropicSettings:
    """Where the runner's model key comes from: ANTHROPIC_API_KEY (local), else the Secrets
    Manager secret ANTHROPIC_SECRET_ARN (AWS). Neither is required here: a runner without
    a key fails each run with what to do (agentcron.secrets), which its owner sees."""

    api_key: str | None = field(default=None, repr=False)
    secret_arn: str | None = None
    # The local stack's fake Messages API; None: the SDK's default (api.anthropic.com).
    base_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AnthropicSettings:
        return cls(
            api_key=_optional(env, "ANTHROPIC_API_KEY"),
            secret_arn=_arn(env, "ANTHROPIC_SECRET_ARN"),
            base_url=_http_url(env, "ANTHROPIC_BASE_URL"),
        )


@dataclass(frozen=True, kw_only=True)
class RunnerSettings(ApiSettings):
    """The runner also publishes run events and calls the model."""

    event_bus_name: str
    anthropic: AnthropicSettings
    # Base of the runner's exponential backoff for transient model errors.
    retry_base_seconds: float = 10.0
    # The operator's cap on what each owner's runs may spend on the model per month
    # (the template's AccountMonthlyBudgetUsd; agentcron.monthly_budgets). None: no cap.
    account_monthly_budget_usd: Decimal | None = None

    @classmethod
    def _read(cls, env: Mapping[str, str]) -> dict[str, Any]:
        return {
            **super()._read(env),
            "event_bus_name": _required(env, "EVENT_BUS_NAME"),
            "anthropic": AnthropicSettings.from_env(env),
            "retry_base_seconds": _positive_seconds(env, "RETRY_BASE_SECONDS", default=10.0),
            "account_monthly_budget_usd": _usd_or_none(env, "ACCOUNT_MONTHLY_BUDGET_USD"),
        }
