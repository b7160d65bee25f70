"""The local stack's stand-ins for what AWS does on its own:

- `DispatcherTicker`: EventBridge's `rate(5 minutes)` rule, which moto stores
  but never fires. It invokes the real dispatcher handler with the sample
  scheduled event, every `tick_seconds` (300 like production by default).
- `EventRouter` (``event_router``): the template's EventBridge rules that
  target functions (the "Run Task" rule), which moto never fires at a Lambda.
- `QueuePoller`: Lambda's SQS event source mapping. It long-polls the run
  queue, invokes the real runner handler with SQS batch events, deletes what
  succeeded, leaves `batchItemFailures` (or everything, when the handler
  raises) to reappear after the visibility timeout, as Lambda does.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import boto3

from agentcron_local.event_router import EventRouter, function_rules
from agentcron_local.fake_model import FakeModel
from agentcron_local.gateway import lambda_context, load_function_handler
from agentcron_local.resources import DEFAULT_REGION, LOCAL_ACCOUNT_ID, RESOURCE_ENV, load_template
from agentcron_local.stack import register_service
from agentcron_local.threads import ThreadedService

if TYPE_CHECKING:
    from agentcron_local.stack import LocalStack

REPO_ROOT = Path(__file__).resolve().parents[2]
TICK_EVENT = REPO_ROOT / "events" / "dispatcher-tick.json"
Handler = Callable[[dict[str, Any], Any], Any]


def _log(out: IO[str] | None, message: str) -> None:
    if out is not None:
        print(f"[agentcron local] {message}", file=out, flush=True)


@dataclass
class DispatcherTicker(ThreadedService):
    tick_seconds: float
    handler: Handler | None = None
    out: IO[str] | None = None
    name: str = "dispatcher ticker"
    ticks: int = 0

    def tick(self) -> dict[str, Any]:
        handler = self.handler or load_function_handler("dispatcher")
        event = json.loads(TICK_EVENT.read_text(encoding="utf-8"))
        event["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        result: dict[str, Any] = handler(event, lambda_context("dispatcher"))
        self.ticks += 1
        return result

    def _loop(self) -> None:
        # The first tick at start: what came due while the stack was down runs now.
        while not self._stopping.is_set():
            try:
                result = self.tick()
                _log(self.out, f"tick: {', '.join(f'{k} {v}' for k, v in result.items() if k != 'status')}")
            except Exception as error:  # the next tick tries again, as EventBridge would
                _log(self.out, f"tick failed: {type(error).__name__}: {error}")
            self._stopping.wait(self.tick_seconds)


def runner_event_source(template_path: Path | str | None = None) -> tuple[int, float]:
    """BatchSize and MaximumBatchingWindowInSeconds of the runner's SQS event in the template."""
    template = load_template(template_path) if template_path else load_template()
    events = template["Resources"]["RunnerFunction"]["Properties"].get("Events") or {}
    for event in events.values():
        if event.get("Type") == "SQS":
            properties = event.get("Properties") or {}
            return int(properties.get("BatchSize", 10)), float(properties.get("MaximumBatchingWindowInSeconds", 0))
    return 10, 0.0


@dataclass
class QueuePoller:
    queue_url: str
    handler: Handler | None = None
    batch_size: int = 1
    workers: int = 2
    wait_seconds: int = 1
    out: IO[str] | None = None
    name: str = "run queue poller"
    invocations: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        for index in range(self.workers):
            thread = threading.Thread(target=self._loop, name=f"{self.name} {index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _loop(self) -> None:
        sqs = boto3.session.Session().client("sqs")  # a client per thread
        while not self._stop.is_set():
            try:
                self.poll_once(sqs)
            except Exception as error:  # keep polling, as the event source mapping does
                _log(self.out, f"poll failed: {type(error).__name__}: {error}")
                self._stop.wait(1)

    def poll_once(self, sqs: Any) -> int:
        """Receive one batch, invoke the runner, settle the messages. Returns how many arrived."""
        # Resolved before receiving: a runner that fails to load must not leave a received
        # message in flight for the queue's whole visibility timeout.
        handler = self.handler or load_function_handler("runner")
        received = sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return 0
        event = {"Records": [self._record(message) for message in received]}
        try:
            result = handler(event, lambda_context("runner"))
        except Exception as error:
            # Lambda returns the whole batch to the queue: it reappears after the visibility timeout.
            _log(
                self.out, f"runner failed ({len(received)} message(s) will be retried): {type(error).__name__}: {error}"
            )
            return len(received)
        finally:
            with self._lock:
                self.invocations += 1
        failed = {item["itemIdentifier"] for item in (result or {}).get("batchItemFailures", [])}
        done = [m for m in received if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(received)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        queue_name = self.queue_url.rsplit("/", 1)[-1]
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{DEFAULT_REGION}:{LOCAL_ACCOUNT_ID}:{queue_name}",
            "awsRegion": DEFAULT_REGION,
        }


@dataclass
class ModelService:
    """The fake Messages API on loopback, unless ANTHROPIC_API_KEY is set:
    then the runner talks to Claude itself."""

    out: IO[str] | None = None
    name: str = "fake model"
    model: FakeModel | None = None
    _saved: dict[str, str | None] = field(default_factory=dict)

    def start(self) -> None:
        if os.environ.get("ANTHROPIC_API_KEY") and not os.environ.get("ANTHROPIC_BASE_URL"):
            _log(self.out, "model: Claude (ANTHROPIC_API_KEY is set)")
            return
        self.model = FakeModel().start()
        for name, value in {"ANTHROPIC_BASE_URL": self.model.base_url, "ANTHROPIC_API_KEY": "local-fake-model"}.items():
            self._saved[name] = os.environ.get(name)
            os.environ[name] = value
        _log(
            self.out, f"model: the local fake Messages API at {self.model.base_url} (set ANTHROPIC_API_KEY for Claude)"
        )

    def stop(self) -> None:
        if self.model is not None:
            self.model.stop()
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@register_service
def model_for(stack: LocalStack) -> ModelService:
    return ModelService(out=stack.out)


@register_service
def ticker_for(stack: LocalStack) -> DispatcherTicker:
    tick = stack.options.tick_seconds or float(stack.env.get("TICK_SECONDS", "300"))
    return DispatcherTicker(tick_seconds=tick, out=stack.out)


@register_service
def poller_for(stack: LocalStack) -> QueuePoller:
    batch_size, _ = runner_event_source(stack.options.template_path)
    return QueuePoller(queue_url=stack.env["RUN_QUEUE_URL"], batch_size=batch_size, out=stack.out)


@register_service
def event_router_for(stack: LocalStack) -> EventRouter:
    bus_names = {logical: stack.env[variable] for logical, variable in RESOURCE_ENV.items() if variable in stack.env}
    template = stack.options.template_path
    return EventRouter(function_rules(template), bus_names, stack.options.prefix, template_path=template, out=stack.out)
