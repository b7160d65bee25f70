"""Connections to checked addresses only, within one total deadline.

- The host is resolved ONCE per request, every returned address is checked
  (one bad address refuses the URL: a DNS answer can mix public and private),
  and the connection goes to an address that was checked. The connection
  classes here take that address; they never resolve the name again, so a
  DNS-rebinding answer between check and connect cannot redirect them.
  HTTPS still verifies the certificate against the host NAME (SNI too).
- No proxy environment variables are read (``http.client`` ignores them;
  ``urllib`` would honour ``HTTP_PROXY`` and connect somewhere unchecked).
- One total deadline for resolution, connection and body (the ``Watchdog``).
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from agentcron.guarded_http.errors import Failed
from agentcron.guarded_http.rules import IPAddress, Target

# socket.getaddrinfo's shape, called as resolver(host, port, family, type).
type Resolver = Callable[[str, int, int, int], Sequence[tuple[Any, ...]]]


def remaining(deadline: float, timeout_seconds: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise Failed(f"timed out after {timeout_seconds:g} s")
    return left


def resolve(target: Target, resolver: Resolver, deadline: float, timeout_seconds: float) -> list[IPAddress]:
    """The target's addresses; the resolver runs in a thread so a slow DNS cannot pass the deadline."""
    if target.literal is not None:
        return [target.literal]
    outcome: list[Sequence[tuple[Any, ...]]] = []
    failure: list[BaseException] = []

    def lookup() -> None:
        try:
            outcome.append(resolver(target.host, target.port, 0, socket.SOCK_STREAM))
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=lookup, name="guarded-http-resolve", daemon=True)
    thread.start()
    thread.join(remaining(deadline, timeout_seconds))
    if thread.is_alive():
        raise Failed(f"timed out after {timeout_seconds:g} s resolving {target.host}")
    if failure:
        if isinstance(failure[0], OSError):
            raise Failed(f"could not resolve {target.host}")
        raise failure[0]
    addresses: list[IPAddress] = []
    for entry in outcome[0]:
        sockaddr = entry[4]
        # getaddrinfo gives "fe80::1%eth0" for scoped addresses; the scope does not change the verdict.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Failed(f"could not resolve {target.host}")
    return addresses


class Watchdog:
    """The total deadline for blocking socket calls.

    A socket timeout bounds each recv, not their sum: a server trickling one
    byte per second keeps every recv short and a read going forever. At the
    deadline this timer shuts the watched socket down, which ends any blocked
    call at once.
    """

    def __init__(self, seconds: float) -> None:
        self.expired = threading.Event()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self.expired.is_set():
                self._shutdown()

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired.set()
            self._shutdown()

    def _shutdown(self) -> None:
        if self._sock is not None:
            # The plain socket method: on an SSLSocket it shuts the descriptor down
            # without touching the TLS state another thread is using.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)


class PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to an address already checked; the Host header still names the host."""

    def __init__(self, host: str, port: int, address: IPAddress, timeout: float, watchdog: Watchdog) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address
        self.watchdog = watchdog
        self.raw_socket: socket.socket | None = None

    def _open(self) -> socket.socket:
        # Never socket.create_connection((self.host, ...)): that would resolve the name again.
        sock = socket.create_connection((str(self.address), self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.watchdog.watch(sock)
        return sock

    def connect(self) -> None:
        self.sock = self.raw_socket = self._open()


class PinnedHTTPSConnection(PinnedHTTPConnection):
    """As above, with TLS: SNI and certificate verification use the host NAME, not the address."""

    default_port = http.client.HTTPS_PORT

    def __init__(
        self,
        host: str,
        port: int,
        address: IPAddress,
        timeout: float,
        watchdog: Watchdog,
        context: ssl.SSLContext,
    ) -> None:
        super().__init__(host, port, address, timeout, watchdog)
        self.tls_context = context

    def connect(self) -> None:
        sock = self._open()
        try:
            tls = self.tls_context.wrap_socket(sock, server_hostname=self.host, do_handshake_on_connect=False)
        except BaseException:
            sock.close()
            raise
        # Watched before the handshake, so a stalled handshake also ends at the deadline.
        self.watchdog.watch(tls)
        self.sock = self.raw_socket = tls
        tls.do_handshake()


@functools.cache
def default_tls_context() -> ssl.SSLContext:
    """Verifying context, built once: loading the CA bundle costs tens of milliseconds."""
    return ssl.create_default_context()


def timed_out(timeout_seconds: float, what: str = "") -> Failed:
    return Failed(f"timed out after {timeout_seconds:g} s{what}")


def connect(
    target: Target,
    addresses: list[IPAddress],
    deadline: float,
    timeout_seconds: float,
    context: ssl.SSLContext | None,
    watchdog: Watchdog,
) -> PinnedHTTPConnection:
    """Connect to the first checked address that answers (like create_connection, but pinned)."""
    last_error: OSError | None = None
    for address in addresses:
        left = remaining(deadline, timeout_seconds)
        connection = (
            PinnedHTTPSConnection(target.host, target.port, address, left, watchdog, context)
            if context is not None
            else PinnedHTTPConnection(target.host, target.port, address, left, watchdog)
        )
        try:
            connection.connect()
            return connection
        except ssl.SSLCertVerificationError as exc:
            connection.close()
            # Another address of the same name would present the same certificate.
            raise Failed(f"TLS certificate of {target.host} is not valid: {exc.verify_message}") from None
        except OSError as exc:
            connection.close()
            if isinstance(exc, TimeoutError) or watchdog.expired.is_set():
                raise timed_out(timeout_seconds, f" connecting to {target.host}") from None
            last_error = exc
    raise Failed(f"could not connect to {target.host}: {last_error}")
