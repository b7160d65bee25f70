"""Lambda's Invoke API for the local stack's functions, on the gateway's own port.

The API tests a connector by invoking the runner function (``RunnerProber``:
boto3's ``lambda.invoke``), as it does on AWS. moto's Lambda would need Docker,
so the stack points boto3's Lambda endpoint (``AWS_ENDPOINT_URL_LAMBDA``) here,
and this route runs the function's real handler in-process, as the queue
poller does for SQS: ``POST /2015-03-31/functions/<name>/invocations``.
Loopback clients only.
"""

from __future__ import annotations

import json
import re
import traceback
from dataclasses import dataclass

from agentcron_local.gateway import HttpResponse, LocalRequest, lambda_context, load_function_handler
from agentcron_local.inbox import _is_loopback

_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")


def local_function_name(prefix: str, function: str) -> str:
    """What the stack calls a function (``runner`` -> ``agentcron-local-RunnerFunction``)."""
    return f"{prefix}-{function.capitalize()}Function"


@dataclass
class LambdaInvokeRoute:
    """A ``LocalRoute``: synchronous invocations of ``functions/<name>/app.py``."""

    prefix: str

    def function_of(self, name: str) -> str | None:
        # A qualified name or ARN (…:function:NAME:live) names the same local function.
        base = name.split(":function:", 1)[-1].split(":", 1)[0]
        for function in ("runner", "dispatcher", "api"):
            if base in (function, local_function_name(self.prefix, function)):
                return function
        return None

    def answer(self, request: LocalRequest) -> HttpResponse | None:
        match = _INVOKE_PATH.match(request.path)
        if match is None or request.method != "POST" or not _is_loopback(request.client):
            return None
        function = self.function_of(match["name"])
        if function is None:
            body = {"Type": "User", "message": f"Function not found: {match['name']}"}
            return HttpResponse(404, [("content-type", "application/json")], json.dumps(body).encode())
        event = json.loads(request.body or b"{}")
        try:
            result = load_function_handler(function)(event, lambda_context(function))
        except Exception as error:
            traceback.print_exc()
            failure = {"errorMessage": str(error), "errorType": type(error).__name__}
            headers = [("content-type", "application/json"), ("x-amz-function-error", "Unhandled")]
            return HttpResponse(200, headers, json.dumps(failure).encode())
        return HttpResponse(200, [("content-type", "application/json")], json.dumps(result).encode())
