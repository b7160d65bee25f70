"""Runner entry point: executes claimed runs with the Claude agent.

Not built yet (issue #4): until it is, every message fails, so runs stay
QUEUED and their messages reach the dead-letter queue instead of vanishing."""

from __future__ import annotations

from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise NotImplementedError("the runner is not built yet (issue #4)")
