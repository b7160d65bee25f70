"""The API's OpenAPI document, in one place.

Powertools generates the paths, parameters and schemas from the routes and
pydantic models; it cannot know what the core raises, what headers a route
sets, or which names a client generator should use. This module declares that
per operation and completes the generated document with it, so route
decorators stay bare and ``/v1/openapi.json`` and ``/v1/docs`` serve the same
corrected document.

The error statuses come from ``problems.STATUS_OF``: an operation
declares the core errors it can meet and the status of each is looked up, never
written twice (tests/security/test_api_document.py checks the declarations
against the errors each route's code can raise).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from agentcron import errors
from agentcron.connectors import CONNECTOR_ID_RE
from agentcron.ids import API_KEY_ID_RE, CONVERSATION_ID_RE, RUN_ID_RE, TASK_ID_RE, TRIGGER_ID_RE
from agentcron.models import MAX_VARIABLES, TaskPatch
from problems import PROBLEM_CONTENT_TYPE, STATUS_OF

INFO: dict[str, Any] = {
    "title": "agentcron",
    "version": "1.0.0",
    "summary": "Scheduled Claude agent tasks",
    "description": (
        "Schedule Claude agent tasks (cron, interval, once, presets or manual) and follow their runs.\n\n"
        "Authenticate with a bearer JWT; the owner of every task and run is the token's `sub`. "
        "Errors are RFC 9457 problem details (`application/problem+json`), except those API Gateway "
        "answers itself before the function runs (a missing or invalid token, throttling, a body over "
        "10 MB), which are `application/json` with a single `message`.\n\n"
        "Every change to a task is kept in its history (`GET /v1/tasks/{task_id}/history`) with how it "
        "was made: clients may say which they are in an `X-Agentcron-Client` header (`cli`, `web`); "
        "any other request is recorded as `api`."
    ),
    "contact": {"name": "agentcron maintainers", "url": "https://github.com/agentcron/agentcron"},
    "license": {"name": "MIT", "identifier": "MIT"},
}

TAGS: list[dict[str, str]] = [
    {"name": "tasks", "description": "Scheduled agent tasks: create, list, edit, pause, resume and delete them."},
    {"name": "runs", "description": "Runs of a task: start one now, follow it, answer its question, cancel it."},
    {
        "name": "conversations",
        "description": "Chat with the assistant that creates and follows tasks; their runs report in the thread.",
    },
    {"name": "api-keys", "description": "Long-lived keys for scripts and the CLI: `Authorization: Bearer ak_…`."},
    {"name": "schedules", "description": "Try a schedule before saving it."},
    {"name": "tools", "description": "The tools an agent may be given."},
    {"name": "templates", "description": "Ready-made tasks to start from."},
    {"name": "triggers", "description": "Inbound webhooks that start a task's runs."},
    {"name": "meta", "description": "Health of the service."},
    {"name": "connectors", "description": "Your MCP servers, whose tools your tasks' agents may use."},
]

# Powertools' bundled Swagger UI, inlined into the page so it works offline.
_SWAGGER_UI = resources.files("aws_lambda_powertools.event_handler.openapi.swagger_ui")


@dataclass(frozen=True)
class Operation:
    """What the generated document cannot know about one operation."""

    operation_id: str
    summary: str
    description: str
    # Core errors the operation's code can raise (their status comes from STATUS_OF).
    raises: tuple[type[errors.AgentcronError], ...] = ()
    # Statuses answered by errors that land with other branches' routes (e.g. 410 Gone).
    also: Mapping[int, str] = field(default_factory=dict)
    # Response headers per success status.
    headers: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    # OpenAPI links per success status: name -> (operationId, {parameter: runtime expression}).
    links: Mapping[int, Mapping[str, tuple[str, Mapping[str, str]]]] = field(default_factory=dict)
    public: bool = False


_TASK_LINKS = {
    "getTask": ("getTask", {"task_id": "$response.body#/id"}),
    "updateTask": ("updateTask", {"task_id": "$response.body#/id"}),
    "deleteTask": ("deleteTask", {"task_id": "$response.body#/id"}),
    "runTaskNow": ("runTaskNow", {"task_id": "$response.body#/id"}),
    "listTaskRuns": ("listTaskRuns", {"task_id": "$response.body#/id"}),
    "getTaskStats": ("getTaskStats", {"task_id": "$response.body#/id"}),
    "listTaskHistory": ("listTaskHistory", {"task_id": "$response.body#/id"}),
    "enableTask": ("enableTask", {"task_id": "$response.body#/id"}),
    "disableTask": ("disableTask", {"task_id": "$response.body#/id"}),
}
_RUN_LINKS = {
    "getRun": ("getRun", {"run_id": "$response.body#/id"}),
    "getRunTranscript": ("getRunTranscript", {"run_id": "$response.body#/id"}),
    "getRunReport": ("getRunReport", {"run_id": "$response.body#/id"}),
    "cancelRun": ("cancelRun", {"run_id": "$response.body#/id"}),
    "getRunTask": ("getTask", {"task_id": "$response.body#/task_id"}),
}
_CONVERSATION_LINKS = {
    "getConversation": ("getConversation", {"conversation_id": "$response.body#/id"}),
    "listConversationMessages": ("listConversationMessages", {"conversation_id": "$response.body#/id"}),
    "postConversationMessage": ("postConversationMessage", {"conversation_id": "$response.body#/id"}),
}
_CONNECTOR_LINKS = {
    "getConnector": ("getConnector", {"connector_id": "$response.body#/id"}),
    "updateConnector": ("updateConnector", {"connector_id": "$response.body#/id"}),
    "deleteConnector": ("deleteConnector", {"connector_id": "$response.body#/id"}),
    "testConnector": ("testConnector", {"connector_id": "$response.body#/id"}),
}
_GONE_TASK = {410: "The task was deleted"}
_LOOKUP = (errors.NotFound,)
_VERSIONED = (errors.NotFound, errors.Conflict, errors.PreconditionFailed, errors.InvalidRequest)

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("post", "/v1/tasks"): Operation(
        "createTask",
        "Create a task",
        "Creates a task and returns it with its signing secret (shown only here and on a webhook change). "
        "An `Idempotency-Key` makes retries safe: the same key and body return the first task, "
        "marked `Idempotent-Replayed: true`.",
        raises=(errors.IdempotencyKeyReused, errors.NotFound),
        also={410: "The task this `Idempotency-Key` created has since been deleted"},
        headers={201: ("Location", "ETag", "Idempotent-Replayed")},
        links={201: _TASK_LINKS},
    ),
    ("get", "/v1/tasks"): Operation(
        "listTasks",
        "List tasks",
        "The caller's tasks, newest first, a page at a time; filters narrow the listing.",
        raises=(errors.BadRequest,),
    ),
    ("get", "/v1/tasks/due"): Operation(
        "listDueTasks",
        "List tasks due soon",
        "Tasks that will start within the window (default: one dispatcher tick), "
        "including those whose run is already claimed and queued.",
        raises=(errors.BadRequest, errors.NotFound),
    ),
    ("post", "/v1/tasks/execute-due"): Operation(
        "executeDueTasks",
        "Run every task that is due now",
        "For an external cron: claims and queues each of your tasks' occurrences that are due now, through "
        "the same conditional claim as the dispatcher, so an occurrence the schedule already claimed (or claims "
        "at the same moment) is never started twice. Answers the runs it started and the due runs that were "
        "queued already.",
        raises=(errors.NotFound, errors.QueueUnavailable, errors.BadRequest),
    ),
    ("get", "/v1/tasks/{task_id}"): Operation(
        "getTask",
        "Get a task",
        "The task with its next few run times; `ETag` carries its version for `If-Match`.",
        raises=_LOOKUP,
        also=_GONE_TASK,
        headers={200: ("ETag",)},
        links={200: _TASK_LINKS},
    ),
    ("patch", "/v1/tasks/{task_id}"): Operation(
        "updateTask",
        "Update a task",
        "Changes the fields sent (JSON merge semantics); `If-Match` with the task's version refuses "
        "the change with 412 if someone changed it first.",
        raises=_VERSIONED,
        also=_GONE_TASK,
        headers={200: ("ETag",)},
        links={200: _TASK_LINKS},
    ),
    ("delete", "/v1/tasks/{task_id}"): Operation(
        "deleteTask",
        "Delete a task",
        "Deletes the task; its runs stay readable. `If-Match` makes the delete conditional.",
        raises=_VERSIONED,
        also=_GONE_TASK,
    ),
    ("post", "/v1/tasks/{task_id}/enable"): Operation(
        "enableTask",
        "Resume a task",
        "Resumes a paused task from its next occurrence; resuming an enabled task changes nothing. A task its "
        "monthly budget paused is refused (409) while this month's spend is at the budget: raise "
        "policies.monthly_budget_usd (that resumes it) or wait for the 1st, when it resumes by itself.",
        raises=_VERSIONED,
        also=_GONE_TASK,
        links={200: _TASK_LINKS},
    ),
    ("post", "/v1/tasks/{task_id}/disable"): Operation(
        "disableTask",
        "Pause a task",
        "Pauses the task: no new runs start until it is resumed. The body (a reason) is optional.",
        raises=_VERSIONED,
        also=_GONE_TASK,
        links={200: _TASK_LINKS},
    ),
    ("post", "/v1/tasks/{task_id}/runs"): Operation(
        "runTaskNow",
        "Run a task now",
        "Queues a manual run, with optional variables for the prompt. 409 says why a run cannot start "
        "(e.g. the overlap policy). An `Idempotency-Key` makes retries safe.",
        raises=(errors.NotFound, errors.Conflict, errors.IdempotencyKeyReused, errors.QueueUnavailable),
        also=_GONE_TASK,
        headers={202: ("Location", "Idempotent-Replayed")},
        links={202: _RUN_LINKS},
    ),
    ("get", "/v1/tasks/{task_id}/runs"): Operation(
        "listTaskRuns",
        "List a task's runs",
        "The task's runs, newest first, a page at a time.",
        raises=(errors.BadRequest, errors.NotFound),
        also=_GONE_TASK,
    ),
    ("get", "/v1/tasks/{task_id}/stats"): Operation(
        "getTaskStats",
        "Get a task's statistics",
        "Success rate, durations, cost and recent failures over the task's recent runs.",
        raises=(errors.BadRequest, errors.NotFound),
        also=_GONE_TASK,
    ),
    ("get", "/v1/tasks/{task_id}/history"): Operation(
        "listTaskHistory",
        "List a task's history",
        "Every change to the task, newest first, a page at a time: who made it, when, how (`via`) and, for "
        "an edit, each field's value before and after (a webhook URL without its query). A deleted task's "
        "history stays readable by its owner until it expires (the stack's HistoryRetentionDays).",
        raises=(errors.BadRequest, errors.NotFound),
    ),
    ("get", "/v1/runs"): Operation(
        "listRuns",
        "List runs",
        "The caller's runs across all tasks, newest first, a page at a time.",
        raises=(errors.BadRequest, errors.InvalidRequest),
    ),
    ("get", "/v1/runs/{run_id}"): Operation(
        "getRun",
        "Get a run",
        "The run's status, timing, usage, cost and result.",
        raises=_LOOKUP,
        links={200: _RUN_LINKS},
    ),
    ("get", "/v1/runs/{run_id}/transcript"): Operation(
        "getRunTranscript",
        "Get a run's transcript",
        "The messages exchanged with the model during the run (404 until the run has written one).",
        raises=_LOOKUP,
    ),
    ("get", "/v1/runs/{run_id}/report"): Operation(
        "getRunReport",
        "Get a run's report",
        "The report the task's `report.format` asks for (Markdown, HTML, JSON or PDF), as a download. "
        "Deployed, a 307 redirect to a presigned S3 URL good for 5 minutes. 404 when the run has no report "
        "(its task asks for none, or it has not ended).",
        raises=_LOOKUP,
        headers={200: ("Content-Disposition",), 307: ("Location",)},
    ),
    ("post", "/v1/runs/{run_id}/reply"): Operation(
        "replyToRun",
        "Answer a run's question",
        "Answers a run that is WAITING_INPUT and queues it to continue; 409 for a run in any other state "
        "or whose task was deleted.",
        raises=(errors.NotFound, errors.Conflict, errors.QueueUnavailable),
        links={202: _RUN_LINKS},
    ),
    ("post", "/v1/runs/{run_id}/cancel"): Operation(
        "cancelRun",
        "Cancel a run",
        "Cancels a run that is QUEUED or WAITING_INPUT; 409 for a run in any other state.",
        raises=(errors.NotFound, errors.Conflict),
        links={200: _RUN_LINKS},
    ),
    ("post", "/v1/conversations"): Operation(
        "createConversation",
        "Start a conversation",
        "Starts a conversation with the assistant; with `message`, the assistant answers it asynchronously "
        "(poll the messages). An `Idempotency-Key` makes retries safe.",
        raises=(errors.IdempotencyKeyReused, errors.NotFound),
        headers={201: ("Location", "Idempotent-Replayed")},
        links={201: _CONVERSATION_LINKS},
    ),
    ("get", "/v1/conversations"): Operation(
        "listConversations",
        "List conversations",
        "The caller's conversations, most recently active first, a page at a time.",
        raises=(errors.BadRequest,),
    ),
    ("get", "/v1/conversations/{conversation_id}"): Operation(
        "getConversation",
        "Get a conversation",
        "The conversation's status, its tasks and the questions of its runs that wait for an answer.",
        raises=_LOOKUP,
        links={200: _CONVERSATION_LINKS},
    ),
    ("get", "/v1/conversations/{conversation_id}/messages"): Operation(
        "listConversationMessages",
        "List a conversation's messages",
        "Messages oldest first; `after` (a message id) returns only those posted since, so clients poll cheaply.",
        raises=_LOOKUP,
    ),
    ("post", "/v1/conversations/{conversation_id}/messages"): Operation(
        "postConversationMessage",
        "Post a message",
        "Posts the user's message. In a conversation whose runs wait for an answer it answers the question "
        "(`reply_to` names the run when several wait) and the run resumes; otherwise the assistant answers it "
        "asynchronously: an `assistant` (or `error`) message with the same `run_id` follows. "
        "An `Idempotency-Key` makes retries safe.",
        raises=(errors.NotFound, errors.InvalidRequest, errors.Conflict, errors.IdempotencyKeyReused),
        headers={202: ("Idempotent-Replayed",)},
    ),
    ("post", "/v1/conversations/{conversation_id}/archive"): Operation(
        "archiveConversation",
        "Archive a conversation",
        "Archives the conversation; posting a message to it reopens it. Its tasks keep running.",
        raises=_LOOKUP,
        links={200: _CONVERSATION_LINKS},
    ),
    ("post", "/v1/api-keys"): Operation(
        "createApiKey",
        "Create an API key",
        "A key that works wherever a token does (`Authorization: Bearer ak_…`), returned only in this answer "
        "and stored as its SHA-256. Revoking takes effect within the authorizer's cache time (60 s).",
        headers={201: ("Location",)},
    ),
    ("get", "/v1/api-keys"): Operation(
        "listApiKeys",
        "List API keys",
        "The caller's keys (never the keys themselves), a page at a time; revoked ones stay listed 30 days.",
        raises=(errors.BadRequest,),
    ),
    ("delete", "/v1/api-keys/{key_id}"): Operation(
        "revokeApiKey",
        "Revoke an API key",
        "The key stops working within the authorizer's cache time (60 s).",
        raises=_LOOKUP,
    ),
    ("post", "/v1/schedules/preview"): Operation(
        "previewSchedule",
        "Preview a schedule",
        "The next occurrences of a schedule and a description in words, without saving anything.",
    ),
    ("post", "/v1/schedules/parse"): Operation(
        "parseSchedule",
        "Read a schedule from words",
        "Turns a phrase such as `every weekday at 9am`, `the last friday of the month at 17:00`, `every 15 "
        "minutes` or `tomorrow at 9am Tokyo time` into a schedule, with its description and next occurrences, "
        "without saving anything. Relative phrases become a `once` schedule counted from now in the zone; a zone "
        "named in the text wins over `timezone`. A phrase it cannot read is a 422 whose `suggestions` are "
        "phrases close to it that it can.",
        raises=(errors.InvalidRequest,),
    ),
    ("get", "/v1/tools"): Operation(
        "listTools",
        "List tools",
        "The tools an agent may be given: built in, Anthropic's server tools, and your connectors' tools as "
        "their last test listed them (give those through agent.connectors).",
        raises=(errors.BadRequest,),
    ),
    ("post", "/v1/tasks/{task_id}/triggers"): Operation(
        "createTrigger",
        "Add a webhook trigger",
        "An inbound webhook for the task: a URL and a `whsec_` secret, shown only now. A POST to the URL signed "
        "with the secret in the Standard Webhooks scheme starts a run (`trigger: webhook`) whose prompt reads "
        "the JSON body as {{event}} and {{event.field}}. At most 10 per task.",
        raises=(errors.NotFound, errors.Conflict),
        also=_GONE_TASK,
        headers={201: ("Location",)},
    ),
    ("get", "/v1/tasks/{task_id}/triggers"): Operation(
        "listTriggers",
        "List a task's webhook triggers",
        "The task's triggers and their URLs (never their secrets).",
        raises=_LOOKUP,
        also=_GONE_TASK,
    ),
    ("post", "/v1/triggers/{trigger_id}/rotate"): Operation(
        "rotateTrigger",
        "Rotate a trigger's secret",
        "A new secret, shown only now; deliveries signed with the old one are refused from now on.",
        raises=_LOOKUP,
        also=_GONE_TASK,
    ),
    ("delete", "/v1/triggers/{trigger_id}"): Operation(
        "deleteTrigger",
        "Delete a webhook trigger",
        "Its URL starts nothing from now on.",
        raises=_LOOKUP,
        also=_GONE_TASK,
    ),
    ("post", "/v1/hooks/{trigger_id}"): Operation(
        "deliverWebhook",
        "Deliver a webhook (public)",
        "The URL a trigger gives a sender: no token, the Standard Webhooks signature authenticates it "
        "(`webhook-id`, `webhook-timestamp` within 5 minutes, `webhook-signature: v1,<base64 HMAC-SHA256>`). "
        "202: a run was queued. 200: this trigger started a run for this `webhook-id` already (the sender's "
        "retry, or a replay): that run is answered and nothing starts. 401: not signed for this trigger, or "
        "stale. 409: the task is paused. 413: a body over 64 KiB. 429: over 60 deliveries a minute "
        "(Retry-After).",
        raises=(errors.Unauthorized, errors.Conflict, errors.TooLarge, errors.RateLimited, errors.Gone),
        also={404: "No route: the path holds characters no trigger id has"},
        headers={200: ("Location",), 202: ("Location",)},
        public=True,
    ),
    ("get", "/v1/templates"): Operation(
        "listTemplates",
        "List task templates",
        "Ready-made tasks: the five reflection tasks (daily self-reflection, weekly goal assessment, memory "
        "consolidation, capability exploration, emotional check-in), a daily digest, a website change watcher "
        'and an inbox watcher. Create one with POST /v1/tasks {"template": id, ...your overrides}.',
        raises=(errors.BadRequest,),
    ),
    ("get", "/v1/health"): Operation(
        "getHealth", "Check health", "Answers 200 while the API is up; needs no token.", public=True
    ),
    ("post", "/v1/connectors"): Operation(
        "createConnector",
        "Register a connector",
        "Registers one of your MCP servers (streamable HTTP, or SSE). The token or header value in `auth` "
        "is encrypted with KMS and never returned: responses say only `secret_set`. 409 when you already "
        "have a connector of that name.",
        raises=(errors.BadRequest, errors.NotFound, errors.Conflict, errors.PreconditionFailed, errors.InvalidRequest),
        headers={201: ("Location", "ETag")},
        links={201: _CONNECTOR_LINKS},
    ),
    ("get", "/v1/connectors"): Operation(
        "listConnectors",
        "List connectors",
        "Your connectors, newest first.",
        raises=(errors.BadRequest, errors.NotFound),
    ),
    ("get", "/v1/connectors/{connector_id}"): Operation(
        "getConnector",
        "Get a connector",
        "One connector; `ETag` carries its version for `If-Match`.",
        raises=_LOOKUP,
        headers={200: ("ETag",)},
        links={200: _CONNECTOR_LINKS},
    ),
    ("patch", "/v1/connectors/{connector_id}"): Operation(
        "updateConnector",
        "Update a connector",
        "Replaces the fields sent; `auth`, when sent, replaces the whole of it, secret included.",
        raises=(errors.BadRequest, errors.NotFound, errors.Conflict, errors.PreconditionFailed, errors.InvalidRequest),
        headers={200: ("ETag",)},
        links={200: _CONNECTOR_LINKS},
    ),
    ("delete", "/v1/connectors/{connector_id}"): Operation(
        "deleteConnector", "Delete a connector", "Deletes the connector and its secret.", raises=_LOOKUP
    ),
    ("post", "/v1/connectors/{connector_id}/test"): Operation(
        "testConnector",
        "Test a connector",
        "Connects as a run would and lists the server's tools, or says why not in `reason`: "
        "`refused_address` (not https, or not a public address), `unreachable`, `timeout`, "
        "`unauthorized` (the server's 401/403), `not_mcp`.",
        raises=(errors.NotFound, errors.InvalidRequest),
    ),
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `errors` lists each invalid field on 422",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "Always `about:blank`: the status says what happened"},
        "title": {"type": "string", "description": "The status' reason phrase"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What went wrong, for people"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string", "description": "e.g. `body.schedule.timezone`, `query.limit`"},
                    "message": {"type": "string"},
                },
            },
        },
        "suggestions": {
            "type": "array",
            "description": "Inputs close to the one refused that would be taken (a schedule in words)",
            "items": {"type": "string"},
        },
    },
}
GATEWAY_MESSAGE_SCHEMA: dict[str, Any] = {
    "title": "GatewayMessage",
    "description": "API Gateway's own answer, given before the function runs",
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string"}},
}
HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": 'The task\'s version, e.g. `"3"`: send it back in `If-Match`',
        "schema": {"type": "string", "pattern": r'^"[0-9]{1,9}"$'},
    },
    "Location": {
        "description": "The URL path of the created resource (a report: the presigned URL to fetch it from)",
        "schema": {"type": "string"},
    },
    "Content-Disposition": {
        "description": 'A download and its file name, e.g. `attachment; filename="report-run_….pdf"`',
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this answer replays an earlier request with the same `Idempotency-Key`",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {
        "description": "Seconds until the limit lets the next request through",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
}
# What each status means, where the operation does not say more.
STATUS_DESCRIPTIONS: dict[int, str] = {
    400: "The request cannot be understood (e.g. a cursor from another listing)",
    401: "No Authorization header (API Gateway's answer), or a token without a subject (problem details)",
    # API Gateway turns a Lambda authorizer's refusal into its own 403: it cannot be a 401.
    403: "The token or API key was refused: expired, revoked, malformed or another issuer's "
    "(API Gateway's answer for the authorizer)",
    404: "Not found, or not the caller's",
    409: "Clashes with the resource's current state; `detail` says how",
    410: "The resource was deleted",
    412: "`If-Match` no longer matches the task's version",
    413: "The body is larger than 256 KiB (problem details), or than 10 MB (API Gateway's answer)",
    415: "The body is not sent as `application/json`",
    422: "The request is not valid; `errors` names each field",
    429: "Too many requests: API Gateway throttled the call; retry with backoff",
    503: "The run is saved but could not be queued yet; it is queued by the next dispatcher tick",
}
# Parameters whose format the server checks in code (documented so clients and fuzzers know it).
PARAMETER_PATTERNS: dict[str, str] = {
    "if-match": r'^(W/)?"?[0-9]{1,9}"?$',
    # base64url without padding, as the store encodes it
    "cursor": r"^[A-Za-z0-9_-]+$",
    "task_id": TASK_ID_RE.pattern,
    "conversation_id": CONVERSATION_ID_RE.pattern,
    "key_id": API_KEY_ID_RE.pattern,
    "connector_id": CONNECTOR_ID_RE.pattern,
    "trigger_id": re.sub(r"\(\?P<\w+>", "(", TRIGGER_ID_RE.pattern),
    # JavaScript regexes spell named groups without the P.
    "run_id": re.sub(r"\(\?P<\w+>", "(", RUN_ID_RE.pattern),
}


def statuses_of(operation: Operation) -> dict[int, str]:
    """The error statuses an operation is documented with, and what each means."""
    found: dict[int, str] = {status: STATUS_DESCRIPTIONS[status] for status in (422, 429)}
    if not operation.public:
        found[401] = STATUS_DESCRIPTIONS[401]
        found[403] = STATUS_DESCRIPTIONS[403]
    for error in operation.raises:
        status = STATUS_OF[error]
        found[status] = STATUS_DESCRIPTIONS[status]
    found.update(operation.also)
    return found


def _problem(description: str, *, gateway: bool = False, problem: bool = True) -> dict[str, Any]:
    content: dict[str, Any] = {}
    if problem:
        content[PROBLEM_CONTENT_TYPE] = {"schema": {"$ref": "#/components/schemas/Problem"}}
    if gateway:
        content["application/json"] = {"schema": {"$ref": "#/components/schemas/GatewayMessage"}}
    return {"description": description, "content": content}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``anyOf [X, null]`` as X: an omitted parameter or body is absent, never null."""
    options = schema.get("anyOf")
    if not options or not any(option.get("type") == "null" for option in options):
        return schema
    rest = [option for option in options if option.get("type") != "null"]
    kept = {key: value for key, value in schema.items() if key != "anyOf"}
    if len(rest) == 1:
        return {**kept, **rest[0]}
    return {**kept, "anyOf": rest}


def _complete_operation(method: str, path: str, operation: dict[str, Any], declared: Operation) -> None:
    operation["operationId"] = declared.operation_id
    operation["summary"] = declared.summary
    operation["description"] = declared.description
    if declared.public:
        operation["security"] = []
    for parameter in operation.get("parameters", []):
        schema = _without_null(parameter["schema"])
        schema.pop("title", None)
        if parameter["name"] in PARAMETER_PATTERNS:
            schema["pattern"] = PARAMETER_PATTERNS[parameter["name"]]
        parameter["schema"] = schema
    body = operation.get("requestBody")
    if body is not None:
        for media in body["content"].values():
            optional = _without_null(media["schema"])
            if optional is not media["schema"]:
                # An optional body: a plain object that may be left out (generated clients can omit it).
                optional.pop("title", None)
                media["schema"] = optional
                body["required"] = False
    responses: dict[str, Any] = operation["responses"]
    for status, response in responses.items():
        if status == "204":
            response.pop("content", None)
        code = int(status)
        if code in declared.headers:
            response["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in declared.headers[code]}
        if code in declared.links:
            response["links"] = {
                name: {"operationId": target, "parameters": dict(parameters)}
                for name, (target, parameters) in declared.links[code].items()
            }
    limited = errors.RateLimited in declared.raises
    for code, description in sorted(statuses_of(declared).items()):
        gateway = code in (401, 403, 413, 429)
        # API Gateway's answers alone are never problem details (the API itself answers no 403, and
        # a 429 only where the operation has a limit of its own).
        own = code not in (403, 429) or (code == 429 and limited)
        responses[str(code)] = _problem(description, gateway=gateway, problem=own)
        if code == 429 and limited:
            responses[str(code)]["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
    if body is not None:
        responses["413"] = _problem(STATUS_DESCRIPTIONS[413], gateway=True)
        responses["415"] = _problem(STATUS_DESCRIPTIONS[415])
    operation["responses"] = dict(sorted(responses.items()))


def _complete_schemas(schemas: dict[str, Any]) -> None:
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["GatewayMessage"] = GATEWAY_MESSAGE_SCHEMA
    # TaskPatch: null means "absent" only for the fields that refuse it (its validator says why).
    patch = schemas["TaskPatch"]["properties"]
    for name in TaskPatch.NOT_NULL:
        patch[name] = _without_null(patch[name])
    # The cron validator refuses an empty expression; say so in the schema too.
    schemas["CronSchedule"]["properties"]["expression"].update({"minLength": 1, "pattern": r"\S"})
    for schema in schemas.values():
        for prop in schema.get("properties", {}).values():
            for variables in [prop, *prop.get("anyOf", [])]:
                pattern_properties = variables.get("patternProperties")
                if variables.get("type") == "object" and pattern_properties:
                    # Keys outside the pattern are refused, and only so many are taken.
                    [pattern] = pattern_properties
                    variables.update({"propertyNames": {"pattern": pattern}, "maxProperties": MAX_VARIABLES})


def complete(generated: Mapping[str, Any]) -> dict[str, Any]:
    """Powertools' document completed with this module's declarations."""
    document = copy.deepcopy(dict(generated))
    document["info"] = INFO
    document["tags"] = TAGS
    components = document.setdefault("components", {})
    _complete_schemas(components.setdefault("schemas", {}))
    components["headers"] = HEADERS
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            _complete_operation(method, path, operation, OPERATIONS[(method, path)])
    return document


def allowed_methods(path: str) -> list[str]:
    """The methods the API takes on ``path`` (a request path, e.g. /v1/tasks/task_01…), for a
    405's ``Allow``; empty when no operation's path matches. A literal path (/v1/tasks/due) wins
    over a templated one (/v1/tasks/{task_id})."""
    requested = path.rstrip("/").split("/")
    literal: set[str] = set()
    templated: set[str] = set()
    for method, template in OPERATIONS:
        segments = template.split("/")
        if len(segments) != len(requested):
            continue
        pairs = zip(segments, requested, strict=True)
        if all(s == r or (s.startswith("{") and s.endswith("}") and r) for s, r in pairs):
            (literal if template == "/".join(requested) else templated).add(method.upper())
    return sorted(literal or templated)


@cache
def swagger_assets() -> tuple[str, str]:
    """Swagger UI's script and stylesheet, read once per cold start."""
    script = (_SWAGGER_UI / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    style = (_SWAGGER_UI / "swagger-ui.min.css").read_text(encoding="utf-8")
    return script, style
