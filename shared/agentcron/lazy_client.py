"""An AWS client made at its first use, once, even when several threads ask.

Making a client parses its service's model (~100 ms of CPU), so an adapter
makes it only when a call needs it, with the factory its composition root
gives it (a client of the container's one boto3 session, agentcron.bootstrap)."""

from __future__ import annotations

import threading
from collections.abc import Callable


class LazyClient[C]:
    def __init__(self, make: Callable[[], C]) -> None:
        self._make = make
        self._client: C | None = None
        self._lock = threading.Lock()

    def get(self) -> C:
        with self._lock:
            if self._client is None:
                self._client = self._make()
            return self._client
