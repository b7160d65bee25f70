"""The security suite drives the real API handler with the integration
suite's fixtures (``api``: API Gateway v2 events into functions/api/app.py;
``store``: the Store on the test's own moto table), and the in-process local
stack over loopback HTTP (``api_stack``) for third-party tools that need a URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agentcron_local.stack import LocalStack, StackOptions

from tests.integration.conftest import api, api_module, store

__all__ = ["api", "api_module", "api_stack", "store"]


@pytest.fixture(scope="module")
def api_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """moto, the template's resources, the JWT gateway and the real api handler on loopback.
    No ticker, poller or model: a run started through it stays QUEUED."""
    options = StackOptions(
        port=0, moto_port=0, state_dir=tmp_path_factory.mktemp("api-stack"), access_log=False, persist=False
    )
    with LocalStack(options, service_factories=[]) as stack:
        yield stack
