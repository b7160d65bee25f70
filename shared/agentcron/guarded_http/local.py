"""The local stack's loopback allowance: an explicit option, set by the local stack only.

``agentcron local`` serves a webhook inbox on its own loopback port and sets
``AGENTCRON_LOCAL_LOOPBACK_PORTS`` to that port, so a task there can name
``http://127.0.0.1:<port>/hooks/<name>`` as its webhook. template.yaml never
sets the variable: on AWS the production policy (public addresses, https
webhooks) is the only one. Metadata and link-local addresses stay refused
whatever is allowed here (``AddressPolicy``'s never-allowed ranges).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from agentcron.guarded_http.rules import DEFAULT_POLICY, AddressPolicy, IPNetwork

LOCAL_LOOPBACK_PORTS_ENV = "AGENTCRON_LOCAL_LOOPBACK_PORTS"
LOOPBACK_HOST = "127.0.0.1"
_LOOPBACK: frozenset[IPNetwork] = frozenset({ipaddress.ip_network("127.0.0.1/32")})


def local_loopback_ports(environ: Mapping[str, str] | None = None) -> frozenset[int]:
    """The loopback ports the local stack opened (none outside it)."""
    raw = (os.environ if environ is None else environ).get(LOCAL_LOOPBACK_PORTS_ENV, "")
    ports = {int(part) for part in raw.split(",") if part.strip().isdigit()}
    return frozenset(port for port in ports if 0 < port < 65536)


def local_policy(environ: Mapping[str, str] | None = None) -> AddressPolicy:
    """The production policy, plus 127.0.0.1 on the local stack's ports when it set them."""
    ports = local_loopback_ports(environ)
    if not ports:
        return DEFAULT_POLICY
    return AddressPolicy(extra_allowed=_LOOPBACK, allowed_ports=DEFAULT_POLICY.allowed_ports | ports)


def is_local_loopback_url(url: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``url`` is http://127.0.0.1:<a port the local stack opened>/…"""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return False
    return parts.scheme == "http" and parts.hostname == LOOPBACK_HOST and port in local_loopback_ports(environ)
