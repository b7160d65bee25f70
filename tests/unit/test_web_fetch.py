"""web_fetch's refusals, without a network: fake resolvers, and no socket may be opened."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from agentcron.guarded_http import DEFAULT_POLICY, AddressPolicy, parse_target
from agentcron.tools.errors import ToolError
from agentcron.tools.web_fetch import FetchFailed, FetchRefused, fetch


@pytest.fixture(autouse=True)
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every refusal must happen before a connection: opening one fails the test."""

    def forbidden(*args: Any, **kwargs: Any) -> socket.socket:
        raise AssertionError(f"web_fetch tried to connect to {args[0]!r}")

    monkeypatch.setattr(socket, "create_connection", forbidden)


class FakeResolver:
    """getaddrinfo's shape, answering from a table and recording what it was asked."""

    def __init__(self, table: dict[str, Sequence[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    def __call__(self, host: str, port: int, family: int = 0, type: int = 0) -> list[tuple[Any, ...]]:
        self.calls.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answers: list[tuple[Any, ...]] = []
        for address in self.table[host]:
            if ":" in address:
                answers.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                answers.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return answers


def refused(url: str, resolver: Callable[..., Any] | None = None, **kwargs: Any) -> str:
    with pytest.raises(FetchRefused) as caught:
        fetch(url, resolver=resolver or FakeResolver({}), **kwargs)
    assert isinstance(caught.value, ToolError)
    assert str(caught.value) == caught.value.reason
    return caught.value.reason


# --------------------------------------------------------------------------- addresses


REFUSED_V4 = [
    ("127.0.0.1", "a loopback address"),
    ("127.255.255.254", "a loopback address"),
    ("10.0.0.1", "a private address"),
    ("10.255.255.255", "a private address"),
    ("172.16.0.1", "a private address"),
    ("172.31.255.255", "a private address"),
    ("192.168.1.1", "a private address"),
    ("169.254.169.254", "the cloud instance metadata address"),
    ("169.254.170.2", "the container credentials endpoint"),
    ("169.254.1.1", "a link-local address"),
    ("100.64.0.1", "a shared (carrier-grade NAT) address"),
    ("100.100.100.200", "a shared (carrier-grade NAT) address"),  # Alibaba Cloud's metadata
    ("100.127.255.255", "a shared (carrier-grade NAT) address"),
    ("0.0.0.0", "a 'this network' address"),  # noqa: S104 (an address refused, not bound)
    ("0.1.2.3", "a 'this network' address"),
    ("224.0.0.1", "a multicast address"),
    ("239.255.255.250", "a multicast address"),
    ("255.255.255.255", "the broadcast address"),
    ("240.0.0.1", "a reserved address"),
    ("192.0.0.170", "an IETF protocol assignment address"),
    ("198.18.0.1", "a benchmarking address"),
    ("192.0.2.1", "not a public internet address"),  # documentation (TEST-NET-1)
    ("198.51.100.7", "not a public internet address"),
    ("203.0.113.9", "not a public internet address"),
]

REFUSED_V6 = [
    ("::1", "a loopback address"),
    ("::", "the unspecified address"),
    ("fc00::1", "a unique local (private) address"),
    ("fd12:3456:789a::1", "a unique local (private) address"),
    ("fd00:ec2::254", "the cloud instance metadata address"),
    ("fd00:ec2::253", "a cloud provider service address"),
    ("fe80::1", "a link-local address"),
    ("fec0::1", "a site-local address"),
    ("ff02::1", "a multicast address"),
    ("::ffff:127.0.0.1", "a loopback address (127.0.0.1) in IPv6 form"),
    ("::ffff:10.1.2.3", "a private address (10.1.2.3) in IPv6 form"),
    ("::ffff:169.254.169.254", "the cloud instance metadata address (169.254.169.254) in IPv6 form"),
    ("64:ff9b::7f00:1", "a loopback address (127.0.0.1) in IPv6 form"),
    ("64:ff9b::a9fe:a9fe", "the cloud instance metadata address (169.254.169.254) in IPv6 form"),
    ("64:ff9b::c0a8:101", "a private address (192.168.1.1) in IPv6 form"),
    ("64:ff9b:1::1", "a local-use NAT64 address"),
    ("2001:db8::1", "a documentation address"),
    ("2002:7f00:1::1", "a 6to4 address"),
    ("2001:0:4136:e378::1", "a Teredo address"),
    ("::7f00:1", "a reserved address"),  # IPv4-compatible ::127.0.0.1
    ("100::1", "a discard-only address"),
]


@pytest.mark.parametrize(("address", "reason"), REFUSED_V4 + REFUSED_V6)
def test_a_host_resolving_to_a_refused_address_is_refused(address: str, reason: str) -> None:
    resolver = FakeResolver({"evil.example": [address]})

    message = refused("http://evil.example/path", resolver)

    shown = str(ipaddress.ip_address(address))
    assert message == f"evil.example resolves to {shown}, which is {reason}"
    assert resolver.calls == ["evil.example"]


@pytest.mark.parametrize(("address", "reason"), REFUSED_V4 + REFUSED_V6)
def test_the_same_address_as_a_literal_is_refused(address: str, reason: str) -> None:
    host = f"[{address}]" if ":" in address else address
    resolver = FakeResolver({})

    message = refused(f"http://{host}/", resolver)

    assert message == f"{ipaddress.ip_address(address)} is {reason}"
    assert resolver.calls == []  # literals are never handed to the resolver


def test_one_bad_address_among_good_ones_refuses_the_host() -> None:
    resolver = FakeResolver({"mixed.example": ["93.184.216.34", "2606:4700::1", "10.0.0.5"]})

    assert refused("https://mixed.example/", resolver) == (
        "mixed.example resolves to 10.0.0.5, which is a private address"
    )


def test_a_scoped_link_local_answer_is_refused() -> None:
    resolver = FakeResolver({"scoped.example": ["fe80::1%eth0"]})

    assert refused("http://scoped.example/", resolver) == (
        "scoped.example resolves to fe80::1, which is a link-local address"
    )


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert DEFAULT_POLICY.refusal(ipaddress.ip_address(address)) is None


def test_extra_allowed_opens_one_address_only() -> None:
    policy = AddressPolicy(extra_allowed=frozenset({ipaddress.ip_network("127.0.0.2/32")}))

    assert policy.refusal(ipaddress.ip_address("127.0.0.2")) is None
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) == "a loopback address"
    assert policy.refusal(ipaddress.ip_address("::ffff:127.0.0.2")) == ("a loopback address (127.0.0.2) in IPv6 form")
    assert DEFAULT_POLICY.refusal(ipaddress.ip_address("127.0.0.2")) == "a loopback address"


def test_extra_allowed_cannot_open_the_metadata_service() -> None:
    policy = AddressPolicy(
        extra_allowed=frozenset({ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fd00::/8")})
    )

    assert policy.refusal(ipaddress.ip_address("169.254.169.254")) == "the cloud instance metadata address"
    assert policy.refusal(ipaddress.ip_address("fd00:ec2::254")) == "the cloud instance metadata address"
    assert policy.refusal(ipaddress.ip_address("169.254.10.10")) == "a link-local address"
    assert policy.refusal(ipaddress.ip_address("fd00:1::1")) is None  # the rest of fd00::/8 was opened


# --------------------------------------------------------------------------- host forms


@pytest.mark.parametrize(
    ("host", "means"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7F.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0177.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("127.000.000.001", "127.0.0.1"),
        ("0", "0.0.0.0"),  # noqa: S104 (an address refused, not bound)
        ("2852039166", "169.254.169.254"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("134744072", "8.8.8.8"),  # refused too: only canonical dotted quads are literals
    ],
)
def test_non_canonical_numeric_hosts_are_refused(host: str, means: str) -> None:
    resolver = FakeResolver({})

    message = refused(f"http://{host}/", resolver)

    assert message == f"numeric host {host.lower()!r} is not a canonical dotted IPv4 address (it means {means})"
    assert resolver.calls == []


@pytest.mark.parametrize("host", ["1.2.3.4.5", "256.1.1.1.1", "example.123", "0x1g.1"])
def test_other_numeric_looking_hosts_are_refused(host: str) -> None:
    message = refused(f"http://{host}/")

    assert message.startswith(f"numeric host {host!r} is not a canonical dotted IPv4 address")


def test_a_trailing_dot_does_not_hide_a_literal() -> None:
    assert refused("http://127.0.0.1./") == "127.0.0.1 is a loopback address"


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "app.localhost", "localhost."])
def test_localhost_names_are_refused_without_resolving(host: str) -> None:
    resolver = FakeResolver({"localhost": ["127.0.0.1"]})

    assert refused(f"http://{host}/", resolver).endswith("is a loopback name")
    assert resolver.calls == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://-bad-.example/", "invalid host name: '-bad-.example'"),
        ("http://a..b/", "invalid host name: 'a..b'"),
        ("http://exa$mple.com/", "invalid host name: 'exa$mple.com'"),
        ("http:///path-only", "URL has no host"),
        ("http://[zz]/", "invalid URL: 'zz' does not appear to be an IPv4 or IPv6 address"),
        ("http://[fe80::1%25eth0]/", "IPv6 zone identifiers are not allowed in URLs"),
        ("http://exa mple.com/", "URL contains whitespace or control characters"),
        ("http://example.com/\r\nHost: 127.0.0.1", "URL contains whitespace or control characters"),
        ("http://example.com/" + "a" * 2048, "URL is longer than 2048 characters"),
    ],
)
def test_malformed_urls_are_refused(url: str, reason: str) -> None:
    assert refused(url) == reason


# --------------------------------------------------------------------------- schemes, userinfo, ports


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("ftp://example.com/file", "ftp"),
        ("file:///etc/passwd", "file"),
        ("gopher://example.com:70/", "gopher"),
        ("javascript:alert(1)", "javascript"),
        ("data:text/plain,hello", "data"),
        ("dict://127.0.0.1:11211/stat", "dict"),
        ("example.com/no-scheme", "(none)"),
    ],
)
def test_only_http_and_https_are_allowed(url: str, scheme: str) -> None:
    assert refused(url) == f"scheme {scheme!r} is not allowed: only http and https"


@pytest.mark.parametrize(
    "url",
    [
        "http://user@example.com/",
        "http://user:secret@example.com/",
        "https://:@example.com/",
        "http://example.com@127.0.0.1/",
        "http://evil.example\\@127.0.0.1/",
    ],
)
def test_credentials_in_the_url_are_refused(url: str) -> None:
    assert refused(url) == "URLs with credentials (user@host) are not allowed"


@pytest.mark.parametrize(("url", "port"), [("http://example.com:8080/", 8080), ("https://example.com:22/", 22)])
def test_ports_other_than_80_and_443_are_refused(url: str, port: int) -> None:
    assert refused(url) == f"port {port} is not allowed (allowed: 80, 443)"


def test_invalid_ports_are_refused() -> None:
    assert refused("http://example.com:99999/") == "URL has an invalid port"
    assert refused("http://example.com:0/") == "port 0 is not allowed (allowed: 80, 443)"


def test_the_default_ports_follow_the_scheme() -> None:
    assert parse_target("http://example.com/a", DEFAULT_POLICY).port == 80
    assert parse_target("HTTPS://Example.COM/a", DEFAULT_POLICY).port == 443
    assert parse_target("http://example.com:443/", DEFAULT_POLICY).port == 443


def test_allowed_ports_are_configurable() -> None:
    policy = AddressPolicy(allowed_ports=frozenset({8443}))

    assert parse_target("https://example.com:8443/", policy).port == 8443
    assert refused("https://example.com/", policy=policy) == "port 443 is not allowed (allowed: 8443)"


def test_host_and_path_are_normalised_for_the_request() -> None:
    target = parse_target("https://Bücher.example/ä b?q=ü#frag".replace(" ", "%20"), DEFAULT_POLICY)

    assert target.host == "xn--bcher-kva.example"
    assert target.path == "/%C3%A4%20b?q=%C3%BC"
    assert target.literal is None
    assert parse_target("http://example.com", DEFAULT_POLICY).path == "/"


# --------------------------------------------------------------------------- failures


def test_an_unknown_host_fails() -> None:
    with pytest.raises(FetchFailed) as caught:
        fetch("http://nowhere.example/", resolver=FakeResolver({}))

    assert caught.value.reason == "could not resolve nowhere.example"
    assert isinstance(caught.value, ToolError)


def test_an_empty_dns_answer_fails() -> None:
    with pytest.raises(FetchFailed, match=r"^could not resolve empty\.example$"):
        fetch("http://empty.example/", resolver=FakeResolver({"empty.example": []}))


def test_a_slow_resolver_is_cut_off_by_the_total_timeout() -> None:
    def slow(host: str, port: int, family: int = 0, type: int = 0) -> list[tuple[Any, ...]]:
        time.sleep(2)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    started = time.monotonic()
    with pytest.raises(FetchFailed) as caught:
        fetch("http://slow.example/", resolver=slow, timeout_seconds=0.3)

    assert caught.value.reason == "timed out after 0.3 s resolving slow.example"
    assert time.monotonic() - started < 1.5  # the resolver takes 2 s


def test_bad_arguments_are_programming_errors() -> None:
    with pytest.raises(ValueError):
        fetch("http://example.com/", timeout_seconds=0)
    with pytest.raises(ValueError):
        fetch("http://example.com/", max_bytes=-1)


def test_the_module_imports_nothing_outside_the_standard_library() -> None:
    """It runs in the runner Lambda, which ships no extra dependency for it."""
    code = (
        "import sys, agentcron.tools.web_fetch; "
        "print(sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names)))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert output.strip() == "['__main__', 'agentcron']"
