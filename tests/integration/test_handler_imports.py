"""What each handler imports at init, in a fresh interpreter as a cold start would:
only the runner loads the anthropic SDK, and it loads it at init (so SnapStart's
snapshot holds it); the API and the dispatcher never do, not even when serving."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

PROBE = r"""
import json, sys
from agentcron_local.gateway import LambdaContext, build_event, load_function_handler, load_routes

RUNNERS_OWN = ("anthropic", "agentcron.execution", "agentcron.agent", "agentcron.tools", "agentcron.bootstrap.runner")
# Report rendering and its libraries (the API serves reports through agentcron.reports.formats only).
RENDERING = ("fpdf", "nh3", "markdown_it", "PIL", "fontTools", "agentcron.reports.writer", "agentcron.reports.render")
# The MCP client of connectors: only the runner, and only at a run that uses connectors.
MCP_CLIENT = ("mcp", "mcp_types", "agentcron.connectors.session", "agentcron.connectors.runtime")

def runners_modules():
    prefixes = ("anthropic.", "agentcron.tools.", *(name + "." for name in RENDERING + MCP_CLIENT))
    own = RUNNERS_OWN + RENDERING + MCP_CLIENT
    return sorted(m for m in sys.modules if m in own or m.startswith(prefixes))

handler = load_function_handler(sys.argv[1])
at_init = "anthropic" in sys.modules
runners_at_init = runners_modules()
status = None
if sys.argv[1] == "api":
    event = build_event("GET", "/v1/health", headers={}, body=None, claims=None, routes=load_routes())
    status = handler(event, LambdaContext())["statusCode"]
print(json.dumps({
    "at_init": at_init,
    "after_a_request": "anthropic" in sys.modules,
    "status": status,
    "runners_modules": {"at_init": runners_at_init, "after_a_request": runners_modules()},
    "authorizer": sorted(m for m in sys.modules if m.startswith("agentcron.authorizer")),
    "mcp_client": sorted(m for m in sys.modules if m in MCP_CLIENT or m.startswith(tuple(n + "." for n in MCP_CLIENT))),
}))
"""


def imports_of(function: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "POWERTOOLS_"))}
    env.update({"TABLE_NAME": "t", "RUN_QUEUE_URL": "http://127.0.0.1:9/q", "AWS_DEFAULT_REGION": "us-east-1"})
    done = subprocess.run(
        [sys.executable, "-c", PROBE, function], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_api_never_imports_anthropic_even_serving_a_request() -> None:
    imports = imports_of("api")
    assert {k: imports[k] for k in ("at_init", "after_a_request", "status")} == {
        "at_init": False,
        "after_a_request": False,
        "status": 200,
    }


def test_the_dispatcher_never_imports_anthropic() -> None:
    assert imports_of("dispatcher")["at_init"] is False


@pytest.mark.parametrize("function", ["api", "authorizer", "dispatcher"])
def test_the_api_the_authorizer_and_the_dispatcher_never_load_the_runners_modules(function: str) -> None:
    # Their composition roots (agentcron.bootstrap.api / .dispatcher) build no executor,
    # agent or tools, so their cold starts do not pay for them.
    assert imports_of(function)["runners_modules"] == {"at_init": [], "after_a_request": []}


@pytest.mark.parametrize("function", ["api", "dispatcher", "runner"])
def test_only_the_authorizer_loads_the_jwt_verifier(function: str) -> None:
    # agentcron.authorizer imports PyJWT, which ships in functions/authorizer's package alone
    # (not the layer): loaded anywhere else, it would fail deployed (test_import_rules: who imports jwt).
    assert imports_of(function)["authorizer"] == []


def test_the_runner_loads_its_modules_at_init() -> None:
    # The probe itself: what the API and the dispatcher must not load is loaded here.
    loaded = imports_of("runner")["runners_modules"]["at_init"]
    assert {"anthropic", "agentcron.execution", "agentcron.agent", "agentcron.tools.web_fetch"} <= set(loaded)


def test_the_runner_imports_anthropic_at_init_for_its_snapshot() -> None:
    assert imports_of("runner")["at_init"] is True


@pytest.mark.parametrize("function", ["api", "authorizer", "dispatcher", "runner"])
def test_no_function_loads_the_mcp_client_at_init(function: str) -> None:
    # The runner imports it at the first run of a task with agent.connectors (bench.coldstart
    # times that import); the API tests a connector by invoking the runner, never by itself.
    assert imports_of(function)["mcp_client"] == []
