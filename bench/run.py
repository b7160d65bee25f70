"""Run every benchmark and write their tables into README.md.

`.venv/bin/python -m bench.run` (what `make bench` runs) takes 6-8 minutes on
a busy 2-core machine. The benchmarks run one after another (lateness ~2½ min,
mostly waiting for due times; cost ~1 min; dispatcher ~1 min; cold start
~2½ min, plus `sam build` when .aws-sam/build is older than its sources), so
each one's timings are disturbed only by what else runs on the machine.

The results go between `<!-- bench:start -->` and `<!-- bench:end -->` in
README.md, or into bench/RESULTS.md when README.md has no such markers. The raw
results are kept in bench/results/latest.json (the run before in
previous.json), and the headline figures are compared with the previous run's,
so "reproducible within noise" can be read off every run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import support

BENCHMARKS = {
    "lateness": "Start lateness",
    "chat": "Chat turn latency",
    "cost": "Cost per scheduled run",
    "dispatcher": "Dispatcher",
    "coldstart": "Cold start and package size",
}
README = support.REPO_ROOT / "README.md"
RESULTS_MD = support.REPO_ROOT / "bench" / "RESULTS.md"
RESULTS_DIR = support.REPO_ROOT / "bench" / "results"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _run(name: str, options: dict[str, Any], log_dir: Path, results: dict[str, Any], errors: dict[str, str]) -> None:
    started = time.monotonic()
    print(f"[bench] {name}: started", file=sys.stderr, flush=True)
    try:
        results[name] = support.run_worker(f"bench.{name}", options, timeout=600, log_dir=log_dir)
    except Exception as error:
        errors[name] = str(error)
        print(f"[bench] {name}: FAILED: {error}", file=sys.stderr, flush=True)
        return
    print(f"[bench] {name}: done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)


def run_all(only: Sequence[str], build: bool, log_dir: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """One after another: each one's timings are then disturbed only by what else runs on the machine."""
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in only:
        _run(name, {"build": build} if name == "coldstart" else {}, log_dir, results, errors)
    return results, errors


def headlines(results: dict[str, Any]) -> dict[str, float]:
    figures: dict[str, float] = {}
    for name, result in results.items():
        module = importlib.import_module(f"bench.{name}")
        try:
            figures.update(module.headline(result))
        except Exception as error:  # a previous run's results in an older shape
            print(f"[bench] no headline figures for {name}: {error}", file=sys.stderr)
    return figures


def comparison(current: dict[str, Any], previous: dict[str, Any] | None) -> str:
    if not previous:
        return "No previous run in bench/results/ to compare with: run `make bench` again to see the spread."
    now, before = headlines(current["results"]), headlines(previous.get("results", {}))
    rows = []
    for metric, value in now.items():
        old = before.get(metric)
        change = "-" if old is None or old == 0 else f"{(value - old) / abs(old) * 100:+.0f}%"
        rows.append([metric, support.fmt(value), support.fmt(old), change])
    when = previous.get("machine", {}).get("date", "?")
    return "\n".join(
        [
            f"Headline figures of this run beside the previous run's ({when}, load average "
            f"{previous.get('machine', {}).get('load', '?')} at its start):",
            "",
            support.md_table(["figure", "this run", "previous run", "change"], rows),
        ]
    )


def compose(info: dict[str, Any], results: dict[str, Any], errors: dict[str, str], seconds: float, compare: str) -> str:
    lines = [
        f"_Measured by `make bench` (`.venv/bin/python -m bench.run`, {seconds / 60:.1f} min) on {info['date']}: "
        f"{info['nproc']} cores ({info['cpu']}), Python {info['python']}, {info['os']}, commit {info['commit']}"
        + (f" + {info['uncommitted_files']} uncommitted file(s)" if info.get("uncommitted_files") else "")
        + f"; load average {info['load']} at the start, {info.get('load_end', '?')} at the end "
        "(other work on this machine: local rates and wall times are ratios, not AWS figures). "
        "Each section's method is in the docstring of the module it names._",
        "",
    ]
    for name, title in BENCHMARKS.items():
        if name not in results and name not in errors:
            continue
        lines += [f"### {title} (`bench.{name}`)", ""]
        if name in errors:
            lines += [f"**Failed:** `{errors[name].splitlines()[0]}` (see the worker log).", ""]
            continue
        module = importlib.import_module(f"bench.{name}")
        lines += [module.render(results[name]), ""]
    lines += ["### Run to run", "", compare, ""]
    return "\n".join(lines).rstrip() + "\n"


def write(markdown: str) -> Path:
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    if START in text and END in text and text.index(START) < text.index(END):
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        README.write_text(f"{head}{START}\n{markdown}{END}{tail}", encoding="utf-8")
        return README
    RESULTS_MD.write_text(
        "# agentcron benchmarks\n\n"
        "Written by `bench/run.py` (README.md has no `<!-- bench:start -->` / `<!-- bench:end -->` markers yet).\n\n"
        f"{START}\n{markdown}{END}\n",
        encoding="utf-8",
    )
    return RESULTS_MD


def render_only(write_out: bool) -> int:
    latest, previous = RESULTS_DIR / "latest.json", RESULTS_DIR / "previous.json"
    current = json.loads(latest.read_text(encoding="utf-8"))
    before = json.loads(previous.read_text(encoding="utf-8")) if previous.exists() else None
    markdown = compose(
        current["machine"],
        current["results"],
        current.get("errors", {}),
        current["seconds"],
        comparison(current, before),
    )
    print(markdown)
    if write_out:
        print(f"[bench] wrote {write(markdown).relative_to(support.REPO_ROOT)}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--only", action="append", choices=list(BENCHMARKS), help="run only this one (repeatable)")
    parser.add_argument("--no-build", dest="build", action="store_false", help="never run sam build")
    parser.add_argument("--no-write", dest="write", action="store_false", help="print the table, write nothing")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="measure nothing: write the tables again from bench/results/latest.json (after editing a render)",
    )
    args = parser.parse_args(argv)
    if args.render_only:
        return render_only(args.write)
    only = [name for name in BENCHMARKS if name in (args.only or BENCHMARKS)]

    info = support.machine()
    print(support.machine_line(info), file=sys.stderr, flush=True)
    log_dir = Path(tempfile.mkdtemp(prefix="agentcron-bench-run-"))
    started = time.monotonic()
    results, errors = run_all(only, args.build, log_dir)
    seconds = time.monotonic() - started
    info["load_end"] = support.load_average()

    latest = RESULTS_DIR / "latest.json"
    previous = json.loads(latest.read_text(encoding="utf-8")) if latest.exists() else None
    current = {"machine": info, "seconds": round(seconds, 1), "results": results, "errors": errors}
    markdown = compose(info, results, errors, seconds, comparison(current, previous))
    print(markdown)
    if args.write:
        RESULTS_DIR.mkdir(exist_ok=True)
        if latest.exists():
            latest.replace(RESULTS_DIR / "previous.json")
        latest.write_text(json.dumps(current, indent=1, default=str), encoding="utf-8")
        where = write(markdown)
        print(f"[bench] wrote {where.relative_to(support.REPO_ROOT)} and bench/results/latest.json", file=sys.stderr)
    print(f"[bench] all done in {seconds:.0f} s; worker logs in {log_dir}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
