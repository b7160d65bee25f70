"""Connectors at the API's boundary and in the table.

A connector is one of an owner's remote MCP servers: a name (the prefix of its
tools' names, ``<connector>__<tool>``), a URL, a transport and how to
authenticate. The secret of the ``bearer`` and ``header`` kinds is sealed with
KMS before it is stored (``sealing``); what the API returns says only that it
is set (the API's ``ConnectorView``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AnyUrl, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from agentcron.guarded_http import MAX_URL_LENGTH, is_local_loopback_url

# The Messages API takes tool names matching ^[a-zA-Z0-9_-]{1,64}$. A connector's tools are
# offered as <connector>__<tool>: the name leaves 64 - 30 - 2 = 32 characters to the tool's own.
MAX_CONNECTOR_NAME = 30
CONNECTOR_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MAX_SECRET_CHARS = 4096
# Headers the MCP transport itself sets, or that change where or how a request goes:
# a connector's own header must not replace them.
RESERVED_HEADERS = frozenset(
    {
        "accept",
        "connection",
        "content-length",
        "content-type",
        "cookie",
        "host",
        "last-event-id",
        "mcp-protocol-version",
        "mcp-session-id",
        "proxy-authorization",
        "te",
        "transfer-encoding",
        "upgrade",
    }
)


def _unambiguous_prefix(value: str) -> str:
    # "<connector>__<tool>" must split at the first "__": the name holds none and does not end in "_".
    if "__" in value or value.endswith("_"):
        raise ValueError("a connector name must not contain '__' or end with '_'")
    return value


ConnectorName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_CONNECTOR_NAME, pattern=CONNECTOR_NAME_RE.pattern),
    AfterValidator(_unambiguous_prefix),
    Field(description="Lower-case letters, digits, '-' and single '_' (not last): the prefix of its tools' names"),
]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SECRET_CHARS, pattern=r"^[\x20-\x7e]+$")]
HeaderName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")]
Transport = Literal["streamable_http", "sse"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoAuth(_Input):
    type: Literal["none"]


class BearerAuth(_Input):
    type: Literal["bearer"]
    # repr=False: Powertools logs a route's parsed body at DEBUG, and the secret must not be in it.
    token: Secret = Field(repr=False)


class HeaderAuth(_Input):
    type: Literal["header"]
    name: HeaderName
    value: Secret = Field(repr=False)  # as BearerAuth.token

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value.lower() in RESERVED_HEADERS:
            raise ValueError(f"{value} is set by the MCP transport itself; choose another header")
        return value


Auth = Annotated[NoAuth | BearerAuth | HeaderAuth, Field(discriminator="type")]


def secret_of(auth: NoAuth | BearerAuth | HeaderAuth) -> str | None:
    if isinstance(auth, BearerAuth):
        return auth.token
    if isinstance(auth, HeaderAuth):
        return auth.value
    return None


def _connector_url(value: AnyUrl) -> AnyUrl:
    text = str(value)
    if len(text) > MAX_URL_LENGTH:
        raise ValueError(f"url is longer than {MAX_URL_LENGTH} characters")
    # The local stack's demo server is plain http on loopback; on AWS nothing opens that.
    if value.scheme != "https" and not is_local_loopback_url(text):
        raise ValueError("url must use https")
    if value.username or value.password:
        raise ValueError("url must not carry credentials (use auth)")
    return value


ConnectorUrl = Annotated[AnyUrl, Field(description="The MCP endpoint (https)")]


class ConnectorCreate(_Input):
    name: ConnectorName
    url: ConnectorUrl
    transport: Transport = "streamable_http"
    auth: Auth = Field(default_factory=lambda: NoAuth(type="none"))

    @field_validator("url")
    @classmethod
    def _url(cls, value: AnyUrl) -> AnyUrl:
        return _connector_url(value)


class ConnectorPatch(_Input):
    """Fields sent are replaced; ``auth``, when sent, replaces the whole of it (and its secret)."""

    name: ConnectorName | None = None
    url: ConnectorUrl | None = None
    transport: Transport | None = None
    auth: Auth | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: AnyUrl | None) -> AnyUrl | None:
        return None if value is None else _connector_url(value)


class ToolSummary(BaseModel):
    name: str = Field(description="The tool's name on the server")
    offered_as: str = Field(description="The name a task's agent sees: <connector>__<tool>")
    description: str | None = None


class Connector(BaseModel):
    """A connector as stored: the secret only sealed (KMS ciphertext, base64)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    owner: str
    name: str
    url: str
    transport: Transport
    auth_type: Literal["none", "bearer", "header"]
    header_name: str | None = None
    sealed_secret: str | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime
    # What its last successful test listed (GET /v1/tools shows them without connecting).
    tools: list[ToolSummary] | None = None
    tools_checked_at: datetime | None = None


class ConnectorTestResult(BaseModel):
    """What POST /v1/connectors/{id}/test found: the server's tools, or why it could not list them."""

    ok: bool
    reason: Literal["unreachable", "refused_address", "unauthorized", "not_mcp", "timeout", "error"] | None = None
    detail: str | None = None
    tools: list[ToolSummary] = Field(default_factory=list)
