"""One way for the local stack's background services to run a thread."""

from __future__ import annotations

import threading


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
