"""One way for the local stack's background services to run a thread, and
one way for its servers to serve in one and to stop on Ctrl-C."""

from __future__ import annotations

import contextlib
import signal
import socketserver
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import IO

# How often a waiting loop looks again: shutdown() waits up to one interval,
# and Ctrl-C should feel instant.
SERVE_POLL_SECONDS = 0.1
SIGNAL_POLL_SECONDS = 0.5


class ThreadedService:
    """A daemon thread running `_loop` until `stop()`; `_stopping` wakes its waits."""

    name: str

    def start(self) -> None:
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        stopping = getattr(self, "_stopping", None)
        if stopping is not None:
            stopping.set()
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        raise NotImplementedError


def serve_in_thread(server: socketserver.BaseServer, name: str) -> threading.Thread:
    """Run `server.serve_forever()` in a started daemon thread; `server.shutdown()` ends it."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": SERVE_POLL_SECONDS}, name=name, daemon=True
    )
    thread.start()
    return thread


@contextlib.contextmanager
def stop_signals(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """`handler` takes SIGINT and SIGTERM inside the block; the previous handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals only reach the main thread; the caller stops the server itself
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_until_signal(announcement: str, stop: Callable[[], None], *, out: IO[str] | None = None) -> None:
    """Print `announcement` (the line a launcher waits for), block until SIGINT
    or SIGTERM, then call `stop`; a signal in between stops cleanly too."""
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    with stop_signals(on_signal):
        print(announcement, file=out, flush=True)
        # Polling wait: Event.wait without a timeout would not wake for a
        # signal handler on every Python version.
        while not stopping.wait(SIGNAL_POLL_SECONDS):
            pass
        stop()
