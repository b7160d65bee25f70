"""The MCP SDK's HTTP client, held to the guarded HTTP rules (``agentcron.guarded_http``).

The SDK talks through an ``httpx2.AsyncClient`` that it lets its caller
supply (``streamable_http_client(http_client=…)``, ``sse_client(httpx_client_factory=…)``).
The one made here:

- connects only to checked addresses: its network backend resolves the host
  once per connection, refuses it when ANY address is refused (the same
  ``AddressPolicy`` as web_fetch and webhooks: public addresses and ports
  80/443 only; locally, the stack's loopback ports), and connects to an
  address it checked, never resolving the name again (no DNS rebinding
  between check and connect). TLS still verifies the certificate against the
  host NAME: httpcore's SNI comes from the request's origin, not the address.
- reads no proxy variables (``trust_env=False``) and follows no redirects
  (the SDK itself follows only same-origin ones, to the same checked host);
- records the last response's status and media type (``Observed``), so a
  failed handshake can say what the server answered (401, an HTML page).

``check_url`` does the same checks before anything is sent, so a refused URL
fails with the rule's own words instead of an error from inside the SDK.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import httpcore2
import httpx2

from agentcron.guarded_http import AddressPolicy, IPAddress, Refused, Resolver, parse_target
from agentcron.guarded_http.rules import check_addresses
from agentcron.guarded_http.transport import default_tls_context, resolve


def checked_addresses(url: str, policy: AddressPolicy, resolver: Resolver, timeout_seconds: float) -> list[IPAddress]:
    """The addresses ``url``'s host may be reached at; Refused (nothing sent) or Failed (no answer from DNS)."""
    target = parse_target(url, policy)
    addresses = resolve(target, resolver, time.monotonic() + timeout_seconds, timeout_seconds)
    check_addresses(target, addresses, policy)
    return addresses


def check_url(url: str, policy: AddressPolicy, resolver: Resolver, timeout_seconds: float) -> None:
    checked_addresses(url, policy, resolver, timeout_seconds)


def _url_of(host: str, port: int) -> str:
    return f"https://[{host}]:{port}/" if ":" in host else f"https://{host}:{port}/"


class GuardedNetworkBackend(httpcore2.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the policy allows."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver, resolve_timeout_seconds: float) -> None:
        self._inner = httpcore2.AnyIOBackend()
        self._policy = policy
        self._resolver = resolver
        self._resolve_timeout = resolve_timeout_seconds

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        addresses = await anyio.to_thread.run_sync(
            checked_addresses, _url_of(host, port), self._policy, self._resolver, self._resolve_timeout
        )
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as error:
                last_error = error
        assert last_error is not None  # checked_addresses never answers an empty list
        raise last_error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.AsyncNetworkStream:
        raise Refused("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PinnedTransport(httpx2.AsyncHTTPTransport):
    """httpx2's own transport (request and response mapping), over a pool on the guarded backend."""

    def __init__(self, backend: GuardedNetworkBackend, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore2.AsyncConnectionPool(ssl_context=ssl_context, network_backend=backend, max_connections=4)


@dataclass
class Observed:
    """What the server last answered over HTTP (for precise errors after a failed handshake)."""

    status: int | None = None
    media_type: str | None = None
    statuses: list[int] = field(default_factory=list)

    async def record(self, response: httpx2.Response) -> None:
        self.status = response.status_code
        self.media_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower() or None
        self.statuses.append(response.status_code)


@dataclass(frozen=True)
class GuardedHttpClients:
    """Makes the SDK's httpx2 clients for one connector (its headers, the policy, the timeouts)."""

    policy: AddressPolicy
    resolver: Resolver
    headers: Mapping[str, str]
    connect_timeout_seconds: float
    read_timeout_seconds: float
    observed: Observed
    ssl_context: ssl.SSLContext | None = None

    def __call__(
        self,
        headers: dict[str, str] | None = None,
        timeout: httpx2.Timeout | None = None,
        auth: httpx2.Auth | None = None,
    ) -> httpx2.AsyncClient:
        """An ``McpHttpClientFactory`` (the SSE transport's parameter); its own headers and timeouts win."""
        backend = GuardedNetworkBackend(self.policy, self.resolver, self.connect_timeout_seconds)
        transport = _PinnedTransport(backend, self.ssl_context or default_tls_context())
        return httpx2.AsyncClient(
            transport=transport,
            headers={**(headers or {}), **self.headers},
            timeout=httpx2.Timeout(self.read_timeout_seconds, connect=self.connect_timeout_seconds),
            auth=auth,
            trust_env=False,
            follow_redirects=False,
            event_hooks={"response": [self.observed.record]},
        )
