"""EventBridge rules that reach Lambda functions, delivered locally.

moto stores rules but never invokes a Lambda target. It does deliver matching
events to SQS targets, with its own implementation of EventBridge's pattern
matching. So for each ``EventBridgeRule`` event of a function in
template.yaml (today the dispatcher's "Run Task" rule), the router puts that
rule, with the template's own pattern, on the template's bus, targets a
local-only queue with it, and invokes the function's handler with every
event that arrives there: a PutEvents of a matching event on the app bus
runs the function, as on AWS.

As Lambda does for asynchronous invocations, a failing event is tried three
times in all (here: the queue's receive count), then dropped with a log line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3

from agentcron_local.gateway import function_settings, lambda_context, load_function_handler
from agentcron_local.resources import DEFAULT_TEMPLATE, load_template
from agentcron_local.threads import ThreadedService

Handler = Callable[[dict[str, Any], Any], Any]
MAX_ATTEMPTS = 3  # Lambda's asynchronous invocation: the first try and two retries
RETRY_AFTER_SECONDS = 2  # how soon a failed event is tried again


@dataclass(frozen=True)
class FunctionRule:
    """One ``EventBridgeRule`` event of a function in the template."""

    function: str  # "dispatcher" for DispatcherFunction (functions/dispatcher)
    event_name: str  # the event's key in the template: RunTaskEvent
    pattern: Mapping[str, Any]
    bus_logical_id: str | None  # the bus's resource in the template; None: the default bus


def function_rules(template_path: Path | str = DEFAULT_TEMPLATE) -> list[FunctionRule]:
    """Every function's EventBridgeRule events, their patterns as template.yaml states them."""
    resources: Mapping[str, Any] = load_template(template_path)["Resources"]
    rules: list[FunctionRule] = []
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event_name, event in ((resource.get("Properties") or {}).get("Events") or {}).items():
            if event.get("Type") != "EventBridgeRule":
                continue
            properties = event.get("Properties") or {}
            bus = properties.get("EventBusName")
            rules.append(
                FunctionRule(
                    function=logical_id.removesuffix("Function").lower(),
                    event_name=event_name,
                    pattern=properties["Pattern"],
                    bus_logical_id=bus["Ref"] if isinstance(bus, dict) and "Ref" in bus else None,
                )
            )
    return rules


@dataclass
class EventRouter(ThreadedService):
    """Puts the template's function rules on the local buses and delivers what they match."""

    rules: list[FunctionRule]
    bus_names: Mapping[str, str]  # bus logical id -> its local name
    prefix: str
    template_path: Path | str = DEFAULT_TEMPLATE
    handlers: Mapping[str, Handler] = field(default_factory=dict)  # function -> handler; default: functions/<f>
    out: IO[str] | None = None
    name: str = "event router"
    wait_seconds: int = 1
    delivered: int = 0
    _queues: dict[str, str] = field(default_factory=dict)  # function -> queue URL

    def start(self) -> None:
        events, sqs = boto3.client("events"), boto3.client("sqs")
        for rule in self.rules:
            queue_url = self._queues.get(rule.function)
            if queue_url is None:
                # Hidden for the function's whole timeout while it runs: never handed out twice at once.
                _, timeout = function_settings(self.template_path, f"{rule.function.capitalize()}Function")
                queue_url = sqs.create_queue(
                    QueueName=f"{self.prefix}-local-events-{rule.function}",
                    Attributes={"VisibilityTimeout": str(math.ceil(timeout))},
                )["QueueUrl"]
                self._queues[rule.function] = queue_url
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            bus = self.bus_names[rule.bus_logical_id] if rule.bus_logical_id else "default"
            rule_name = f"{self.prefix}-{rule.function}-{rule.event_name}"
            events.put_rule(Name=rule_name, EventBusName=bus, EventPattern=json.dumps(rule.pattern), State="ENABLED")
            events.put_targets(
                Rule=rule_name, EventBusName=bus, Targets=[{"Id": f"local-{rule.function}", "Arn": queue_arn}]
            )
        super().start()

    def _loop(self) -> None:
        sqs = boto3.session.Session().client("sqs")  # this thread's own client
        while not self._stopping.is_set():
            for function, queue_url in self._queues.items():
                try:
                    self.deliver_once(sqs, function, queue_url)
                except Exception as error:  # keep routing, as EventBridge does
                    self._log(f"event delivery failed: {type(error).__name__}: {error}")
                    self._stopping.wait(1)

    def deliver_once(self, sqs: Any, function: str, queue_url: str) -> int:
        """Invoke ``function`` with each event that arrived; returns how many did."""
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=self.wait_seconds, AttributeNames=["All"]
        ).get("Messages", [])
        for message in messages:
            event = json.loads(message["Body"])
            attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            handler = self.handlers.get(function) or load_function_handler(function)
            try:
                result = handler(event, lambda_context(function))
            except Exception as error:
                if attempt < MAX_ATTEMPTS:
                    self._log(f"{function} failed on {event.get('detail-type')!r} (attempt {attempt}): {error}")
                    sqs.change_message_visibility(
                        QueueUrl=queue_url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=RETRY_AFTER_SECONDS,
                    )
                    continue
                self._log(f"{function} failed on {event.get('detail-type')!r} {attempt} times; dropped: {error}")
            else:
                self.delivered += 1
                self._log(f"{event.get('detail-type')!r} event -> {function}: {result}")
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _log(self, message: str) -> None:
        if self.out is not None:
            print(f"[agentcron local] {message}", file=self.out, flush=True)
