"""Fixtures that drive the real API handler (functions/api/app.py) with API
Gateway v2 events against moto's server: everything but the HTTP socket."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from agentcron import bootstrap
from agentcron.store import Store
from agentcron_local.gateway import LambdaContext, Route, build_event, load_function_handler, load_routes


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    text: str
    # The body as bytes (a binary body arrives base64-encoded, as API Gateway gets it).
    content: bytes = b""

    @property
    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


class ApiClient:
    """Calls the API handler as API Gateway would, as user `user`."""

    def __init__(self, handler: Any) -> None:
        self._handler = handler
        self._routes: list[Route] = load_routes()

    def event(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: str | None,
        claims: dict[str, str] | None,
    ) -> dict[str, Any]:
        """The v2.0 event of the template's route that takes this request (the
        local gateway's own event builder, so tests and `agentcron local` agree)."""
        return build_event(method, target, headers=headers, body=body, claims=claims, routes=self._routes)

    def request(
        self,
        method: str,
        path: str,
        *,
        user: str | None = "alice",
        json_body: Any = None,
        raw_body: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        body = raw_body if raw_body is not None else (None if json_body is None else json.dumps(json_body))
        all_headers = {"content-type": "application/json", **(headers or {})}
        claims = None if user is None else {"sub": user, "iss": "test", "aud": "test"}
        event = self.event(method, path, all_headers, body, claims)
        result = self._handler(event, LambdaContext())
        lowered = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        for key, values in (result.get("multiValueHeaders") or {}).items():
            lowered.setdefault(key.lower(), ",".join(values))
        text = result.get("body") or ""
        content = base64.b64decode(text) if result.get("isBase64Encoded") else text.encode()
        return ApiResponse(status=result["statusCode"], headers=lowered, text=text, content=content)

    def get(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json_body: Any = None, **kwargs: Any) -> ApiResponse:
        return self.request("POST", path, json_body=json_body, **kwargs)

    def patch(self, path: str, json_body: Any = None, **kwargs: Any) -> ApiResponse:
        return self.request("PATCH", path, json_body=json_body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture(scope="session")
def api_module() -> Any:
    load_function_handler("api")
    return vars(sys.modules["agentcron_fn_api"])


@pytest.fixture
def api(aws_env: dict[str, str], api_module: Any) -> Iterator[ApiClient]:
    # The handler caches its settings and service per container; each test has
    # its own stack (aws_env), so start each test as a fresh container would.
    bootstrap.reset()
    yield ApiClient(api_module["lambda_handler"])
    bootstrap.reset()


@pytest.fixture
def store(aws_env: dict[str, str]) -> Store:
    return Store(aws_env["TABLE_NAME"], due_shards=int(aws_env["DUE_SHARDS"]))


def cron_task(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Morning incidents",
        "prompt": "Summarise the open incidents for {{team}}",
        "variables": {"team": "platform"},
        "schedule": {"type": "cron", "expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"},
        "tags": ["ops"],
    }
    body.update(overrides)
    return body
