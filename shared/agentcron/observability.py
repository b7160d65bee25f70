"""The one Logger / Tracer / Metrics setup every function shares."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="agentcron")
tracer = Tracer(service="agentcron")
metrics = Metrics(namespace="agentcron", service="agentcron")
