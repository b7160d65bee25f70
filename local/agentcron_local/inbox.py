"""A webhook inbox on the local stack's own port, to try task webhooks locally.

``POST /hooks/<name>`` receives a delivery; ``GET /hooks`` (or
``GET /hooks/<name>``) lists what arrived, newest first, as JSON: the
headers, the body, and whether the Standard Webhooks signature checks out
against the task's own secret (read from the table through the event's
``detail.task_id``). Point a task at it with
``"notify": {"webhook_url": "http://127.0.0.1:<port>/hooks/<name>"}``: the
stack sets ``AGENTCRON_LOCAL_LOOPBACK_PORTS`` to its port, so the API accepts
that plain-http loopback URL and the runner's guarded client may call it,
in the local stack only (``agentcron.guarded_http.local``).

The inbox answers loopback clients only: deliveries carry run output, and a
stack bound to a wider address must not show them to the network.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agentcron.webhook_signatures import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

from agentcron_local.gateway import HttpResponse, LocalRequest

PREFIX = "/hooks"
KEPT_DELIVERIES = 200
_SHOWN_HEADERS = ("content-type", "user-agent", ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")

# A task id to its webhook secret (None: no such task, or it has none).
SecretLookup = Callable[[str], str | None]


def _json(status: int, payload: Any) -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json")], json.dumps(payload, indent=2).encode())


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@dataclass
class WebhookInbox:
    """A ``LocalRoute`` (see ``agentcron_local.gateway.local_routes``)."""

    secret_for: SecretLookup
    clock: Callable[[], float] = field(default=time.time)
    deliveries: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=KEPT_DELIVERIES))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def answer(self, request: LocalRequest) -> HttpResponse | None:
        if request.path != PREFIX and not request.path.startswith(PREFIX + "/"):
            return None
        if not _is_loopback(request.client):
            return None  # to API Gateway's routing, which knows no such path: 404
        name = request.path.removeprefix(PREFIX).strip("/")
        if name and not set(name) <= _NAME_CHARS:
            return _json(404, {"message": "Not Found"})
        if request.method == "POST" and name:
            return _json(200, {"received": self.receive(name, request)["id"]})
        if request.method == "GET":
            with self._lock:
                items = [d for d in reversed(self.deliveries) if not name or d["name"] == name]
            return _json(200, {"items": items})
        allowed = "GET" if not name else "GET, POST"
        return HttpResponse(
            405,
            [("content-type", "application/json"), ("allow", allowed)],
            json.dumps({"message": f"{PREFIX}/{name} takes {allowed}"}).encode(),
        )

    def receive(self, name: str, request: LocalRequest) -> dict[str, Any]:
        text = request.body.decode("utf-8", errors="replace")
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        delivery = {
            "name": name,
            "received_at": datetime.fromtimestamp(self.clock(), UTC).isoformat(),
            "headers": {key: request.headers[key] for key in _SHOWN_HEADERS if key in request.headers},
            "body": body,
            "signature": self._check(body, request),
        }
        with self._lock:
            delivery["id"] = f"delivery_{next(self._numbers)}"
            self.deliveries.append(delivery)
        return delivery

    def _check(self, body: Any, request: LocalRequest) -> dict[str, Any]:
        detail = body.get("detail") if isinstance(body, dict) else None
        task_id = detail.get("task_id") if isinstance(detail, dict) else None
        if not isinstance(task_id, str):
            return {"valid": False, "reason": "the body names no task (detail.task_id), so no secret to check with"}
        secret = self.secret_for(task_id)
        if secret is None:
            return {"valid": False, "task_id": task_id, "reason": "no such task, or it has no webhook secret"}
        result = verify(secret, request.headers, request.body, int(self.clock()))
        return {"valid": result.valid, "task_id": task_id, "reason": result.reason}
