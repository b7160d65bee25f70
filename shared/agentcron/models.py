"""Pydantic models at every boundary: API input (`*Create`, `*Patch`), the
stored/returned resources (`Task`, `Run`) and the values inside them.

Input models forbid unknown fields and bound every string and collection, so
hostile input is a 422 naming the field, never a 500 or a giant item."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from agentcron.guarded_http import is_local_loopback_url
from agentcron.ids import CONNECTOR_ID_RE, TASK_ID_RE
from agentcron.schedules import MAX_TIMEZONE_LENGTH, MAX_WORDS_LENGTH, Schedule
from agentcron.schedules.base import zone
from agentcron.task_templates import TEMPLATE_IDS, from_template, template_named
from agentcron.tools_catalog import TOOL_NAMES

MAX_PROMPT_CHARS = 50_000
MAX_VARIABLES = 50
MAX_VARIABLE_VALUE_CHARS = 10_000
MAX_TAGS = 20

# Names are shown in tables and logs: printable text only, no control characters.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"),
]
Description = Annotated[str, StringConstraints(max_length=2_000)]
Prompt = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PROMPT_CHARS)]
Tag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")]
VariableName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
VariableValue = Annotated[str, StringConstraints(max_length=MAX_VARIABLE_VALUE_CHARS)]
Model = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.:@_-]{0,99}$")]

DEFAULT_MODEL = "claude-sonnet-5"


def _bounded_variables(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_VARIABLES:
        raise ValueError(f"at most {MAX_VARIABLES} variables are allowed")
    return value


def _known_tools(value: list[str]) -> list[str]:
    unknown = sorted(set(value) - TOOL_NAMES)
    if unknown:
        raise ValueError(f"unknown tool(s) {', '.join(unknown)}; GET /v1/tools lists the allowed names")
    if len(set(value)) != len(value):
        raise ValueError("tools must not repeat")
    return value


MAX_OUTPUT_SCHEMA_CHARS = 20_000


def _object_schema(value: dict[str, Any]) -> dict[str, Any]:
    """The result is given as a tool's input, and the Messages API takes only object schemas
    there; the runner checks results with jsonschema (the API does not load it)."""
    if value.get("type") != "object":
        raise ValueError('must be a JSON Schema for an object: {"type": "object", "properties": {...}}')
    if len(json.dumps(value)) > MAX_OUTPUT_SCHEMA_CHARS:
        raise ValueError(f"must be at most {MAX_OUTPUT_SCHEMA_CHARS} characters as JSON")
    return value


Variables = Annotated[dict[VariableName, VariableValue], AfterValidator(_bounded_variables)]
OutputSchema = Annotated[
    dict[str, Any],
    AfterValidator(_object_schema),
    Field(description="A JSON Schema (type object) the run's structured `result` must validate against"),
]
ToolList = Annotated[list[str], Field(max_length=len(TOOL_NAMES)), AfterValidator(_known_tools)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS)]


class StrictInput(BaseModel):
    """Base of request bodies: unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_max_length=MAX_PROMPT_CHARS)


class StoredModel(BaseModel):
    """Base of stored items: table keys and future attributes are ignored on read."""

    model_config = ConfigDict(extra="ignore")


class RunStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    WAITING_INPUT = "WAITING_INPUT"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"
    MISSED = "MISSED"


ACTIVE_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})
CANCELLABLE_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.WAITING_INPUT})
FINAL_STATUSES = frozenset(
    {
        RunStatus.SUCCEEDED,
        RunStatus.FAILED,
        RunStatus.TIMED_OUT,
        RunStatus.CANCELLED,
        RunStatus.SKIPPED,
        RunStatus.MISSED,
    }
)


class Trigger(StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"
    REPLY = "reply"
    CONSOLE = "console"
    # A chat turn: the conversation assistant answering a user's message.
    CHAT = "chat"
    # Started by another task's run ending (its on_success / on_failure: agentcron.chains).
    CHAIN = "chain"
    # A signed POST to one of the task's webhook triggers (agentcron.webhook_triggers).
    WEBHOOK = "webhook"


class Policies(StrictInput):
    overlap: Literal["skip", "allow", "buffer_one"] = "skip"
    misfire: Literal["skip", "run_once", "catch_up"] = "run_once"
    misfire_grace_seconds: int = Field(default=300, ge=0, le=86_400)
    catch_up_max: int = Field(default=10, ge=1, le=100)
    max_attempts: int = Field(default=3, ge=1, le=10)
    timeout_seconds: int = Field(default=300, ge=10, le=900)
    auto_pause_after_failures: int = Field(default=5, ge=1, le=100)
    max_runs: int | None = Field(default=None, ge=1, le=1_000_000)
    max_cost_usd: float | None = Field(
        default=None,
        # (A floor, not gt=0: DynamoDB numbers stop at 1e-130, and no run costs less than this.)
        ge=0.0001,
        le=10_000,
        description="The most one run may spend on model tokens (estimated at list prices): the tool loop "
        "stops there and the run fails with budget_exceeded",
    )
    monthly_budget_usd: float | None = Field(
        default=None,
        ge=0.01,
        le=1_000_000,
        description="The most the task's runs may spend on model tokens in a calendar month (UTC, estimated at "
        "list prices): the run that reaches it stops, and the task pauses itself until the 1st of the next month "
        "or until this is raised",
    )
    unpriced_model: Literal["refuse", "allow"] = Field(
        default="refuse",
        description="With max_cost_usd or monthly_budget_usd, a model without a known price: refuse the run, or "
        "allow it unchecked (counted as an unpriced run, never as $0)",
    )


# A tool as the Messages API names it: a built-in, or a connector's `<connector>__<tool>`.
ToolName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]


ConnectorId = Annotated[str, StringConstraints(pattern=CONNECTOR_ID_RE.pattern)]
# A tool's name on its server (the part after `<connector>__`); MCP allows more than the Messages API.
ServerToolName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
MAX_CONNECTORS_PER_TASK = 10


class ConnectorGrant(StrictInput):
    """One of the owner's connectors a task's agent may use, and which of its tools."""

    connector: ConnectorId = Field(description="The connector's id (GET /v1/connectors)")
    tools: Annotated[list[ServerToolName], Field(max_length=128)] | None = Field(
        default=None,
        description="The tools it may call, by their names on the server; all of them when omitted",
    )


def _distinct_connectors(value: list[ConnectorGrant]) -> list[ConnectorGrant]:
    if len({grant.connector for grant in value}) != len(value):
        raise ValueError("a connector must not be named twice")
    return value


class AgentConfig(StrictInput):
    model: Model = DEFAULT_MODEL
    max_turns: int = Field(default=10, ge=1, le=50)
    max_tokens: int = Field(default=4096, ge=1, le=64_000)
    tools: ToolList = Field(default_factory=list)
    disallowed_tools: Annotated[list[ToolName], Field(max_length=200)] = Field(
        default_factory=list,
        description="Never offered to the model, whatever else allows them (deny wins): built-in or connected",
    )
    connectors: Annotated[
        list[ConnectorGrant], Field(max_length=MAX_CONNECTORS_PER_TASK), AfterValidator(_distinct_connectors)
    ] = Field(
        default_factory=list,
        description="The owner's MCP connectors the agent may use; their tools are offered as <connector>__<tool>",
    )

    def allowed(self, names: Sequence[str]) -> list[str]:
        """`names` without the denied ones."""
        denied = set(self.disallowed_tools)
        return [name for name in names if name not in denied]


NotifyWhen = Literal["always", "on_failure", "on_change", "agent_decides"]


class NotifySettings(StrictInput):
    """A task's notification settings as stored and shown. The address rules belong to
    input (`Notify`): one checked when it was written is never refused when read back
    (the local stack's inbox port, say, is a different one after a restart)."""

    webhook_url: AnyHttpUrl | None = None
    when: NotifyWhen = Field(
        default="always",
        description="When a run notifies (the webhook and a `Run Notified` event): every run; failed runs; "
        "a result that differs from the last successful run's; or when the agent calls notify_user",
    )


class Notify(NotifySettings):
    """Notification settings as a request gives them."""

    @field_validator("webhook_url")
    @classmethod
    def _https_only(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        # The local stack's own webhook inbox is plain http on loopback; on AWS nothing opens that.
        if value is not None and value.scheme != "https" and not is_local_loopback_url(str(value)):
            raise ValueError("webhook_url must use https")
        return value


ReportFormat = Literal["markdown", "html", "json", "pdf"]


class ReportSettings(StrictInput):
    """A report of each run that ran to an end, rendered by the runner and kept beside its transcript."""

    format: ReportFormat = Field(
        description="markdown, html (sanitised, styled), json (the structured result, or the output, with the "
        "run's details) or pdf"
    )


def _known_template(value: str) -> str:
    if template_named(value) is None:
        raise ValueError(f"must be one of {', '.join(TEMPLATE_IDS)} (GET /v1/templates)")
    return value


TemplateId = Annotated[
    str,
    AfterValidator(_known_template),
    WithJsonSchema(
        {"type": "string", "enum": list(TEMPLATE_IDS), "description": "A template's id (GET /v1/templates)"}
    ),
]
# Without a template these make a task; with one, its defaults stand in for any left out.
_FIELDS_A_TEMPLATE_GIVES = ("name", "prompt", "schedule")


def _template_or_fields(schema: dict[str, Any]) -> None:
    """name, prompt and schedule are required unless a template gives them. Said in words, not
    as an anyOf: generated clients (openapi-typescript, openapi-python-client) turn an anyOf of
    `required` lists into unusable types. The server's 422 names each missing field."""
    required = [field for field in schema.pop("required", []) if field not in _FIELDS_A_TEMPLATE_GIVES]
    if required:
        schema["required"] = required
    schema["description"] = (
        "A new task. `name`, `prompt` and `schedule` are required, unless `template` names a ready-made task "
        "whose fields stand in for those left out (a 422 names each one missing)."
    )


MAX_CHAIN_DEPTH = 5
MAX_CHAIN_LINKS = 5
LinkTemplate = Annotated[str, StringConstraints(max_length=2_000)]


class ChainLink(StrictInput):
    """One task to run after this one (agentcron.chains), and what its run's variables are."""

    task: Annotated[str, StringConstraints(pattern=TASK_ID_RE.pattern)] = Field(
        description="One of your tasks (its id)"
    )
    variables: Annotated[dict[VariableName, LinkTemplate], Field(max_length=20)] = Field(
        default_factory=dict,
        description="The child run's variables, each a template over the finished run: {{run.output}}, "
        "{{run.result.FIELD}}, {{run.id}}, {{run.status}}, {{run.task_id}}",
    )


ChainLinks = Annotated[
    list[ChainLink],
    Field(
        max_length=MAX_CHAIN_LINKS,
        description=f"Tasks to run next, each once per finished run (chains stop {MAX_CHAIN_DEPTH} links deep)",
    ),
]


class TaskCreate(StrictInput):
    model_config = ConfigDict(extra="forbid", str_max_length=MAX_PROMPT_CHARS, json_schema_extra=_template_or_fields)

    template: TemplateId | None = Field(
        default=None,
        description="Start from a ready-made task (GET /v1/templates): its fields are the defaults, the "
        "request's win (key by key inside agent, policies, notify and variables)",
    )
    name: Name
    description: Description = ""
    prompt: Prompt
    variables: Variables = Field(default_factory=dict)
    schedule: Schedule
    enabled: bool = True
    policies: Policies = Field(default_factory=Policies)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    notify: Notify = Field(default_factory=Notify)
    tags: Tags = Field(default_factory=list)
    output_schema: OutputSchema | None = None
    report: ReportSettings | None = None
    on_success: ChainLinks = Field(default_factory=list)
    on_failure: ChainLinks = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _from_template(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("template"), str):
            template = template_named(data["template"])
            if template is not None:
                given = {name: value for name, value in data.items() if name != "template"}
                return {**from_template(template, given), "template": template.id}
        return data


class TaskPatch(StrictInput):
    """A partial update: only the fields present are changed. `enabled` is not
    here on purpose: pausing and resuming go through enable/disable, which keep
    `paused_reason` honest."""

    name: Name | None = None
    description: Description | None = None
    prompt: Prompt | None = None
    variables: Variables | None = None
    schedule: Schedule | None = None
    policies: Policies | None = None
    agent: AgentConfig | None = None
    notify: Notify | None = None
    tags: Tags | None = None
    output_schema: OutputSchema | None = None
    # null turns reports off.
    report: ReportSettings | None = None
    on_success: ChainLinks | None = None
    on_failure: ChainLinks | None = None

    NOT_NULL: ClassVar[tuple[str, ...]] = (
        "name",
        "prompt",
        "schedule",
        "policies",
        "agent",
        "variables",
        "tags",
        "on_success",
        "on_failure",
    )

    @field_validator(*NOT_NULL, mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null; omit the field to leave it unchanged")
        return value


class DisableRequest(StrictInput):
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class RunNowRequest(StrictInput):
    variables: Variables = Field(default_factory=dict)


QuestionKind = Literal["free_text", "confirm", "choice"]
CONFIRM_REPLIES = ("yes", "no")


# A waiting run's question, in all its parts: removed together when the run stops waiting.
QUESTION_FIELDS = ("question", "question_kind", "question_options")


def reply_problem(kind: QuestionKind | None, options: list[str] | None, reply: str) -> str | None:
    """Why `reply` does not answer a question of this kind, or None when it does."""
    if kind == "confirm" and reply.strip().lower() not in CONFIRM_REPLIES:
        return "this question takes yes or no"
    if kind == "choice" and reply.strip() not in (options or []):
        return f"this question takes one of: {', '.join(options or [])}"
    return None


class ReplyRequest(StrictInput):
    reply: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]


class PreviewRequest(StrictInput):
    schedule: Schedule
    count: int = Field(default=5, ge=1, le=100)
    after: datetime | None = None

    @field_validator("after")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must carry a UTC offset, e.g. 2026-12-01T09:00:00Z")
        return value


class ScheduleWordsRequest(StrictInput):
    """A schedule said in words ("every weekday at 9am"), read in `timezone` unless it names one."""

    text: str = Field(min_length=1, max_length=MAX_WORDS_LENGTH, examples=["every weekday at 9am"])
    timezone: str = Field(default="UTC", max_length=MAX_TIMEZONE_LENGTH, examples=["Europe/Berlin"])
    count: int = Field(default=5, ge=1, le=100)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value


class RunSummary(StoredModel):
    id: str
    status: RunStatus
    scheduled_for: datetime
    finished_at: datetime | None = None


class Task(StoredModel):
    id: str
    owner: str
    name: str
    description: str = ""
    prompt: str
    variables: dict[str, str] = Field(default_factory=dict)
    schedule: Schedule
    enabled: bool = True
    paused_reason: str | None = None
    policies: Policies = Field(default_factory=Policies)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    tags: list[str] = Field(default_factory=list)
    output_schema: dict[str, Any] | None = None
    report: ReportSettings | None = None
    # The template it was created from (agentcron.task_templates), if any.
    template: str | None = None
    on_success: list[ChainLink] = Field(default_factory=list)
    on_failure: list[ChainLink] = Field(default_factory=list)
    version: int = 1
    next_run_at: int | None = None
    last_run: RunSummary | None = None
    consecutive_failures: int = 0
    runs_scheduled: int = 0
    # Execution bookkeeping written by the runner (internal, never in views):
    # the run holding the task (for overlap policies) and until when.
    running_run_id: str | None = None
    running_until: int | None = None
    buffered_run_id: str | None = None
    followups_created: int = 0
    # Paused by its monthly budget (agentcron.monthly_budgets): the epoch second the
    # dispatcher resumes it (the 1st of the next month, UTC); None otherwise.
    budget_paused_until: int | None = None
    # Signs webhook deliveries (HMAC-SHA256); shown to the owner when it is made.
    webhook_secret: str | None = None
    # The conversation this task was created from: its runs post their results there.
    conversation_id: str | None = None
    # "chat": a conversation's own hidden task, whose runs are its chat turns; it is
    # never listed, read or edited through the task API (agentcron.conversations).
    kind: Literal["chat"] | None = None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class RunError(StoredModel):
    type: str
    message: str


class Usage(StoredModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


# The attempts a run keeps: a run has at most policies.max_attempts (le=10) per
# conversation, and a reply starts a fresh budget, so the newest are kept.
ATTEMPTS_KEPT = 20


class RunAttempt(StoredModel):
    """One execution of a run, as it ended: a retried attempt is FAILED or
    TIMED_OUT with its error, the last one has the run's outcome."""

    attempt: int = Field(description="1 for the first attempt; a reply starts counting again")
    status: RunStatus
    started_at: datetime
    finished_at: datetime
    duration_ms: int
    error: RunError | None = None
    usage: Usage | None = Field(
        default=None, description="The tokens of this attempt alone; null when its runner died before saying"
    )


class Run(StoredModel):
    id: str
    task_id: str
    owner: str
    status: RunStatus
    trigger: Trigger
    scheduled_for: datetime
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempt: int = 0
    prompt: str | None = None
    variables: dict[str, str] = Field(default_factory=dict)
    output: str | None = None
    question: str | None = None
    # What answer the question takes (ask_user's `kind`; `options` for a choice).
    question_kind: QuestionKind | None = None
    question_options: list[str] | None = None
    reply: str | None = None
    error: RunError | None = None
    usage: Usage | None = None
    duration_ms: int | None = None
    model: str | None = None
    transcript_key: str | None = None
    # The run's report in S3 (the task's report.format), once the run ended.
    report_key: str | None = None
    report_format: ReportFormat | None = None
    reason: str | None = None
    # Oldest first, at most ATTEMPTS_KEPT.
    attempts: list[RunAttempt] = Field(default_factory=list)
    # Counted by the agent loop over every attempt: messages of the conversation
    # exchanged with the model (the prompt or reply that opens an attempt, each
    # answer, each tool-result turn) and the tool calls the model made.
    total_messages: int = 0
    total_tool_calls: int = 0
    # A chat turn's conversation and the user message it answers.
    conversation_id: str | None = None
    message_id: str | None = None
    # The structured result (the task's output_schema), as the agent gave it and it validated.
    result: dict[str, Any] | None = None
    # Whether the run notified its owner (notify.when), why, and the agent's own words.
    notified: bool | None = None
    notify_reason: str | None = None
    notify_message: str | None = None
    # Chains (agentcron.chains): the run whose end started this one, how many links from
    # the chain's first run it is, and the runs this one's end started.
    parent_run_id: str | None = None
    chain_depth: int = 0
    children: list[str] = Field(default_factory=list)
    # A webhook trigger's run: the trigger, and the JSON body it was posted ({{event}}).
    trigger_id: str | None = None
    event: dict[str, Any] | None = None

    def attempts_with(self, ended: RunAttempt) -> list[dict[str, Any]]:
        """The `attempts` to store once `ended` is over: the newest ATTEMPTS_KEPT, as item values."""
        return [attempt.model_dump(mode="json") for attempt in [*self.attempts, ended][-ATTEMPTS_KEPT:]]

    # Recovery deadline while QUEUED/RUNNING (epoch s): the scheduled time plus
    # a grace while queued, the lease while running. Internal.
    active_until: int | None = None
    # How often recovery has re-sent this QUEUED run's message. Internal.
    resends: int = 0


class WebhookTrigger(StoredModel):
    """An inbound webhook that starts a run of its task (agentcron.webhook_triggers)."""

    id: str
    task_id: str
    owner: str
    # Verifies deliveries (Standard Webhooks HMAC); shown once, when made or rotated.
    secret: str = Field(repr=False)
    created_at: datetime
    rotated_at: datetime | None = None
