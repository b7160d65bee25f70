"""The one Logger / Tracer / Metrics setup every function shares."""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics, Tracer

from agentcron.models import RunStatus

logger = Logger(service="agentcron")
tracer = Tracer(service="agentcron")
metrics = Metrics(namespace="agentcron", service="agentcron")

# One metric per way a run ends, named here in full so a search for a dashboard's name finds it.
RUN_OUTCOME_METRICS: dict[RunStatus, str] = {
    RunStatus.QUEUED: "RunsQueued",
    RunStatus.RUNNING: "RunsRunning",
    RunStatus.SUCCEEDED: "RunsSucceeded",
    RunStatus.FAILED: "RunsFailed",
    RunStatus.TIMED_OUT: "RunsTimedOut",
    RunStatus.WAITING_INPUT: "RunsWaitingInput",
    RunStatus.CANCELLED: "RunsCancelled",
    RunStatus.SKIPPED: "RunsSkipped",
    RunStatus.MISSED: "RunsMissed",
}

# At DEBUG (an operator chasing a problem), these log every AWS response body in full: the
# runner's GetSecretValue (the Anthropic key) and every table item (prompts, outputs). Never below INFO.
for _name in ("botocore.parsers", "boto3.resources.action"):
    logging.getLogger(_name).setLevel(logging.INFO)
