"""The README's conversation walkthrough, run exactly as written against `agentcron local`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import RunningStack, clean_env
from tests.e2e.test_readme_walkthrough import README, readme_script


def test_readme_chat_walkthrough_works_as_written(stack: RunningStack) -> None:
    env = {
        **clean_env(),
        "AGENTCRON_STATE_DIR": str(stack.state_dir),
        # The venv's agentcron, as `source .venv/bin/activate` gives it.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_script("chat-walkthrough")],
        cwd=README.parent,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Created task 'Morning brief'" in out, out
    assert "At 09:00, Monday through Friday (Europe/Berlin)" in out, out
    # The run "run it now" started, listed as JSON (pretty-printed, between the chat and the table).
    listing = out[out.index('{\n  "items"') : out.index("\n}\n", out.index('{\n  "items"')) + 2]
    [run] = json.loads(listing)["items"]
    assert run["trigger"] == "manual" and run["status"] in ("QUEUED", "RUNNING", "SUCCEEDED"), run
    assert "Morning brief  background" in out, out
