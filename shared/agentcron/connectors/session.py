"""The runner's MCP client: ``ConnectorSession`` connects to a run's connectors
with the official ``mcp`` SDK, offers their allowed tools under namespaced names
and calls them with timeouts.

The runner's tool loop is synchronous and the SDK is async: the session runs
the SDK in an anyio blocking portal (one event loop thread per session). Each
connection is held open by one task of the portal (the SDK's task groups must
be entered and left by the same task); calls are sent to it from the caller's
thread and waited for with a deadline, so nothing here can hang a run.

Failures to connect are ``ConnectorError`` with a ``reason`` the API's /test and
the runner's error both use: ``refused_address`` (the guarded HTTP rules),
``unreachable``, ``timeout``, ``unauthorized`` (the server's 401/403),
``not_mcp`` (something answered, but not MCP). A tool that fails or times out
is a tool result with ``is_error`` for the model, not an exception.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import hashlib
import json
import re
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import anyio
import anyio.from_thread
import httpx2
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, ListToolsResult, Tool

from agentcron.connectors.errors import ConnectorError
from agentcron.connectors.http import GuardedHttpClients, Observed, check_url
from agentcron.connectors.models import Connector, Transport
from agentcron.guarded_http import AddressPolicy, Failed, Refused, Resolver, local_policy

TOOL_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
SEPARATOR = "__"
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10.0
DEFAULT_CALL_TIMEOUT_SECONDS = 60.0
DEFAULT_MAX_RESULT_CHARS = 20_000
MAX_TOOLS_PER_CONNECTOR = 128
_LIST_PAGES = 10


@dataclass(frozen=True)
class ConnectorEndpoint:
    """One connector as the session connects to it: its secret already opened into headers."""

    name: str
    url: str
    transport: Transport = "streamable_http"
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    # The tools a task may use (their names on the server); None: all of them.
    allowed_tools: frozenset[str] | None = None


def endpoint_of(
    connector: Connector, secret: str | None, allowed_tools: Collection[str] | None = None
) -> ConnectorEndpoint:
    headers: dict[str, str] = {}
    if connector.auth_type == "bearer" and secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    elif connector.auth_type == "header" and secret is not None and connector.header_name:
        headers[connector.header_name] = secret
    allowed = None if allowed_tools is None else frozenset(allowed_tools)
    return ConnectorEndpoint(connector.name, connector.url, connector.transport, headers, allowed)


def offered_name(connector: str, tool: str) -> str:
    """``<connector>__<tool>`` within the Messages API's rule (^[a-zA-Z0-9_-]{1,64}$).

    A tool name that breaks the rule or does not fit is cleaned and cut, and
    gets a short hash of the original name, so two tools never share a name."""
    plain = f"{connector}{SEPARATOR}{tool}"
    if TOOL_NAME_RE.match(plain):
        return plain
    cleaned = re.sub(r"[^a-zA-Z0-9_-]", "_", tool)
    digest = hashlib.sha256(tool.encode()).hexdigest()[:8]
    room = 64 - len(connector) - len(SEPARATOR) - len(digest) - 1
    return f"{connector}{SEPARATOR}{cleaned[: max(room, 1)]}_{digest}"


@dataclass(frozen=True)
class ToolDefinition:
    """A connected tool as the Messages API is offered it (``name``, ``description``, ``input_schema``)."""

    name: str
    description: str
    input_schema: dict[str, Any]
    connector: str
    tool: str

    def as_messages_tool(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema}


def result_text(result: CallToolResult, max_chars: int) -> str:
    """A tool result as ``tool_result`` text: text blocks as they are, other blocks described, cut to max_chars."""
    parts: list[str] = []
    for block in result.content:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)  # type: ignore[union-attr]
        elif kind == "resource":
            resource = block.resource  # type: ignore[union-attr]
            text = getattr(resource, "text", None)
            parts.append(
                f"[resource {resource.uri}]\n{text}"
                if text is not None
                else f"[binary resource {resource.uri} omitted]"
            )
        elif kind == "resource_link":
            parts.append(f"[resource link {block.uri}]")  # type: ignore[union-attr]
        else:
            parts.append(f"[{kind or 'unknown'} content ({getattr(block, 'mime_type', None) or 'no type'}) omitted]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    text = "\n".join(parts) if parts else "(the tool returned no content)"
    if len(text) > max_chars:
        text = text[:max_chars] + f"\n[truncated: {max_chars} of {len(text)} characters shown]"
    return text


def _flatten(error: BaseException) -> list[BaseException]:
    """An exception and everything inside it (exception groups, causes)."""
    found: list[BaseException] = []
    stack = [error]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.append(current)
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        for inner in (current.__cause__, current.__context__):
            if inner is not None:
                stack.append(inner)
    return found


def classify(connector: str, error: BaseException, observed: Observed) -> ConnectorError:
    """What went wrong connecting, from the error and what the server answered over HTTP."""
    everything = _flatten(error)
    for inner in everything:
        if isinstance(inner, ConnectorError):
            return inner
        if isinstance(inner, Refused):
            return ConnectorError(connector, "refused_address", f"the URL is refused: {inner.reason}")
    if any(status in (401, 403) for status in observed.statuses):
        status = next(s for s in observed.statuses if s in (401, 403))
        return ConnectorError(connector, "unauthorized", f"the server answered {status}: check the connector's auth")
    for inner in everything:
        if isinstance(inner, TimeoutError | httpx2.TimeoutException):
            return ConnectorError(connector, "timeout", "the server did not answer in time")
        if isinstance(inner, Failed):
            return ConnectorError(connector, "unreachable", inner.reason)
        if isinstance(inner, httpx2.ConnectError | httpx2.NetworkError | ssl.SSLError | socket.gaierror):
            return ConnectorError(connector, "unreachable", f"could not connect: {inner}")
    if observed.status is not None:
        what = f"HTTP {observed.status}" + (f" ({observed.media_type})" if observed.media_type else "")
        return ConnectorError(connector, "not_mcp", f"the URL answered {what}, not the MCP protocol")
    return ConnectorError(connector, "error", f"{type(error).__name__}: {error}")


class _Connection:
    """One connector's MCP client, held open by one task of the session's portal."""

    def __init__(self, endpoint: ConnectorEndpoint, clients: GuardedHttpClients, connect_timeout: float) -> None:
        self.endpoint = endpoint
        self.clients = clients
        self.connect_timeout = connect_timeout
        self.client: Client | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._closing: anyio.Event | None = None
        self._task: concurrent.futures.Future[None] | None = None

    def _transport(self) -> Any:
        endpoint = self.endpoint
        if endpoint.transport == "sse":
            return sse_client(
                endpoint.url,
                timeout=self.clients.connect_timeout_seconds,
                sse_read_timeout=self.clients.read_timeout_seconds,
                httpx_client_factory=self.clients,
            )
        return streamable_http_client(endpoint.url, http_client=self.clients(), terminate_on_close=True)

    async def hold(self) -> None:
        self._closing = anyio.Event()
        try:
            async with Client(self._transport(), read_timeout_seconds=self.clients.read_timeout_seconds) as client:
                self.client = client
                self._ready.set()
                await self._closing.wait()
        except BaseException as error:  # handed to the caller's thread
            self._failure = error
            if not isinstance(error, Exception):
                raise
        finally:
            self.client = None
            self._ready.set()

    def open(self, portal: anyio.from_thread.BlockingPortal) -> Client:
        self._task = portal.start_task_soon(self.hold)
        if not self._ready.wait(self.connect_timeout):
            self._task.cancel()
            raise ConnectorError(self.endpoint.name, "timeout", f"no MCP handshake within {self.connect_timeout:g} s")
        if self.client is None:
            error = self._failure or RuntimeError("the connection closed during the handshake")
            raise classify(self.endpoint.name, error, self.clients.observed)
        return self.client

    def close(self, portal: anyio.from_thread.BlockingPortal, timeout: float) -> None:
        if self._task is None:
            return
        if self._closing is not None and not self._task.done():
            with contextlib.suppress(Exception):
                portal.call(self._closing.set)
        try:
            self._task.result(timeout)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            self._task.cancel()
        except Exception:  # a connection that failed has nothing left to close
            return


class ConnectorSession:
    """A run's connectors, connected: ``tools`` to offer, ``call`` to use them.

    ``with ConnectorSession([endpoint_of(connector, secret, allowed)]) as session:``
    connects to each (the guarded rules first), lists its tools, and keeps the
    allowed ones not in ``denied`` (namespaced names). Leaving the block closes
    every connection."""

    def __init__(
        self,
        endpoints: Sequence[ConnectorEndpoint],
        *,
        denied: Collection[str] = (),
        policy: AddressPolicy | None = None,
        resolver: Resolver = socket.getaddrinfo,
        ssl_context: ssl.SSLContext | None = None,
        connect_timeout_seconds: float = DEFAULT_CONNECT_TIMEOUT_SECONDS,
        call_timeout_seconds: float = DEFAULT_CALL_TIMEOUT_SECONDS,
        max_result_chars: int = DEFAULT_MAX_RESULT_CHARS,
    ) -> None:
        names = [endpoint.name for endpoint in endpoints]
        if len(set(names)) != len(names):
            raise ValueError("connector names must not repeat within a session")
        self.endpoints = list(endpoints)
        self.denied = frozenset(denied)
        # The production policy; in the local stack, with its loopback ports (the demo server).
        self.policy = policy if policy is not None else local_policy()
        self.resolver = resolver
        self.ssl_context = ssl_context
        self.connect_timeout = connect_timeout_seconds
        self.call_timeout = call_timeout_seconds
        self.max_result_chars = max_result_chars
        self.tools: list[ToolDefinition] = []
        self._by_name: dict[str, tuple[_Connection, ToolDefinition]] = {}
        self._connections: list[_Connection] = []
        self._portal_cm: contextlib.AbstractContextManager[anyio.from_thread.BlockingPortal] | None = None
        self._portal: anyio.from_thread.BlockingPortal | None = None

    # ---- lifecycle -----------------------------------------------------

    def __enter__(self) -> ConnectorSession:
        self._portal_cm = anyio.from_thread.start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        try:
            for endpoint in self.endpoints:
                self._connect(endpoint)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        portal = self._portal
        if portal is not None:
            for connection in reversed(self._connections):
                connection.close(portal, self.connect_timeout)
        self._connections.clear()
        if self._portal_cm is not None:
            self._portal_cm.__exit__(None, None, None)
        self._portal_cm = self._portal = None

    def _clients(self, endpoint: ConnectorEndpoint) -> GuardedHttpClients:
        return GuardedHttpClients(
            policy=self.policy,
            resolver=self.resolver,
            headers=endpoint.headers,
            connect_timeout_seconds=self.connect_timeout,
            read_timeout_seconds=self.call_timeout,
            observed=Observed(),
            ssl_context=self.ssl_context,
        )

    def _connect(self, endpoint: ConnectorEndpoint) -> None:
        assert self._portal is not None
        try:
            check_url(endpoint.url, self.policy, self.resolver, self.connect_timeout)
        except Refused as refused:
            raise ConnectorError(endpoint.name, "refused_address", f"the URL is refused: {refused.reason}") from None
        except Failed as failed:
            raise ConnectorError(endpoint.name, "unreachable", failed.reason) from None
        connection = _Connection(endpoint, self._clients(endpoint), self.connect_timeout)
        self._connections.append(connection)
        client = connection.open(self._portal)
        for tool in self._list_tools(connection, client):
            if endpoint.allowed_tools is not None and tool.name not in endpoint.allowed_tools:
                continue
            definition = ToolDefinition(
                name=offered_name(endpoint.name, tool.name),
                description=(tool.description or tool.title or tool.name)[:1024],
                input_schema=tool.input_schema or {"type": "object"},
                connector=endpoint.name,
                tool=tool.name,
            )
            if definition.name in self.denied or definition.name in self._by_name:
                continue
            self.tools.append(definition)
            self._by_name[definition.name] = (connection, definition)

    def _list_tools(self, connection: _Connection, client: Client) -> list[Tool]:
        tools: list[Tool] = []
        cursor: str | None = None
        for _ in range(_LIST_PAGES):
            page: ListToolsResult = self._wait(
                connection, functools.partial(client.list_tools, cursor=cursor), self.connect_timeout, "listing tools"
            )
            tools.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None or len(tools) >= MAX_TOOLS_PER_CONNECTOR:
                break
        return tools[:MAX_TOOLS_PER_CONNECTOR]

    def _wait(self, connection: _Connection, call: Callable[[], Awaitable[Any]], timeout: float, what: str) -> Any:
        assert self._portal is not None
        future = self._portal.start_task_soon(call)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise ConnectorError(
                connection.endpoint.name, "timeout", f"{what} took longer than {timeout:g} s"
            ) from None
        except MCPError as error:
            raise ConnectorError(connection.endpoint.name, "error", f"{what} failed: {error.message}") from None
        except Exception as error:
            raise classify(connection.endpoint.name, error, connection.clients.observed) from None

    # ---- use -----------------------------------------------------------

    def definitions(self) -> list[dict[str, Any]]:
        """The Messages API ``tools`` entries for every offered tool."""
        return [tool.as_messages_tool() for tool in self.tools]

    def offers(self, name: str) -> bool:
        return name in self._by_name

    def call(self, name: str, tool_input: Mapping[str, Any]) -> tuple[str, bool]:
        """Call an offered tool: (tool_result text, is_error). A server's error, a tool error or a
        timeout is an error result for the model; a connection that is gone raises ConnectorError."""
        entry = self._by_name.get(name)
        if entry is None:
            return f"no connected tool named {name}", True
        connection, definition = entry
        client = connection.client
        if client is None:
            raise ConnectorError(definition.connector, "unreachable", "the connection was lost")
        arguments = dict(tool_input)
        try:
            result: CallToolResult = self._wait(
                connection,
                lambda: client.call_tool(definition.tool, arguments, read_timeout_seconds=self.call_timeout),
                self.call_timeout + 1,
                f"calling {definition.tool}",
            )
        except ConnectorError as error:
            if error.reason in ("timeout", "error"):
                return error.detail, True
            raise
        return result_text(result, self.max_result_chars), bool(result.is_error)


def probe(endpoint: ConnectorEndpoint, **session_options: Any) -> list[ToolDefinition]:
    """Connect, list the tools, close (POST /v1/connectors/{id}/test). Raises ConnectorError."""
    with ConnectorSession([endpoint], **session_options) as session:
        return list(session.tools)
