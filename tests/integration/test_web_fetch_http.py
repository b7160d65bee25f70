"""web_fetch against real HTTP(S) servers on loopback.

The content server binds 127.0.0.2, the one address the tests' AddressPolicy
allows; a "trap" server on 127.0.0.1 stands for everything that must stay
unreachable, and must never see a request. Every connection web_fetch opens
is recorded: only loopback addresses are ever contacted.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from agentcron.guarded_http import DEFAULT_PORTS, AddressPolicy
from agentcron.tools.web_fetch import FetchFailed, FetchRefused, FetchResult, fetch
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CONTENT_HOST = "127.0.0.2"
TRAP_HOST = "127.0.0.1"
BIG_BODY = b"".join(b"%05d" % i for i in range(2000))  # 10,000 bytes, every offset distinct


@dataclass
class Seen:
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.seen.lock:
            self.server.seen.requests.append((self.path, self.headers.get("host", "")))
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        route = ROUTES.get(parts.path)
        if route is None and parts.path.startswith("/chain/"):
            hops = int(parts.path.rsplit("/", 1)[1])
            if hops == 0:
                self.send_body(200, "text/plain", b"end of chain")
            else:
                self.redirect(302, f"/chain/{hops - 1}")
            return
        if route is None:
            self.send_body(404, "text/plain", b"no such page")
            return
        route(self, query)

    def send_body(self, status: int, content_type: str | None, body: bytes, **headers: str) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, status: int, location: str) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


def slow(handler: Handler, query: dict[str, str]) -> None:
    time.sleep(3)
    handler.send_body(200, "text/plain", b"late")


def trickle_body(handler: Handler, query: dict[str, str]) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.end_headers()
    for _ in range(50):  # one byte every 0.1 s for 5 s: each read is quick, the whole is not
        handler.wfile.write(b"x")
        handler.wfile.flush()
        time.sleep(0.1)


def trickle_headers(handler: Handler, query: dict[str, str]) -> None:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
    for _ in range(50):
        handler.wfile.write(b"X-Slow: y\r\n")
        handler.wfile.flush()
        time.sleep(0.1)


ROUTES: dict[str, Callable[[Handler, dict[str, str]], None]] = {
    "/text": lambda h, q: h.send_body(200, "text/plain; charset=utf-8", "hello, wörld".encode()),
    "/html": lambda h, q: h.send_body(200, "text/html", b"<html><title>Status</title></html>"),
    "/json": lambda h, q: h.send_body(200, "application/json", b'{"ok": true}'),
    "/big": lambda h, q: h.send_body(200, "text/plain", BIG_BODY),
    "/latin1": lambda h, q: h.send_body(200, "text/plain; charset=iso-8859-1", "café".encode("latin-1")),
    "/bad-charset": lambda h, q: h.send_body(200, "text/plain; charset=x-nope", "naïve".encode()),
    "/invalid-utf8": lambda h, q: h.send_body(200, "text/plain", b"ok \xff\xfe end"),
    "/euro": lambda h, q: h.send_body(200, "text/plain; charset=utf-8", ("€" * 10).encode()),  # 3 bytes each
    "/png": lambda h, q: h.send_body(200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 992),
    "/untyped-binary": lambda h, q: h.send_body(200, None, b"\x00\x01\x02binary"),
    "/untyped-text": lambda h, q: h.send_body(200, None, b"plain words"),
    "/gzip": lambda h, q: h.send_body(200, "text/plain", b"\x1f\x8b\x08", Content_Encoding="gzip"),
    "/missing": lambda h, q: h.send_body(404, "text/plain", b"not here"),
    "/host": lambda h, q: h.send_body(200, "text/plain", h.headers.get("host", "").encode()),
    "/headers": lambda h, q: h.send_body(200, "text/plain", str(dict(h.headers.items())).encode()),
    "/redirect": lambda h, q: h.redirect(int(q.get("status", "302")), q["to"]),
    "/slow": slow,
    "/trickle": trickle_body,
    "/trickle-headers": trickle_headers,
}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    seen: Seen

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The trickling routes write after web_fetch gave up on them: expected, not worth a traceback.
        pass


@dataclass
class Running:
    server: Server
    seen: Seen
    port: int

    def url(self, path: str, host: str = CONTENT_HOST, scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


def serve(host: str, tls: ssl.SSLContext | None = None) -> Running:
    server = Server((host, 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.seen = Seen()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return Running(server, server.seen, server.server_address[1])


@pytest.fixture(scope="module")
def content() -> Iterator[Running]:
    running = serve(CONTENT_HOST)
    yield running
    running.server.shutdown()
    running.server.server_close()


@pytest.fixture(scope="module")
def trap() -> Iterator[Running]:
    running = serve(TRAP_HOST)
    yield running
    running.server.shutdown()
    running.server.server_close()


@pytest.fixture(autouse=True)
def contacted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address web_fetch connects to; anything but loopback fails the test at once."""
    addresses: list[str] = []
    real = socket.create_connection

    def recording(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        if not ipaddress.ip_address(address[0]).is_loopback:
            raise AssertionError(f"web_fetch tried to contact {address[0]}")
        addresses.append(address[0])
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recording)
    return addresses


@pytest.fixture
def policy(content: Running, trap: Running) -> AddressPolicy:
    # The trap's port is allowed too, so a refusal of it is about its address, not its port;
    # and the production ports, so redirects to port 80 are judged by their address.
    return AddressPolicy(
        extra_allowed=frozenset({ipaddress.ip_network(f"{CONTENT_HOST}/32")}),
        allowed_ports=DEFAULT_PORTS | {content.port, trap.port},
    )


def resolver_for(table: dict[str, list[str]]) -> Callable[..., list[tuple[Any, ...]]]:
    def resolve(host: str, port: int, family: int = 0, type: int = 0) -> list[tuple[Any, ...]]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in table[host]]

    return resolve


# --------------------------------------------------------------------------- success


def test_fetches_text(content: Running, policy: AddressPolicy, contacted: list[str]) -> None:
    result = fetch(content.url("/text"), policy=policy)

    assert result == FetchResult(
        url=content.url("/text"),
        final_url=content.url("/text"),
        status=200,
        content_type="text/plain",
        text="hello, wörld",
        truncated=False,
        bytes_read=len("hello, wörld".encode()),
    )
    assert contacted == [CONTENT_HOST]


def test_sends_a_plain_get_with_identity_encoding(content: Running, policy: AddressPolicy) -> None:
    headers = fetch(content.url("/headers"), policy=policy).text

    assert "'Accept-Encoding': 'identity'" in headers
    assert "'User-Agent': 'agentcron-web-fetch/1'" in headers
    assert "'Connection': 'close'" in headers
    assert content.seen.requests[-1] == ("/headers", f"{CONTENT_HOST}:{content.port}")


@pytest.mark.parametrize(
    ("path", "content_type", "text"),
    [
        ("/html", "text/html", "<html><title>Status</title></html>"),
        ("/json", "application/json", '{"ok": true}'),
        ("/latin1", "text/plain", "café"),
        ("/bad-charset", "text/plain", "naïve"),  # unknown charset: utf-8
        ("/invalid-utf8", "text/plain", "ok \ufffd\ufffd end"),  # undecodable bytes replaced
        ("/untyped-text", "", "plain words"),
        ("/missing", "text/plain", "not here"),
    ],
)
def test_decodes_text_by_charset(
    content: Running, policy: AddressPolicy, path: str, content_type: str, text: str
) -> None:
    result = fetch(content.url(path), policy=policy)

    assert (result.content_type, result.text) == (content_type, text)
    assert result.status == (404 if path == "/missing" else 200)


def test_truncates_at_max_bytes(content: Running, policy: AddressPolicy) -> None:
    result = fetch(content.url("/big"), policy=policy, max_bytes=1000)

    assert result.truncated is True
    assert result.bytes_read == 1000
    assert result.text == BIG_BODY[:1000].decode()
    assert result.text.endswith("00199")

    whole = fetch(content.url("/big"), policy=policy, max_bytes=len(BIG_BODY))
    assert (whole.truncated, whole.bytes_read, whole.text) == (False, 10_000, BIG_BODY.decode())


def test_truncation_inside_a_character_drops_the_half_character(content: Running, policy: AddressPolicy) -> None:
    result = fetch(content.url("/euro"), policy=policy, max_bytes=7)

    assert result.text == "€€"  # 7 bytes: two whole characters, the third cut and dropped
    assert result.truncated is True


@pytest.mark.parametrize(
    ("path", "content_type", "text"),
    [
        ("/png", "image/png", "[image/png content, 1000 bytes: not shown, web_fetch returns text only]"),
        ("/gzip", "text/plain", "[text/plain content, 3 bytes: not shown, it is gzip-compressed]"),
        ("/untyped-binary", "", "[binary content without a content type: not shown, 9 bytes read]"),
    ],
)
def test_non_text_content_returns_a_note(
    content: Running, policy: AddressPolicy, path: str, content_type: str, text: str
) -> None:
    result = fetch(content.url(path), policy=policy)

    assert (result.content_type, result.text) == (content_type, text)
    assert result.bytes_read == (9 if path == "/untyped-binary" else 0)


def test_a_name_is_connected_to_at_the_checked_address(
    content: Running, policy: AddressPolicy, contacted: list[str]
) -> None:
    result = fetch(
        f"http://good.example:{content.port}/host",
        policy=policy,
        resolver=resolver_for({"good.example": [CONTENT_HOST]}),
    )

    # The server was reached at 127.0.0.2, and was told the name, not the address.
    assert result.text == f"good.example:{content.port}"
    assert contacted == [CONTENT_HOST]


def test_follows_redirects_re_checking_each(content: Running, policy: AddressPolicy) -> None:
    result = fetch(content.url("/redirect?status=301&to=/text"), policy=policy)

    assert result.status == 200
    assert result.text == "hello, wörld"
    assert result.url == content.url("/redirect?status=301&to=/text")
    assert result.final_url == content.url("/text")


def test_a_chain_within_the_limit_is_followed(content: Running, policy: AddressPolicy) -> None:
    result = fetch(content.url("/chain/3"), policy=policy, max_redirects=3)

    assert result.text == "end of chain"
    assert result.final_url == content.url("/chain/0")


# --------------------------------------------------------------------------- refusals


def test_a_redirect_to_loopback_is_refused(content: Running, trap: Running, policy: AddressPolicy) -> None:
    target = trap.url("/secret", host=TRAP_HOST)
    with pytest.raises(FetchRefused) as caught:
        fetch(content.url(f"/redirect?to={target}"), policy=policy)

    assert caught.value.reason == "127.0.0.1 is a loopback address"
    assert trap.seen.requests == []


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is the cloud instance metadata address"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254 is the cloud instance metadata address"),
        ("http://2852039166/latest/", "numeric host '2852039166' is not a canonical dotted IPv4 address"),
        ("file:///etc/passwd", "scheme 'file' is not allowed: only http and https"),
        ("http://user:pw@example.com/", "URLs with credentials (user@host) are not allowed"),
    ],
)
def test_redirects_to_refused_places_are_refused(
    content: Running, policy: AddressPolicy, contacted: list[str], location: str, reason: str
) -> None:
    with pytest.raises(FetchRefused) as caught:
        fetch(content.url(f"/redirect?status=307&to={location}"), policy=policy)

    assert caught.value.reason.startswith(reason)
    assert contacted == [CONTENT_HOST]  # only the first hop was ever connected


def test_a_name_resolving_to_loopback_is_refused(trap: Running, policy: AddressPolicy, contacted: list[str]) -> None:
    with pytest.raises(FetchRefused) as caught:
        fetch(
            f"http://evil.example:{trap.port}/",
            policy=policy,
            resolver=resolver_for({"evil.example": [TRAP_HOST]}),
        )

    assert caught.value.reason == "evil.example resolves to 127.0.0.1, which is a loopback address"
    assert trap.seen.requests == []
    assert contacted == []


def test_dns_rebinding_cannot_swap_the_address(
    content: Running, trap: Running, policy: AddressPolicy, contacted: list[str]
) -> None:
    """A resolver that answers 127.0.0.2 once and 127.0.0.1 afterwards (a rebinding attack)."""
    answers = iter([CONTENT_HOST] + [TRAP_HOST] * 10)
    calls: list[str] = []

    def rebinding(host: str, port: int, family: int = 0, type: int = 0) -> list[tuple[Any, ...]]:
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    result = fetch(f"http://rebind.example:{content.port}/text", policy=policy, resolver=rebinding)

    assert result.text == "hello, wörld"
    assert calls == ["rebind.example"]  # resolved once; the connection used that answer
    assert contacted == [CONTENT_HOST]

    # A redirect to the same name is resolved again, and now refused.
    with pytest.raises(FetchRefused, match=r"rebind\.example resolves to 127\.0\.0\.1"):
        fetch(
            f"http://rebind.example:{content.port}/redirect?to=/text",
            policy=policy,
            resolver=rebinding,
        )
    assert trap.seen.requests == []


# --------------------------------------------------------------------------- failures


def test_too_many_redirects_fail(content: Running, policy: AddressPolicy) -> None:
    with pytest.raises(FetchFailed) as caught:
        fetch(content.url("/chain/4"), policy=policy, max_redirects=3)

    assert caught.value.reason == "too many redirects (more than 3)"
    assert [path for path, _ in content.seen.requests[-4:]] == ["/chain/4", "/chain/3", "/chain/2", "/chain/1"]


def test_a_slow_server_times_out(content: Running, policy: AddressPolicy) -> None:
    started = time.monotonic()
    with pytest.raises(FetchFailed) as caught:
        fetch(content.url("/slow"), policy=policy, timeout_seconds=0.5)

    assert caught.value.reason == "timed out after 0.5 s"
    assert time.monotonic() - started < 2  # the server answers after 3 s


@pytest.mark.parametrize("path", ["/trickle", "/trickle-headers"])
def test_a_trickling_server_is_cut_off_at_the_total_deadline(
    content: Running, policy: AddressPolicy, path: str
) -> None:
    started = time.monotonic()
    with pytest.raises(FetchFailed) as caught:
        fetch(content.url(path), policy=policy, timeout_seconds=0.6)

    assert caught.value.reason == "timed out after 0.6 s"
    assert time.monotonic() - started < 2.5  # the trickle lasts 5 s


def test_a_closed_port_fails(policy: AddressPolicy) -> None:
    probe = socket.socket()
    probe.bind((CONTENT_HOST, 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    closed_policy = AddressPolicy(extra_allowed=policy.extra_allowed, allowed_ports=frozenset({port}))

    with pytest.raises(FetchFailed) as caught:
        fetch(f"http://{CONTENT_HOST}:{port}/", policy=closed_policy)

    assert caught.value.reason.startswith(f"could not connect to {CONTENT_HOST}: ")
    assert "Connection refused" in caught.value.reason


# --------------------------------------------------------------------------- HTTPS


@dataclass
class TLSFixture:
    running: Running
    client_context: ssl.SSLContext


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSFixture]:
    """An HTTPS server on 127.0.0.2 whose self-signed certificate names only good.example."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "good.example")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("good.example")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    running = serve(CONTENT_HOST, tls=server_context)
    client_context = ssl.create_default_context(cadata=cert_pem.decode())
    yield TLSFixture(running, client_context)
    running.server.shutdown()
    running.server.server_close()


def test_https_verifies_the_certificate_against_the_name(tls_server: TLSFixture, contacted: list[str]) -> None:
    port = tls_server.running.port
    policy = AddressPolicy(
        extra_allowed=frozenset({ipaddress.ip_network(f"{CONTENT_HOST}/32")}), allowed_ports=frozenset({port})
    )

    result = fetch(
        f"https://good.example:{port}/host",
        policy=policy,
        resolver=resolver_for({"good.example": [CONTENT_HOST]}),
        ssl_context=tls_server.client_context,
    )

    assert result.text == f"good.example:{port}"
    assert contacted == [CONTENT_HOST]

    # Same server, same address, but asked for by address: the certificate does not match.
    with pytest.raises(FetchFailed) as caught:
        fetch(f"https://{CONTENT_HOST}:{port}/host", policy=policy, ssl_context=tls_server.client_context)
    assert caught.value.reason.startswith(f"TLS certificate of {CONTENT_HOST} is not valid: ")

    # And the default context does not trust a self-signed certificate at all.
    with pytest.raises(FetchFailed, match=r"TLS certificate of good\.example is not valid"):
        fetch(
            f"https://good.example:{port}/host",
            policy=policy,
            resolver=resolver_for({"good.example": [CONTENT_HOST]}),
        )
