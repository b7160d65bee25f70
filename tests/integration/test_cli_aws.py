"""`--stack` (the ApiUrl output) and `token --cognito` (USER_PASSWORD_AUTH) against
moto's in-process CloudFormation and Cognito. moto is not AWS: this checks the
CLI's calls and its error messages, not Cognito's exact behaviour."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import jwt
import pytest
from agentcron_local import cli
from moto import mock_aws

API_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/"
PASSWORD = "Corr3ct-horse!"


@dataclass
class Deployed:
    client_id: str
    pool_id: str


def deploy(name: str, outputs: dict[str, str]) -> None:
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


@pytest.fixture(scope="module")
def aws() -> Iterator[Deployed]:
    """An "agentcron" stack with the template's outputs, and a user pool with alice in it
    (one per module: moto's first import of these services takes seconds)."""
    with pytest.MonkeyPatch.context() as env, mock_aws():
        # The suite's moto server must not take these calls: mock_aws answers in-process.
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
            env.delenv(name, raising=False)
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }.items():
            env.setenv(name, value)
        for name in ("AGENTCRON_ENDPOINT", "AGENTCRON_TOKEN", "AGENTCRON_PROFILE", "AGENTCRON_PASSWORD"):
            env.delenv(name, raising=False)
        cognito = boto3.client("cognito-idp")
        pool_id = cognito.create_user_pool(PoolName="agentcron-users")["UserPool"]["Id"]
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id, ClientName="agentcron-cli", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        cognito.admin_create_user(UserPoolId=pool_id, Username="alice", TemporaryPassword="Temp-pass-1!")
        cognito.admin_set_user_password(UserPoolId=pool_id, Username="alice", Password=PASSWORD, Permanent=True)
        deploy("agentcron", {"ApiUrl": API_URL, "UserPoolClientId": client_id, "UserPoolId": pool_id})
        yield Deployed(client_id=client_id, pool_id=pool_id)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        code = cli.main(list(argv), stdout=out, stderr=err)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_cognito_sign_in_prints_the_id_token(aws: Deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTCRON_PASSWORD", PASSWORD)
    code, out, err = run("token", "--cognito", "--stack", "agentcron", "--username", "alice")
    assert code == 0, err
    token = out.strip()
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    assert claims["token_use"] == "id"
    assert claims["cognito:username"] == "alice"
    assert claims["aud"] == aws.client_id, "signed in through the stack's app client"


def test_a_wrong_password_exits_4(aws: Deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTCRON_PASSWORD", "wrong")
    code, out, err = run("token", "--cognito", "--stack", "agentcron", "alice")
    assert (code, out) == (4, "")
    assert "Cognito refused the sign-in" in err


def test_a_temporary_password_says_how_to_set_a_permanent_one(aws: Deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    boto3.client("cognito-idp").admin_create_user(
        UserPoolId=aws.pool_id, Username="bob", TemporaryPassword="Temp-pass-2!"
    )
    monkeypatch.setenv("AGENTCRON_PASSWORD", "Temp-pass-2!")
    code, _, err = run("token", "--cognito", "--stack", "agentcron", "--username", "bob")
    assert code == 4
    assert "NEW_PASSWORD_REQUIRED" in err and "admin-set-user-password" in err


def test_cognito_needs_a_stack_and_a_user(aws: Deployed) -> None:
    code, _, err = run("token", "--cognito", "--username", "alice")
    assert code == 2 and "needs --stack NAME and --username USER" in err


def test_a_stack_without_a_user_pool(aws: Deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    deploy("own-idp", {"ApiUrl": API_URL})
    monkeypatch.setenv("AGENTCRON_PASSWORD", PASSWORD)
    code, _, err = run("token", "--cognito", "--stack", "own-idp", "--username", "alice")
    assert code == 2 and "has no UserPoolClientId output" in err


def test_stack_gives_the_endpoint(aws: Deployed) -> None:
    # A deployed API needs a real token: the CLI stops before sending anything,
    # and says which endpoint it read from the stack.
    code, out, err = run("--stack", "agentcron", "tasks", "list")
    assert (code, out) == (4, "")
    assert (
        "no token for https://abc123.execute-api.us-east-1.amazonaws.com (stack agentcron (its ApiUrl output))" in err
    )
    assert "agentcron token --cognito" in err


def test_an_unknown_stack_is_named(aws: Deployed) -> None:
    code, _, err = run("tasks", "list", "--stack", "nosuch", "--region", "us-east-1")
    assert code == 1
    assert "no CloudFormation stack 'nosuch' in region us-east-1" in err
