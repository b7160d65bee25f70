"""The local stack: moto, the template's resources, the API gateway, and background services.

Start order matters and is fixed here:

1. the state-dir lock (a second stack on the same state says "already running");
2. the gateway's port is bound (a busy port fails fast, before moto's 1 s start);
3. moto, then the template's resources in it;
4. the process environment (AWS_ENDPOINT_URL, dummy credentials, the
   functions' variables) is set BEFORE any function module is imported,
   because handlers build their clients and read settings at import;
5. the api function is loaded and the gateway serves it;
6. background services (SERVICE_FACTORIES: the dispatcher ticker, the queue
   poller and the fake model register themselves there) start last and stop first.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import sys
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol

from agentcron import bootstrap
from agentcron.guarded_http import LOCAL_LOOPBACK_PORTS_ENV
from agentcron.store import Store

from agentcron_local import tokens
from agentcron_local.demo_mcp import DemoMcpServer
from agentcron_local.gateway import GatewayServer, lambda_context, load_function_handler, make_gateway, serve_in_thread
from agentcron_local.gateway.authorizer import LambdaAuthorizer, result_ttl_of
from agentcron_local.inbox import WebhookInbox
from agentcron_local.issuer import IssuerKeys, authorizer_environment
from agentcron_local.lambda_invoke import LambdaInvokeRoute, local_function_name
from agentcron_local.motoserver import MotoHandle, start_moto
from agentcron_local.persistence import SnapshotService, restore_stack
from agentcron_local.resources import DEFAULT_REGION, DEFAULT_TEMPLATE, create_resources, delete_resources
from agentcron_local.threads import run_until_signal
from agentcron_local.webapp import WebApp

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000  # sam local start-api's port
DEFAULT_MOTO_PORT = 4566
DEFAULT_PREFIX = "agentcron-local"
PID_FILE_NAME = "local-stack.pid"
STACK_FILE_NAME = "stack.json"

# Variables that would make boto3 ignore the dummy credentials (an explicit
# profile wins over AWS_ACCESS_KEY_ID) or send a real session token to moto.
AWS_VARIABLES_TO_CLEAR = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def local_aws_environment(endpoint: str, region: str = DEFAULT_REGION) -> dict[str, str]:
    """The variables that point every boto3 client of the process at moto."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,  # Lambda sets both; some SDK paths read only this one
    }


class AlreadyRunning(RuntimeError):
    def __init__(self, pid: int | None, pid_file: Path) -> None:
        self.pid = pid
        self.pid_file = pid_file
        who = f"pid {pid}" if pid else "pid unknown"
        super().__init__(
            f"agentcron local is already running ({who}), state in {pid_file.parent}; "
            "stop it (Ctrl-C in its terminal) or use another --state-dir"
        )


class PidLock:
    """An flock()ed pid file: the kernel drops the lock when the holder dies, so a
    stale file from a crashed stack never blocks the next start."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="ascii")  # noqa: SIM115 - held for the stack's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            text = handle.read().strip()
            handle.close()
            raise AlreadyRunning(int(text) if text.isdigit() else None, self.path) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is None:
            return
        # Emptied, not deleted: unlinking a lock file races with a starter that
        # has opened it but not locked it yet.
        self._file.seek(0)
        self._file.truncate()
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()
        self._file = None


class BackgroundService(Protocol):
    """Something the stack runs beside the gateway (the ticker, the queue poller, the fake model)."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


# Factories called with the started stack (moto up, environment set, api loaded).
# The dispatcher ticker, the SQS poller and the fake model append themselves here.
ServiceFactory = Callable[["LocalStack"], BackgroundService]
SERVICE_FACTORIES: list[ServiceFactory] = []


def register_service(factory: ServiceFactory) -> ServiceFactory:
    """Decorator: run this background service in every local stack."""
    SERVICE_FACTORIES.append(factory)
    return factory


@dataclass
class StackOptions:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    moto_port: int = DEFAULT_MOTO_PORT
    prefix: str = DEFAULT_PREFIX
    region: str = DEFAULT_REGION
    template_path: Path = DEFAULT_TEMPLATE
    state_dir: Path | None = None  # None: tokens.state_dir() ($AGENTCRON_STATE_DIR or <repo>/.local-state)
    verbose: bool = False
    access_log: bool = True
    # The ticker's period and the functions' TICK_SECONDS; None: the template's TickSeconds (300, like production).
    tick_seconds: float | None = None
    persist: bool = True  # keep tasks, runs and transcripts in the state dir across restarts
    snapshot_seconds: float = 1.0
    # The revocation delay's two halves; None: the template's (API_KEY_CACHE_SECONDS, ReauthorizeEvery).
    api_key_cache_seconds: float | None = None
    authorizer_ttl_seconds: float | None = None


@dataclass
class LocalStack:
    options: StackOptions = field(default_factory=StackOptions)
    service_factories: Sequence[ServiceFactory] | None = None  # None: SERVICE_FACTORIES
    out: IO[str] = field(default_factory=lambda: sys.stdout)

    moto: MotoHandle | None = field(default=None, init=False)
    gateway: GatewayServer | None = field(default=None, init=False)
    env: dict[str, str] = field(default_factory=dict, init=False)
    services: list[BackgroundService] = field(default_factory=list, init=False)
    snapshots: SnapshotService | None = field(default=None, init=False)
    inbox: WebhookInbox | None = field(default=None, init=False)
    demo_mcp: DemoMcpServer | None = field(default=None, init=False)
    _lock: PidLock | None = field(default=None, init=False)
    _gateway_thread: threading.Thread | None = field(default=None, init=False)
    _resources_created: bool = field(default=False, init=False)
    _saved_env: dict[str, str | None] = field(default_factory=dict, init=False)

    @property
    def state_dir(self) -> Path:
        return self.options.state_dir or tokens.state_dir()

    @property
    def api_url(self) -> str:
        if self.gateway is None:
            raise RuntimeError("the stack is not started")
        return self.gateway.url

    @property
    def moto_endpoint(self) -> str:
        if self.moto is None:
            raise RuntimeError("the stack is not started")
        return self.moto.endpoint

    def start(self) -> LocalStack:
        """Start everything; on any failure, stop what was started and re-raise."""
        opts = self.options
        if opts.state_dir is not None:
            # tokens.* and the services read the state dir from the environment.
            self._set_env({tokens.STATE_DIR_ENV: str(opts.state_dir)})
        try:
            self._lock = PidLock(self.state_dir / PID_FILE_NAME)
            self._lock.acquire()
            self.gateway = make_gateway(
                None,
                opts.host,
                opts.port,
                template_path=opts.template_path,
                log=self._log if opts.access_log else None,
            )
            self.moto = start_moto(opts.host, opts.moto_port, verbose=opts.verbose)
            aws_env = local_aws_environment(self.moto.endpoint, opts.region)
            self._set_env(dict.fromkeys(AWS_VARIABLES_TO_CLEAR))
            self._set_env(aws_env)
            resources_env = create_resources(
                self.moto.endpoint, prefix=opts.prefix, template_path=opts.template_path, region=opts.region
            )
            self._resources_created = True
            if opts.tick_seconds is not None:
                # The functions' lookahead (and the API's near-term claim) must match the
                # ticker's period, as the template makes TICK_SECONDS match the rule's rate.
                # The variable holds whole seconds: a fractional tick rounds up.
                resources_env["TICK_SECONDS"] = str(max(1, math.ceil(opts.tick_seconds)))
            # The demo MCP server: its port is taken now, so it is among the loopback ports.
            self.demo_mcp = DemoMcpServer(host=opts.host).start()
            # The webhook inbox on the gateway's port is a webhook target here, and only here;
            # so is the demo MCP server a connector's URL.
            resources_env[LOCAL_LOOPBACK_PORTS_ENV] = f"{self.gateway.port},{self.demo_mcp.port}"
            # The API invokes the runner to test a connector: boto3's Lambda endpoint is the
            # gateway's own Invoke route (lambda_invoke), which runs the runner's handler here.
            resources_env["AWS_ENDPOINT_URL_LAMBDA"] = f"http://{opts.host}:{self.gateway.port}"
            resources_env["RUNNER_FUNCTION_NAME"] = local_function_name(opts.prefix, "runner")
            resources_env.update(authorizer_environment(self.gateway.url))
            if opts.api_key_cache_seconds is not None:
                resources_env["API_KEY_CACHE_SECONDS"] = f"{opts.api_key_cache_seconds:g}"
            self.env = {**aws_env, **resources_env}
            self._set_env(resources_env)
            # A function container built its clients for the previous stack's endpoint
            # (an in-process restart): start from cold, as a new container would.
            bootstrap.reset()
            if opts.persist:
                # Before the API serves: no request may see the empty tables.
                self.snapshots = SnapshotService(restore_stack(self), opts.snapshot_seconds, out=self.out)
                self.snapshots.start()
            self.inbox = WebhookInbox(secret_for=self._webhook_secret)
            self.gateway.add_local_route(self.inbox)
            self.gateway.add_local_route(LambdaInvokeRoute(opts.prefix))
            self.gateway.add_local_route(IssuerKeys())
            # Last: it answers every path outside /v1 (the app's own routes fall back to index.html).
            self.gateway.add_local_route(WebApp())
            ttl = (
                result_ttl_of(opts.template_path)
                if opts.authorizer_ttl_seconds is None
                else opts.authorizer_ttl_seconds
            )
            self.gateway.authorizer = LambdaAuthorizer(
                self._load_function("authorizer"),
                result_ttl_seconds=ttl,
                context_factory=lambda: lambda_context("authorizer", template_path=opts.template_path),
            )
            self.gateway.function = self._load_function("api")
            self._gateway_thread = serve_in_thread(self.gateway)
            self._write_stack_file()
            if self.service_factories is None:
                # Importing it registers the ticker and the queue poller.
                import agentcron_local.services  # noqa: F401
            factories = SERVICE_FACTORIES if self.service_factories is None else self.service_factories
            for factory in factories:
                service = factory(self)
                service.start()
                self.services.append(service)
        except BaseException:
            self.stop()
            raise
        return self

    def _webhook_secret(self, task_id: str) -> str | None:
        """The inbox's view of a task's signing secret, straight from the table."""
        store = Store(self.env["TABLE_NAME"], due_shards=int(self.env.get("DUE_SHARDS", "4")))
        task = store.get_task_by_id(task_id)
        return task.webhook_secret if task is not None else None

    def _load_function(self, name: str) -> Callable[[dict[str, Any], Any], Any]:
        try:
            return load_function_handler(name)
        except Exception as exc:
            # A function that fails to import still gets invoked on AWS, and
            # every invocation fails (Runtime.ImportModuleError -> 500). Same
            # here, so the stack stays up while the code is being fixed.
            traceback.print_exc()
            self._log(f"warning: functions/{name}/app.py failed to load ({exc}); requests will get 500")
            error = exc

            def broken(event: dict[str, Any], context: Any) -> Any:
                raise RuntimeError(f"Runtime.ImportModuleError: functions/{name}/app.py") from error

            return broken

    def stop(self) -> None:
        """Stop in reverse order. Idempotent; safe after a failed start."""
        while self.services:
            service = self.services.pop()
            try:
                service.stop()
            except Exception:
                traceback.print_exc()
        if self.gateway is not None:
            if self._gateway_thread is not None:
                self.gateway.shutdown()
                self._gateway_thread.join(10)
            self.gateway.server_close()
            self.gateway = None
            self._gateway_thread = None
        if self.snapshots is not None:
            self.snapshots.stop()  # after the services: their last writes are saved too
            self.snapshots = None
        if self.demo_mcp is not None:
            self.demo_mcp.stop()
            self.demo_mcp = None
        self.stack_file.unlink(missing_ok=True)
        if self.moto is not None:
            if self._resources_created:
                try:
                    delete_resources(
                        self.moto.endpoint,
                        prefix=self.options.prefix,
                        template_path=self.options.template_path,
                        region=self.options.region,
                    )
                except Exception:
                    traceback.print_exc()
                self._resources_created = False
            self.moto.stop()
            self.moto = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        self._restore_env()

    @property
    def stack_file(self) -> Path:
        """Where clients (the CLI, `agentcron invoke`) find the running stack."""
        return self.state_dir / STACK_FILE_NAME

    def _write_stack_file(self) -> None:
        document = {"api_url": self.api_url, "moto_endpoint": self.moto_endpoint, "env": self.env, "pid": os.getpid()}
        self.stack_file.write_text(json.dumps(document, indent=2), encoding="utf-8")

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def banner(self, user: str = "demo") -> str:
        token = tokens.issue_token(user)
        return "\n".join(
            [
                "agentcron local stack is up",
                f"  Web app:    {self.api_url}/   (sign in with any user name)",
                f"  API:        {self.api_url}   (routes under /v1/; a dev JWT or an ak_ key, as deployed)",
                f"  AWS (moto): {self.moto_endpoint}   (AWS_ENDPOINT_URL for the aws CLI / boto3)",
                f"  webhooks:   {self.api_url}/hooks/NAME receives, {self.api_url}/hooks lists (loopback only)",
                *self._demo_mcp_lines(),
                f"  state:      {self.state_dir}",
                "",
                f'Dev token for user "{user}" (12 h; `agentcron token NAME` makes others):',
                f"  export TOKEN={token}",
                f'  curl -H "Authorization: Bearer $TOKEN" {self.api_url}/v1/tasks',
                "",
                "Ctrl-C stops the stack.",
            ]
        )

    def _demo_mcp_lines(self) -> list[str]:
        if self.demo_mcp is None:
            return []
        demo = self.demo_mcp
        return [
            f"  demo MCP:   {demo.url}   (a mailbox and notes; register it: POST /v1/connectors",
            f'              {{"name": "mail", "url": "{demo.url}"}}; sent mail: {demo.base_url}/outbox)',
        ]

    def serve_until_signal(self, user: str = "demo") -> int:
        """Print the banner and serve until SIGINT/SIGTERM; then stop cleanly. Returns the exit code."""

        def stop() -> None:
            self._log("stopping")
            self.stop()

        run_until_signal(self.banner(user), stop, out=self.out)
        return 0

    def _log(self, message: str) -> None:
        print(f"[agentcron local] {message}", file=sys.stderr, flush=True)

    def _set_env(self, values: Mapping[str, str | None]) -> None:
        for name, value in values.items():
            if name not in self._saved_env:
                self._saved_env[name] = os.environ.get(name)
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _restore_env(self) -> None:
        # An in-process stack (tests) must leave the environment as it found it.
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
