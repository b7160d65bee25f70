"""Create the stack's data resources in moto from template.yaml's own definitions.

template.yaml is the one source of truth (DESIGN.md): the table's keys and
indexes, the queues' timeouts and redrive, etc. are read from it, never
copied, so a change to the template changes the local stack and the tests
with it. Only what CloudFormation would create is created; intrinsics
(``!Ref``, ``!Sub``, ``!GetAtt``, ``!If`` ...) are resolved against the
parameters' defaults, with ``prefix`` standing in for the stack name.

Physical names are ``{prefix}-{LogicalId}`` (lowercase for buckets), so many
stacks (one per test) can share one moto server.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
DEFAULT_REGION = "us-east-1"
# moto's default account; ARNs it hands out carry it.
LOCAL_ACCOUNT_ID = "123456789012"

# Logical id in the template -> the environment variable the functions read
# (docs/architecture.md). What the variable holds is what Ref gives.
RESOURCE_ENV: dict[str, str] = {
    "Table": "TABLE_NAME",
    "RunQueue": "RUN_QUEUE_URL",
    "RunDeadLetterQueue": "RUN_DLQ_URL",
    "ArtifactsBucket": "ARTIFACTS_BUCKET",
    "EventBus": "EVENT_BUS_NAME",
}
# Template parameter -> environment variable.
PARAMETER_ENV: dict[str, str] = {
    "DueShards": "DUE_SHARDS",
    "TickSeconds": "TICK_SECONDS",
}

SUPPORTED_TYPES = frozenset(
    {"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket", "AWS::Events::EventBus", "AWS::KMS::Key"}
)


class TemplateError(ValueError):
    """template.yaml lacks something the local stack needs, or uses what it cannot resolve."""


# --------------------------------------------------------------------------- YAML


class _CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader (the C one when built: ~10x faster) that also reads CloudFormation's short tags."""


def _construct_short_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise TemplateError(f"unexpected YAML node for !{tag_suffix}")
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        # The short form is "Resource.Attribute" (attributes may contain dots).
        logical_id, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [logical_id, attribute]}
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_short_tag)

_template_cache: dict[tuple[str, int, int], dict[str, Any]] = {}
_template_lock = threading.Lock()


def load_template(path: Path | str = DEFAULT_TEMPLATE) -> dict[str, Any]:
    """template.yaml as plain data, short tags turned into their long forms.

    Cached by (path, inode, mtime): creating resources for every test must stay cheap.
    Callers must not mutate the result.
    """
    template_path = Path(path)
    try:
        st = template_path.stat()
    except FileNotFoundError as exc:
        raise TemplateError(f"no SAM template at {template_path}") from exc
    key = (str(template_path.resolve()), st.st_ino, st.st_mtime_ns)
    with _template_lock:
        cached = _template_cache.get(key)
    if cached is not None:
        return cached
    doc = yaml.load(template_path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 - safe loader subclass
    if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict):
        raise TemplateError(f"{template_path} is not a CloudFormation/SAM template (no Resources)")
    with _template_lock:
        _template_cache[key] = doc
    return doc


# ------------------------------------------------------------------- intrinsics


class _NoValue:
    """AWS::NoValue: the property is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()

_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass
class _Resolver:
    template: Mapping[str, Any]
    stack_name: str
    region: str
    parameter_overrides: Mapping[str, str]
    # Called for Ref/GetAtt on a resource: returns its attributes ("Ref", "Arn", ...).
    resource_attributes: Callable[[str], Mapping[str, str]]
    _conditions: dict[str, bool] = field(default_factory=dict)

    def parameter(self, name: str) -> Any:
        if name in self.parameter_overrides:
            return self.parameter_overrides[name]
        spec = (self.template.get("Parameters") or {}).get(name)
        if spec is None:
            raise TemplateError(f"template has no parameter {name!r}")
        if "Default" not in spec:
            raise TemplateError(f"parameter {name!r} has no Default; pass it in parameters=")
        return spec["Default"]

    def pseudo(self, name: str) -> Any:
        values = {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": LOCAL_ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": (f"arn:aws:cloudformation:{self.region}:{LOCAL_ACCOUNT_ID}:stack/{self.stack_name}/local"),
            "AWS::NoValue": NO_VALUE,
        }
        if name not in values:
            raise TemplateError(f"unsupported pseudo parameter {name}")
        return values[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in (self.template.get("Parameters") or {}) or name in self.parameter_overrides:
            return self.parameter(name)
        return self.resource_attributes(name)["Ref"]

    def get_att(self, logical_id: str, attribute: str) -> str:
        attributes = self.resource_attributes(logical_id)
        if attribute not in attributes:
            raise TemplateError(f"cannot resolve !GetAtt {logical_id}.{attribute} locally")
        return attributes[attribute]

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            spec = (self.template.get("Conditions") or {}).get(name)
            if spec is None:
                raise TemplateError(f"template has no condition {name!r}")
            self._conditions[name] = bool(self.resolve(spec))
        return self._conditions[name]

    def sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            expr = match.group(1)
            if expr.startswith("!"):  # ${!Literal} is an escaped "${Literal}"
                return "${" + expr[1:] + "}"
            if expr in variables:
                return str(self.resolve(variables[expr]))
            if "." in expr and not expr.startswith("AWS::"):
                logical_id, _, attribute = expr.partition(".")
                return self.get_att(logical_id, attribute)
            return str(self.ref(expr))

        return _SUB_VARIABLE.sub(replace, text)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg)
            if key == "Fn::GetAtt":
                parts = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.get_att(str(self.resolve(parts[0])), str(self.resolve(parts[1])))
            if key == "Fn::Sub":
                if isinstance(arg, str):
                    return self.sub(arg, {})
                return self.sub(arg[0], arg[1])
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = (self.resolve(item) for item in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(item) for item in arg)
            if key == "Fn::Or":
                return any(self.resolve(item) for item in arg)
            if key == "Fn::Join":
                delimiter, items = arg
                return str(delimiter).join(str(item) for item in self.resolve(items))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::FindInMap":
                map_name, top_key, second_key = (str(self.resolve(item)) for item in arg)
                try:
                    return self.template["Mappings"][map_name][top_key][second_key]
                except KeyError as exc:
                    entry = f"[{map_name}, {top_key}, {second_key}]"
                    raise TemplateError(f"!FindInMap {entry}: no such entry") from exc
            if key == "Fn::Split":
                delimiter, text = arg
                return str(self.resolve(text)).split(delimiter)
            if key.startswith("Fn::"):
                raise TemplateError(f"cannot resolve {key} locally")
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}


# -------------------------------------------------------------------- clients

_clients: dict[tuple[str, str, str], Any] = {}
_clients_lock = threading.Lock()


def _client(service: str, endpoint: str, region: str) -> Any:
    """One boto3 client per (service, endpoint, region) for the process.

    Building a client costs tens of milliseconds and resources are created for
    every test; clients are thread-safe once built (boto3 sessions are not,
    hence the lock around building them).
    """
    key = (service, endpoint, region)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            # Explicit dummy credentials, and AWS_PROFILE ignored: this only ever
            # talks to the local moto server, and must neither use a developer's
            # real profile nor fail on one that does not exist here.
            core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
            client = boto3.session.Session(botocore_session=core).client(
                service,  # type: ignore[call-overload]
                endpoint_url=endpoint,
                region_name=region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
                config=Config(retries={"max_attempts": 2, "mode": "standard"}),
            )
            _clients[key] = client
        return client


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# ------------------------------------------------------------------ resources


def physical_name(prefix: str, logical_id: str, resource_type: str) -> str:
    name = f"{prefix}-{logical_id}"
    if resource_type == "AWS::S3::Bucket":
        # Bucket names: 3-63 chars, lowercase letters, digits, dots, hyphens.
        name = re.sub(r"[^a-z0-9.-]", "-", name.lower())[:63].strip("-.")
    return name


@dataclass
class _Creator:
    template: Mapping[str, Any]
    endpoint: str
    prefix: str
    region: str
    parameters: Mapping[str, str]
    created: dict[str, dict[str, str]] = field(default_factory=dict)
    _in_progress: set[str] = field(default_factory=set)
    resolver: _Resolver = field(init=False)

    def __post_init__(self) -> None:
        self.resolver = _Resolver(
            template=self.template,
            stack_name=self.prefix,
            region=self.region,
            parameter_overrides=self.parameters,
            resource_attributes=self.ensure,
        )

    @property
    def resources(self) -> Mapping[str, Any]:
        resources: Mapping[str, Any] = self.template["Resources"]
        return resources

    def wanted(self, logical_id: str) -> bool:
        spec = self.resources[logical_id]
        if spec.get("Type") not in SUPPORTED_TYPES:
            return False
        condition = spec.get("Condition")
        return condition is None or self.resolver.condition(condition)

    def ensure(self, logical_id: str) -> Mapping[str, str]:
        """Create (or find) one resource; returns its Ref and GetAtt values."""
        if logical_id in self.created:
            return self.created[logical_id]
        spec = self.resources.get(logical_id)
        if spec is None:
            raise TemplateError(f"template has no resource {logical_id!r}")
        resource_type = spec.get("Type")
        if resource_type not in SUPPORTED_TYPES:
            raise TemplateError(f"{logical_id} ({resource_type}) is not emulated by the local stack")
        if not self.wanted(logical_id):
            raise TemplateError(f"{logical_id} is not created: its condition is false")
        if logical_id in self._in_progress:
            raise TemplateError(f"circular reference through {logical_id}")
        self._in_progress.add(logical_id)
        try:
            properties = self.resolver.resolve(spec.get("Properties") or {})
            name = physical_name(self.prefix, logical_id, resource_type)
            create = {
                "AWS::DynamoDB::Table": self._table,
                "AWS::SQS::Queue": self._queue,
                "AWS::S3::Bucket": self._bucket,
                "AWS::Events::EventBus": self._event_bus,
                "AWS::KMS::Key": self._kms_key,
            }[resource_type]
            attributes = create(name, properties)
        finally:
            self._in_progress.discard(logical_id)
        self.created[logical_id] = attributes
        return attributes

    # -- DynamoDB

    def _table(self, name: str, props: Mapping[str, Any]) -> dict[str, str]:
        ddb: DynamoDBClient = _client("dynamodb", self.endpoint, self.region)
        billing_mode = props.get("BillingMode", "PROVISIONED")
        request: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": billing_mode,
        }
        gsis = [_index(gsi, billing_mode) for gsi in props.get("GlobalSecondaryIndexes", [])]
        if gsis:
            request["GlobalSecondaryIndexes"] = gsis
        lsis = [_index(lsi, None) for lsi in props.get("LocalSecondaryIndexes", [])]
        if lsis:
            request["LocalSecondaryIndexes"] = lsis
        if billing_mode == "PROVISIONED":
            request["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput"))
        stream = props.get("StreamSpecification")
        if stream and stream.get("StreamViewType"):
            request["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": stream["StreamViewType"],
            }
        # Not applied, on purpose: SSESpecification (no KMS locally),
        # PointInTimeRecoverySpecification and DeletionProtection (moto keeps
        # nothing to recover or protect), Tags, ContributorInsights.
        try:
            table = ddb.create_table(**request)["TableDescription"]
        except ClientError as exc:
            if _error_code(exc) != "ResourceInUseException":
                raise
            table = ddb.describe_table(TableName=name)["Table"]
            self._add_missing_indexes(ddb, name, table, gsis, props["AttributeDefinitions"])
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled") and ttl.get("AttributeName"):
            current = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                ddb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
                )
        attributes = {"Ref": name, "Arn": table["TableArn"]}
        if table.get("LatestStreamArn"):
            attributes["StreamArn"] = table["LatestStreamArn"]
        return attributes

    @staticmethod
    def _add_missing_indexes(
        ddb: DynamoDBClient,
        name: str,
        table: Mapping[str, Any],
        gsis: list[dict[str, Any]],
        attribute_definitions: list[dict[str, Any]],
    ) -> None:
        # A table kept from an older template (a persisted local stack) gets the
        # indexes added since, as a CloudFormation update would.
        existing = {gsi["IndexName"] for gsi in table.get("GlobalSecondaryIndexes", [])}
        for gsi in gsis:
            if gsi["IndexName"] not in existing:
                update: dict[str, Any] = {
                    "TableName": name,
                    "AttributeDefinitions": attribute_definitions,
                    "GlobalSecondaryIndexUpdates": [{"Create": gsi}],
                }
                ddb.update_table(**update)

    # -- SQS

    def _queue(self, name: str, props: Mapping[str, Any]) -> dict[str, str]:
        sqs: SQSClient = _client("sqs", self.endpoint, self.region)
        attributes = _queue_attributes(props)
        if attributes.get("FifoQueue") == "true" and not name.endswith(".fifo"):
            name += ".fifo"
        try:
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
        except ClientError as exc:
            # Same name, other attributes: the template changed since it was
            # created. Apply the template's (as a stack update would).
            if _error_code(exc) not in ("QueueAlreadyExists", "QueueNameExists"):
                raise
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            mutable = {k: v for k, v in attributes.items() if k not in ("FifoQueue",)}
            sqs.set_queue_attributes(QueueUrl=url, Attributes=mutable)  # type: ignore[arg-type]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return {"Ref": url, "Arn": arn, "QueueUrl": url, "QueueName": name}

    # -- S3

    def _bucket(self, name: str, props: Mapping[str, Any]) -> dict[str, str]:
        s3: S3Client = _client("s3", self.endpoint, self.region)
        try:
            if self.region == "us-east-1":
                s3.create_bucket(Bucket=name)
            else:
                s3.create_bucket(
                    Bucket=name,
                    CreateBucketConfiguration={"LocationConstraint": self.region},  # type: ignore[typeddict-item]
                )
        except ClientError as exc:
            if _error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        versioning = props.get("VersioningConfiguration")
        if versioning and versioning.get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        # Lifecycle, encryption and public-access rules are not applied: moto
        # does not enforce them, so they would only cost time.
        return {
            "Ref": name,
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{self.region}.amazonaws.com",
        }

    # -- EventBridge

    def _event_bus(self, name: str, props: Mapping[str, Any]) -> dict[str, str]:
        events: EventBridgeClient = _client("events", self.endpoint, self.region)
        try:
            arn = events.create_event_bus(Name=name)["EventBusArn"]
        except ClientError as exc:
            if _error_code(exc) != "ResourceAlreadyExistsException":
                raise
            arn = events.describe_event_bus(Name=name)["Arn"]
        return {"Ref": name, "Arn": arn, "Name": name}

    def _kms_key(self, name: str, props: Mapping[str, Any]) -> dict[str, str]:
        """moto's KMS key, found again by its alias (``alias/<physical name>``) in the same moto."""
        kms = _client("kms", self.endpoint, self.region)
        alias = f"alias/{name}"
        try:
            key = kms.describe_key(KeyId=alias)["KeyMetadata"]
        except ClientError as exc:
            if _error_code(exc) != "NotFoundException":
                raise
            key = kms.create_key(Description=str(props.get("Description", name)))["KeyMetadata"]
            kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
            if props.get("EnableKeyRotation"):
                kms.enable_key_rotation(KeyId=key["KeyId"])
        return {"Ref": key["KeyId"], "Arn": key["Arn"], "KeyId": key["KeyId"]}


def _index(spec: Mapping[str, Any], billing_mode: str | None) -> dict[str, Any]:
    index: dict[str, Any] = {
        "IndexName": spec["IndexName"],
        "KeySchema": spec["KeySchema"],
        "Projection": spec.get("Projection", {"ProjectionType": "ALL"}),
    }
    if billing_mode == "PROVISIONED":
        index["ProvisionedThroughput"] = _throughput(spec.get("ProvisionedThroughput"))
    return index


def _throughput(spec: Mapping[str, Any] | None) -> dict[str, int]:
    spec = spec or {}
    return {
        "ReadCapacityUnits": int(spec.get("ReadCapacityUnits", 5)),
        "WriteCapacityUnits": int(spec.get("WriteCapacityUnits", 5)),
    }


# CloudFormation property -> SQS attribute (names match except QueueName/Tags).
_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)


def _queue_attributes(props: Mapping[str, Any]) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for key in _QUEUE_ATTRIBUTES:
        if key not in props:
            continue
        value = props[key]
        if key in ("RedrivePolicy", "RedriveAllowPolicy"):
            if isinstance(value, str):
                value = json.loads(value)
            if key == "RedrivePolicy" and "maxReceiveCount" in value:
                # A parameter default arrives as a string or number; SQS wants a number.
                value = {**value, "maxReceiveCount": int(value["maxReceiveCount"])}
            attributes[key] = json.dumps(value, separators=(",", ":"))
        elif isinstance(value, bool):
            attributes[key] = "true" if value else "false"
        else:
            attributes[key] = str(value)
    return attributes


# Where the local stack differs from AWS on purpose. REPORT_REDIRECT: the local S3 is moto on
# loopback, with no CORS for the web app, so the API answers a report's bytes itself.
LOCAL_OVERRIDES = {"REPORT_REDIRECT": "off"}


def _functions_environment(template: Mapping[str, Any], resolver: _Resolver) -> dict[str, str]:
    """The functions' environment variables that resolve locally: Globals first, then each function's.

    All functions run in one process locally, so they share one environment;
    the template's variables name the same thing in every function that has
    them. A variable that needs something the local stack does not emulate
    (the Anthropic secret's ARN, say) is left out.
    """

    def variables_of(holder: Mapping[str, Any] | None) -> Mapping[str, Any]:
        variables = (((holder or {}).get("Environment") or {}).get("Variables")) or {}
        return variables if isinstance(variables, Mapping) else {}

    sources = [variables_of((template.get("Globals") or {}).get("Function"))]
    for spec in template["Resources"].values():
        if spec.get("Type") == "AWS::Serverless::Function":
            sources.append(variables_of(spec.get("Properties")))
    env: dict[str, str] = {}
    for variables in sources:
        for name, value in variables.items():
            try:
                resolved = resolver.resolve(value)
            except TemplateError:
                continue
            if resolved is NO_VALUE or isinstance(resolved, dict | list):
                continue
            env[name] = ("true" if resolved else "false") if isinstance(resolved, bool) else str(resolved)
    return env


def create_resources(
    endpoint: str,
    *,
    prefix: str,
    template_path: Path | str = DEFAULT_TEMPLATE,
    region: str = DEFAULT_REGION,
    parameters: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Create (or reuse) the template's table, queues, bucket and bus in moto at ``endpoint``.

    Returns the functions' environment: the resources' names/URLs under the
    variable names of docs/architecture.md, the parameters they read, and
    every other variable of the template's functions (Globals and per
    function) that resolves locally. ``parameters`` overrides parameter
    defaults (e.g. ``{"MaxReceiveCount": "2"}`` for a redrive test).
    """
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,40}", prefix):
        raise ValueError("prefix must be 1-41 letters, digits or hyphens (it goes into every name)")
    template = load_template(template_path)
    creator = _Creator(
        template=template,
        endpoint=endpoint,
        prefix=prefix,
        region=region,
        parameters=dict(parameters or {}),
    )
    missing = [logical_id for logical_id in RESOURCE_ENV if logical_id not in creator.resources]
    if missing:
        raise TemplateError(f"{template_path} lacks resources the functions need: {', '.join(missing)}")
    # Everything of an emulated type, not only the five the functions name:
    # a queue or bucket added to the template later exists locally too.
    for logical_id in creator.resources:
        if creator.wanted(logical_id):
            creator.ensure(logical_id)

    env = _functions_environment(template, creator.resolver)
    for logical_id, variable in RESOURCE_ENV.items():
        env[variable] = creator.created[logical_id]["Ref"]
    for parameter, variable in PARAMETER_ENV.items():
        if variable not in env:
            try:
                env[variable] = str(creator.resolver.parameter(parameter))
            except TemplateError as exc:
                raise TemplateError(f"{variable}: {exc}") from exc
    env.update(LOCAL_OVERRIDES)
    return env


def delete_resources(
    endpoint: str,
    *,
    prefix: str,
    template_path: Path | str = DEFAULT_TEMPLATE,
    region: str = DEFAULT_REGION,
) -> None:
    """Remove what `create_resources` made under ``prefix``, and any queue or rule named for it.

    moto keeps its state per process, not per server: a stack stopped inside a process
    (tests, benchmarks) would otherwise hand its items, queued messages and rules to the
    next stack started there under the same prefix. What must survive a restart is in the
    state dir's snapshot, saved before this runs."""
    template = load_template(template_path)
    creator = _Creator(template=template, endpoint=endpoint, prefix=prefix, region=region, parameters={})
    names = {
        logical_id: (spec["Type"], physical_name(prefix, logical_id, spec["Type"]))
        for logical_id, spec in creator.resources.items()
        if creator.wanted(logical_id)
    }
    ddb: DynamoDBClient = _client("dynamodb", endpoint, region)
    sqs: SQSClient = _client("sqs", endpoint, region)
    s3: S3Client = _client("s3", endpoint, region)
    events: EventBridgeClient = _client("events", endpoint, region)
    kms = _client("kms", endpoint, region)
    missing = (
        "ResourceNotFoundException",
        "NoSuchBucket",
        "AWS.SimpleQueueService.NonExistentQueue",
        "NotFoundException",
    )
    for resource_type, name in names.values():
        try:
            if resource_type == "AWS::DynamoDB::Table":
                ddb.delete_table(TableName=name)
            elif resource_type == "AWS::S3::Bucket":
                for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
                    for version in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                        s3.delete_object(Bucket=name, Key=version["Key"], VersionId=version["VersionId"])
                s3.delete_bucket(Bucket=name)
            elif resource_type == "AWS::Events::EventBus":
                for rule in events.list_rules(EventBusName=name).get("Rules", []):
                    targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=name).get("Targets", [])
                    if targets:
                        events.remove_targets(Rule=rule["Name"], EventBusName=name, Ids=[t["Id"] for t in targets])
                    events.delete_rule(Name=rule["Name"], EventBusName=name)
                events.delete_event_bus(Name=name)
            elif resource_type == "AWS::KMS::Key":
                # The alias goes (a later stack under the prefix makes a new key); moto keeps the key.
                kms.delete_alias(AliasName=f"alias/{name}")
        except ClientError as exc:
            if _error_code(exc) not in missing:
                raise
    # Queues last (rules above target some), found by the prefix: the event router's own too.
    for url in sqs.list_queues(QueueNamePrefix=f"{prefix}-").get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=url)
