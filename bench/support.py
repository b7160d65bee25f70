"""What the benchmarks share: the machine description, percentiles, Markdown
tables, and the worker protocol.

Every benchmark's measuring part runs in a fresh worker process
(`python -m bench.NAME --worker OUT.json --options JSON`): handlers read
settings and build clients at import, the Powertools logger and metrics write
to stdout, and a benchmark that starts moto or a local stack must not leak
either into the next one. The worker's stdout/stderr go to a log file; only the
JSON result comes back.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
Result = dict[str, Any]
Measure = Callable[..., Result]
Render = Callable[[Result], str]


# ---- the machine -------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def machine() -> dict[str, Any]:
    """Where and when the figures were taken (printed with every table)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    changed = [line for line in _git("status", "--porcelain").splitlines() if line.strip()]
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": cores,
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "load": load_average(),
        "commit": _git("rev-parse", "--short", "HEAD") or "unknown",
        "uncommitted_files": len(changed),
    }


def load_average() -> str:
    """The 1/5/15-minute load averages: other work on the machine slows every timing."""
    try:
        return " ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def machine_line(info: Mapping[str, Any]) -> str:
    dirty = f" + {info['uncommitted_files']} uncommitted file(s)" if info.get("uncommitted_files") else ""
    return (
        f"{info['date']} · {info['nproc']} cores ({info['cpu']}) · Python {info['python']} · "
        f"{info['os']} · load average {info.get('load', '?')} at start · commit {info['commit']}{dirty}"
    )


# ---- numbers and tables ----------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p50 of [1, 2, 3, 4] is 2; p100 is the max)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def fmt(value: float | int | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 0.01:
        return f"{value:.{digits}f}"
    return f"{value:.2g}"


def usd(value: float) -> str:
    if value == 0:
        return "$0"
    if value >= 100:
        return f"${value:,.0f}"
    if value >= 1:
        return f"${value:,.2f}"
    if value >= 0.01:
        return f"${value:.3f}"
    return f"${value:.2g}"


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None) -> str:
    """A GitHub Markdown table; `align` is one letter per column (l/r), default: first left, rest right."""
    rows = [[str(cell) for cell in row] for row in rows]
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# ---- the worker protocol ---------------------------------------------------------


class BenchmarkFailed(RuntimeError):
    pass


# Compiled bytecode for the workers, outside the repository and the venv: this
# machine sets PYTHONDONTWRITEBYTECODE and the venv ships no .pyc, so without it
# every worker would compile boto3, moto and anthropic from source again.
PYCACHE = Path(tempfile.gettempdir()) / "agentcron-bench-pycache"


def clean_env(extra: Mapping[str, str] | None = None, *, bytecode_cache: bool = True) -> dict[str, str]:
    """The worker's environment: no AWS account variables (every worker points
    boto3 at its own moto), no local-stack state dir of the developer's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AGENTCRON_", "ANTHROPIC_", "POWERTOOLS_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONPYCACHEPREFIX", None)
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def run_worker(
    module: str,
    options: Mapping[str, Any] | None = None,
    *,
    timeout: float = 600,
    log_dir: Path | None = None,
    extra_args: Sequence[str] = (),
) -> Result:
    """Run `python -m MODULE --worker OUT` in a fresh process; return its JSON result."""
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="agentcron-bench-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    short = module.rsplit(".", 1)[-1]
    out_path = log_dir / f"{short}.json"
    log_path = log_dir / f"{short}.log"
    command = [
        sys.executable,
        "-m",
        module,
        "--worker",
        str(out_path),
        "--options",
        json.dumps(dict(options or {})),
        *extra_args,
    ]
    started = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log:
        try:
            done = subprocess.run(
                command,
                cwd=REPO_ROOT,
                env=clean_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise BenchmarkFailed(f"{module} took longer than {timeout:.0f} s; its log: {log_path}") from error
    if done.returncode != 0 or not out_path.exists():
        tail = "\n".join(log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-40:])
        raise BenchmarkFailed(f"{module} exited with {done.returncode}; last lines of {log_path}:\n{tail}")
    result: Result = json.loads(out_path.read_text(encoding="utf-8"))
    result.setdefault("_meta", {})
    result["_meta"].update({"wall_seconds": round(time.monotonic() - started, 1), "log": str(log_path)})
    return result


def main(
    module: str,
    measure: Measure,
    render: Render,
    argv: Sequence[str] | None = None,
    *,
    description: str = "",
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    timeout: float = 600,
) -> int:
    """The command line of one benchmark: measure in a worker, print the table."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--worker", metavar="OUT", help=argparse.SUPPRESS)
    parser.add_argument("--options", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--json", metavar="PATH", help="also write the raw results to PATH")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    if args.worker:
        options = json.loads(args.options)
        result = measure(**options)
        Path(args.worker).write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
        return 0
    options = {k: v for k, v in vars(args).items() if k not in ("worker", "options", "json") and v is not None}
    info = machine()
    result = run_worker(module, options, timeout=timeout)
    print(machine_line(info))
    print()
    print(render(result))
    print(f"\n({module} took {result['_meta']['wall_seconds']} s; worker log: {result['_meta']['log']})")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "result": result}, indent=2), encoding="utf-8")
    return 0
