"""The payload v2.0 event API Gateway sends a function for one HTTP request."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote

from agentcron_local.gateway.routes import Route, default_routes, match_route
from agentcron_local.resources import DEFAULT_REGION, LOCAL_ACCOUNT_ID

DEFAULT_API_ID = "localapi01"

# Content types API Gateway passes as text; everything else arrives base64-encoded.
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
    "application/problem+json",
    "application/merge-patch+json",
    "application/yaml",
)
# Connection-level headers end at API Gateway; the function never sees them.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
    }
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def claims_for_event(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as API Gateway hands them on: every value a string, arrays as ``[a b]``."""

    def as_string(value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, list | tuple):
            return "[" + " ".join(as_string(item) for item in value) + "]"
        if isinstance(value, dict):
            return json.dumps(value, separators=(",", ":"))
        return str(value)

    return {name: as_string(value) for name, value in claims.items()}


def scopes_of(claims: Mapping[str, Any]) -> list[str] | None:
    scope = claims.get("scope", claims.get("scp"))
    if isinstance(scope, str):
        return scope.split() or None
    if isinstance(scope, list):
        return [str(s) for s in scope] or None
    return None


def _is_text(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith(_TEXT_TYPES) or media.endswith(("+json", "+xml"))


def _apigw_time(epoch_ms: int) -> str:
    t = time.gmtime(epoch_ms / 1000)
    # Fixed English month names: strftime's %b follows the locale.
    clock = f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{clock} +0000"


def build_event(
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    body: bytes | str | None = None,
    claims: Mapping[str, Any] | None = None,
    source_ip: str = "127.0.0.1",
    route: Route | None = None,
    path_parameters: Mapping[str, str] | None = None,
    routes: Sequence[Route] | None = None,
    scheme: str = "https",
    api_id: str = DEFAULT_API_ID,
    protocol: str = "HTTP/1.1",
    request_id: str | None = None,
    now_ms: int | None = None,
) -> dict[str, Any]:
    """The payload v2.0 event API Gateway sends for ``method path`` (path may carry ``?query``).

    Used by the gateway for every request and by tests that call a handler
    directly. Without ``route``, the route (routeKey, pathParameters) is matched
    against ``routes``, by default the api function's routes in template.yaml.
    ``claims`` are the verified JWT claims (None: a route without authorizer).
    """
    epoch_ms = int(time.time() * 1000) if now_ms is None else now_ms
    request_id = request_id or base64.b64encode(secrets.token_bytes(10)).decode()
    raw_path, _, raw_query = path.partition("?")
    # API Gateway hands rawPath (and http.path) over percent-decoded, and the
    # function's router matches on it: `/v1/tasks/a%20b` names task `a b`.
    # Routing itself runs on the encoded path, so an encoded "/" stays inside its segment.
    decoded_path = unquote(raw_path)
    if route is None:
        found = match_route(method, raw_path, default_routes() if routes is None else routes)
        route, path_parameters = found if found else (Route("ANY", "$default", authorized=False), {})
    if isinstance(body, str):
        body = body.encode("utf-8")
    body = body or b""

    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers or ())
    merged: dict[str, list[str]] = {}
    cookies: list[str] = []
    for name, value in pairs:
        lname = name.lower()
        if lname in _HOP_BY_HOP:
            continue
        if lname == "cookie":
            # v2.0 moves cookies out of the headers into their own array.
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        merged.setdefault(lname, []).append(value)
    event_headers = {name: ",".join(values) for name, values in merged.items()}
    host = event_headers.setdefault("host", f"{api_id}.execute-api.{DEFAULT_REGION}.amazonaws.com")
    # Headers API Gateway adds on its way to the function.
    event_headers["content-length"] = str(len(body))
    event_headers.setdefault("x-forwarded-for", source_ip)
    event_headers.setdefault("x-forwarded-proto", scheme)
    default_port = "443" if scheme == "https" else "80"
    event_headers.setdefault("x-forwarded-port", host.rsplit(":", 1)[1] if ":" in host else default_port)
    event_headers.setdefault("x-amzn-trace-id", f"Root=1-{epoch_ms // 1000:08x}-{secrets.token_hex(12)}")

    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query.setdefault(key, []).append(value)

    request_context: dict[str, Any] = {
        "accountId": LOCAL_ACCOUNT_ID,
        "apiId": api_id,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0].split(":", 1)[0],
        "http": {
            "method": method,
            "path": decoded_path,
            "protocol": protocol,
            "sourceIp": source_ip,
            "userAgent": event_headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route.route_key,
        "stage": "$default",
        "time": _apigw_time(epoch_ms),
        "timeEpoch": epoch_ms,
    }
    if claims is not None:
        request_context["authorizer"] = {"jwt": {"claims": claims_for_event(claims), "scopes": scopes_of(claims)}}

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": decoded_path,
        "rawQueryString": raw_query,
    }
    # API Gateway leaves out what the request does not have.
    if cookies:
        event["cookies"] = cookies
    event["headers"] = event_headers
    if query:
        event["queryStringParameters"] = {key: ",".join(values) for key, values in query.items()}
    event["requestContext"] = request_context
    if body:
        text = _as_text(body, event_headers.get("content-type"))
        event["body"] = text if text is not None else base64.b64encode(body).decode()
        event["isBase64Encoded"] = text is None
    else:
        event["isBase64Encoded"] = False
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    return event


def _as_text(body: bytes, content_type: str | None) -> str | None:
    """The body as text when API Gateway would pass it as text, else None (base64)."""
    if not _is_text(content_type):
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None
