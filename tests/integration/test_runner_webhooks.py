"""Task webhooks: the run's event POSTed to the task's URL, signed in the
Standard Webhooks scheme (checked with that scheme's own verifier, as a
receiver would), retried a bounded number of times, and never sent anywhere
the guarded client refuses.

The receiver is a real HTTPS server on 127.0.0.2 whose certificate names
hooks.example.test; the resolver maps that name to it and the address policy
allows that one address and port, as the web_fetch tests do.
"""

from __future__ import annotations

import base64
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

import pytest
from agentcron.bootstrap.runner import root as runner_root
from agentcron.guarded_http import AddressPolicy
from agentcron.models import Notify, Task
from agentcron.notifications import RunEvents, Webhooks
from agentcron.schedules import ManualSchedule
from agentcron.webhook_signatures import signature
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.integration.test_runner_harness import Runner

# The harness's fixtures (runner, fake_model, event_tap).
pytest_plugins = ["tests.integration.test_runner_harness"]

HOST = "127.0.0.2"
NAME = "hooks.example.test"
SECRET = "whsec_" + base64.b64encode(b"a test secret of thirty-two byte").decode()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int
    client_context: ssl.SSLContext
    received: list[Received] = field(default_factory=list)
    # Statuses to answer, in order; 200 once they run out.
    answers: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/agentcron") -> str:
        return f"https://{NAME}:{self.port}{path}"


def _certificate(tmp: Any) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    (tmp / "cert.pem").write_bytes(cert_pem)
    (tmp / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    return server, ssl.create_default_context(cadata=cert_pem.decode())


@pytest.fixture(scope="module")
def receiver_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    server_context, client_context = _certificate(tmp_path_factory.mktemp("hooks"))
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            receiver = holder["receiver"]
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with receiver.lock:
                receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.answers.pop(0) if receiver.answers else 200
            self.send_response(status)
            if status in (301, 302, 307, 308):
                self.send_header("Location", "http://127.0.0.1/elsewhere")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    holder["receiver"] = Receiver(server.server_address[1], client_context)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield holder["receiver"]
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver(receiver_server: Receiver) -> Receiver:
    receiver_server.received.clear()
    receiver_server.answers.clear()
    return receiver_server


def resolver(table: dict[str, str]) -> Callable[..., list[tuple[Any, ...]]]:
    def resolve(host: str, port: int, family: int = 0, type: int = 0) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port))]

    return resolve


def webhooks(receiver: Receiver, *, secret: str | None = SECRET, **overrides: Any) -> tuple[Webhooks, list[float]]:
    sleeps: list[float] = []
    hooks = Webhooks(
        secret_for=lambda task: secret,
        policy=AddressPolicy(
            extra_allowed=frozenset({ipaddress.ip_network(f"{HOST}/32")}), allowed_ports=frozenset({receiver.port})
        ),
        resolver=resolver({NAME: HOST}),
        ssl_context=receiver.client_context,
        sleep=sleeps.append,
        **overrides,
    )
    return hooks, sleeps


def task_with_hook(url: str) -> Task:
    now = datetime.datetime.now(datetime.UTC)
    return Task(
        id="task_01KQ0000000000000000000000",
        owner="alice",
        name="hooked",
        prompt="p",
        schedule=ManualSchedule(type="manual"),
        notify=Notify.model_validate({"webhook_url": url}),
        created_at=now,
        updated_at=now,
    )


EVENT = RunEvents.envelope("Run Succeeded", {"run_id": "run_x", "status": "SUCCEEDED"})


def verify(received: Received, secret: str = SECRET) -> dict[str, Any]:
    """What a receiver does: the Standard Webhooks library checks the headers, the window and the HMAC."""
    event: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    return event


def test_a_delivery_is_signed_with_the_tasks_secret(receiver: Receiver) -> None:
    hooks, sleeps = webhooks(receiver)

    delivery = hooks.deliver(task_with_hook(receiver.url()), EVENT)

    assert delivery is not None and delivery.delivered and delivery.attempts == 1 and delivery.status == 200
    [received] = receiver.received
    assert received.path == "/agentcron"
    assert received.headers["content-type"] == "application/json"
    assert received.headers["webhook-id"] == EVENT["id"]
    assert abs(int(received.headers["webhook-timestamp"]) - time.time()) < 5
    assert verify(received) == EVENT
    timestamp = int(received.headers["webhook-timestamp"])
    assert received.headers["webhook-signature"] == signature(SECRET, EVENT["id"], timestamp, received.body)
    assert sleeps == []


def test_a_delivery_signed_with_another_secret_or_replayed_late_is_refused_by_the_receiver(
    receiver: Receiver,
) -> None:
    # Signed ten minutes ago: a receiver's five-minute replay window refuses it.
    hooks, _ = webhooks(receiver, clock=lambda: time.time() - 600)
    hooks.deliver(task_with_hook(receiver.url()), EVENT)
    [late] = receiver.received
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(late)
    receiver.received.clear()

    hooks, _ = webhooks(receiver)
    hooks.deliver(task_with_hook(receiver.url()), EVENT)
    other = "whsec_" + base64.b64encode(b"another secret, thirty-two bytes").decode()
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        verify(receiver.received[0], other)


def test_each_retry_is_signed_afresh_with_the_same_id(receiver: Receiver) -> None:
    receiver.answers[:] = [503, 503]
    ticks = iter([1_000_000_000 + step for step in range(0, 300, 100)])
    hooks, _ = webhooks(receiver, clock=lambda: next(ticks))

    delivery = hooks.deliver(task_with_hook(receiver.url()), EVENT)

    assert delivery is not None and delivery.delivered and delivery.attempts == 3
    assert [r.headers["webhook-timestamp"] for r in receiver.received] == ["1000000000", "1000000100", "1000000200"]
    assert {r.headers["webhook-id"] for r in receiver.received} == {EVENT["id"]}


def test_a_failing_receiver_is_retried_with_backoff_then_given_up(receiver: Receiver) -> None:
    receiver.answers[:] = [503, 500, 502, 503]
    hooks, sleeps = webhooks(receiver)

    delivery = hooks.deliver(task_with_hook(receiver.url()), EVENT)

    assert delivery is not None and not delivery.delivered
    assert delivery.attempts == 3 and delivery.status == 502 and delivery.error == "HTTP 502"
    assert len(receiver.received) == 3, "bounded: three attempts"
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0, sleeps
    # The same event each time (receivers dedupe on the id).
    assert {r.body for r in receiver.received} == {receiver.received[0].body}


def test_a_transient_failure_then_success(receiver: Receiver) -> None:
    receiver.answers[:] = [429]
    hooks, _ = webhooks(receiver)

    delivery = hooks.deliver(task_with_hook(receiver.url()), EVENT)

    assert delivery is not None and delivery.delivered and delivery.attempts == 2


@pytest.mark.parametrize("status", [400, 404, 302])
def test_client_errors_and_redirects_are_not_retried_or_followed(receiver: Receiver, status: int) -> None:
    receiver.answers[:] = [status]
    hooks, sleeps = webhooks(receiver)

    delivery = hooks.deliver(task_with_hook(receiver.url()), EVENT)

    assert delivery is not None and not delivery.delivered
    assert (delivery.attempts, delivery.status) == (1, status)
    assert len(receiver.received) == 1 and sleeps == []


@pytest.mark.parametrize(
    ("url", "table", "why"),
    [
        ("https://127.0.0.1/hook", {}, "127.0.0.1 is a loopback address"),
        ("https://metadata.example.test/", {"metadata.example.test": "169.254.169.254"}, "instance metadata"),
        ("https://internal.example.test/", {"internal.example.test": "10.1.2.3"}, "10.1.2.3, which is a private"),
        ("https://[::ffff:192.168.1.1]/", {}, "a private address (192.168.1.1) in IPv6 form"),
    ],
)
def test_webhooks_to_internal_addresses_are_refused_before_connecting(
    monkeypatch: pytest.MonkeyPatch, url: str, table: dict[str, str], why: str
) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> socket.socket:
        raise AssertionError(f"tried to connect to {args[0]!r}")

    monkeypatch.setattr(socket, "create_connection", forbidden)
    sleeps: list[float] = []
    hooks = Webhooks(secret_for=lambda task: SECRET, resolver=resolver(table), sleep=sleeps.append)

    delivery = hooks.deliver(task_with_hook(url), EVENT)

    assert delivery is not None and not delivery.delivered
    assert delivery.attempts == 1 and sleeps == [], "a refusal is final"
    assert delivery.error is not None and why in delivery.error, delivery.error


def test_without_a_secret_nothing_is_sent(receiver: Receiver) -> None:
    hooks, _ = webhooks(receiver, secret=None)

    delivery = hooks.deliver(task_with_hook(receiver.url()), EVENT)

    assert delivery is not None and not delivery.delivered and delivery.attempts == 0
    assert receiver.received == []


def test_a_finished_run_notifies_its_tasks_webhook(runner: Runner, receiver: Receiver) -> None:
    hooks, _ = webhooks(receiver)
    # The runner's notifier, pointed at the test's receiver (the production one resolves real DNS).
    runner_root.override(webhooks=hooks)
    task = runner.create_task("notify me", notify={"webhook_url": receiver.url("/hooks/agentcron")})

    run = runner.pump(runner.run_now(task["id"])["id"])

    [received] = receiver.received
    event = verify(received)
    assert received.path == "/hooks/agentcron"
    assert event["source"] == "agentcron" and event["detail-type"] == "Run Succeeded"
    assert event["detail"]["run_id"] == run["id"] and event["detail"]["output"] == "Done: notify me"
    assert event["detail"]["usage"] == run["usage"]
