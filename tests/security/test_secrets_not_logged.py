"""Secrets never reach a log, a stored item, a transcript or a response.

An in-process local stack runs the real api, dispatcher and runner handlers
(the queue poller invokes the runner, as Lambda's SQS event source would) with
the real anthropic SDK talking to the fake Messages API. The Anthropic key is
a recognisable secret, first from ``ANTHROPIC_API_KEY`` (local), then from a
Secrets Manager secret (``ANTHROPIC_SECRET_ARN``, as deployed); the fake model
checks that it receives exactly that key, so the secret is really in use.

Representative flows run on it: a plain run, ask_user → WAITING_INPUT →
reply, a 429 retried by the queue, a permanent 401 from the model, an
SSRF-refused web_fetch, memory tools, listings and stats, requests with
expired and forged bearer tokens. Everything logged is captured: every
logging record of every logger (root and non-propagating ones like
Powertools'), the process's stdout/stderr at the file-descriptor level (moto,
the gateway, print), and the stack's own output. None of it may contain the
Anthropic key or any bearer token (nor a token's signature, which would be
enough to replay it).
"""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from agentcron import bootstrap
from agentcron.observability import logger as app_logger
from agentcron_local import fake_model, tokens
from agentcron_local.fake_model import FakeModel
from agentcron_local.services import poller_for, ticker_for
from agentcron_local.stack import LocalStack, StackOptions

from tests.infrastructure import iam

ENV_SECRET = "sk-ant-test-SECRET-123-from-env"
MANAGER_SECRET = "sk-ant-test-SECRET-456-from-secrets-manager"
CONNECTOR_SECRET = "mcp-test-SECRET-789-of-a-connector"
FINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED", "SKIPPED"})


class Capture(logging.Handler):
    """Every record, rendered with all it carries: message, args, extra keys, exception."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        parts = [record.name, record.levelname]
        try:
            parts.append(record.getMessage())
        except Exception:  # a bad format string must not hide the raw message
            parts.append(repr(record.msg))
        parts.append(repr({k: v for k, v in vars(record).items() if k not in {"msg", "args"}}))
        parts.append(repr(record.args))
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        self.texts.append("\n".join(parts))


@dataclass
class Logs:
    """A capture handler on the root logger and on every logger that does not propagate."""

    level: int
    handler: Capture = field(default_factory=Capture)
    _attached: list[logging.Logger] = field(default_factory=list)
    _levels: dict[str, int] = field(default_factory=dict)

    def __enter__(self) -> Logs:
        root = logging.getLogger()
        loggers = [root] + [
            item for item in logging.root.manager.loggerDict.values() if isinstance(item, logging.Logger)
        ]
        for each in loggers:
            if each is root or not each.propagate:
                each.addHandler(self.handler)
                self._attached.append(each)
        self._levels = {"": root.level, app_logger.name: app_logger.log_level}
        root.setLevel(self.level)
        app_logger.setLevel(self.level)
        return self

    def __exit__(self, *exc: object) -> None:
        for each in self._attached:
            each.removeHandler(self.handler)
        logging.getLogger().setLevel(self._levels[""])
        app_logger.setLevel(self._levels[app_logger.name])

    @property
    def text(self) -> str:
        return "\n".join(self.handler.texts)


@dataclass
class Client:
    api: str
    auth: dict[str, str]
    responses: list[str] = field(default_factory=list)
    run_timeout: float = 60

    def call(self, method: str, path: str, body: Any = None, expect: int | None = None) -> Any:
        response = requests.request(method, self.api + path, json=body, headers=self.auth, timeout=30)
        self.responses.append(f"{response.status_code} {dict(response.headers)} {response.text}")
        if expect is not None:
            assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.text else None

    def wait(self, run_id: str, until: frozenset[str] = FINAL) -> dict[str, Any]:
        timeout = self.run_timeout
        deadline = time.monotonic() + timeout
        while True:
            run: dict[str, Any] = self.call("GET", f"/v1/runs/{run_id}", expect=200)
            if run["status"] in until:
                return run
            assert time.monotonic() < deadline, f"run {run_id} still {run['status']} after {timeout}s"
            time.sleep(0.2)

    def start(self, prompt: str, **fields: Any) -> str:
        body = {"name": "secrets", "prompt": prompt, "schedule": {"type": "manual"}, **fields}
        task = self.call("POST", "/v1/tasks", body, expect=201)
        run: dict[str, Any] = self.call("POST", f"/v1/tasks/{task['id']}/runs", {}, expect=202)
        return str(run["id"])


TOOLS = {"tools": ["ask_user", "web_fetch", "remember", "recall"]}
FLOWS: dict[str, tuple[str, dict[str, Any]]] = {
    "plain": ("Summarise the incidents", {}),
    "ask": ("ask: Which region?", {"agent": TOOLS}),
    "retried": ("flaky\nfail: 429 x1", {}),
    "unauthorised": ("refused\nfail: 401 x9", {}),
    "ssrf": ("fetch: http://169.254.169.254/latest/meta-data/iam/", {"agent": TOOLS}),
    "memory": ("remember: colour=blue\nrecall: colour", {"agent": TOOLS}),
}
EXPECTED = {"plain": "SUCCEEDED", "ask": "SUCCEEDED", "retried": "SUCCEEDED", "unauthorised": "FAILED"}
EXPECTED |= {"ssrf": "SUCCEEDED", "memory": "SUCCEEDED"}


def representative_flows(client: Client, names: list[str]) -> dict[str, dict[str, Any]]:
    started = {name: client.start(FLOWS[name][0], **FLOWS[name][1]) for name in names}
    if "ask" in started:
        waiting = client.wait(started["ask"], FINAL | {"WAITING_INPUT"})
        assert waiting["status"] == "WAITING_INPUT", waiting
        client.call("POST", f"/v1/runs/{started['ask']}/reply", {"reply": "eu-west-1"}, expect=202)
    runs = {name: client.wait(run_id) for name, run_id in started.items()}
    for run in runs.values():
        client.call("GET", f"/v1/tasks/{run['task_id']}/stats", expect=200)
        if "transcript" in run["_links"]:
            client.call("GET", f"/v1/runs/{run['id']}/transcript", expect=200)
    client.call("GET", "/v1/runs?limit=100", expect=200)
    client.call("GET", "/v1/tasks?limit=100", expect=200)
    return runs


@dataclass
class SecretsStack:
    stack: LocalStack
    model: FakeModel
    out: io.StringIO
    keys_seen: list[str]


@pytest.fixture
def secrets_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretsStack]:
    model = FakeModel().start()
    keys_seen: list[str] = []
    original = fake_model._Handler._api_key

    def recording(handler: Any) -> str:
        key: str = original(handler)
        keys_seen.append(key)
        return key

    monkeypatch.setattr(fake_model._Handler, "_api_key", recording)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ENV_SECRET)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", model.base_url)
    monkeypatch.delenv("ANTHROPIC_SECRET_ARN", raising=False)
    monkeypatch.setenv("RETRY_BASE_SECONDS", "1")
    out = io.StringIO()
    options = StackOptions(port=0, moto_port=0, state_dir=tmp_path / "state", access_log=True, persist=False)
    # The ticker and the queue poller (runner); not the stack's own model service, which
    # would replace the key with its placeholder.
    with LocalStack(options, service_factories=[ticker_for, poller_for], out=out) as stack:
        yield SecretsStack(stack, model, out, keys_seen)
    model.stop()
    bootstrap.reset()


def _secret_forms(secret: str) -> list[str]:
    return [secret, json.dumps(secret)[1:-1], secret.encode().hex()]


def _token_forms(token: str) -> list[str]:
    _header, payload, signature = token.split(".")
    return [token, signature, f"{payload}.{signature}"]


def _scan(haystacks: dict[str, str], needles: dict[str, list[str]]) -> list[str]:
    found = []
    for where, text in haystacks.items():
        for what, forms in needles.items():
            for form in forms:
                if form in text:
                    index = text.index(form)
                    found.append(f"{what} in {where}: ...{text[max(0, index - 200) : index + 80]!r}...")
    return found


def _stored(stack: LocalStack) -> dict[str, str]:
    """Everything at rest: table items, S3 objects (transcripts)."""
    table = boto3.resource("dynamodb").Table(stack.env["TABLE_NAME"])
    items = table.scan()["Items"]
    s3 = boto3.client("s3")
    bucket = stack.env["ARTIFACTS_BUCKET"]
    objects = [
        s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().decode(errors="replace")
        for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    ]
    assert items and objects, "the flows stored runs and transcripts"
    return {"table": repr(items), "transcripts": "\n".join(objects)}


def _bad_token_requests(api: str, user: str) -> list[str]:
    """Requests the authorizer refuses: their tokens must not be logged either."""
    expired = tokens.issue_token(user, ttl_seconds=60, now=time.time() - 3600)
    valid = tokens.issue_token(user)
    header, payload, signature = valid.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    for token in (expired, forged):
        response = requests.get(f"{api}/v1/tasks", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert response.status_code == 403, response.text  # the Lambda authorizer's refusal
    return [expired, forged]


def connector_and_api_key_flows(client: Client, demo_url: str) -> tuple[dict[str, Any], str]:
    """A connector with a header secret: registered, tested, used by a run (its tool call in the
    transcript); an API key: created (the one response that holds it is kept out of the scan,
    it is the key's only delivery), used for a listing, listed and revoked
    (its refusal is tests/e2e/test_api_keys.py's)."""
    auth = {"type": "header", "name": "X-Demo-Key", "value": CONNECTOR_SECRET}
    body = {"name": "mail", "url": demo_url, "auth": auth}
    connector = client.call("POST", "/v1/connectors", body, expect=201)
    assert connector["auth"].get("secret_set") is True, connector
    tested = client.call("POST", f"/v1/connectors/{connector['id']}/test", {}, expect=200)
    assert tested["ok"] is True, tested
    client.call("GET", "/v1/connectors", expect=200)
    client.call("GET", "/v1/tools", expect=200)
    grant = {"agent": {"connectors": [{"connector": connector["id"]}]}}
    run = client.wait(client.start('Find it\ntool: mail__search_messages {"query": "receipt"}', **grant))
    client.call("GET", f"/v1/runs/{run['id']}/transcript", expect=200)

    created = requests.post(client.api + "/v1/api-keys", json={"name": "ci"}, headers=client.auth, timeout=30)
    assert created.status_code == 201, created.text
    key, key_id = created.json()["key"], created.json()["id"]
    as_key = Client(client.api, {"Authorization": f"Bearer {key}"}, responses=client.responses)
    as_key.call("GET", "/v1/tasks", expect=200)
    client.call("GET", "/v1/api-keys", expect=200)
    client.call("DELETE", f"/v1/api-keys/{key_id}", expect=204)
    return run, key


def run_everything(stack: SecretsStack, level: int, capfd: pytest.CaptureFixture[str]) -> None:
    alice, bob = tokens.issue_token("alice"), tokens.issue_token("bob")
    # Put there by the operator (outside the capture: this is not the application's doing).
    name = f"agentcron-{uuid.uuid4().hex[:8]}/anthropic-api-key"  # moto's backends outlive a stack
    arn = boto3.client("secretsmanager").create_secret(Name=name, SecretString=MANAGER_SECRET)["ARN"]
    with Logs(level) as logs:
        # Logging everything at DEBUG slows the whole stack down several times over.
        timeout = 60 if level >= logging.INFO else 300
        client = Client(stack.stack.api_url, {"Authorization": f"Bearer {alice}"}, run_timeout=timeout)
        runs = representative_flows(client, list(FLOWS))
        Client(stack.stack.api_url, {"Authorization": f"Bearer {bob}"}).call("GET", f"/v1/runs/{runs['plain']['id']}")
        rejected = _bad_token_requests(stack.stack.api_url, "alice")
        assert stack.stack.demo_mcp is not None
        connected, api_key = connector_and_api_key_flows(client, stack.stack.demo_mcp.url)

        # Now as deployed: the key from Secrets Manager (fetched once, cached), not the environment.
        with pytest.MonkeyPatch.context() as env:
            env.delenv("ANTHROPIC_API_KEY")
            env.setenv("ANTHROPIC_SECRET_ARN", arn)
            bootstrap.reset()
            # The paths that touch the key: a call, a retried call, a refused key.
            deployed = representative_flows(client, ["plain", "retried", "unauthorised"])
            bootstrap.reset()
    captured = capfd.readouterr()

    assert {name: run["status"] for name, run in runs.items()} == EXPECTED
    assert {name: run["status"] for name, run in deployed.items()} == {n: EXPECTED[n] for n in deployed}
    assert connected["status"] == "SUCCEEDED", connected
    assert runs["retried"]["attempt"] == 2 and deployed["retried"]["attempt"] == 2
    assert (runs["ssrf"]["output"] or "").startswith("web_fetch failed:"), runs["ssrf"]["output"]
    # The secrets were really used, each in its phase, and nothing else was sent as a key.
    assert set(stack.keys_seen) == {ENV_SECRET, MANAGER_SECRET}, set(stack.keys_seen)
    assert len(logs.handler.texts) > 20, "the capture saw the application's logs"
    assert "unhandled error" not in logs.text

    haystacks = {
        "log records": logs.text,
        "stdout": captured.out,
        "stderr": captured.err,
        "stack output": stack.out.getvalue(),
        "API responses": "\n".join(client.responses),
        **_stored(stack.stack),
    }
    needles = {
        "the Anthropic key (env)": _secret_forms(ENV_SECRET),
        "the Anthropic key (Secrets Manager)": _secret_forms(MANAGER_SECRET),
        **{f"bearer token {i}": _token_forms(t) for i, t in enumerate([alice, bob, *rejected])},
        "a connector's secret": _secret_forms(CONNECTOR_SECRET),
        "an API key": _secret_forms(api_key),
    }
    leaks = _scan(haystacks, needles)
    assert leaks == [], "\n\n".join(leaks)


def test_no_secret_or_token_is_logged_or_stored_at_info(
    secrets_stack: SecretsStack, capfd: pytest.CaptureFixture[str]
) -> None:
    """INFO is the functions' level in the template (POWERTOOLS_LOG_LEVEL, and the Lambda
    application log level's default)."""
    run_everything(secrets_stack, logging.INFO, capfd)


@pytest.mark.slow
def test_no_secret_or_token_is_logged_or_stored_at_debug(
    secrets_stack: SecretsStack, capfd: pytest.CaptureFixture[str]
) -> None:
    """An operator who turns the log level to DEBUG to chase a problem must not leak the key."""
    run_everything(secrets_stack, logging.DEBUG, capfd)


def test_no_function_logs_its_events() -> None:
    """Powertools' POWERTOOLS_LOGGER_LOG_EVENT would log every API event, Authorization header
    included: the template must not turn it on for any function."""
    template = iam.load_sam_template()
    environments = [template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})]
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            environments.append(resource.get("Properties", {}).get("Environment", {}).get("Variables", {}))
    for variables in environments:
        assert str(variables.get("POWERTOOLS_LOGGER_LOG_EVENT", "false")).lower() != "true", variables
