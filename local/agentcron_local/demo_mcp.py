"""A demo MCP server for the local stack: a mailbox and a notes store, over streamable HTTP on loopback.

Built with the ``mcp`` SDK's ``MCPServer`` (FastMCP in mcp 1.x) and served by
uvicorn in a thread. Register it as a connector
(``{"name": "mail", "url": "<banner URL>"}``) and a task's agent can list,
search and read the mailbox, draft a message and send it; what was sent lands
in the outbox, which ``GET <base>/outbox`` shows (loopback only, like the
webhook inbox). With ``bearer_token`` set the server answers 401 without it
(the tests' protected server).
"""

from __future__ import annotations

import itertools
import socket
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

MCP_PATH = "/mcp"
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

SAMPLE_MESSAGES: tuple[dict[str, str], ...] = (
    {
        "from": "receipts@skyways.example",
        "subject": "Your flight receipt: LIS to BER, 14 March",
        "date": "2026-12-01T08:12:00Z",
        "body": "Thank you for flying Skyways. Booking ref QX7K2P. Lisbon 09:40 to Berlin 14:05 on 14 March. "
        "Total paid EUR 214.80.",
    },
    {
        "from": "rebecca@example.com",
        "subject": "Trip to Berlin?",
        "date": "2026-11-30T17:45:00Z",
        "body": "Hi! Did you book the flight yet? Send me the times when you have them, I'll pick you up.",
    },
    {
        "from": "newsletter@bakery.example",
        "subject": "This week's bread",
        "date": "2026-11-29T06:00:00Z",
        "body": "Sourdough, rye and a new seeded loaf. Open Saturday 7 to 13.",
    },
)


@dataclass
class Mailbox:
    """The demo's state: messages, drafts, the outbox and notes (in memory, per server)."""

    messages: list[dict[str, str]] = field(default_factory=list)
    drafts: dict[str, dict[str, str]] = field(default_factory=dict)
    outbox: list[dict[str, str]] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def with_samples(cls) -> Mailbox:
        box = cls()
        for number, message in enumerate(SAMPLE_MESSAGES, 1):
            box.messages.append({"id": f"msg_{number}", **message})
        return box

    def summary(self, message: dict[str, str]) -> dict[str, str]:
        return {key: message[key] for key in ("id", "from", "subject", "date")}

    def search(self, query: str) -> list[dict[str, str]]:
        words = query.lower().split()
        return [
            self.summary(m)
            for m in self.messages
            if all(word in f"{m['from']} {m['subject']} {m['body']}".lower() for word in words)
        ]

    def read(self, message_id: str) -> dict[str, str]:
        for message in self.messages:
            if message["id"] == message_id:
                return message
        raise ToolError(f"no message {message_id}; list_messages shows the ids")

    def draft(self, to: str, subject: str, body: str) -> dict[str, str]:
        with self._lock:
            draft = {"id": f"draft_{next(self._ids)}", "to": to, "subject": subject, "body": body}
            self.drafts[draft["id"]] = draft
        return draft

    def send(self, draft_id: str) -> dict[str, str]:
        with self._lock:
            draft = self.drafts.pop(draft_id, None)
            if draft is None:
                raise ToolError(f"no draft {draft_id}; draft_email makes one")
            sent = {**draft, "sent_at": datetime.now(UTC).isoformat()}
            self.outbox.append(sent)
        return sent


def build_server(mailbox: Mailbox) -> MCPServer:
    server = MCPServer(
        "agentcron demo mailbox",
        instructions="A demo mailbox and notes store for agentcron tasks.",
        # The SDK configures the root logger at this level: at its default INFO, every botocore
        # "Found credentials" line of the whole local stack reached the terminal.
        log_level="WARNING",
    )

    @server.tool()
    def list_messages() -> list[dict[str, str]]:
        """List the messages in the inbox (id, from, subject, date), newest first."""
        return [mailbox.summary(m) for m in mailbox.messages]

    @server.tool()
    def search_messages(query: str) -> list[dict[str, str]]:
        """Find messages whose sender, subject or body contains every word of the query."""
        return mailbox.search(query)

    @server.tool()
    def read_message(message_id: str) -> dict[str, str]:
        """Read one message, with its body."""
        return mailbox.read(message_id)

    @server.tool()
    def draft_email(to: str, subject: str, body: str) -> dict[str, str]:
        """Draft an email; send_email sends it by its id."""
        return mailbox.draft(to, subject, body)

    @server.tool()
    def send_email(draft_id: str) -> dict[str, str]:
        """Send a draft: it goes to the outbox."""
        return mailbox.send(draft_id)

    @server.tool()
    def save_note(key: str, text: str) -> str:
        """Save a note under a key (replacing what was there)."""
        mailbox.notes[key] = text
        return f"saved note {key}"

    @server.tool()
    def read_note(key: str) -> str:
        """Read the note saved under a key."""
        if key not in mailbox.notes:
            raise ToolError(f"no note {key}")
        return mailbox.notes[key]

    @server.tool()
    def list_notes() -> list[str]:
        """The keys of the saved notes."""
        return sorted(mailbox.notes)

    return server


class _BearerRequired:
    """ASGI middleware: 401 unless the request carries the bearer token (the protected demo)."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and dict(scope.get("headers", [])).get(b"authorization") != self.expected:
            response = JSONResponse({"error": "invalid_token"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _loopback_only(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def guarded(request: Request) -> Response:
        if request.client is None or request.client.host not in ("127.0.0.1", "::1"):
            return JSONResponse({"message": "Not Found"}, status_code=404)
        return await handler(request)

    return guarded


@dataclass
class DemoMcpServer:
    """The demo server on 127.0.0.1 (port 0: any free one), in a thread."""

    host: str = "127.0.0.1"
    port: int = 0
    bearer_token: str | None = None
    mailbox: Mailbox = field(default_factory=Mailbox.with_samples)
    name: str = "demo MCP server"
    _socket: socket.socket | None = None
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    def bind(self) -> DemoMcpServer:
        """Take the port now (the stack lists it among the loopback ports before the API loads)."""
        if self._socket is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(64)
            self._socket = sock
            self.port = sock.getsockname()[1]
        return self

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The MCP endpoint: what a connector's ``url`` names."""
        return f"{self.base_url}{MCP_PATH}"

    def app(self) -> Any:
        mcp_app = build_server(self.mailbox).streamable_http_app(streamable_http_path=MCP_PATH, host=self.host)
        protected: Any = _BearerRequired(mcp_app, self.bearer_token) if self.bearer_token else mcp_app

        async def outbox(request: Request) -> Response:
            return JSONResponse({"outbox": self.mailbox.outbox, "drafts": list(self.mailbox.drafts.values())})

        async def notes(request: Request) -> Response:
            return JSONResponse({"notes": self.mailbox.notes})

        # The MCP app's lifespan starts its session manager: the outer app must run it.
        return Starlette(
            routes=[
                Route("/outbox", _loopback_only(outbox)),
                Route("/notes", _loopback_only(notes)),
                Mount("/", app=protected),
            ],
            lifespan=lambda _app: mcp_app.router.lifespan_context(mcp_app),  # type: ignore[arg-type]
        )

    def start(self) -> DemoMcpServer:
        self.bind()
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="on", access_log=False)
        self._server = uvicorn.Server(config)
        sockets = [self._socket] if self._socket is not None else None
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": sockets}, name=self.name, daemon=True
        )
        self._thread.start()
        deadline = threading.Event()
        for _ in range(200):
            if self._server.started:
                break
            deadline.wait(0.025)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        if self._socket is not None:
            self._socket.close()
            self._socket = None
