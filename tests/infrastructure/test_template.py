"""template.yaml: lint, SAM validation, and the properties the design relies on.

Structure is checked on the SAM template itself; IAM is checked on its offline CloudFormation
translation (tests/infrastructure/iam.py), which is what the roles really get.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any, get_type_hints

import pytest
from agentcron.bootstrap.api import ApiRoot
from agentcron.bootstrap.authorizer import AuthorizerRoot
from agentcron.bootstrap.core import CoreRoot
from agentcron.bootstrap.runner import RunnerRoot
from agentcron.config import InvalidSetting, Settings
from agentcron.dispatch import TIME_RESERVE_SECONDS

from tests.infrastructure import iam

REPO_ROOT = iam.REPO_ROOT
FUNCTIONS = {
    "ApiFunction": "api",
    "AuthorizerFunction": "authorizer",
    "DispatcherFunction": "dispatcher",
    "RunnerFunction": "runner",
}


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return iam.load_sam_template()


@pytest.fixture(scope="module")
def resources(sam: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = sam["Resources"]
    return found


def props(resources: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return resources[logical_id].get("Properties") or {}


def function_environment(sam: dict[str, Any], logical_id: str) -> dict[str, Any]:
    global_vars = sam["Globals"]["Function"]["Environment"]["Variables"]
    own = props(sam["Resources"], logical_id).get("Environment", {}).get("Variables", {})
    return {**global_vars, **own}


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


# -------------------------------------------------------------------------- lint / validate


def test_cfn_lint_finds_nothing() -> None:
    from cfnlint.api import lint_file
    from cfnlint.config import ManualArgs

    # Errors, warnings and informational findings alike (the CLI's default omits the last).
    matches = lint_file(iam.TEMPLATE, ManualArgs(include_checks=["I"], regions=[iam.REGION]))
    assert [str(m) for m in matches] == []


def test_sam_validate_lint() -> None:
    sam_cli = iam.find_sam_cli()
    if sam_cli is None:
        pytest.skip("SAM CLI not found ($SAM_CLI, .tools/sam/bin/sam or `sam` on PATH)")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": iam.REGION}
    proc = subprocess.run(
        [str(sam_cli), "validate", "--lint", "--template-file", str(iam.TEMPLATE)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ------------------------------------------------------------------------------ functions


def test_only_the_four_functions_exist(resources: dict[str, Any], cfn: dict[str, Any]) -> None:
    serverless = {k for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    raw_lambda = {k for k, v in resources.items() if v["Type"] == "AWS::Lambda::Function"}
    assert serverless == set(FUNCTIONS)
    assert raw_lambda == set()
    assert set(iam.lambda_functions(cfn)) == set(FUNCTIONS)


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_function_runtime_architecture_tracing(cfn: dict[str, Any], function_id: str) -> None:
    fn = cfn["Resources"][function_id]["Properties"]
    assert fn["Runtime"] == "python3.13"
    assert fn["Architectures"] == ["arm64"]
    assert fn["TracingConfig"] == {"Mode": "Active"}
    assert fn["Handler"] == "app.lambda_handler"
    assert fn["LoggingConfig"]["LogFormat"] == "JSON"
    layers = set().union(*(iam.references(layer) for layer in fn["Layers"]))
    assert {ref.rstrip("0123456789abcdef") for ref in layers} >= {"DependenciesLayer", "CoreLayer"}


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_function_code_and_log_group(resources: dict[str, Any], function_id: str) -> None:
    fn = props(resources, function_id)
    assert fn["CodeUri"].rstrip("/") == f"functions/{FUNCTIONS[function_id]}"
    (log_group_id,) = iam.references(fn["LoggingConfig"]["LogGroup"])
    log_group = resources[log_group_id]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_function_sizes(sam: dict[str, Any], resources: dict[str, Any]) -> None:
    assert (props(resources, "ApiFunction")["MemorySize"], props(resources, "ApiFunction")["Timeout"]) == (
        512,
        29,
    )
    assert (
        props(resources, "DispatcherFunction")["MemorySize"],
        props(resources, "DispatcherFunction")["Timeout"],
    ) == (
        1769,
        120,
    )
    runner = props(resources, "RunnerFunction")
    assert runner["MemorySize"] == 1024
    assert runner["Timeout"] == {"Ref": "RunnerTimeoutSeconds"}
    assert iam.parameter_default(sam, "RunnerTimeoutSeconds") == 330


def test_the_dispatcher_has_time_for_its_reserve_and_ends_before_the_next_tick(resources: dict[str, Any]) -> None:
    timeout = props(resources, "DispatcherFunction")["Timeout"]
    schedule = props(resources, "DispatcherFunction")["Events"]["DispatchSchedule"]["Properties"]["Schedule"]
    assert schedule == "rate(5 minutes)"
    # Most of the invocation claims; the reserve only finishes the claim in hand and sends.
    assert timeout >= 4 * TIME_RESERVE_SECONDS
    assert timeout < 300, "a tick still running when the next one starts doubles the contention"


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_function_environment(sam: dict[str, Any], function_id: str) -> None:
    env = function_environment(sam, function_id)
    assert env["POWERTOOLS_SERVICE_NAME"] == "agentcron"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "agentcron"
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert env["TABLE_NAME"] == {"Ref": "Table"}
    assert env["DUE_SHARDS"] == {"Ref": "DueShards"}
    assert env["TICK_SECONDS"] == {"Ref": "TickSeconds"}
    if function_id == "AuthorizerFunction":
        # It reads API keys and checks tokens: no queue, no bus, no bucket.
        assert "RUN_QUEUE_URL" not in env
    else:
        assert env["RUN_QUEUE_URL"] == {"Ref": "RunQueue"}
    if function_id == "RunnerFunction":
        assert env["EVENT_BUS_NAME"] == {"Ref": "EventBus"}
        assert iam.references(env["ANTHROPIC_SECRET_ARN"]) == {
            "AnthropicApiKeySecret",
            "AnthropicApiKeySecretArn",
        }
    else:
        assert "ANTHROPIC_SECRET_ARN" not in env
    # The runner writes transcripts; the API serves them (GET /v1/runs/{id}/transcript).
    if function_id in ("RunnerFunction", "ApiFunction"):
        assert env["ARTIFACTS_BUCKET"] == {"Ref": "ArtifactsBucket"}
    else:
        assert "ARTIFACTS_BUCKET" not in env


ROOTS = {
    "ApiFunction": ApiRoot,
    "AuthorizerFunction": AuthorizerRoot,
    "DispatcherFunction": CoreRoot,
    "RunnerFunction": RunnerRoot,
}


def deployed_environment(sam: dict[str, Any], function_id: str) -> dict[str, str]:
    """The function's variables as Lambda would see them: a parameter's default, and for a
    resource's name, URL or ARN a stand-in of the ARN's shape."""
    parameters = sam["Parameters"]
    deployed = {}
    for name, value in function_environment(sam, function_id).items():
        if isinstance(value, dict) and value.get("Ref") in parameters:
            value = parameters[value["Ref"]]["Default"]
        deployed[name] = str(value) if not isinstance(value, dict) else f"arn:aws:cloudformation:::{name.lower()}"
    return deployed


def settings_of(root: type[CoreRoot]) -> type[Settings]:
    settings: type[Settings] = get_type_hints(root.settings.func)["return"]
    return settings


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_the_template_sets_every_variable_its_function_requires(sam: dict[str, Any], function_id: str) -> None:
    settings_class = settings_of(ROOTS[function_id])
    settings = settings_class.from_env(deployed_environment(sam, function_id))
    assert settings.table_name and settings.tick_seconds == 300


def test_the_required_variables_check_would_notice_a_missing_one(sam: dict[str, Any]) -> None:
    # The dispatcher's environment lacks what the runner needs: the check above can fail.
    with pytest.raises(InvalidSetting, match="ARTIFACTS_BUCKET is not set"):
        settings_of(RunnerRoot).from_env(deployed_environment(sam, "DispatcherFunction"))


def test_parameters(sam: dict[str, Any]) -> None:
    p = sam["Parameters"]
    assert p["DueShards"]["Type"] == "Number"
    assert (p["DueShards"]["Default"], p["DueShards"]["MinValue"], p["DueShards"]["MaxValue"]) == (4, 1, 64)
    assert p["TickSeconds"]["Default"] == 300
    assert p["JwtIssuer"]["Default"] == p["JwtAudience"]["Default"] == ""
    assert p["AnthropicApiKeySecretArn"]["Default"] == ""
    assert p["LogRetentionDays"]["Default"] == 30
    # Above the largest policies.max_attempts (10): each retry is one receive.
    assert p["MaxReceiveCount"]["Default"] == 15
    # No account cap unless the operator sets one; only the runner reads it.
    assert p["AccountMonthlyBudgetUsd"]["Default"] == 0
    assert function_environment(sam, "RunnerFunction")["ACCOUNT_MONTHLY_BUDGET_USD"] == {
        "Ref": "AccountMonthlyBudgetUsd"
    }
    assert "ACCOUNT_MONTHLY_BUDGET_USD" not in function_environment(sam, "ApiFunction")


# ------------------------------------------------------------------------------- events


def test_dispatch_schedule_is_every_five_minutes(sam: dict[str, Any], resources: dict[str, Any]) -> None:
    event = props(resources, "DispatcherFunction")["Events"]["DispatchSchedule"]
    assert event["Type"] == "Schedule"
    match = re.fullmatch(r"rate\((\d+) minutes?\)", event["Properties"]["Schedule"])
    assert match and int(match.group(1)) == 5
    # The dispatcher's claim horizon (TICK_SECONDS) must cover the gap between two ticks.
    assert iam.parameter_default(sam, "TickSeconds") >= int(match.group(1)) * 60


def test_run_task_events_from_the_app_bus(resources: dict[str, Any]) -> None:
    rules = [e for e in props(resources, "DispatcherFunction")["Events"].values() if e["Type"] == "EventBridgeRule"]
    assert len(rules) == 1
    assert rules[0]["Properties"]["EventBusName"] == {"Ref": "EventBus"}
    assert rules[0]["Properties"]["Pattern"]["detail-type"] == ["Run Task"]


def test_runner_consumes_the_run_queue(resources: dict[str, Any]) -> None:
    events = props(resources, "RunnerFunction")["Events"]
    assert len(events) == 1
    (event,) = events.values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["RunQueue", "Arn"]}
    assert 1 <= event["Properties"]["BatchSize"] <= 10
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_api_and_dispatcher_have_no_queue_trigger(resources: dict[str, Any]) -> None:
    for function_id in ("ApiFunction", "DispatcherFunction"):
        kinds = {e["Type"] for e in props(resources, function_id).get("Events", {}).values()}
        assert "SQS" not in kinds


# ------------------------------------------------------------------------------ HTTP API


def test_http_api_routes_and_authorizer(resources: dict[str, Any]) -> None:
    api = props(resources, "HttpApi")
    auth = api["Auth"]
    assert auth["DefaultAuthorizer"] == "TokenOrApiKeyAuthorizer"
    authorizer = auth["Authorizers"]["TokenOrApiKeyAuthorizer"]
    assert iam.references(authorizer["FunctionArn"]) == {"AuthorizerFunction"}
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["EnableSimpleResponses"] is True
    assert authorizer["EnableFunctionDefaultPermissions"] is True  # API Gateway may invoke it
    # No Authorization header: 401 before the function; the revocation delay is
    # ReauthorizeEvery + API_KEY_CACHE_SECONDS (the template says so).
    assert authorizer["Identity"] == {"Headers": ["Authorization"], "ReauthorizeEvery": 30}
    variables = props(resources, "AuthorizerFunction")["Environment"]["Variables"]
    assert iam.references(variables["JWT_ISSUER"]) == {"UserPool", "JwtIssuer"}
    assert iam.references(variables["JWT_AUDIENCES"]) == {
        "UserPoolClient",
        "WebUserPoolClient",  # the web app's client (tests/infrastructure/test_web_distribution.py)
        "JwtAudience",
    }
    assert variables["API_KEY_CACHE_SECONDS"] == "30"
    assert "CorsConfiguration" not in api
    (log_group_id,) = iam.references(api["AccessLogSettings"]["DestinationArn"])
    assert resources[log_group_id]["Type"] == "AWS::Logs::LogGroup"

    routes = {}
    for event in props(resources, "ApiFunction")["Events"].values():
        assert event["Type"] == "HttpApi"
        assert event["Properties"]["ApiId"] == {"Ref": "HttpApi"}
        key = f"{event['Properties']['Method']} {event['Properties']['Path']}"
        routes[key] = event["Properties"].get("Auth", {}).get("Authorizer")
    assert routes == {
        "GET /v1/health": "NONE",
        "GET /v1/openapi.json": "NONE",
        "GET /v1/docs": "NONE",
        # A webhook trigger's sender signs instead (agentcron.webhook_triggers).
        "POST /v1/hooks/{trigger_id}": "NONE",
        "ANY /v1/{proxy+}": None,  # the default authorizer (JWTs and API keys)
    }


def test_cognito_only_without_external_issuer(sam: dict[str, Any], resources: dict[str, Any]) -> None:
    assert sam["Conditions"]["UseCognito"] == {"Fn::Equals": [{"Ref": "JwtIssuer"}, ""]}
    assert resources["UserPool"]["Condition"] == "UseCognito"
    assert resources["UserPoolClient"]["Condition"] == "UseCognito"
    assert resources["AnthropicApiKeySecret"]["Condition"] == "CreateAnthropicSecret"
    assert sam["Conditions"]["CreateAnthropicSecret"] == {"Fn::Equals": [{"Ref": "AnthropicApiKeySecretArn"}, ""]}


# ----------------------------------------------------------------------------------- data


def test_table(resources: dict[str, Any]) -> None:
    table = resources["Table"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    p = table["Properties"]
    assert "TableName" not in p
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert p["SSESpecification"]["SSEEnabled"] is True
    assert p["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert p["KeySchema"] == [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ]
    types = {a["AttributeName"]: a["AttributeType"] for a in p["AttributeDefinitions"]}
    assert types == {
        "PK": "S",
        "SK": "S",
        "GSI1PK": "S",
        "GSI1SK": "S",
        "due_shard": "S",
        "next_run_at": "N",
        "active_shard": "S",
        "active_until": "N",
    }
    indexes = {
        gsi["IndexName"]: (
            [(k["AttributeName"], k["KeyType"]) for k in gsi["KeySchema"]],
            gsi["Projection"]["ProjectionType"],
        )
        for gsi in p["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        "ByOwner": ([("GSI1PK", "HASH"), ("GSI1SK", "RANGE")], "ALL"),
        "Due": ([("due_shard", "HASH"), ("next_run_at", "RANGE")], "ALL"),
        "Active": ([("active_shard", "HASH"), ("active_until", "RANGE")], "ALL"),
    }


def test_run_queue_visibility_covers_six_runner_timeouts(sam: dict[str, Any], resources: dict[str, Any]) -> None:
    visibility = props(resources, "RunQueue")["VisibilityTimeout"]
    parameter = sam["Parameters"]["RunnerTimeoutSeconds"]
    if isinstance(visibility, int):
        timeouts = parameter.get("AllowedValues") or [parameter.get("MaxValue", parameter["Default"])]
        assert all(visibility >= 6 * t for t in timeouts)
        return
    map_name, key, attribute = visibility["Fn::FindInMap"]
    assert key == {"Ref": "RunnerTimeoutSeconds"}
    allowed = parameter["AllowedValues"]
    assert parameter["Default"] in allowed
    for timeout in allowed:  # every value the parameter can take, the default included
        assert sam["Mappings"][map_name][str(timeout)][attribute] >= 6 * timeout
        assert sam["Mappings"][map_name][str(timeout)][attribute] <= 43200  # SQS maximum


def test_run_queue_redrive_and_encryption(resources: dict[str, Any]) -> None:
    queue = props(resources, "RunQueue")
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["RunDeadLetterQueue", "Arn"]},
        "maxReceiveCount": {"Ref": "MaxReceiveCount"},
    }
    dlq = props(resources, "RunDeadLetterQueue")
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert dlq["MessageRetentionPeriod"] > queue.get("MessageRetentionPeriod", 4 * 24 * 3600)
    assert queue["SqsManagedSseEnabled"] is True
    assert dlq["SqsManagedSseEnabled"] is True


def _denies_insecure_transport(statement: dict[str, Any]) -> bool:
    return (
        statement.get("Effect") == "Deny"
        and statement.get("Principal") in ("*", {"AWS": "*"})
        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    )


def test_queues_are_tls_only(resources: dict[str, Any]) -> None:
    policies = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SQS::QueuePolicy"]
    covered: set[str] = set()
    for policy in policies:
        for statement in iam._as_list(policy["PolicyDocument"]["Statement"]):
            if _denies_insecure_transport(statement) and statement["Action"] in ("sqs:*", ["sqs:*"]):
                covered |= iam.references(statement["Resource"]) & iam.references(policy["Queues"])
    assert covered >= {"RunQueue", "RunDeadLetterQueue"}


def test_artifacts_bucket(resources: dict[str, Any]) -> None:
    p = props(resources, "ArtifactsBucket")
    assert p["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert p["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert p["VersioningConfiguration"]["Status"] == "Enabled"
    (sse,) = p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms", "aws:kms:dsse")
    rules = p["LifecycleConfiguration"]["Rules"]
    assert all(rule["Status"] == "Enabled" for rule in rules)
    assert any(r.get("Prefix") == "transcripts/" and r.get("ExpirationInDays") == 365 for r in rules)
    assert any(r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") == 7 for r in rules)
    # The web app follows the report's 307 to a presigned URL: a cross-origin GET, read-only.
    (cors,) = p["CorsConfiguration"]["CorsRules"]
    assert cors["AllowedMethods"] == ["GET"]
    assert cors["AllowedHeaders"] == ["x-agentcron-client"]
    assert "Content-Disposition" in cors["ExposedHeaders"]

    (policy,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::S3::BucketPolicy" and iam.references(r["Properties"]["Bucket"]) == {"ArtifactsBucket"}
    ]
    tls = [s for s in policy["PolicyDocument"]["Statement"] if _denies_insecure_transport(s)]
    assert tls and tls[0]["Action"] in ("s3:*", ["s3:*"])
    assert len(tls[0]["Resource"]) == 2  # the bucket and its objects


def test_event_bus(resources: dict[str, Any]) -> None:
    assert resources["EventBus"]["Type"] == "AWS::Events::EventBus"


def test_layers(resources: dict[str, Any]) -> None:
    dependencies = resources["DependenciesLayer"]
    assert dependencies["Properties"]["ContentUri"].rstrip("/") == "layers"
    assert dependencies["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert dependencies["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    core = resources["CoreLayer"]
    assert core["Properties"]["ContentUri"].rstrip("/") == "shared"
    assert core["Metadata"]["BuildMethod"] == "python3.13"


def test_only_the_runner_ships_anthropic() -> None:
    assert "anthropic" in requirement_names(REPO_ROOT / "functions" / "runner" / "requirements.txt")
    others = [REPO_ROOT / "layers" / "requirements.txt", REPO_ROOT / "shared" / "requirements.txt"]
    others += [REPO_ROOT / "functions" / name / "requirements.txt" for name in ("api", "dispatcher")]
    for path in others:
        if path.exists():
            assert "anthropic" not in requirement_names(path), path
    assert "anthropic" not in {line.lower() for line in os.listdir(REPO_ROOT / "layers")}


# ------------------------------------------------------------------------------ alarms


def _alarm_on(resources: dict[str, Any], namespace: str, metric: str, target: str) -> dict[str, Any]:
    for resource in resources.values():
        p = resource.get("Properties") or {}
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        if (
            p.get("Namespace") == namespace
            and p.get("MetricName") == metric
            and any(target in iam.references(d["Value"]) for d in p.get("Dimensions", []))
        ):
            return p
    raise AssertionError(f"no alarm on {namespace} {metric} of {target}")


def test_alarms(resources: dict[str, Any]) -> None:
    assert resources["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    dlq = _alarm_on(resources, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "RunDeadLetterQueue")
    assert (dlq["ComparisonOperator"], dlq["Threshold"]) == ("GreaterThanThreshold", 0)
    for function_id in ("RunnerFunction", "DispatcherFunction"):
        _alarm_on(resources, "AWS/Lambda", "Errors", function_id)
    for resource in resources.values():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            assert resource["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_outputs(sam: dict[str, Any]) -> None:
    outputs = sam["Outputs"]
    for name in ("ApiUrl", "TableName", "RunQueueUrl", "ArtifactsBucketName", "EventBusName"):
        assert name in outputs
    assert outputs["UserPoolId"]["Condition"] == outputs["UserPoolClientId"]["Condition"] == "UseCognito"


# --------------------------------------------------------------------------------- IAM


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_roles_have_no_wildcard_actions(cfn: dict[str, Any], function_id: str) -> None:
    for statement in iam.role_statements(cfn, function_id):
        assert "NotAction" not in statement and "NotResource" not in statement, statement
    for action, _ in iam.function_permissions(cfn, function_id):
        assert isinstance(action, str) and "*" not in action, action


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_roles_are_resource_scoped(cfn: dict[str, Any], function_id: str) -> None:
    for action, resource in iam.function_permissions(cfn, function_id):
        if resource == "*":
            assert action in iam.RESOURCELESS_ACTIONS, (action, resource)
    # AWS managed policies (SAM adds some with Resource "*") would escape the checks above.
    assert iam.managed_policy_arns(cfn, function_id) == []


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_each_service_only_on_its_resource(cfn: dict[str, Any], function_id: str) -> None:
    own_log_group = next(iter(iam.references(cfn["Resources"][function_id]["Properties"]["LoggingConfig"]["LogGroup"])))
    allowed_targets = {
        "dynamodb": {"Table"},
        "sqs": {"RunQueue"},
        "events": {"EventBus"},
        "s3": {"ArtifactsBucket"},
        "secretsmanager": {"AnthropicApiKeySecret", "AnthropicApiKeySecretArn"},
        "kms": {"ConnectorSecretsKey"},
        "lambda": {"RunnerFunctionAliaslive"},
        "logs": {own_log_group},
        "xray": set(),
    }
    for action, resource in iam.function_permissions(cfn, function_id):
        service = action.split(":", 1)[0]
        assert service in allowed_targets, action
        if resource != "*":
            assert iam.references(resource) and iam.references(resource) <= allowed_targets[service], (
                action,
                resource,
            )
        if service == "s3":
            # Only the prefixes the functions write (transcripts, reports), never the whole bucket.
            assert any(f"/{prefix}/*" in str(resource) for prefix in ("transcripts", "reports")), resource


@pytest.mark.parametrize("function_id", ["ApiFunction", "DispatcherFunction"])
def test_only_the_runner_reads_the_secret_and_writes_the_bucket(cfn: dict[str, Any], function_id: str) -> None:
    actions = {action for action, _ in iam.function_permissions(cfn, function_id)}
    assert not {a for a in actions if a.startswith("secretsmanager:")}
    # The API may only read transcripts back for their owner.
    assert {a for a in actions if a.startswith("s3:")} == ({"s3:GetObject"} if function_id == "ApiFunction" else set())


def test_runner_grants(cfn: dict[str, Any]) -> None:
    assert iam.role_allows(cfn, "RunnerFunction", "secretsmanager:GetSecretValue", "AnthropicApiKeySecret")
    assert iam.role_allows(cfn, "RunnerFunction", "s3:PutObject", "ArtifactsBucket")
    assert iam.role_allows(cfn, "RunnerFunction", "s3:GetObject", "ArtifactsBucket")
    # The SQS event source mapping polls with the function's role.
    for action in (
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
    ):
        assert iam.role_allows(cfn, "RunnerFunction", action, "RunQueue"), action
    assert not iam.role_allows(cfn, "RunnerFunction", "sqs:ReceiveMessage", "RunDeadLetterQueue")


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_roles_write_their_own_logs_and_traces(cfn: dict[str, Any], function_id: str) -> None:
    log_group = next(iter(iam.references(cfn["Resources"][function_id]["Properties"]["LoggingConfig"]["LogGroup"])))
    assert iam.role_allows(cfn, function_id, "logs:PutLogEvents", log_group)
    assert iam.role_allows(cfn, function_id, "logs:CreateLogStream", log_group)
    assert ("xray:PutTraceSegments", "*") in iam.function_permissions(cfn, function_id)


def test_role_allows_helper() -> None:
    cfn = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Role": {"Fn::GetAtt": ["FnRole", "Arn"]}},
            },
            "FnRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Policies": [
                        {
                            "PolicyName": "p",
                            "PolicyDocument": {
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Action": "dynamodb:Query",
                                        "Resource": {"Fn::Sub": "${T.Arn}/index/*"},
                                    },
                                    {
                                        "Effect": "Deny",
                                        "Action": "s3:GetObject",
                                        "Resource": {"Fn::Sub": "${B.Arn}/*"},
                                    },
                                ]
                            },
                        }
                    ],
                },
            },
            "Extra": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "Roles": [{"Ref": "FnRole"}],
                    "PolicyDocument": {
                        "Statement": [{"Effect": "Allow", "Action": ["sqs:Send*"], "Resource": [{"Ref": "Q"}]}]
                    },
                },
            },
        }
    }
    assert iam.role_allows(cfn, "Fn", "dynamodb:Query", "T")
    assert not iam.role_allows(cfn, "Fn", "dynamodb:GetItem", "T")
    assert not iam.role_allows(cfn, "Fn", "s3:GetObject", "B")  # a Deny grants nothing
    assert iam.role_allows(cfn, "Fn", "sqs:SendMessage", "Q")  # wildcard action, separate policy
    assert ("dynamodb:Query", {"Fn::Sub": "${T.Arn}/index/*"}) in iam.function_permissions(cfn, "Fn")


# ---------------------------------------------------------------------------- samconfig


def test_samconfig() -> None:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    assert config["version"] == 0.1
    default, prod = config["default"], config["prod"]
    assert default["global"]["parameters"]["stack_name"] == "agentcron"
    assert default["global"]["parameters"]["region"] == "us-east-1"
    assert default["build"]["parameters"] == {"cached": True, "parallel": True}
    deploy = default["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is True
    assert prod["global"]["parameters"]["stack_name"] == "agentcron-prod"
    assert prod["deploy"]["parameters"]["confirm_changeset"] is False
    assert prod["deploy"]["parameters"]["fail_on_empty_changeset"] is False


def test_runner_uses_snapstart_through_an_alias(cfn: dict[str, Any]) -> None:
    versions = [r for r in cfn["Resources"].values() if r["Type"] == "AWS::Lambda::Version"]
    assert versions, "AutoPublishAlias publishes a version for SnapStart"
    runner = next(
        r
        for r in cfn["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and "runner" in str(r["Properties"].get("Description", ""))
    )
    assert runner["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    mappings = [r for r in cfn["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert mappings and all("Alias" in json.dumps(m["Properties"]["FunctionName"]) for m in mappings)
