"""What a composition root is, and how a function's container holds one."""

from __future__ import annotations

import threading
from functools import cached_property
from typing import Any


class Root:
    """Adapters are `cached_property`s: each is built at its first use, from the root's
    other adapters. Any of them can be given instead when the root is made, by name
    (`RunnerRoot(events=...)`); what depends on it is then built with what was given."""

    def __init__(self, **overrides: Any) -> None:
        adapters = self.adapters()
        unknown = sorted(set(overrides) - adapters)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no adapter {', '.join(unknown)} (it has {sorted(adapters)})")
        # A cached_property reads the instance's dict first: a given adapter is never built.
        vars(self).update(overrides)

    @classmethod
    def adapters(cls) -> set[str]:
        return {
            name for klass in cls.__mro__ for name, value in vars(klass).items() if isinstance(value, cached_property)
        }


_containers: list[Container[Any]] = []


class Container[R: Root]:
    """A function's root as its container holds it: made at the first call, then the same
    one for the container's life (warm invocations reuse its clients and settings)."""

    def __init__(self, make: type[R]) -> None:
        self._make = make
        self._root: R | None = None
        self._lock = threading.Lock()
        _containers.append(self)

    def __call__(self) -> R:
        with self._lock:
            if self._root is None:
                self._root = self._make()
            return self._root

    def override(self, **adapters: Any) -> R:
        """From now on (until reset), the container's root is a new one with these adapters."""
        root = self._make(**adapters)
        with self._lock:
            self._root = root
        return root

    def reset(self) -> None:
        with self._lock:
            self._root = None


def reset() -> None:
    """Forget every root (tests give each case a fresh container, as Lambda would)."""
    for container in _containers:
        container.reset()
