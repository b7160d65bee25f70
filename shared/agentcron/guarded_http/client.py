"""``GuardedClient``: one HTTP request to a user-chosen URL, through the SSRF
rules (``rules``) to a checked, pinned address (``transport``), within a
deadline that can span several requests (a fetch and its redirects)."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from agentcron.guarded_http.errors import Failed
from agentcron.guarded_http.rules import DEFAULT_POLICY, AddressPolicy, Target, check_addresses, parse_target
from agentcron.guarded_http.transport import (
    Resolver,
    Watchdog,
    connect,
    default_tls_context,
    remaining,
    resolve,
    timed_out,
)

_CHUNK_BYTES = 64 * 1024
_VERBS = {"GET": "fetching", "POST": "posting to"}


class Deadline:
    """One total deadline for blocking calls: resolution, connections, bodies, redirects."""

    def __init__(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("a deadline must be > 0 seconds away")
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.watchdog = Watchdog(seconds)

    def remaining(self) -> float:
        """Seconds left; raises Failed ("timed out after …") when none are."""
        return remaining(self.at, self.seconds)

    def timed_out(self, what: str = "") -> Failed:
        return timed_out(self.seconds, what)

    def cancel(self) -> None:
        self.watchdog.cancel()


@dataclass
class Exchange:
    """A sent request and its response's head; the body is read with ``read``."""

    target: Target
    response: http.client.HTTPResponse
    sock: socket.socket
    deadline: Deadline

    @property
    def status(self) -> int:
        return self.response.status

    def read(self, max_bytes: int) -> tuple[bytes, bool]:
        """Up to max_bytes of the body, and whether there was more (reads at most one byte past the limit)."""
        chunks: list[bytes] = []
        size = 0
        # isclosed(): http.client closes the socket itself once a sized body is fully read.
        while size <= max_bytes and not self.response.isclosed():
            self.sock.settimeout(self.deadline.remaining())
            # read1: one recv per call, so the time left is re-checked between recvs.
            chunk = self.response.read1(min(_CHUNK_BYTES, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if self.deadline.watchdog.expired.is_set():
            # The watchdog's shutdown reads as a clean end of the body: it is a timeout, not a short body.
            raise self.deadline.timed_out()
        data = b"".join(chunks)
        return data[:max_bytes], len(data) > max_bytes


@dataclass(frozen=True)
class GuardedClient:
    """The one way to call a user-chosen address (web_fetch, webhooks, connectors).

    ``policy`` is where calls may go (``DEFAULT_POLICY`` in production;
    ``local_policy()`` adds the local stack's loopback allowance, set only by
    the local stack); ``resolver`` and ``ssl_context`` are for tests, which
    serve from their own names and CA.
    """

    policy: AddressPolicy = DEFAULT_POLICY
    resolver: Resolver = socket.getaddrinfo
    ssl_context: ssl.SSLContext | None = None

    @contextmanager
    def deadline(self, seconds: float) -> Iterator[Deadline]:
        deadline = Deadline(seconds)
        try:
            yield deadline
        finally:
            deadline.cancel()

    @contextmanager
    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        deadline: Deadline,
        body: bytes | None = None,
    ) -> Iterator[Exchange]:
        """Send one request (redirects are the caller's to follow, or not) and yield its exchange.

        Raises Refused before anything is sent to a refused place, Failed when
        the call does not complete; errors reading the body inside the block
        become Failed too. The connection closes when the block ends.
        """
        target = parse_target(url, self.policy)
        addresses = resolve(target, self.resolver, deadline.at, deadline.seconds)
        check_addresses(target, addresses, self.policy)
        context = (self.ssl_context or default_tls_context()) if target.scheme == "https" else None
        connection = connect(target, addresses, deadline.at, deadline.seconds, context, deadline.watchdog)
        try:
            sock = connection.raw_socket
            assert sock is not None  # connected by connect()
            sock.settimeout(deadline.remaining())
            connection.request(method, target.path, body=body, headers={**headers, "Connection": "close"})
            yield Exchange(target, connection.getresponse(), sock, deadline)
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, TimeoutError) or deadline.watchdog.expired.is_set():
                raise deadline.timed_out() from None
            verb = _VERBS.get(method, f"{method} to")
            raise Failed(f"{verb} {target.host} failed: {exc.__class__.__name__}: {exc}") from None
        finally:
            connection.close()
