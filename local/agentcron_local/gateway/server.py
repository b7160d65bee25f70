"""The gateway's HTTP server: one request at a time into the function, through
API Gateway's checks (route, authorizer, payload limit) first."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from agentcron_local import threads, tokens
from agentcron_local.gateway.authorizer import LambdaAuthorizer
from agentcron_local.gateway.events import DEFAULT_API_ID, build_event, scopes_of
from agentcron_local.gateway.functions import Handler, LambdaContext, lambda_context
from agentcron_local.gateway.local_routes import LocalRequest, LocalRoute
from agentcron_local.gateway.responses import (
    HttpResponse,
    json_response,
    known_status,
    method_not_allowed,
    response_from_result,
    unauthorized,
)
from agentcron_local.gateway.routes import Route, fallback_routes, load_routes, match_route
from agentcron_local.motoserver import bind_listening_socket
from agentcron_local.resources import DEFAULT_TEMPLATE, TemplateError

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway HTTP API request payload limit
# The methods an HTTP API route takes (ANY means these); others are answered 405.
ROUTED_METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")


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
        self.local_routes: list[LocalRoute] = []
        # The template's Lambda authorizer (functions/authorizer), run for every authorized
        # route as API Gateway runs it; None (a gateway made without the stack, in tests):
        # API Gateway's JWT authorizer, emulated with the local issuer's key.
        self.authorizer: LambdaAuthorizer | None = None

    def add_local_route(self, route: LocalRoute) -> None:
        """Serve ``route`` in front of API Gateway's routes (see ``local_routes``)."""
        self.local_routes.append(route)

    def answer_locally(self, request: LocalRequest) -> HttpResponse | None:
        for route in self.local_routes:
            response = route.answer(request)
            if response is not None:
                return response
        return None

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
            return json_response(503, {"message": "Service Unavailable"})
        with self.invoke_lock:
            self.invocations += 1
            try:
                result = function(event, self.context_factory())
            except Exception:
                # Lambda reports the error; API Gateway answers 500 with no details.
                traceback.print_exc()
                return json_response(500, {"message": "Internal Server Error"})
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

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own answers (a method no ``do_`` takes, a malformed request
        line, headers too large) as JSON, like the gateway's others, never its HTML page."""
        # The request was not read to its end: this connection cannot carry another.
        self.close_connection = True
        if self.request_version == "HTTP/0.9":
            # Set before the request line was parsed; a status line and headers are still due.
            self.request_version = self.protocol_version
        if code == HTTPStatus.NOT_IMPLEMENTED and self.command:
            response = method_not_allowed(self.command, ROUTED_METHODS)
        else:
            phrase = HTTPStatus(code).phrase if known_status(code) else "Error"
            response = json_response(code, {"message": phrase})
        self._send(response)

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
            return json_response(400, {"message": "Bad Request"})

        body_or_error = self._read_body()
        if isinstance(body_or_error, HttpResponse):
            return body_or_error
        body = body_or_error

        local = self.server.answer_locally(
            LocalRequest(
                method=self.command,
                path=unquote(raw_path),
                query=self.path.partition("?")[2],
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
                client=str(self.client_address[0]),
            )
        )
        if local is not None:
            return local

        found = self.server.route_for(self.command, raw_path)
        if found is None:
            return json_response(404, {"message": "Not Found"})
        route, path_parameters = found

        if route.authorized and self.server.authorizer is not None:
            return self._through_lambda_authorizer(self.server.authorizer, route, path_parameters, body)
        claims: dict[str, Any] | None = None
        if route.authorized:
            try:
                claims = tokens.verify_token(tokens.token_from_authorization(self.headers.get("authorization")))
            except tokens.TokenRejected as exc:
                return unauthorized(exc)
            if route.scopes and not set(scopes_of(claims) or ()) & set(route.scopes):
                expected = " ".join(route.scopes)
                challenge = (
                    f'Bearer scope="{expected}" error="insufficient_scope" '
                    f'error_description="expected scopes: [{expected}]"'
                )
                return json_response(403, {"message": "Forbidden"}, [("www-authenticate", challenge)])

        event = self._request_event(route, path_parameters, body, claims=claims)
        return self._invoke(event)

    def _through_lambda_authorizer(
        self, authorizer: LambdaAuthorizer, route: Route, path_parameters: dict[str, str], body: bytes
    ) -> HttpResponse:
        event = self._request_event(route, path_parameters, body)
        verdict = authorizer.authorize(event)
        if isinstance(verdict, HttpResponse):
            return verdict
        event["requestContext"]["authorizer"] = {"lambda": verdict}
        return self._invoke(event)

    def _invoke(self, event: dict[str, Any]) -> HttpResponse:
        response = self.server.invoke(event)
        response.headers.append(("apigw-requestid", event["requestContext"]["requestId"]))
        return response

    def _request_event(
        self, route: Route, path_parameters: dict[str, str], body: bytes, *, claims: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return build_event(
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
            return json_response(400, {"message": "Bad Request"})
        if length > MAX_PAYLOAD_BYTES:
            # Refused before reading: the body is never read, so this
            # connection cannot be reused.
            self.close_connection = True
            return json_response(413, {"message": "Request Entity Too Large"})
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
                return json_response(400, {"message": "Bad Request"})
            if size == 0:
                # Trailers end with an empty line.
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_PAYLOAD_BYTES:
                self.close_connection = True
                return json_response(413, {"message": "Request Entity Too Large"})
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _send(self, response: HttpResponse) -> None:
        try:
            reason = HTTPStatus(response.status).phrase if known_status(response.status) else ""
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
