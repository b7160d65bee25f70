"""The README's curl walkthrough, run exactly as written against a local stack."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.e2e.conftest import RunningStack, clean_env

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_script(name: str) -> str:
    """The sh block between the README's `<!-- NAME:start -->` and `<!-- NAME:end -->`."""
    text = README.read_text(encoding="utf-8")
    block = text.split(f"<!-- {name}:start -->")[1].split(f"<!-- {name}:end -->")[0]
    return block.split("```sh\n", 1)[1].rsplit("```", 1)[0]


def walkthrough_script() -> str:
    return readme_script("walkthrough")


def test_readme_walkthrough_works_as_written(stack: RunningStack) -> None:
    script = walkthrough_script()
    assert script.startswith("API=http://127.0.0.1:3000\n")
    # The one liberty taken: the stack under test listens on a free port, not 3000.
    script = script.replace("API=http://127.0.0.1:3000", f"API={stack.url}", 1)
    env = {**clean_env(), "AGENTCRON_STATE_DIR": str(stack.state_dir)}
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=README.parent,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    documents = [json.loads(line) for line in lines if line.startswith("{")]

    health, preview, created = documents[0], documents[1], documents[2]
    assert health["status"] == "ok"
    assert preview["description"] == "At 09:00, Monday through Friday (Europe/Berlin)"
    assert len(preview["occurrences"]) == 3
    assert re.fullmatch(r"task_[0-9A-Z]{26}", created["id"])
    task_id = created["id"]

    by_step = {json.dumps(doc)[:60]: doc for doc in documents}
    patched = next(d for d in documents if d.get("id") == task_id and d.get("version") == 2)
    assert patched["variables"] == {"team": "payments"}
    run = next(d for d in documents if d.get("trigger") == "manual")
    assert run["status"] == "QUEUED" and run["variables"] == {"team": "billing"}
    listed_runs = [d for d in documents if "items" in d and d["items"] and d["items"][0].get("id") == run["id"]]
    assert len(listed_runs) == 2, by_step
    paused = next(d for d in documents if d.get("paused_reason") == "holiday")
    assert paused["enabled"] is False
    problem = next(d for d in documents if d.get("status") == 422)
    assert problem["errors"] == [
        {"field": "body.schedule.expression", "message": "minute field '61' is out of range 0-59"}
    ]
    assert lines[-2:] == ["404", "204"]
