"""``web_fetch``: HTTP GET of a public URL, safe against SSRF.

The model chooses the URL, so it is untrusted input, and the runner lives
inside AWS. Every address that reaches something other than the public
internet is refused: loopback (on Lambda 127.0.0.1:9001 is the Runtime API,
which hands out invocation events), private and shared ranges (VPC
resources), link-local (169.254.169.254 and fd00:ec2::254 are the instance
metadata service; 169.254.170.2 is the container credentials endpoint), and
every other non-global range, including IPv6 forms that embed one of those
IPv4 addresses.

How the checks hold:

- The host is resolved ONCE per hop, every returned address is checked (one
  bad address refuses the URL: a DNS answer can mix public and private), and
  the connection goes to an address that was checked. The HTTP connection
  classes below take that address; they never resolve the name again, so a
  DNS-rebinding answer between check and connect cannot redirect them.
  HTTPS still verifies the certificate against the host NAME (SNI too).
- Numeric hosts in the forms ``inet_aton`` accepts (``2130706433``,
  ``0x7f.1``, ``0177.0.0.1``, ``127.1``) are refused outright: layers
  disagree about them, so only canonical dotted quads are IP literals.
- Each redirect target is checked exactly like the first URL.
- Only http/https, no credentials in the URL, only allowed ports (80, 443).
- No proxy environment variables are read (``http.client`` ignores them;
  ``urllib`` would honour ``HTTP_PROXY`` and connect somewhere unchecked).

Limits: one total deadline for resolution, connection, redirects and body;
the body is read up to ``max_bytes``; only text is returned.

Standard library only: this runs in the runner Lambda.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from agentcron.tools.errors import ToolError

type IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
type IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# socket.getaddrinfo's shape, called as resolver(host, port, family, type).
type Resolver = Callable[[str, int, int, int], Sequence[tuple[Any, ...]]]

DEFAULT_PORTS: frozenset[int] = frozenset({80, 443})
MAX_URL_LENGTH = 2048  # the tool's input schema says the same
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "agentcron-web-fetch/1"
_CHUNK_BYTES = 64 * 1024
_SNIFF_BYTES = 1024


class FetchRefused(ToolError):
    """The URL (or a redirect) points somewhere the tool must not go; nothing was sent there."""


class FetchFailed(ToolError):
    """The fetch was allowed but did not complete: timeout, connection error, too many redirects."""


@dataclass(frozen=True)
class FetchResult:
    url: str  # as asked
    final_url: str  # after redirects
    status: int
    content_type: str  # media type without parameters, "" when the server sent none
    text: str
    truncated: bool  # the body was longer than max_bytes
    bytes_read: int  # body bytes read (at most max_bytes; 0 when a non-text body was skipped)


def _net(text: str) -> IPNetwork:
    return ipaddress.ip_network(text)


# Refused ranges with the reason the model is told. Order matters only for the
# reason given: specific entries (metadata) come before the ranges holding them.
_REFUSED_V4: tuple[tuple[IPNetwork, str], ...] = (
    (_net("169.254.169.254/32"), "the cloud instance metadata address"),
    (_net("169.254.170.2/32"), "the container credentials endpoint"),
    (_net("0.0.0.0/8"), "a 'this network' address"),
    (_net("10.0.0.0/8"), "a private address"),
    (_net("100.64.0.0/10"), "a shared (carrier-grade NAT) address"),
    (_net("127.0.0.0/8"), "a loopback address"),
    (_net("169.254.0.0/16"), "a link-local address"),
    (_net("172.16.0.0/12"), "a private address"),
    (_net("192.0.0.0/24"), "an IETF protocol assignment address"),
    (_net("192.168.0.0/16"), "a private address"),
    (_net("198.18.0.0/15"), "a benchmarking address"),
    (_net("224.0.0.0/4"), "a multicast address"),
    (_net("255.255.255.255/32"), "the broadcast address"),
    (_net("240.0.0.0/4"), "a reserved address"),
)
_REFUSED_V6: tuple[tuple[IPNetwork, str], ...] = (
    (_net("fd00:ec2::254/128"), "the cloud instance metadata address"),
    (_net("fd00:ec2::/32"), "a cloud provider service address"),
    (_net("::/128"), "the unspecified address"),
    (_net("::1/128"), "a loopback address"),
    (_net("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (_net("100::/64"), "a discard-only address"),
    (_net("2001::/32"), "a Teredo address"),
    (_net("2001:db8::/32"), "a documentation address"),
    (_net("2002::/16"), "a 6to4 address"),
    (_net("fc00::/7"), "a unique local (private) address"),
    (_net("fe80::/10"), "a link-local address"),
    (_net("fec0::/10"), "a site-local address"),
    (_net("ff00::/8"), "a multicast address"),
)
# Never allowed, not even by AddressPolicy.extra_allowed: a test loosening the
# policy must not be able to open the metadata service or its neighbours.
_NEVER_ALLOWED: tuple[IPNetwork, ...] = (
    _net("169.254.0.0/16"),
    _net("fe80::/10"),
    _net("fd00:ec2::/32"),
)
_NAT64 = _net("64:ff9b::/96")


@dataclass(frozen=True)
class AddressPolicy:
    """Where fetches may go. The defaults are the production policy.

    ``extra_allowed`` exists ONLY so tests can serve content from one loopback
    address (e.g. 127.0.0.2) and ``allowed_ports`` so they can use a free
    port; production code never passes either.
    """

    extra_allowed: frozenset[IPNetwork] = frozenset()
    allowed_ports: frozenset[int] = field(default=DEFAULT_PORTS)

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` is refused (a phrase: "a loopback address"), or None when allowed."""
        if any(address in network for network in _NEVER_ALLOWED if network.version == address.version):
            return _classify(address) or "a link-local address"
        if any(address in network for network in self.extra_allowed if network.version == address.version):
            return None
        return _classify(address)


DEFAULT_POLICY = AddressPolicy()


def _classify(address: IPAddress) -> str | None:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in _NAT64 else None
        )
        if embedded is not None:
            # The connection would reach the embedded IPv4 address: judge that one.
            reason = _classify(embedded)
            return f"{reason} ({embedded}) in IPv6 form" if reason else None
        table = _REFUSED_V6
    else:
        table = _REFUSED_V4
    for network, reason in table:
        if address in network:
            return reason
    # Belt and braces: whatever the tables miss, the stdlib's registry of
    # special-purpose ranges (documentation, reserved, ...) still refuses.
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved or address.is_unspecified:
        return "a reserved address"
    if address.is_loopback or address.is_link_local or address.is_private or not address.is_global:
        return "not a public internet address"
    return None


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str  # ASCII (IDNA) host name, or the IP literal without brackets
    port: int
    path: str  # request target: path and query, percent-encoded
    literal: IPAddress | None


# Labels of numeric host forms (decimal, 0-prefixed octal, 0x hex), as inet_aton reads them.
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_CANONICAL_IPV4 = re.compile(
    r"^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$"
)
# Characters left as they are in the request target; everything else (non-ASCII) is percent-encoded.
_TARGET_SAFE = "/?&=%:@!$'()*+,;-._~[]"


def _decode_inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """What ``inet_aton`` (and so ``getaddrinfo``) would make of a numeric host, if anything."""
    labels = host.split(".")
    values: list[int] = []
    for label in labels:
        lowered = label.lower()
        try:
            if lowered.startswith("0x"):
                values.append(int(lowered[2:] or "0", 16))
            elif len(lowered) > 1 and lowered.startswith("0"):
                values.append(int(lowered, 8))
            else:
                values.append(int(lowered, 10))
        except ValueError:
            return None
    if not 1 <= len(values) <= 4 or any(value > 255 for value in values[:-1]):
        return None
    last_bits = 8 * (5 - len(values))
    if values[-1] >= 1 << last_bits:
        return None
    number = 0
    for value in values[:-1]:
        number = number << 8 | value
    return ipaddress.IPv4Address(number << last_bits | values[-1])


def _host(raw_host: str) -> tuple[str, IPAddress | None]:
    """The host to connect to: an IP literal, or a checked ASCII host name."""
    if ":" in raw_host:  # urlsplit strips the brackets of an IPv6 literal
        if "%" in raw_host:
            raise FetchRefused("IPv6 zone identifiers are not allowed in URLs")
        try:
            return raw_host, ipaddress.IPv6Address(raw_host)
        except ValueError:
            raise FetchRefused(f"invalid IPv6 address: {raw_host!r}") from None
    host = raw_host[:-1] if raw_host.endswith(".") else raw_host
    labels = host.split(".")
    if labels and _NUMERIC_LABEL.match(labels[-1]):
        # A name whose last label is numeric is an IPv4 address to every resolver.
        if _CANONICAL_IPV4.match(host):
            return host, ipaddress.IPv4Address(host)
        decoded = _decode_inet_aton(host)
        shown = f" (it means {decoded})" if decoded is not None else ""
        raise FetchRefused(f"numeric host {raw_host!r} is not a canonical dotted IPv4 address{shown}")
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise FetchRefused(f"invalid host name: {raw_host!r}") from None
    if len(ascii_host) > 253 or not all(_HOST_LABEL.match(label) for label in ascii_host.split(".")):
        raise FetchRefused(f"invalid host name: {raw_host!r}")
    if ascii_host == "localhost" or ascii_host.endswith(".localhost"):
        raise FetchRefused(f"{ascii_host} is a loopback name")
    return ascii_host, None


def parse_target(url: str, policy: AddressPolicy) -> _Target:
    """Everything that can be refused without resolving: scheme, credentials, port, host form."""
    if len(url) > MAX_URL_LENGTH:
        raise FetchRefused(f"URL is longer than {MAX_URL_LENGTH} characters")
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in url):
        raise FetchRefused("URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. a bracketed host that is not an IPv6 address
        raise FetchRefused(f"invalid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchRefused(f"scheme {parts.scheme or '(none)'!r} is not allowed: only http and https")
    if "@" in parts.netloc:
        raise FetchRefused("URLs with credentials (user@host) are not allowed")
    if "\\" in parts.netloc:
        raise FetchRefused("backslashes are not allowed in the host")
    if not parts.hostname:
        raise FetchRefused("URL has no host")
    try:
        explicit_port = parts.port
    except ValueError:
        raise FetchRefused("URL has an invalid port") from None
    port = explicit_port if explicit_port is not None else (443 if scheme == "https" else 80)
    if port not in policy.allowed_ports:
        allowed = ", ".join(str(p) for p in sorted(policy.allowed_ports))
        raise FetchRefused(f"port {port} is not allowed (allowed: {allowed})")
    host, literal = _host(parts.hostname)
    path = quote(parts.path or "/", safe=_TARGET_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_TARGET_SAFE)
    return _Target(url=url, scheme=scheme, host=host, port=port, path=path, literal=literal)


def _remaining(deadline: float, timeout_seconds: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchFailed(f"timed out after {timeout_seconds:g} s")
    return left


def _resolve(target: _Target, resolver: Resolver, deadline: float, timeout_seconds: float) -> list[IPAddress]:
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

    thread = threading.Thread(target=lookup, name="web-fetch-resolve", daemon=True)
    thread.start()
    thread.join(_remaining(deadline, timeout_seconds))
    if thread.is_alive():
        raise FetchFailed(f"timed out after {timeout_seconds:g} s resolving {target.host}")
    if failure:
        if isinstance(failure[0], OSError):
            raise FetchFailed(f"could not resolve {target.host}")
        raise failure[0]
    addresses: list[IPAddress] = []
    for entry in outcome[0]:
        sockaddr = entry[4]
        # getaddrinfo gives "fe80::1%eth0" for scoped addresses; the scope does not change the verdict.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchFailed(f"could not resolve {target.host}")
    return addresses


def _check_addresses(target: _Target, addresses: list[IPAddress], policy: AddressPolicy) -> None:
    for address in addresses:
        reason = policy.refusal(address)
        if reason is not None:
            if target.literal is not None:
                raise FetchRefused(f"{address} is {reason}")
            raise FetchRefused(f"{target.host} resolves to {address}, which is {reason}")


class _Watchdog:
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


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to an address already checked; the Host header still names the host."""

    def __init__(self, host: str, port: int, address: IPAddress, timeout: float, watchdog: _Watchdog) -> None:
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


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """As above, with TLS: SNI and certificate verification use the host NAME, not the address."""

    default_port = http.client.HTTPS_PORT

    def __init__(
        self,
        host: str,
        port: int,
        address: IPAddress,
        timeout: float,
        watchdog: _Watchdog,
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


@dataclass(frozen=True)
class _Redirect:
    location: str


@functools.cache
def _default_tls_context() -> ssl.SSLContext:
    """Verifying context, built once: loading the CA bundle costs tens of milliseconds."""
    return ssl.create_default_context()


def _timed_out(timeout_seconds: float, what: str = "") -> FetchFailed:
    return FetchFailed(f"timed out after {timeout_seconds:g} s{what}")


def _connect(
    target: _Target,
    addresses: list[IPAddress],
    deadline: float,
    timeout_seconds: float,
    context: ssl.SSLContext | None,
    watchdog: _Watchdog,
) -> _PinnedHTTPConnection:
    """Connect to the first checked address that answers (like create_connection, but pinned)."""
    last_error: OSError | None = None
    for address in addresses:
        left = _remaining(deadline, timeout_seconds)
        connection = (
            _PinnedHTTPSConnection(target.host, target.port, address, left, watchdog, context)
            if context is not None
            else _PinnedHTTPConnection(target.host, target.port, address, left, watchdog)
        )
        try:
            connection.connect()
            return connection
        except ssl.SSLCertVerificationError as exc:
            connection.close()
            # Another address of the same name would present the same certificate.
            raise FetchFailed(f"TLS certificate of {target.host} is not valid: {exc.verify_message}") from None
        except OSError as exc:
            connection.close()
            if isinstance(exc, TimeoutError) or watchdog.expired.is_set():
                raise _timed_out(timeout_seconds, f" connecting to {target.host}") from None
            last_error = exc
    raise FetchFailed(f"could not connect to {target.host}: {last_error}")


def _is_text(media_type: str) -> bool:
    main, _, sub = media_type.partition("/")
    return (
        main == "text"
        or sub in ("json", "xml", "javascript", "ecmascript", "x-javascript", "x-www-form-urlencoded")
        or sub.endswith(("+json", "+xml"))
    )


def _decode(data: bytes, charset: str | None, truncated: bool) -> str:
    try:
        decoder = codecs.getincrementaldecoder(charset or "utf-8")(errors="replace")
    except LookupError:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    # When truncated, a multi-byte character cut in half at the end is dropped, not turned into U+FFFD.
    return decoder.decode(data, final=not truncated)


def _read_body(
    response: http.client.HTTPResponse,
    sock: socket.socket,
    max_bytes: int,
    deadline: float,
    timeout_seconds: float,
    watchdog: _Watchdog,
) -> tuple[bytes, bool]:
    """Up to max_bytes of the body, and whether there was more (reads at most one byte past the limit)."""
    chunks: list[bytes] = []
    size = 0
    # isclosed(): http.client closes the socket itself once a sized body is fully read.
    while size <= max_bytes and not response.isclosed():
        sock.settimeout(_remaining(deadline, timeout_seconds))
        # read1: one recv per call, so the time left is re-checked between recvs.
        chunk = response.read1(min(_CHUNK_BYTES, max_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if watchdog.expired.is_set():
        # The watchdog's shutdown reads as a clean end of the body: it is a timeout, not a short page.
        raise _timed_out(timeout_seconds)
    data = b"".join(chunks)
    return data[:max_bytes], len(data) > max_bytes


def _note(media_type: str, response: http.client.HTTPResponse, why: str) -> str:
    length = response.getheader("content-length")
    size = f", {length} bytes" if length and length.isdigit() else ""
    return f"[{media_type or 'unknown'} content{size}: not shown, {why}]"


def fetch(
    url: str,
    *,
    max_bytes: int = 200_000,
    timeout_seconds: float = 10,
    max_redirects: int = 3,
    resolver: Resolver = socket.getaddrinfo,
    policy: AddressPolicy = DEFAULT_POLICY,
    ssl_context: ssl.SSLContext | None = None,
) -> FetchResult:
    """GET ``url`` and return its text, refusing anything that is not the public internet.

    Raises FetchRefused (nothing was sent to the refused place) or FetchFailed.
    ``timeout_seconds`` bounds the whole call: resolution, connections, redirects, body.
    ``ssl_context`` replaces the default verifying context (tests trust their own CA with it).
    """
    if max_bytes < 0 or timeout_seconds <= 0 or max_redirects < 0:
        raise ValueError("max_bytes and max_redirects must be >= 0, timeout_seconds > 0")
    deadline = time.monotonic() + timeout_seconds
    watchdog = _Watchdog(timeout_seconds)
    try:
        current = url
        for hop in range(max_redirects + 1):
            target = parse_target(current, policy)
            addresses = _resolve(target, resolver, deadline, timeout_seconds)
            _check_addresses(target, addresses, policy)
            context = (ssl_context or _default_tls_context()) if target.scheme == "https" else None
            connection = _connect(target, addresses, deadline, timeout_seconds, context, watchdog)
            try:
                outcome = _exchange(connection, target, url, max_bytes, deadline, timeout_seconds, watchdog)
            except (OSError, http.client.HTTPException) as exc:
                if isinstance(exc, TimeoutError) or watchdog.expired.is_set():
                    raise _timed_out(timeout_seconds) from None
                raise FetchFailed(f"fetching {target.host} failed: {exc.__class__.__name__}: {exc}") from None
            finally:
                connection.close()
            if isinstance(outcome, FetchResult):
                return outcome
            if hop == max_redirects:
                break
            current = urljoin(current, outcome.location)
        raise FetchFailed(f"too many redirects (more than {max_redirects})")
    finally:
        watchdog.cancel()


def _exchange(
    connection: _PinnedHTTPConnection,
    target: _Target,
    original_url: str,
    max_bytes: int,
    deadline: float,
    timeout_seconds: float,
    watchdog: _Watchdog,
) -> FetchResult | _Redirect:
    """Send the GET and read the answer, or where it redirects to."""
    sock = connection.raw_socket
    assert sock is not None  # connected by _connect
    sock.settimeout(_remaining(deadline, timeout_seconds))
    connection.request(
        "GET",
        target.path,
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "text/*, application/json;q=0.9, */*;q=0.1",
            # Compressed bodies could expand far past max_bytes; ask for them plain.
            "Accept-Encoding": "identity",
            "Connection": "close",
        },
    )
    response = connection.getresponse()
    location = response.getheader("location")
    if response.status in REDIRECT_STATUSES and location:
        return _Redirect(location.strip())

    def result(media_type: str, text: str, truncated: bool = False, bytes_read: int = 0) -> FetchResult:
        return FetchResult(
            url=original_url,
            final_url=target.url,
            status=response.status,
            content_type=media_type,
            text=text,
            truncated=truncated,
            bytes_read=bytes_read,
        )

    media_type = response.headers.get_content_type() if response.getheader("content-type") else ""
    encoding = (response.getheader("content-encoding") or "identity").strip().lower()
    if encoding != "identity":
        return result(media_type, _note(media_type, response, f"it is {encoding}-compressed"))
    if media_type and not _is_text(media_type):
        return result(media_type, _note(media_type, response, "web_fetch returns text only"))
    data, truncated = _read_body(response, sock, max_bytes, deadline, timeout_seconds, watchdog)
    if not media_type and b"\x00" in data[:_SNIFF_BYTES]:
        # No Content-Type and NUL bytes: binary, whatever the server forgot to say.
        note = f"[binary content without a content type: not shown, {len(data)} bytes read]"
        return result("", note, truncated, len(data))
    text = _decode(data, response.headers.get_content_charset(), truncated)
    return result(media_type, text, truncated, len(data))
