"""The composition roots: built lazily, overridden by name, forgotten by reset."""

from __future__ import annotations

import pytest
from agentcron import bootstrap
from agentcron.bootstrap.api import ApiRoot
from agentcron.bootstrap.runner import RunnerRoot
from agentcron.bootstrap.runner import root as runner_root
from agentcron.config import AnthropicSettings, InvalidSetting, RunnerSettings
from agentcron.notifications import Webhooks

SETTINGS = RunnerSettings(
    table_name="t",
    run_queue_url="https://sqs.example/q",
    artifacts_bucket="b",
    event_bus_name="bus",
    anthropic=AnthropicSettings(api_key="k"),
)


@pytest.fixture(autouse=True)
def fresh_container(monkeypatch: pytest.MonkeyPatch) -> None:
    # Making a client or resource needs a region, never a request: nothing here calls AWS.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bootstrap.reset()


def test_a_root_reads_nothing_until_an_adapter_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TABLE_NAME", raising=False)
    root = ApiRoot()  # as the handler's first call makes it: no environment read yet

    with pytest.raises(InvalidSetting, match="TABLE_NAME is not set"):
        _ = root.service


def test_an_overridden_adapter_is_what_the_others_are_built_with() -> None:
    hooks = Webhooks(attempts=1)

    root = runner_root.override(settings=SETTINGS, webhooks=hooks)

    assert runner_root() is root
    assert root.events.webhooks is hooks
    assert root.events.bus_name == "bus"
    assert root.executor.events is root.events


def test_an_adapter_the_root_does_not_have_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="RunnerRoot has no adapter event_bus"):
        RunnerRoot(event_bus=object())


def test_the_container_keeps_its_root_until_reset() -> None:
    first = runner_root.override(settings=SETTINGS)
    assert runner_root() is first

    bootstrap.reset()

    fresh = runner_root()
    assert fresh is not first
    assert "settings" not in vars(fresh), "a fresh root has nothing built or given yet"


def test_the_dispatcher_shares_its_roots_store_factory_and_queue() -> None:
    root = RunnerRoot(settings=SETTINGS)
    assert root.dispatcher.queue is root.queue is root.service.queue
    assert root.service.store is root.store is root.executor.store
