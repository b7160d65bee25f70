"""The local stack's loopback allowance: off unless the local stack sets it, and narrow when on."""

from __future__ import annotations

import ipaddress

import pytest
from agentcron.guarded_http import (
    DEFAULT_POLICY,
    LOCAL_LOOPBACK_PORTS_ENV,
    Refused,
    is_local_loopback_url,
    local_policy,
    parse_target,
)
from agentcron.models import Notify
from pydantic import ValidationError

LOCAL = {LOCAL_LOOPBACK_PORTS_ENV: "3000"}


def test_without_the_local_setting_the_policy_is_the_production_one() -> None:
    assert local_policy({}) is DEFAULT_POLICY
    assert local_policy({LOCAL_LOOPBACK_PORTS_ENV: "not a port"}) is DEFAULT_POLICY
    with pytest.raises(Refused, match="port 3000 is not allowed"):
        parse_target("http://127.0.0.1:3000/hooks/a", local_policy({}))


def test_the_local_setting_opens_127_0_0_1_on_its_ports_and_nothing_else() -> None:
    policy = local_policy(LOCAL)
    assert parse_target("http://127.0.0.1:3000/hooks/a", policy).port == 3000
    with pytest.raises(Refused, match="port 3001 is not allowed"):
        parse_target("http://127.0.0.1:3001/", policy)
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("127.0.0.2")) == "a loopback address"
    assert policy.refusal(ipaddress.ip_address("10.0.0.1")) == "a private address"
    assert policy.refusal(ipaddress.ip_address("169.254.169.254")) == "the cloud instance metadata address"


def test_only_the_local_inbox_is_a_plain_http_webhook_and_only_in_local_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox = "http://127.0.0.1:3000/hooks/mine"
    assert not is_local_loopback_url(inbox, {})
    assert is_local_loopback_url(inbox, LOCAL)
    assert not is_local_loopback_url("http://127.0.0.1:3001/hooks/mine", LOCAL)
    assert not is_local_loopback_url("http://example.com:3000/hooks/mine", LOCAL)

    monkeypatch.delenv(LOCAL_LOOPBACK_PORTS_ENV, raising=False)
    with pytest.raises(ValidationError, match="webhook_url must use https"):
        Notify.model_validate({"webhook_url": inbox})
    monkeypatch.setenv(LOCAL_LOOPBACK_PORTS_ENV, "3000")
    assert str(Notify.model_validate({"webhook_url": inbox}).webhook_url) == inbox
    with pytest.raises(ValidationError, match="webhook_url must use https"):
        Notify.model_validate({"webhook_url": "http://hooks.example.com/x"})
