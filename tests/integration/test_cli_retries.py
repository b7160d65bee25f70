"""The CLI retries what is safe to repeat: against a real HTTP server on loopback that answers
429/503 or drops the connection, through the CLI's own requests session (urllib3 Retry)."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from agentcron_local import cli

# A scripted answer: (status, headers, body), or DROP to close the connection without answering.
DROP = "drop"
Scripted = tuple[int, dict[str, str], Any] | str


@dataclass
class Seen:
    method: str
    path: str
    idempotency_key: str | None


@dataclass
class FlakyApi:
    answers: list[Scripted] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def flaky(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FlakyApi]:
    api = FlakyApi()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            api.seen.append(Seen(self.command, self.path, self.headers.get("Idempotency-Key")))
            answer = api.answers.pop(0) if api.answers else (500, {}, {"detail": "unscripted"})
            if answer == DROP:
                self.close_connection = True
                self.connection.shutdown(2)  # a reset: the client gets no answer at all
                return
            status, headers, body = answer  # type: ignore[misc]
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    for name in ("AGENTCRON_ENDPOINT", "AGENTCRON_TOKEN", "AGENTCRON_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENTCRON_CONFIG", str(tmp_path / "none.toml"))
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


def agentcron(api: FlakyApi, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["--endpoint", api.url, "--token", "t", *argv], stdout=out, stderr=err)  # the real session
    return code, out.getvalue(), err.getvalue()


TASK = {"id": "task_1", "name": "n", "enabled": True, "schedule": {"type": "manual"}, "version": 1}
RUN = {"id": "run_1", "task_id": "task_1", "status": "QUEUED", "trigger": "manual"}


def test_a_read_is_retried_on_503_and_429_honouring_retry_after(flaky: FlakyApi) -> None:
    flaky.answers = [(503, {"Retry-After": "0"}, {}), (429, {"Retry-After": "1"}, {}), (200, {}, TASK)]
    started = time.monotonic()
    code, out, err = agentcron(flaky, "tasks", "get", "task_1", "--json")
    assert code == 0, err
    assert json.loads(out) == TASK
    assert [s.method for s in flaky.seen] == ["GET", "GET", "GET"]
    assert time.monotonic() - started >= 0.9, "Retry-After: 1 was waited for"


def test_a_dropped_connection_is_retried_for_a_read(flaky: FlakyApi) -> None:
    flaky.answers = [DROP, (200, {}, TASK)]
    code, _, err = agentcron(flaky, "tasks", "get", "task_1", "-q")
    assert code == 0, err
    assert len(flaky.seen) == 2


def test_a_post_without_an_idempotency_key_is_sent_once(flaky: FlakyApi) -> None:
    flaky.answers = [(503, {"Retry-After": "0"}, {"status": 503, "detail": "queue unavailable"})]
    code, _, err = agentcron(flaky, "tasks", "run", "task_1")
    assert code == 5, "repeating it could start two runs"
    assert "503 Service Unavailable: queue unavailable" in err
    assert [s.method for s in flaky.seen] == ["POST"]


def test_a_post_with_an_idempotency_key_is_retried_with_the_same_key(flaky: FlakyApi) -> None:
    flaky.answers = [(503, {"Retry-After": "0"}, {}), DROP, (202, {}, RUN)]
    code, out, err = agentcron(flaky, "tasks", "run", "task_1", "--idempotency-key", "k-1", "-q")
    assert code == 0, err
    assert out == "run_1\n"
    assert [(s.method, s.idempotency_key) for s in flaky.seen] == [("POST", "k-1")] * 3


def test_retries_stop_and_the_last_answer_is_reported(flaky: FlakyApi) -> None:
    flaky.answers = [(502, {}, {"status": 502, "detail": "bad gateway"})] * 4
    code, _, err = agentcron(flaky, "tasks", "list")
    assert code == 5
    assert "502 Bad Gateway: bad gateway" in err
    assert len(flaky.seen) == 4, "the first attempt and three retries"


def test_a_refused_connection_is_reported_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = FlakyApi(url=f"http://127.0.0.1:{probe.getsockname()[1]}")
    monkeypatch.setenv("AGENTCRON_CONFIG", str(tmp_path / "none.toml"))
    started = time.monotonic()
    code, _, err = agentcron(closed, "tasks", "list")
    assert code == 3 and "connection refused" in err
    assert time.monotonic() - started < 1.5, "one immediate retry, no backoff: nothing listens there"
