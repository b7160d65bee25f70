"""What each handler imports at init, in a fresh interpreter as a cold start would:
only the runner loads the anthropic SDK, and it loads it at init (so SnapStart's
snapshot holds it); the API and the dispatcher never do, not even when serving."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

PROBE = r"""
import json, sys
from agentcron_local.gateway import LambdaContext, build_event, load_function_handler, load_routes
handler = load_function_handler(sys.argv[1])
at_init = "anthropic" in sys.modules
status = None
if sys.argv[1] == "api":
    event = build_event("GET", "/v1/health", headers={}, body=None, claims=None, routes=load_routes())
    status = handler(event, LambdaContext())["statusCode"]
print(json.dumps({"at_init": at_init, "after_a_request": "anthropic" in sys.modules, "status": status}))
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
    assert imports_of("api") == {"at_init": False, "after_a_request": False, "status": 200}


def test_the_dispatcher_never_imports_anthropic() -> None:
    assert imports_of("dispatcher")["at_init"] is False


def test_the_runner_imports_anthropic_at_init_for_its_snapshot() -> None:
    assert imports_of("runner")["at_init"] is True
