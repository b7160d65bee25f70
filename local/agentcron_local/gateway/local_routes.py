"""Routes the local stack serves itself, beside API Gateway's: the one place to plug one in.

A ``LocalRoute`` sees each request before API Gateway's routing does and
answers it, or returns None to leave it to the api function. Nothing here
runs on AWS: the webhook inbox (``agentcron_local.inbox``) is one, and the
web app's static files and dev sign-in can be others. Register one with
``GatewayServer.add_local_route`` (the stack's services get the gateway).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from agentcron_local.gateway.responses import HttpResponse


@dataclass(frozen=True)
class LocalRequest:
    method: str
    path: str  # percent-decoded, without the query
    query: str  # the raw query string
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    client: str  # the peer's address


class LocalRoute(Protocol):
    def answer(self, request: LocalRequest) -> HttpResponse | None:
        """The response to ``request``, or None when this route does not take it."""
        ...
