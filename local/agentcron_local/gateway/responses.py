"""What the gateway answers: the function's result mapped back to HTTP as API
Gateway maps a payload 2.0 response, and API Gateway's own answers."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from agentcron_local import tokens


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def json_response(status: int, payload: Any, extra: Sequence[tuple[str, str]] = ()) -> HttpResponse:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return HttpResponse(status, [("content-type", "application/json"), *extra], body)


def response_from_result(result: Any) -> HttpResponse:
    """Map a function's return value to HTTP as API Gateway does for payload 2.0."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # Not a structured response: API Gateway infers 200 and a JSON body.
        if isinstance(result, str):
            return HttpResponse(200, [("content-type", "application/json")], result.encode())
        return json_response(200, result)
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        return json_response(500, {"message": "Internal Server Error"})
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((str(name), str(value)))
    # Not part of payload 2.0, but harmless and what some frameworks still emit.
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(value)) for value in values)
    headers.extend(("set-cookie", str(cookie)) for cookie in result.get("cookies") or [])
    raw_body = result.get("body")
    if raw_body is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(str(raw_body))
    else:
        body = (raw_body if isinstance(raw_body, str) else json.dumps(raw_body)).encode()
    return HttpResponse(status, headers, body)


def known_status(status: int) -> bool:
    try:
        HTTPStatus(status)
    except ValueError:
        return False
    return True


def method_not_allowed(method: str, allowed: Sequence[str]) -> HttpResponse:
    """A method no route takes (TRACE, CONNECT, made-up ones): a problem+json 405."""
    problem = {
        "type": "about:blank",
        "title": "Method Not Allowed",
        "status": 405,
        "detail": f"{method[:32]} is not a method this API routes; use one of {', '.join(allowed)}",
    }
    body = json.dumps(problem, separators=(",", ":")).encode()
    return HttpResponse(405, [("content-type", "application/problem+json"), ("allow", ", ".join(allowed))], body)


def unauthorized(exc: tokens.TokenRejected) -> HttpResponse:
    if exc.reason == "missing":
        challenge = "Bearer"
    else:
        challenge = f'Bearer scope="" error="invalid_token" error_description="{exc.description}"'
    return json_response(401, {"message": "Unauthorized"}, [("www-authenticate", challenge)])
