"""moto's server, in a thread, with DynamoDB made safe for concurrent callers.

moto's DynamoDB backend is not thread-safe: racing conditional writes from a
threaded server give several "winners", lose items and answer 500s (see
NOTES.md). Every DynamoDB request therefore runs under one process-wide lock.
Only DynamoDB: the other services must stay concurrent, because an SQS long
poll (ReceiveMessage with WaitTimeSeconds) holds its request for up to 20 s,
and a lock around it would stall every other caller.

Usable in-process (``start_moto()``, what the local stack and the tests do) or
as a process (``python -m agentcron_local.motoserver --port 4566``).
"""

from __future__ import annotations

import argparse
import errno
import io
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from agentcron_local.threads import run_until_signal, serve_in_thread

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from werkzeug.serving import BaseWSGIServer

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566  # LocalStack's port: the one people already expect an AWS emulator on

# DynamoDB's JSON protocol names the operation in X-Amz-Target, e.g.
# "DynamoDB_20120810.PutItem". Streams ("DynamoDBStreams_...") have their own
# backend and are not locked.
_DYNAMODB_TARGET_PREFIX = "DynamoDB_"


class PortInUseError(OSError):
    """A local listener could not bind because its port is taken.

    Raised instead of werkzeug's habit of printing and calling ``sys.exit(1)``,
    so callers (the CLI, tests) can say what to do about it.
    """

    def __init__(self, port: int, flag: str = "--port") -> None:
        self.port = port
        self.flag = flag
        super().__init__(
            errno.EADDRINUSE,
            f"port {port} is in use: is another agentcron local stack running? stop it or pass {flag}",
        )

    def __str__(self) -> str:
        return str(self.strerror)


def bind_listening_socket(host: str, port: int, *, flag: str = "--port") -> socket.socket:
    """Bind and listen on ``host:port`` (0 = any free port), or raise PortInUseError.

    SO_REUSEADDR lets a restarted stack take its port back while the old
    connections sit in TIME_WAIT; on Linux it never lets two listeners share a port.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(port, flag) from exc
        raise
    return sock


class DynamoDBLockMiddleware:
    """WSGI middleware: DynamoDB requests run one at a time, everything else concurrently."""

    def __init__(self, app: WSGIApplication, lock: threading.Lock | None = None, *, enabled: bool = True) -> None:
        self.app = app
        self.lock = lock if lock is not None else threading.Lock()
        self.enabled = enabled
        # How many requests went through the lock; lets tests prove the lock is
        # actually on the DynamoDB path rather than trusting it.
        self.locked_requests = 0

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith(_DYNAMODB_TARGET_PREFIX):
            return self.app(environ, start_response)
        if not self.enabled:
            return self.app(environ, start_response)
        # Read the body before taking the lock: a slow client must not hold
        # every other DynamoDB caller hostage while its bytes trickle in.
        environ["wsgi.input"] = io.BytesIO(_read_body(environ))
        with self.lock:
            self.locked_requests += 1
            result = self.app(environ, start_response)
            # Materialise the response inside the lock: a WSGI app may do its
            # work lazily while the iterable is consumed.
            try:
                return [bytes(chunk) for chunk in result]
            finally:
                close: Callable[[], object] | None = getattr(result, "close", None)
                if close is not None:
                    close()


def _read_body(environ: WSGIEnvironment) -> bytes:
    stream = environ["wsgi.input"]
    length = str(environ.get("CONTENT_LENGTH") or "").strip()
    if length.isdigit():
        return bytes(stream.read(int(length))) if int(length) else b""
    if environ.get("wsgi.input_terminated"):
        # Chunked upload: werkzeug terminates the stream for us.
        return bytes(stream.read())
    return b""


@dataclass
class MotoHandle:
    """A running moto server. ``endpoint`` goes into AWS_ENDPOINT_URL."""

    host: str
    port: int
    middleware: DynamoDBLockMiddleware
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting requests and close the socket. Idempotent.

        In-flight requests run in daemon threads (an SQS long poll may still be
        waiting); they are not joined, so stop() returns promptly.
        """
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._thread.join(timeout)

    def __enter__(self) -> MotoHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _request_handler(verbose: bool) -> type[Any]:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class QuietMotoRequestHandler(MotoRequestHandler):
        # werkzeug logs every request line; with the dispatcher polling and SQS
        # long polls that buries the stack's own output. Errors are still logged.
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            if verbose:
                super().log_request(code, size)

    return QuietMotoRequestHandler


class _Untracked(list[Any]):
    def append(self, item: Any) -> None:
        pass


def stop_tracking_dynamodb_instances() -> None:
    """moto keeps every model instance it builds for its dashboard, and its
    TransactWriteItems deep-copies the whole table per item for rollback: each
    transaction would leak a table copy (measured ~1.5 MB at 500 items; a long
    run reached 22 GB). Storage itself does not use the tracking lists."""
    import moto.dynamodb.models  # noqa: F401 (registers the classes)
    from moto.core.model_instances import model_data

    for cls in model_data.get("dynamodb", {}).values():
        cls.instances_tracked = _Untracked()  # type: ignore[attr-defined]


def start_moto(
    host: str = DEFAULT_HOST,
    port: int = 0,
    *,
    verbose: bool = False,
    port_flag: str = "--moto-port",
    serialize_dynamodb: bool = True,
) -> MotoHandle:
    """Start moto's server (all services) in a background thread; port 0 = any free port.

    Raises PortInUseError when ``port`` is taken (``port_flag`` names the CLI
    option that changes it, for the message). ``serialize_dynamodb=False``
    exists only for the test that proves the lock is needed.

    moto builds boto3 sessions of its own while serving: AWS_PROFILE must be
    unset or name an existing profile (the stack and the test fixtures unset it).
    """
    # moto's import is the slow part (~1 s); keep it out of module import so
    # `agentcron token` and friends stay fast.
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    stop_tracking_dynamodb_instances()
    app = DomainDispatcherApplication(create_backend_app)
    middleware = DynamoDBLockMiddleware(app, enabled=serialize_dynamodb)

    sock = bind_listening_socket(host, port, flag=port_flag)
    try:
        # werkzeug dup()s the descriptor we hand it; passing a bound socket
        # (rather than host/port) is what keeps it from sys.exit(1) on a busy port.
        server = make_server(
            host,
            sock.getsockname()[1],
            middleware,
            threaded=True,
            request_handler=_request_handler(verbose),
            fd=sock.fileno(),
        )
    finally:
        sock.close()

    thread = serve_in_thread(server, f"moto:{server.port}")
    return MotoHandle(host=host, port=server.port, middleware=middleware, _server=server, _thread=thread)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agentcron_local.motoserver",
        description="moto's server with DynamoDB requests serialised (thread-safe).",
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    # moto builds boto3 sessions while serving; a developer's AWS_PROFILE (maybe
    # one that exists only on another machine) must not break or steer them.
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)

    try:
        handle = start_moto(args.host, args.port, verbose=args.verbose, port_flag="--port")
    except PortInUseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    run_until_signal(f"moto listening on {handle.endpoint}", handle.stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
