"""Connectors end to end on the local stack: registered through the API, the secret sealed with
(moto's) KMS and never shown or logged, tested by the runner against the bundled demo MCP server,
a bearer-protected one and refused addresses, and another owner kept out."""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from agentcron.guarded_http import LOCAL_LOOPBACK_PORTS_ENV
from agentcron_local import tokens
from agentcron_local.demo_mcp import DemoMcpServer
from agentcron_local.stack import LocalStack, StackOptions

TOKEN = "tok-4b1d9c-never-shown"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with pytest.MonkeyPatch.context() as env:
        for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_SECRET_ARN"):
            env.delenv(name, raising=False)
        state: Path = tmp_path_factory.mktemp("connectors") / "state"
        options = StackOptions(port=0, moto_port=0, state_dir=state, access_log=False, persist=False)
        with LocalStack(options, out=io.StringIO()) as running:
            yield running


@pytest.fixture(scope="module")
def protected(stack: LocalStack) -> Iterator[DemoMcpServer]:
    """A bearer-protected demo server, on a loopback port the stack is told to allow."""
    server = DemoMcpServer(bearer_token=TOKEN).start()
    before = os.environ[LOCAL_LOOPBACK_PORTS_ENV]
    os.environ[LOCAL_LOOPBACK_PORTS_ENV] = f"{before},{server.port}"
    yield server
    os.environ[LOCAL_LOOPBACK_PORTS_ENV] = before
    server.stop()


def auth(user: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.issue_token(user)}"}


def create(stack: LocalStack, body: dict[str, Any], user: str = "alice") -> requests.Response:
    return requests.post(f"{stack.api_url}/v1/connectors", json=body, headers=auth(user), timeout=30)


def test_the_banner_names_the_demo_mcp_server(stack: LocalStack) -> None:
    assert stack.demo_mcp is not None
    assert stack.demo_mcp.url in stack.banner()


def test_register_and_test_the_demo_connector(stack: LocalStack) -> None:
    assert stack.demo_mcp is not None
    created = create(stack, {"name": "mail", "url": stack.demo_mcp.url})
    assert created.status_code == 201, created.text
    connector = created.json()
    assert connector["id"].startswith("conn_") and connector["transport"] == "streamable_http"
    assert connector["auth"] == {"type": "none", "name": None, "secret_set": False}
    assert created.headers["Location"] == f"/v1/connectors/{connector['id']}"
    tested = requests.post(f"{stack.api_url}{connector['_links']['test']['href']}", headers=auth(), timeout=60)
    assert tested.status_code == 200, tested.text
    result = tested.json()
    assert result["ok"] is True and result["reason"] is None
    offered = {tool["offered_as"]: tool for tool in result["tools"]}
    assert offered["mail__search_messages"]["name"] == "search_messages"
    assert offered["mail__send_email"]["description"]
    # GET /v1/tools now lists them for Alice (as the test found them), and for nobody else.
    listed = requests.get(f"{stack.api_url}/v1/tools", headers=auth(), timeout=30).json()["items"]
    by_name = {tool["name"]: tool for tool in listed}
    assert by_name["web_fetch"]["kind"] == "client" and by_name["web_search"]["kind"] == "server"
    search = by_name["mail__search_messages"]
    assert (search["kind"], search["connector_id"], search["tool"]) == ("connector", connector["id"], "search_messages")
    assert search["checked_at"] and search["description"]
    for_bob = requests.get(f"{stack.api_url}/v1/tools", headers=auth("bob"), timeout=30).json()["items"]
    assert not [tool for tool in for_bob if tool["kind"] == "connector"]
    # Keeping the list is not an edit: the connector's version (and an If-Match on it) stands.
    again = requests.get(f"{stack.api_url}/v1/connectors/{connector['id']}", headers=auth(), timeout=30).json()
    assert again["version"] == 1


def test_the_secret_is_sealed_never_returned_and_never_logged(
    stack: LocalStack, protected: DemoMcpServer, capfd: pytest.CaptureFixture[str]
) -> None:
    body = {"name": "private-mail", "url": protected.url, "auth": {"type": "bearer", "token": TOKEN}}
    created = create(stack, body)
    assert created.status_code == 201, created.text
    connector_id = created.json()["id"]
    assert created.json()["auth"] == {"type": "bearer", "name": None, "secret_set": True}
    shown = [
        created.text,
        requests.get(f"{stack.api_url}/v1/connectors/{connector_id}", headers=auth(), timeout=30).text,
        requests.get(f"{stack.api_url}/v1/connectors", headers=auth(), timeout=30).text,
    ]
    tested = requests.post(f"{stack.api_url}/v1/connectors/{connector_id}/test", headers=auth(), timeout=60)
    assert tested.json()["ok"] is True, tested.text  # the runner opened the secret and the server took it
    shown.append(tested.text)
    assert not any(TOKEN in text for text in shown)
    # In the table only sealed: KMS ciphertext that opens with this owner's and connector's context only.
    table = boto3.resource("dynamodb").Table(stack.env["TABLE_NAME"])
    item = table.get_item(Key={"PK": f"CONN#{connector_id}", "SK": "CONN"})["Item"]
    assert TOKEN not in repr(item)
    kms = boto3.client("kms")
    blob = base64.b64decode(str(item["sealed_secret"]))
    context = {"owner": "alice", "connector_id": connector_id}
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"].decode() == TOKEN
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={**context, "owner": "bob"})
    captured = capfd.readouterr()
    assert TOKEN not in captured.out and TOKEN not in captured.err


def test_a_wrong_token_is_the_servers_401(stack: LocalStack, protected: DemoMcpServer) -> None:
    body = {
        "name": "wrong-token",
        "url": protected.url,
        "auth": {"type": "header", "name": "Authorization", "value": "Bearer nope"},
    }
    connector_id = create(stack, body).json()["id"]
    result = requests.post(f"{stack.api_url}/v1/connectors/{connector_id}/test", headers=auth(), timeout=60).json()
    assert result["ok"] is False and result["reason"] == "unauthorized" and "401" in result["detail"]
    fixed = requests.patch(
        f"{stack.api_url}/v1/connectors/{connector_id}",
        json={"auth": {"type": "bearer", "token": TOKEN}},
        headers={**auth(), "If-Match": '"1"'},
        timeout=30,
    )
    assert fixed.status_code == 200 and fixed.json()["version"] == 2 and fixed.json()["auth"]["secret_set"]
    result = requests.post(f"{stack.api_url}/v1/connectors/{connector_id}/test", headers=auth(), timeout=60).json()
    assert result["ok"] is True


@pytest.mark.parametrize(
    ("url", "why"), [("https://169.254.169.254/mcp", "metadata"), ("https://10.0.0.1/mcp", "private address")]
)
def test_a_refused_address_says_so(stack: LocalStack, url: str, why: str) -> None:
    name = "refused-" + why.split()[0]
    connector_id = create(stack, {"name": name, "url": url}).json()["id"]
    result = requests.post(f"{stack.api_url}/v1/connectors/{connector_id}/test", headers=auth(), timeout=60).json()
    assert result == {"ok": False, "reason": "refused_address", "detail": result["detail"], "tools": []}
    assert why in result["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "plain", "url": "http://mcp.example.com/mcp"}, "url"),
        ({"name": "a__b", "url": "https://mcp.example.com/mcp"}, "name"),
        ({"name": "Mail", "url": "https://mcp.example.com/mcp"}, "name"),
        (
            {
                "name": "h",
                "url": "https://mcp.example.com/mcp",
                "auth": {"type": "header", "name": "Host", "value": "x"},
            },
            "auth",
        ),
        ({"name": "t", "url": "https://mcp.example.com/mcp", "auth": {"type": "bearer"}}, "auth"),
    ],
)
def test_invalid_connectors_are_422_naming_the_field(stack: LocalStack, body: dict[str, Any], field: str) -> None:
    answered = create(stack, body)
    assert answered.status_code == 422, answered.text
    assert any(error["field"].startswith(f"body.{field}") for error in answered.json()["errors"])


def test_a_second_connector_with_the_same_name_is_409(stack: LocalStack) -> None:
    assert create(stack, {"name": "twice", "url": "https://mcp.example.com/mcp"}).status_code == 201
    assert create(stack, {"name": "twice", "url": "https://mcp.example.com/other"}).status_code == 409


def test_bob_can_neither_see_test_edit_nor_delete_alices_connector(stack: LocalStack) -> None:
    connector_id = create(stack, {"name": "alices", "url": "https://mcp.example.com/mcp"}).json()["id"]
    base = f"{stack.api_url}/v1/connectors/{connector_id}"
    bob = auth("bob")
    assert requests.get(base, headers=bob, timeout=30).status_code == 404
    assert requests.post(f"{base}/test", headers=bob, timeout=30).status_code == 404
    assert requests.patch(base, json={"name": "mine"}, headers=bob, timeout=30).status_code == 404
    assert requests.delete(base, headers=bob, timeout=30).status_code == 404
    listed = requests.get(f"{stack.api_url}/v1/connectors", headers=bob, timeout=30).json()
    assert connector_id not in {c["id"] for c in listed["items"]}
    # Still Alice's, unchanged; and she can delete it.
    assert requests.get(base, headers=auth(), timeout=30).json()["name"] == "alices"
    assert requests.delete(base, headers=auth(), timeout=30).status_code == 204
    assert requests.get(base, headers=auth(), timeout=30).status_code == 404
