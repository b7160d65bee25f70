"""create_resources builds moto's table, queues, bucket and bus from template.yaml itself."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from agentcron_local.motoserver import MotoHandle
from agentcron_local.resources import DEFAULT_TEMPLATE, TemplateError, create_resources, load_template


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(DEFAULT_TEMPLATE)


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return properties


def parameter_default(template: dict[str, Any], name: str) -> str:
    return str(template["Parameters"][name]["Default"])


def new_prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


def test_table_has_the_templates_keys_indexes_and_ttl(aws_env: dict[str, str], template: dict[str, Any]) -> None:
    ddb = boto3.client("dynamodb")
    table = ddb.describe_table(TableName=aws_env["TABLE_NAME"])["Table"]
    spec = props(template, "Table")

    assert table["KeySchema"] == spec["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        spec["AttributeDefinitions"], key=lambda a: a["AttributeName"]
    )
    assert table["BillingModeSummary"]["BillingMode"] == spec["BillingMode"]
    created = {
        gsi["IndexName"]: {"KeySchema": gsi["KeySchema"], "Projection": gsi["Projection"]}
        for gsi in table["GlobalSecondaryIndexes"]
    }
    wanted = {
        gsi["IndexName"]: {"KeySchema": gsi["KeySchema"], "Projection": gsi["Projection"]}
        for gsi in spec["GlobalSecondaryIndexes"]
    }
    assert created == wanted
    assert {"ByOwner", "Due", "Active"} <= created.keys()  # docs/architecture.md

    ttl = ddb.describe_time_to_live(TableName=aws_env["TABLE_NAME"])["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED"
    assert ttl["AttributeName"] == spec["TimeToLiveSpecification"]["AttributeName"]


def test_run_queue_redrives_to_the_dlq_as_the_template_says(aws_env: dict[str, str], template: dict[str, Any]) -> None:
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=aws_env["RUN_QUEUE_URL"], AttributeNames=["All"])["Attributes"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=aws_env["RUN_DLQ_URL"], AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq_arn
    assert str(redrive["maxReceiveCount"]) == parameter_default(template, "MaxReceiveCount")

    spec = props(template, "RunQueue")
    # VisibilityTimeout is a !FindInMap keyed by the runner timeout parameter.
    runner_timeout = parameter_default(template, "RunnerTimeoutSeconds")
    visibility = template["Mappings"]["RunnerTimeouts"][runner_timeout]["QueueVisibilityTimeout"]
    assert attributes["VisibilityTimeout"] == str(visibility)
    assert attributes["MessageRetentionPeriod"] == str(spec["MessageRetentionPeriod"])
    assert attributes["ReceiveMessageWaitTimeSeconds"] == str(spec["ReceiveMessageWaitTimeSeconds"])
    assert attributes.get("DelaySeconds", "0") == str(spec.get("DelaySeconds", 0))

    dlq = sqs.get_queue_attributes(QueueUrl=aws_env["RUN_DLQ_URL"], AttributeNames=["All"])["Attributes"]
    assert dlq["MessageRetentionPeriod"] == str(props(template, "RunDeadLetterQueue")["MessageRetentionPeriod"])


def test_redrive_moves_a_message_after_max_receives(moto_server: MotoHandle) -> None:
    # A parameter override, as `sam deploy --parameter-overrides` would do.
    env = create_resources(moto_server.endpoint, prefix=new_prefix(), parameters={"MaxReceiveCount": "2"})
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=env["RUN_QUEUE_URL"], MessageBody="doomed")
    for _ in range(2):
        got = sqs.receive_message(QueueUrl=env["RUN_QUEUE_URL"], VisibilityTimeout=0, WaitTimeSeconds=1)
        assert [m["Body"] for m in got["Messages"]] == ["doomed"]
    # The third receive finds the queue empty: the message went to the DLQ.
    assert "Messages" not in sqs.receive_message(QueueUrl=env["RUN_QUEUE_URL"], WaitTimeSeconds=0)
    moved = sqs.receive_message(QueueUrl=env["RUN_DLQ_URL"], WaitTimeSeconds=1)
    assert [m["Body"] for m in moved["Messages"]] == ["doomed"]


def test_environment_names_every_resource_and_parameter(aws_env: dict[str, str], template: dict[str, Any]) -> None:
    assert aws_env["TABLE_NAME"].endswith("-Table")
    assert aws_env["RUN_QUEUE_URL"].endswith("-RunQueue")
    assert aws_env["RUN_DLQ_URL"].endswith("-RunDeadLetterQueue")
    assert aws_env["ARTIFACTS_BUCKET"] == aws_env["ARTIFACTS_BUCKET"].lower()
    assert aws_env["DUE_SHARDS"] == parameter_default(template, "DueShards")
    assert aws_env["TICK_SECONDS"] == parameter_default(template, "TickSeconds")
    globals_env = template["Globals"]["Function"]["Environment"]["Variables"]
    for name, value in globals_env.items():
        if name.startswith("POWERTOOLS_"):
            assert aws_env[name] == str(value)
    # Only resolvable values: the Anthropic secret is not emulated, so its ARN is left out.
    assert "ANTHROPIC_SECRET_ARN" not in aws_env

    boto3.client("s3").head_bucket(Bucket=aws_env["ARTIFACTS_BUCKET"])
    bus = boto3.client("events").describe_event_bus(Name=aws_env["EVENT_BUS_NAME"])
    assert bus["Name"] == aws_env["EVENT_BUS_NAME"]


def test_creating_again_reuses_everything(moto_server: MotoHandle) -> None:
    prefix = new_prefix()
    first = create_resources(moto_server.endpoint, prefix=prefix)
    ddb = boto3.client("dynamodb")
    ddb.put_item(TableName=first["TABLE_NAME"], Item={"PK": {"S": "keep"}, "SK": {"S": "me"}})
    boto3.client("sqs").send_message(QueueUrl=first["RUN_QUEUE_URL"], MessageBody="kept")

    second = create_resources(moto_server.endpoint, prefix=prefix)

    assert second == first
    assert "Item" in ddb.get_item(TableName=first["TABLE_NAME"], Key={"PK": {"S": "keep"}, "SK": {"S": "me"}})
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=first["RUN_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "1"


def test_a_stack_per_test_is_cheap(moto_server: MotoHandle) -> None:
    create_resources(moto_server.endpoint, prefix=new_prefix())  # warm clients and moto's backends
    started = time.perf_counter()
    for _ in range(5):
        create_resources(moto_server.endpoint, prefix=new_prefix())
    per_stack = (time.perf_counter() - started) / 5
    # Measured ~50 ms on the 2-core build machines; the bound only catches a
    # regression to seconds (e.g. a client built per call).
    assert per_stack < 0.5, f"{per_stack * 1000:.0f} ms per stack"


def test_short_tags_and_intrinsics_resolve(moto_server: MotoHandle, tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        """
Parameters:
  Shards: {Type: Number, Default: 8}
  Stage: {Type: String, Default: dev}
  Receives: {Type: Number, Default: 3}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Mappings:
  Timeouts: {"8": {Visibility: 77}}
Globals:
  Function:
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
        DUE_SHARDS: !Ref Shards
        TICK_SECONDS: "60"
        LEVEL: !If [IsProd, INFO, DEBUG]
        TABLE_ARN: !GetAtt Table.Arn
        DESCRIBED: !Sub "${AWS::StackName}:${Table}:${Shards}:${!Literal}"
        JOINED: !Join ["-", [a, !Select [1, [x, y]]]]
        SECRET: !GetAtt Secret.Arn
Resources:
  Secret: {Type: AWS::SecretsManager::Secret}
  ProdOnly:
    Type: AWS::SQS::Queue
    Condition: IsProd
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: PK, AttributeType: S}]
      KeySchema: [{AttributeName: PK, KeyType: HASH}]
  RunDeadLetterQueue: {Type: AWS::SQS::Queue}
  RunQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: !FindInMap [Timeouts, !Ref Shards, Visibility]
      DelaySeconds: 5
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt [RunDeadLetterQueue, Arn]
        maxReceiveCount: !Ref Receives
  ArtifactsBucket: {Type: AWS::S3::Bucket}
  EventBus: {Type: AWS::Events::EventBus, Properties: {Name: !Ref AWS::StackName}}
""",
        encoding="utf-8",
    )
    prefix = new_prefix()
    env = create_resources(moto_server.endpoint, prefix=prefix, template_path=template)
    assert env["TABLE_NAME"] == f"{prefix}-Table"
    assert env["DUE_SHARDS"] == "8"
    assert env["TICK_SECONDS"] == "60"
    assert env["LEVEL"] == "DEBUG"
    assert env["TABLE_ARN"].endswith(f":table/{prefix}-Table")
    assert env["DESCRIBED"] == f"{prefix}:{prefix}-Table:8:${{Literal}}"
    assert env["JOINED"] == "a-y"
    assert "SECRET" not in env

    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=env["RUN_QUEUE_URL"], AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "77"
    assert attributes["DelaySeconds"] == "5"
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] == 3
    # A resource whose condition is false is not created.
    queues = sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
    assert not [url for url in queues if url.endswith("-ProdOnly")]


def test_a_template_without_the_needed_resources_is_refused(moto_server: MotoHandle, tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text("Resources:\n  Table: {Type: AWS::DynamoDB::Table}\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="RunQueue"):
        create_resources(moto_server.endpoint, prefix=new_prefix(), template_path=template)
