"""A local stand-in for API Gateway (HTTP API): HTTP in, payload v2.0 events out.

Each request becomes the event API Gateway would send the api function
(payload format 2.0, the shape of `sam local generate-event apigateway
http-api-proxy`), after the checks API Gateway makes before the function is
ever invoked: route matching (404 ``{"message":"Not Found"}``), the JWT
authorizer (401 ``{"message":"Unauthorized"}`` with ``www-authenticate``) and
the 10 MB payload limit (413). Routes and which of them skip the authorizer
come from the function's ``HttpApi`` events in template.yaml. The function's
answer is mapped back the way API Gateway maps a 2.0 response.

One invocation at a time: a Lambda execution environment never runs two
events at once, and handlers rely on that (Powertools' resolver keeps the
current event in a module-level object). Concurrent requests queue, as they
would on one warm environment.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import secrets
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, unquote

from agentcron_local import threads, tokens
from agentcron_local.motoserver import PortInUseError, bind_listening_socket
from agentcron_local.resources import (
    DEFAULT_TEMPLATE,
    LOCAL_ACCOUNT_ID,
    REPO_ROOT,
    TemplateError,
    load_template,
)

Handler = Callable[[dict[str, Any], Any], Any]

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway HTTP API request payload limit
DEFAULT_API_ID = "localapi01"
DEFAULT_REGION = "us-east-1"
# Routes that skip the authorizer when the template cannot be read (the
# template's `Auth: {Authorizer: NONE}` events are the real source).
FALLBACK_PUBLIC_ROUTES = (("GET", "/v1/health"), ("GET", "/v1/openapi.json"), ("GET", "/v1/docs"))

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


# ------------------------------------------------------------------ routes


@dataclass(frozen=True)
class Route:
    """One API Gateway route: ``GET /v1/health``, ``ANY /v1/{proxy+}`` or ``$default``."""

    method: str  # upper case, or ANY
    path: str  # "$default" for the default route
    authorized: bool
    scopes: tuple[str, ...] = ()

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters when this route takes the request, else None."""
        if self.method not in ("ANY", method):
            return None
        if self.path == "$default":
            return {}
        want = self.path.strip("/").split("/")
        have = path.strip("/").split("/")
        params: dict[str, str] = {}
        for i, segment in enumerate(want):
            if segment.startswith("{") and segment.endswith("+}"):
                rest = have[i:]
                if not rest or rest == [""]:
                    return None  # a greedy variable needs at least one segment
                params[segment[1:-2]] = unquote("/".join(rest))
                return params
            if i >= len(have):
                return None
            if segment.startswith("{") and segment.endswith("}"):
                if not have[i]:
                    return None
                params[segment[1:-1]] = unquote(have[i])
            elif segment != have[i]:
                return None
        return params if len(have) == len(want) else None

    def specificity(self) -> tuple[int, int, int]:
        # API Gateway picks the most specific route: $default last, greedy
        # variables after everything else, more literal segments first, and an
        # explicit method before ANY.
        if self.path == "$default":
            return (1, 0, 0)
        segments = self.path.strip("/").split("/")
        greedy = int(any(s.endswith("+}") for s in segments))
        literals = sum(1 for s in segments if not s.startswith("{"))
        return (0, greedy * 1000 - literals, int(self.method == "ANY"))


def load_routes(template_path: Path | str = DEFAULT_TEMPLATE, function_logical_id: str = "ApiFunction") -> list[Route]:
    """The routes of ``function_logical_id``'s HttpApi events, with their authorization."""
    template = load_template(template_path)
    resources: Mapping[str, Any] = template["Resources"]
    function = resources.get(function_logical_id)
    if function is None:
        raise TemplateError(f"template has no {function_logical_id}")
    http_globals = ((template.get("Globals") or {}).get("HttpApi") or {}).get("Auth") or {}
    routes: list[Route] = []
    for event in ((function.get("Properties") or {}).get("Events") or {}).values():
        if event.get("Type") != "HttpApi":
            continue
        props = event.get("Properties") or {}
        api_auth: Mapping[str, Any] = http_globals
        api_ref = props.get("ApiId")
        if isinstance(api_ref, dict) and isinstance(api_ref.get("Ref"), str):
            api = resources.get(api_ref["Ref"]) or {}
            api_auth = ((api.get("Properties") or {}).get("Auth")) or http_globals
        event_auth = props.get("Auth") or {}
        authorizer = event_auth.get("Authorizer", api_auth.get("DefaultAuthorizer"))
        scopes = tuple(event_auth.get("AuthorizationScopes") or ())
        path = props.get("Path")
        method = str(props.get("Method", "ANY")).upper()
        routes.append(
            Route(
                method="ANY" if method in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD") else method,
                path=str(path) if path else "$default",
                authorized=bool(authorizer) and authorizer != "NONE",
                scopes=scopes,
            )
        )
    if not routes:
        raise TemplateError(f"{function_logical_id} has no HttpApi events")
    return sorted(routes, key=Route.specificity)


def fallback_routes() -> list[Route]:
    public = [Route(method, path, authorized=False) for method, path in FALLBACK_PUBLIC_ROUTES]
    return [*public, Route("ANY", "$default", authorized=True)]


# ----------------------------------------------------------------- context


@dataclass
class LambdaContext:
    """What Lambda passes as ``context`` (the attributes Powertools and handlers read)."""

    function_name: str = "agentcron-local-ApiFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    timeout_seconds: float = 29.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    region: str = DEFAULT_REGION
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"{time.strftime('%Y/%m/%d')}/[$LATEST]local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# ------------------------------------------------------------------- event


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


def _default_routes() -> list[Route]:
    try:
        return load_routes()
    except TemplateError:
        return fallback_routes()


def match_route(method: str, path: str, routes: Sequence[Route]) -> tuple[Route, dict[str, str]] | None:
    """The route API Gateway would pick (``routes`` sorted by specificity) and its path parameters."""
    for route in routes:
        params = route.match(method, path)
        if params is not None:
            return route, params
    return None


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
    if route is None:
        found = match_route(method, raw_path, _default_routes() if routes is None else routes)
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
            "path": raw_path,
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
        "rawPath": raw_path,
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


def lambda_context(name: str = "api", *, template_path: Path | str = DEFAULT_TEMPLATE) -> LambdaContext:
    """A context for ``functions/<name>``, with MemorySize and Timeout from the template.

    ``api`` -> ApiFunction, ``dispatcher`` -> DispatcherFunction, ``runner`` -> RunnerFunction.
    """
    logical_id = f"{name.capitalize()}Function"
    try:
        memory, timeout = function_settings(template_path, logical_id)
    except TemplateError:
        memory, timeout = 128, 30.0
    return LambdaContext(
        function_name=f"agentcron-local-{logical_id}", memory_limit_in_mb=memory, timeout_seconds=timeout
    )


# ---------------------------------------------------------------- response


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _json_response(status: int, payload: Any, extra: Sequence[tuple[str, str]] = ()) -> HttpResponse:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return HttpResponse(status, [("content-type", "application/json"), *extra], body)


def response_from_result(result: Any) -> HttpResponse:
    """Map a function's return value to HTTP as API Gateway does for payload 2.0."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # Not a structured response: API Gateway infers 200 and a JSON body.
        if isinstance(result, str):
            return HttpResponse(200, [("content-type", "application/json")], result.encode())
        return _json_response(200, result)
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        return _json_response(500, {"message": "Internal Server Error"})
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


# ---------------------------------------------------------------- handlers


def load_function_handler(name: str, *, attribute: str = "lambda_handler", fresh: bool = False) -> Handler:
    """``functions/<name>/app.py:lambda_handler``, imported like Lambda would (see load_function_module)."""
    module = load_function_module(name, fresh=fresh)
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise AttributeError(f"functions/{name}/app.py has no callable {attribute}")
    return handler  # type: ignore[no-any-return]


def load_function_module(name: str, *, fresh: bool = False) -> ModuleType:
    """The module ``functions/<name>/app.py``, imported once per process.

    It gets a unique name (``agentcron_fn_<name>``: three functions each have
    an ``app.py``), and its folder goes on sys.path as /var/task would.
    ``fresh=True`` re-imports it (a new "cold start"). Use the module, not
    ``handler.__globals__``, to reach its globals: a decorated handler's
    globals are the decorator's module.
    """
    module_name = f"agentcron_fn_{name}"
    # One import at a time: the module is in sys.modules before it has finished executing,
    # and a second thread (the poller's other worker) must not take the half-made module.
    with _IMPORT_LOCK:
        return _load_function_module(name, module_name, fresh=fresh)


_IMPORT_LOCK = threading.RLock()


def _load_function_module(name: str, module_name: str, *, fresh: bool) -> ModuleType:
    module: ModuleType | None = None if fresh else sys.modules.get(module_name)
    if module is None:
        path = REPO_ROOT / "functions" / name / "app.py"
        if not path.is_file():
            raise FileNotFoundError(f"no function code at {path}")
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {path}")
        function_dir = str(path.parent)
        if function_dir not in sys.path:
            sys.path.insert(0, function_dir)
        module = importlib.util.module_from_spec(spec)
        # Registered before exec: dataclasses and pydantic look the module up by name.
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
    return module


# ------------------------------------------------------------------ server


class GatewayServer(ThreadingHTTPServer):
    """The gateway; ``function`` may be set after binding (the stack binds the port first)."""

    daemon_threads = True

    def __init__(
        self,
        sock_address: tuple[str, int],
        function: Handler | None,
        *,
        routes: Sequence[Route],
        context_factory: Callable[[], LambdaContext],
        api_id: str = DEFAULT_API_ID,
        log: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(sock_address, _GatewayRequestHandler, bind_and_activate=False)
        self.function = function
        self.routes = list(routes)
        self.context_factory = context_factory
        self.api_id = api_id
        self.log = log
        self.invoke_lock = threading.Lock()
        self.invocations = 0
        # Paths outside the routes go here first when set (the stack sets webapp.WebApp().answer).
        self.fallback: Callable[[str, str, bytes], tuple[int, list[tuple[str, str]], bytes] | None] | None = None

    @property
    def host(self) -> str:
        return str(self.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        # A wildcard bind is reached through loopback; print an address that works.
        host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(self.host, self.host)  # noqa: S104
        return f"http://{host}:{self.port}"

    def route_for(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        return match_route(method, path, self.routes)

    def invoke(self, event: dict[str, Any]) -> HttpResponse:
        function = self.function
        if function is None:
            return _json_response(503, {"message": "Service Unavailable"})
        with self.invoke_lock:
            self.invocations += 1
            try:
                result = function(event, self.context_factory())
            except Exception:
                # Lambda reports the error; API Gateway answers 500 with no details.
                traceback.print_exc()
                return _json_response(500, {"message": "Internal Server Error"})
        return response_from_result(result)


class _GatewayRequestHandler(BaseHTTPRequestHandler):
    server: GatewayServer
    protocol_version = "HTTP/1.1"  # keep-alive, like API Gateway
    server_version = "agentcron-local-gateway"

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        # Access lines come from _handle (with timings); the base class's go nowhere.
        return

    def _handle(self) -> None:
        started = time.monotonic()
        response = self._process()
        self._send(response)
        if self.server.log is not None:
            elapsed = (time.monotonic() - started) * 1000
            self.server.log(f"{self.command} {self.path} {response.status} {elapsed:.0f} ms")

    def _process(self) -> HttpResponse:
        raw_path = self.path.partition("?")[0]
        if not raw_path.startswith("/"):
            return _json_response(400, {"message": "Bad Request"})

        body_or_error = self._read_body()
        if isinstance(body_or_error, HttpResponse):
            return body_or_error
        body = body_or_error

        if self.server.fallback is not None and (answer := self.server.fallback(self.command, raw_path, body)):
            return HttpResponse(*answer)
        found = self.server.route_for(self.command, raw_path)
        if found is None:
            return _json_response(404, {"message": "Not Found"})
        route, path_parameters = found

        claims: dict[str, Any] | None = None
        if route.authorized:
            try:
                token = tokens.token_from_authorization(self.headers.get("authorization"))
                claims = tokens.verify_token(token)
            except tokens.TokenRejected as exc:
                return _unauthorized(exc)
            if route.scopes and not set(scopes_of(claims) or ()) & set(route.scopes):
                expected = " ".join(route.scopes)
                challenge = (
                    f'Bearer scope="{expected}" error="insufficient_scope" '
                    f'error_description="expected scopes: [{expected}]"'
                )
                return _json_response(403, {"message": "Forbidden"}, [("www-authenticate", challenge)])

        event = build_event(
            self.command,
            self.path,
            headers=list(self.headers.items()),
            body=body,
            claims=claims,
            source_ip=str(self.client_address[0]),
            route=route,
            path_parameters=path_parameters,
            scheme="http",
            api_id=self.server.api_id,
            protocol=self.request_version,
        )
        response = self.server.invoke(event)
        response.headers.append(("apigw-requestid", event["requestContext"]["requestId"]))
        return response

    def _read_body(self) -> bytes | HttpResponse:
        """The request body, or the error API Gateway would answer instead."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        length_header = self.headers.get("content-length")
        if not length_header:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            self.close_connection = True
            return _json_response(400, {"message": "Bad Request"})
        if length > MAX_PAYLOAD_BYTES:
            # Refused before reading: the body is never read, so this
            # connection cannot be reused.
            self.close_connection = True
            return _json_response(413, {"message": "Request Entity Too Large"})
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes | HttpResponse:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024)
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                return _json_response(400, {"message": "Bad Request"})
            if size == 0:
                # Trailers end with an empty line.
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_PAYLOAD_BYTES:
                self.close_connection = True
                return _json_response(413, {"message": "Request Entity Too Large"})
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _send(self, response: HttpResponse) -> None:
        try:
            reason = HTTPStatus(response.status).phrase if _known(response.status) else ""
            self.send_response(response.status, reason)
            seen = set()
            for name, value in response.headers:
                lname = name.lower()
                if lname in ("content-length", "connection", "transfer-encoding"):
                    continue  # ours to set
                seen.add(lname)
                self.send_header(name, value)
            if "content-type" not in seen and response.body:
                self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(response.body)))
            if self.close_connection:
                self.send_header("connection", "close")
            self.end_headers()
            if self.command != "HEAD" and response.body:
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _known(status: int) -> bool:
    try:
        HTTPStatus(status)
    except ValueError:
        return False
    return True


def _unauthorized(exc: tokens.TokenRejected) -> HttpResponse:
    if exc.reason == "missing":
        challenge = "Bearer"
    else:
        challenge = f'Bearer scope="" error="invalid_token" error_description="{exc.description}"'
    return _json_response(401, {"message": "Unauthorized"}, [("www-authenticate", challenge)])


def function_settings(
    template_path: Path | str = DEFAULT_TEMPLATE, function_logical_id: str = "ApiFunction"
) -> tuple[int, float]:
    """(MemorySize, Timeout) of the function in the template, for the context object.

    SAM's defaults (128 MB, 3 s) when unset; a ``!Ref`` to a parameter gives
    its default (the runner's Timeout is one).
    """
    template = load_template(template_path)
    globals_fn = (template.get("Globals") or {}).get("Function") or {}
    props = ((template["Resources"].get(function_logical_id) or {}).get("Properties")) or {}
    parameters = template.get("Parameters") or {}

    def number(key: str, default: float) -> float:
        value = props.get(key, globals_fn.get(key, default))
        if isinstance(value, dict) and isinstance(value.get("Ref"), str):
            value = (parameters.get(value["Ref"]) or {}).get("Default", default)
        try:
            return float(value)
        except (TypeError, ValueError):
            return default

    return int(number("MemorySize", 128)), number("Timeout", 3)


def make_gateway(
    handler: Handler | None,
    host: str = "127.0.0.1",
    port: int = 3000,
    *,
    template_path: Path | str = DEFAULT_TEMPLATE,
    function_logical_id: str = "ApiFunction",
    routes: Sequence[Route] | None = None,
    log: Callable[[str], None] | None = None,
) -> GatewayServer:
    """Bind the gateway (raises PortInUseError on a busy port); serve it with serve_in_thread()."""
    if routes is None:
        try:
            routes = load_routes(template_path, function_logical_id)
        except TemplateError:
            routes = fallback_routes()
    name = function_logical_id.removesuffix("Function").lower()

    def context_factory() -> LambdaContext:
        return lambda_context(name, template_path=template_path)

    sock = bind_listening_socket(host, port, flag="--port")
    server = GatewayServer((host, port), handler, routes=routes, context_factory=context_factory, log=log)
    # Adopt the socket bound above (our PortInUseError, not a bare OSError).
    server.socket.close()
    server.socket = sock
    server.server_address = sock.getsockname()[:2]
    return server


def serve_in_thread(server: GatewayServer) -> threading.Thread:
    return threads.serve_in_thread(server, f"gateway:{server.port}")


__all__ = [
    "MAX_PAYLOAD_BYTES",
    "GatewayServer",
    "LambdaContext",
    "PortInUseError",
    "Route",
    "build_event",
    "lambda_context",
    "load_function_handler",
    "load_function_module",
    "load_routes",
    "make_gateway",
    "match_route",
    "serve_in_thread",
]
