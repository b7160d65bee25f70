"""The template's Lambda authorizer as API Gateway runs it (HTTP API, payload 2.0, simple
responses, identity source the Authorization header):

- a request without the header is 401 ``{"message":"Unauthorized"}``, the function not invoked;
- the function gets the REQUEST event (the request without its body, ``routeArn``, ``identitySource``);
- ``isAuthorized: false`` is 403 ``{"message":"Forbidden"}`` (API Gateway's, never a 401);
- an error, or an answer of another shape, is 500 ``{"message":"Internal Server Error"}``;
- the answer for a header is kept ``result_ttl_seconds`` (the template's ``ReauthorizeEvery``),
  refusals too; the clock is injected, so tests can step over the revocation delay.

Its context reaches the API's event under ``requestContext.authorizer.lambda``."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentcron_local.gateway.functions import Handler, LambdaContext, lambda_context
from agentcron_local.gateway.responses import HttpResponse, json_response
from agentcron_local.resources import DEFAULT_REGION, DEFAULT_TEMPLATE, TemplateError, load_template

Verdict = dict[str, Any] | HttpResponse  # the context to pass on, or API Gateway's answer


def result_ttl_of(template_path: Path | str = DEFAULT_TEMPLATE) -> float:
    """The HttpApi default authorizer's ReauthorizeEvery (seconds; 300, API Gateway's default, when unset)."""
    try:
        template = load_template(template_path)
    except TemplateError:
        return 0.0
    for spec in template["Resources"].values():
        if spec.get("Type") != "AWS::Serverless::HttpApi":
            continue
        auth = (spec.get("Properties") or {}).get("Auth") or {}
        authorizer = (auth.get("Authorizers") or {}).get(auth.get("DefaultAuthorizer") or "") or {}
        identity = authorizer.get("Identity") or {}
        if "FunctionArn" in authorizer:
            return float(identity.get("ReauthorizeEvery", 300))
    return 0.0


def authorizer_event(request_event: Mapping[str, Any], identity_source: Sequence[str]) -> dict[str, Any]:
    """The payload 2.0 event a Lambda REQUEST authorizer gets for ``request_event`` (build_event's,
    without an authorizer): the request without its body, its route's ARN and the identity sources."""
    context = request_event["requestContext"]
    route_arn = (
        f"arn:aws:execute-api:{DEFAULT_REGION}:{context['accountId']}:{context['apiId']}/"
        f"{context['stage']}/{context['http']['method']}{context['http']['path']}"
    )
    event = {name: value for name, value in request_event.items() if name not in ("body", "isBase64Encoded")}
    return {"version": "2.0", "type": "REQUEST", "routeArn": route_arn, "identitySource": [*identity_source], **event}


@dataclass
class LambdaAuthorizer:
    handler: Handler
    result_ttl_seconds: float = 0.0
    context_factory: Callable[[], LambdaContext] = field(default=lambda: lambda_context("authorizer"))
    monotonic: Callable[[], float] = field(default=time.monotonic)
    invocations: int = field(default=0, init=False)
    _cache: dict[str, tuple[float, Verdict]] = field(default_factory=dict, init=False, repr=False)
    # One event at a time, as in one execution environment.
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def authorize(self, request_event: Mapping[str, Any]) -> Verdict:
        header = str((request_event.get("headers") or {}).get("authorization", ""))
        if not header.strip():
            return json_response(401, {"message": "Unauthorized"})
        with self._lock:
            now = self.monotonic()
            cached = self._cache.get(header)
            if cached is not None and now - cached[0] < self.result_ttl_seconds:
                return cached[1]
            verdict = self._invoke(authorizer_event(request_event, [header]))
            if not (isinstance(verdict, HttpResponse) and verdict.status == 500):
                self._cache[header] = (now, verdict)
            return verdict

    def _invoke(self, event: dict[str, Any]) -> Verdict:
        self.invocations += 1
        try:
            result = self.handler(event, self.context_factory())
        except Exception:
            traceback.print_exc()
            return json_response(500, {"message": "Internal Server Error"})
        if not isinstance(result, dict) or not isinstance(result.get("isAuthorized"), bool):
            return json_response(500, {"message": "Internal Server Error"})
        if not result["isAuthorized"]:
            return json_response(403, {"message": "Forbidden"})
        context = result.get("context") or {}
        return dict(context) if isinstance(context, dict) else json_response(500, {"message": "Internal Server Error"})
