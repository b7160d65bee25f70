"""The SSRF rules: where an outbound call to a user-chosen address may go.

The URL is someone's input (the model's, a task owner's), and the functions
live inside AWS. Every address that reaches something other than the public
internet is refused: loopback (on Lambda 127.0.0.1:9001 is the Runtime API,
which hands out invocation events), private and shared ranges (VPC
resources), link-local (169.254.169.254 and fd00:ec2::254 are the instance
metadata service; 169.254.170.2 is the container credentials endpoint), and
every other non-global range, including IPv6 forms that embed one of those
IPv4 addresses.

- Numeric hosts in the forms ``inet_aton`` accepts (``2130706433``,
  ``0x7f.1``, ``0177.0.0.1``, ``127.1``) are refused outright: layers
  disagree about them, so only canonical dotted quads are IP literals.
- Only http/https, no credentials in the URL, only allowed ports (80, 443).

``parse_target`` refuses what can be refused without resolving;
``check_addresses`` judges every address a name resolved to.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from agentcron.guarded_http.errors import Refused

type IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
type IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_PORTS: frozenset[int] = frozenset({80, 443})
MAX_URL_LENGTH = 2048  # the web_fetch tool's input schema says the same


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
    """Where outbound calls may go. The defaults are the production policy.

    ``extra_allowed`` exists ONLY so tests can serve content from one loopback
    address (e.g. 127.0.0.2) and ``allowed_ports`` so they can use a free
    port, and for the local stack's loopback allowance (``local_policy``);
    production code never passes either.
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
class Target:
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
            raise Refused("IPv6 zone identifiers are not allowed in URLs")
        try:
            return raw_host, ipaddress.IPv6Address(raw_host)
        except ValueError:
            raise Refused(f"invalid IPv6 address: {raw_host!r}") from None
    host = raw_host[:-1] if raw_host.endswith(".") else raw_host
    labels = host.split(".")
    if labels and _NUMERIC_LABEL.match(labels[-1]):
        # A name whose last label is numeric is an IPv4 address to every resolver.
        if _CANONICAL_IPV4.match(host):
            return host, ipaddress.IPv4Address(host)
        decoded = _decode_inet_aton(host)
        shown = f" (it means {decoded})" if decoded is not None else ""
        raise Refused(f"numeric host {raw_host!r} is not a canonical dotted IPv4 address{shown}")
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise Refused(f"invalid host name: {raw_host!r}") from None
    if len(ascii_host) > 253 or not all(_HOST_LABEL.match(label) for label in ascii_host.split(".")):
        raise Refused(f"invalid host name: {raw_host!r}")
    if ascii_host == "localhost" or ascii_host.endswith(".localhost"):
        raise Refused(f"{ascii_host} is a loopback name")
    return ascii_host, None


def parse_target(url: str, policy: AddressPolicy) -> Target:
    """Everything that can be refused without resolving: scheme, credentials, port, host form."""
    if len(url) > MAX_URL_LENGTH:
        raise Refused(f"URL is longer than {MAX_URL_LENGTH} characters")
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in url):
        raise Refused("URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. a bracketed host that is not an IPv6 address
        raise Refused(f"invalid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused(f"scheme {parts.scheme or '(none)'!r} is not allowed: only http and https")
    if "@" in parts.netloc:
        raise Refused("URLs with credentials (user@host) are not allowed")
    if "\\" in parts.netloc:
        raise Refused("backslashes are not allowed in the host")
    if not parts.hostname:
        raise Refused("URL has no host")
    try:
        explicit_port = parts.port
    except ValueError:
        raise Refused("URL has an invalid port") from None
    port = explicit_port if explicit_port is not None else (443 if scheme == "https" else 80)
    if port not in policy.allowed_ports:
        allowed = ", ".join(str(p) for p in sorted(policy.allowed_ports))
        raise Refused(f"port {port} is not allowed (allowed: {allowed})")
    host, literal = _host(parts.hostname)
    path = quote(parts.path or "/", safe=_TARGET_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_TARGET_SAFE)
    return Target(url=url, scheme=scheme, host=host, port=port, path=path, literal=literal)


def check_addresses(target: Target, addresses: list[IPAddress], policy: AddressPolicy) -> None:
    for address in addresses:
        reason = policy.refusal(address)
        if reason is not None:
            if target.literal is not None:
                raise Refused(f"{address} is {reason}")
            raise Refused(f"{target.host} resolves to {address}, which is {reason}")
