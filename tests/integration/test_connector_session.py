"""The runner's MCP client (ConnectorSession, the real ``mcp`` SDK) against the local demo MCP
server over loopback: tools listed and namespaced, calls, the allow and deny lists, timeouts, the
result size limit, and the precise reasons a connection fails."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from agentcron.connectors.errors import ConnectorError
from agentcron.connectors.session import (
    TOOL_NAME_RE,
    ConnectorEndpoint,
    ConnectorSession,
    offered_name,
    probe,
)
from agentcron.guarded_http import DEFAULT_POLICY, AddressPolicy
from agentcron_local.demo_mcp import DemoMcpServer

LOOPBACK = frozenset({ipaddress.ip_network("127.0.0.1/32")})


def loopback_policy(*ports: int) -> AddressPolicy:
    """What the local stack allows: 127.0.0.1 on the ports it opened (as local_policy builds it)."""
    return AddressPolicy(extra_allowed=LOOPBACK, allowed_ports=DEFAULT_POLICY.allowed_ports | set(ports))


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoMcpServer]:
    server = DemoMcpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def protected() -> Iterator[DemoMcpServer]:
    server = DemoMcpServer(bearer_token="the-right-token").start()
    yield server
    server.stop()


class _Html(BaseHTTPRequestHandler):
    """A web server that is not an MCP server; with ?slow it never answers in time."""

    def do_POST(self) -> None:
        if "slow" in self.path:
            time.sleep(5)
        body = b"<html><body>hello</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def web_page() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Html)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def session(demo: DemoMcpServer, **options: object) -> ConnectorSession:
    endpoint = ConnectorEndpoint("mail", demo.url, allowed_tools=options.pop("allowed", None))  # type: ignore[arg-type]
    return ConnectorSession([endpoint], policy=loopback_policy(demo.port), **options)  # type: ignore[arg-type]


def test_lists_the_demo_tools_under_namespaced_names_with_their_schemas(demo: DemoMcpServer) -> None:
    with session(demo) as connected:
        names = {tool.name for tool in connected.tools}
        assert {"mail__search_messages", "mail__read_message", "mail__draft_email", "mail__send_email"} <= names
        assert all(TOOL_NAME_RE.match(name) for name in names)
        search = next(t for t in connected.definitions() if t["name"] == "mail__search_messages")
        assert search["input_schema"]["properties"]["query"]["type"] == "string"
        assert "query" in search["input_schema"]["required"]


def test_search_read_draft_and_send_reach_the_outbox(demo: DemoMcpServer) -> None:
    with session(demo) as connected:
        found, is_error = connected.call("mail__search_messages", {"query": "flight receipt"})
        assert not is_error and "msg_1" in found and "flight receipt" in found
        message, is_error = connected.call("mail__read_message", {"message_id": "msg_1"})
        assert not is_error and "QX7K2P" in message
        draft, _ = connected.call(
            "mail__draft_email", {"to": "rebecca@example.com", "subject": "Flight", "body": "Landing 14:05"}
        )
        draft_id = next(word.strip('",') for word in draft.split() if word.strip('",').startswith("draft_"))
        sent, is_error = connected.call("mail__send_email", {"draft_id": draft_id})
        assert not is_error and "sent_at" in sent
    assert [m["to"] for m in demo.mailbox.outbox][-1] == "rebecca@example.com"
    assert demo.mailbox.outbox[-1]["body"] == "Landing 14:05"


def test_a_tool_error_is_an_error_result_not_an_exception(demo: DemoMcpServer) -> None:
    with session(demo) as connected:
        text, is_error = connected.call("mail__read_message", {"message_id": "msg_404"})
        assert is_error and "no message msg_404" in text
        text, is_error = connected.call("mail__no_such_tool", {})
        assert is_error and "no connected tool" in text


def test_only_allowed_tools_are_offered_and_denied_ones_never(demo: DemoMcpServer) -> None:
    with session(demo, allowed={"search_messages", "send_email"}, denied={"mail__send_email"}) as connected:
        assert [tool.name for tool in connected.tools] == ["mail__search_messages"]
        text, is_error = connected.call("mail__send_email", {"draft_id": "draft_1"})
        assert is_error and "no connected tool" in text


def test_a_long_result_is_cut_to_the_limit_and_says_so(demo: DemoMcpServer) -> None:
    demo.mailbox.notes["long"] = "x" * 5000
    with session(demo, max_result_chars=300) as connected:
        text, is_error = connected.call("mail__read_note", {"key": "long"})
    assert not is_error
    assert text.startswith("x" * 300) and "[truncated: 300 of 5000 characters shown]" in text


def test_a_slow_tool_call_times_out_as_an_error_result(demo: DemoMcpServer) -> None:
    gate = threading.Event()
    original = demo.mailbox.search

    def stalled(query: str) -> list[dict[str, str]]:
        gate.wait(10)
        return original(query)

    demo.mailbox.search = stalled  # type: ignore[method-assign]
    try:
        with session(demo, call_timeout_seconds=1) as connected:
            started = time.monotonic()
            text, is_error = connected.call("mail__search_messages", {"query": "x"})
            assert is_error and "timed out" in text
            assert time.monotonic() - started < 5
    finally:
        gate.set()
        demo.mailbox.search = original  # type: ignore[method-assign]


def test_the_servers_401_is_unauthorized_and_the_token_opens_it(protected: DemoMcpServer) -> None:
    policy = loopback_policy(protected.port)
    with pytest.raises(ConnectorError) as refused:
        probe(ConnectorEndpoint("mail", protected.url), policy=policy)
    assert refused.value.reason == "unauthorized" and "401" in refused.value.detail
    wrong = ConnectorEndpoint("mail", protected.url, headers={"Authorization": "Bearer wrong"})
    with pytest.raises(ConnectorError, match="401"):
        probe(wrong, policy=policy)
    right = ConnectorEndpoint("mail", protected.url, headers={"Authorization": "Bearer the-right-token"})
    assert "mail__send_email" in {tool.name for tool in probe(right, policy=policy)}


def test_a_web_page_is_not_an_mcp_server(web_page: int) -> None:
    with pytest.raises(ConnectorError) as failed:
        probe(ConnectorEndpoint("web", f"http://127.0.0.1:{web_page}/"), policy=loopback_policy(web_page))
    assert failed.value.reason == "not_mcp" and "text/html" in failed.value.detail


def test_a_server_that_does_not_answer_in_time_is_a_timeout(web_page: int) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectorError) as failed:
        probe(
            ConnectorEndpoint("web", f"http://127.0.0.1:{web_page}/?slow"),
            policy=loopback_policy(web_page),
            connect_timeout_seconds=1,
            call_timeout_seconds=1,
        )
    assert failed.value.reason == "timeout"
    assert time.monotonic() - started < 4


def test_nothing_listening_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConnectorError) as failed:
        probe(ConnectorEndpoint("gone", f"http://127.0.0.1:{port}/mcp"), policy=loopback_policy(port))
    assert failed.value.reason == "unreachable" and failed.value.retryable


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://169.254.169.254/mcp", "metadata"),
        ("https://10.0.0.1/mcp", "private"),
        ("https://localhost/mcp", "loopback"),
    ],
)
def test_refused_addresses_are_refused_before_anything_is_sent(url: str, why: str) -> None:
    with pytest.raises(ConnectorError) as refused:
        probe(ConnectorEndpoint("bad", url), policy=DEFAULT_POLICY)
    assert refused.value.reason == "refused_address" and why in refused.value.detail
    assert not refused.value.retryable


def test_the_demo_on_loopback_is_refused_by_the_production_policy(demo: DemoMcpServer) -> None:
    with pytest.raises(ConnectorError) as refused:
        probe(ConnectorEndpoint("mail", demo.url), policy=DEFAULT_POLICY)
    assert refused.value.reason == "refused_address"


def test_a_name_that_resolves_to_a_refused_address_is_refused(demo: DemoMcpServer) -> None:
    def resolver(host: str, port: int, family: int, kind: int) -> list[tuple[object, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    endpoint = ConnectorEndpoint("mail", f"http://mcp.example.com:{demo.port}/mcp")
    policy = AddressPolicy(allowed_ports=DEFAULT_POLICY.allowed_ports | {demo.port})
    with pytest.raises(ConnectorError) as refused:
        probe(endpoint, policy=policy, resolver=resolver)
    assert refused.value.reason == "refused_address" and "resolves to 127.0.0.1" in refused.value.detail


def test_the_connection_goes_only_to_an_address_checked_at_connect_time(demo: DemoMcpServer) -> None:
    """DNS rebinding: the name passes the check before connecting, then resolves elsewhere. The
    SDK's connections go through the guarded backend, which checks again and refuses."""
    answers = iter(["127.0.0.1"])

    def resolver(host: str, port: int, family: int, kind: int) -> list[tuple[object, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers, "127.0.0.2"), port))]

    endpoint = ConnectorEndpoint("mail", f"http://mcp.example.com:{demo.port}/mcp")
    with pytest.raises(ConnectorError) as refused:
        probe(endpoint, policy=loopback_policy(demo.port), resolver=resolver)
    assert refused.value.reason == "refused_address" and "127.0.0.2" in refused.value.detail


def test_offered_names_fit_the_messages_api_rule() -> None:
    assert offered_name("mail", "send_email") == "mail__send_email"
    odd = offered_name("mail", "files/read.v2")
    long = offered_name("a" * 30, "t" * 60)
    assert TOOL_NAME_RE.match(odd) and TOOL_NAME_RE.match(long)
    assert offered_name("mail", "a.b") != offered_name("mail", "a_b")
