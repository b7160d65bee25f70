"""Start `agentcron local` as a user would: a subprocess with its own state dir
and ports, stopped at the end. Shared by the e2e tests (fixture `stack`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def agentcron(state_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "agentcron_local.cli", "--state-dir", str(state_dir), *args]


def clean_env() -> dict[str, str]:
    # The stack must not depend on the test session's AWS variables (moto_server sets them).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AGENTCRON_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class RunningStack:
    proc: subprocess.Popen[str]
    port: int
    state_dir: Path
    stdout_path: Path
    stderr_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8")

    def errors(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8")


def wait_until_answering(stack: RunningStack) -> requests.Response:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if stack.proc.poll() is not None:
            pytest.fail(f"agentcron local exited with {stack.proc.returncode}:\n{stack.errors()}")
        try:
            # Any answer means the gateway is serving (the api function's own
            # answer is the API tests' business).
            return requests.get(f"{stack.url}/v1/health", timeout=5)
        except (requests.ConnectionError, requests.Timeout):
            # The port is bound first and served once the stack is up: early
            # connections wait in the backlog.
            time.sleep(0.2)
    pytest.fail(f"agentcron local did not answer within {STARTUP_SECONDS} s:\n{stack.errors()}")


@contextmanager
def local_stack_process(
    base: Path, extra_env: Mapping[str, str] | None = None, extra_args: Sequence[str] = ()
) -> Iterator[RunningStack]:
    """`agentcron local` (and `extra_args`) in a subprocess with its state, ports and output under
    `base` (and `extra_env` added to its environment); stopped (SIGTERM, then SIGKILL after 10 s)
    when the block ends."""
    state_dir = base / "state"
    port = free_port()
    stdout_path, stderr_path = base / "stdout.txt", base / "stderr.txt"
    with stdout_path.open("w") as out, stderr_path.open("w") as err:
        proc = subprocess.Popen(
            agentcron(state_dir, "local", "--port", str(port), "--moto-port", "0", *extra_args),
            stdout=out,
            stderr=err,
            text=True,
            env={**clean_env(), **(extra_env or {})},
        )
    running = RunningStack(proc, port, state_dir, stdout_path, stderr_path)
    try:
        wait_until_answering(running)
        yield running
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with local_stack_process(tmp_path_factory.mktemp("local-stack")) as running:
        yield running
