"""The one Logger / Tracer / Metrics setup every function shares."""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="agentcron")
tracer = Tracer(service="agentcron")
metrics = Metrics(namespace="agentcron", service="agentcron")

# At DEBUG (an operator chasing a problem), these log every AWS response body in full: the
# runner's GetSecretValue (the Anthropic key) and every table item (prompts, outputs). Never below INFO.
for _name in ("botocore.parsers", "boto3.resources.action"):
    logging.getLogger(_name).setLevel(logging.INFO)
