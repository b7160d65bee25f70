"""``pip install 'agentcron[cli]'`` is a working CLI: the wheel, built from this checkout and
installed into a fresh venv with only that extra, talks to a running local stack.

uv installs from its cache when it can (offline here), and from PyPI otherwise (CI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from agentcron_local.stack import LocalStack

from tests.integration.test_cli import stack

REPO_ROOT = Path(__file__).resolve().parents[2]
UV = REPO_ROOT / ".tools" / "uv" / "bin" / "uv"
__all__ = ["stack"]  # the local stack fixture of test_cli, one per module


def uv(*args: str, cwd: Path) -> None:
    """``uv ARGS``, offline first (the cache holds every locked package), then with the index."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONPATH")}
    offline = subprocess.run([str(UV), *args, "--offline"], cwd=cwd, env=env, capture_output=True, text=True)
    if offline.returncode == 0:
        return
    online = subprocess.run([str(UV), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert online.returncode == 0, f"uv {' '.join(args)}:\n{offline.stderr}\n{online.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``agentcron`` command of a fresh venv holding the wheel and its ``cli`` extra only."""
    if not UV.exists():
        pytest.fail(f"{UV} is missing: run `make install`")
    work = tmp_path_factory.mktemp("wheel")
    uv("build", "--wheel", "--python", sys.executable, "--out-dir", str(work / "dist"), str(REPO_ROOT), cwd=work)
    [wheel] = (work / "dist").glob("agentcron-*.whl")
    uv("venv", "--python", sys.executable, str(work / "venv"), cwd=work)
    uv("pip", "install", "--python", str(work / "venv" / "bin" / "python"), f"{wheel}[cli]", cwd=work)
    return work / "venv" / "bin" / "agentcron"


def run(command: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTCRON_", "AWS_", "PYTHON", "VIRTUAL_ENV"))}
    env["AGENTCRON_CONFIG"] = str(cwd / "none.toml")
    return subprocess.run([str(command), *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_installed_cli_prints_its_version(installed: Path, tmp_path: Path) -> None:
    proc = run(installed, "--version", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "agentcron 0.1.0\n"


def test_the_installed_cli_creates_and_lists_tasks_on_a_running_stack(
    installed: Path, stack: LocalStack, tmp_path: Path
) -> None:
    where = ("--state-dir", str(stack.state_dir), "--user", "wheel-user")
    created = run(installed, *where, "tasks", "create", "--name", "from the wheel", "--prompt", "p", "--manual", "-q",
                  cwd=tmp_path)  # fmt: skip
    assert created.returncode == 0, created.stderr
    listed = run(installed, *where, "tasks", "list", "-o", "json", "--query", "items[].name", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == ["from the wheel"]


def test_the_venv_holds_the_extra_and_no_dev_tools(installed: Path, tmp_path: Path) -> None:
    python = installed.parent / "python"
    modules = "('moto', 'pytest', 'requests', 'jwt', 'rich')"
    probe = f"import importlib.util as u; print([m for m in {modules} if u.find_spec(m)])"
    proc = subprocess.run([str(python), "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "['requests', 'jwt', 'rich']"
