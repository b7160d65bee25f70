"""Guarded outbound HTTP: the one entry point for calls to user-chosen addresses.

``web_fetch`` (the model's URLs), task webhooks (the owner's URLs) and the
connectors to come all call out through ``GuardedClient``: the SSRF rules
live in ``rules``, the pinned connections and the deadline in ``transport``,
the local stack's loopback allowance in ``local``. Standard library only:
this runs in the runner Lambda.
"""

from agentcron.guarded_http.client import Deadline, Exchange, GuardedClient
from agentcron.guarded_http.errors import Failed, GuardedHTTPError, Refused
from agentcron.guarded_http.local import (
    LOCAL_LOOPBACK_PORTS_ENV,
    is_local_loopback_url,
    local_loopback_ports,
    local_policy,
)
from agentcron.guarded_http.rules import (
    DEFAULT_POLICY,
    DEFAULT_PORTS,
    MAX_URL_LENGTH,
    AddressPolicy,
    IPAddress,
    IPNetwork,
    Target,
    parse_target,
)
from agentcron.guarded_http.transport import Resolver

__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_PORTS",
    "LOCAL_LOOPBACK_PORTS_ENV",
    "MAX_URL_LENGTH",
    "AddressPolicy",
    "Deadline",
    "Exchange",
    "Failed",
    "GuardedClient",
    "GuardedHTTPError",
    "IPAddress",
    "IPNetwork",
    "Refused",
    "Resolver",
    "Target",
    "is_local_loopback_url",
    "local_loopback_ports",
    "local_policy",
    "parse_target",
]
