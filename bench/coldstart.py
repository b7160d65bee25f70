"""Cold start: what importing each handler costs, and how big each function is.

Import time: each `functions/<name>/app.py` is loaded the way Lambda loads it
(its folder first on sys.path, the module executed once) in a fresh
interpreter, REPEAT times; wall and CPU time of the import alone are taken
inside that process, beside two baselines: a bare handler (no imports) and a
handler that imports only boto3 (what the Python runtime offers anyway). Each
is measured without bytecode (every module compiled at import) and with it;
"as shipped" is whichever of the two the build gives Lambda: `make build`
compiles the artifacts (.pyc, unchecked-hash), `sam build` alone does not. A
later `import anthropic` in the same process is timed too (the runner imports
it at init, for SnapStart, so there it costs nothing more). One more run with
`python -X importtime` names the heaviest top-level imports.

These run on this machine's x86_64 CPython (same version and the same package
versions as the layers, from uv.lock), not on Lambda's arm64; compare the rows
with each other, not with Lambda's INIT duration.

Sizes: after `make build` (run here when .aws-sam/build is missing or older than
any source it is built from), the unzipped and zipped size of each function's
own code and of each layer, and each function's total (code + its layers;
Lambda's limit is 250 MB unzipped).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import support

REPEAT = 3
# Without .pyc every module is compiled at import (Lambda cannot write any); with them, not.
VARIANTS = ("no bytecode", "bytecode")
# Results of runs before the variants were named by what they are (bench/results/previous.json).
_OLD_VARIANT_NAMES = {"as shipped": "no bytecode", "precompiled": "bytecode"}
FUNCTIONS = ("api", "authorizer", "dispatcher", "runner")
# What a handler imports later, in the same process, beside its own import: the runner imports
# `anthropic` at init; the MCP client (the `mcp` SDK, through the connectors' runtime) only at
# the first run of a task with agent.connectors, so that cost is timed as its own row.
LATER_IMPORTS = {"runner": "anthropic", "runner, then connectors": "agentcron.connectors.runtime"}
BUILD_DIR = support.REPO_ROOT / ".aws-sam" / "build"
SAM = support.REPO_ROOT / ".tools" / "sam" / "bin" / "sam"
BUILD_INPUTS = ("template.yaml", "samconfig.toml", "functions", "shared/agentcron", "layers")

_PROBE = r"""
import importlib.util, json, sys, time
path, extra = sys.argv[1], sys.argv[2]
wall, cpu = time.perf_counter(), time.process_time()
sys.path.insert(0, path.rsplit("/", 1)[0])
spec = importlib.util.spec_from_file_location("app", path)
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
result = {"import_wall": time.perf_counter() - wall, "import_cpu": time.process_time() - cpu}
if extra:
    wall, cpu = time.perf_counter(), time.process_time()
    __import__(extra)
    result.update({"extra_wall": time.perf_counter() - wall, "extra_cpu": time.process_time() - cpu})
print(json.dumps(result))
"""

BASELINES = {
    "bare handler": "def lambda_handler(event, context):\n    return {}\n",
    "boto3-only handler": "import boto3\n\n\ndef lambda_handler(event, context):\n    return {}\n",
}


def _function_env(pycache: Path | None = None) -> dict[str, str]:
    """What the template gives every function, with dummy resource names.
    `pycache`: read (and write) compiled bytecode there; None: compile from source, as now on Lambda."""
    env = support.clean_env(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "POWERTOOLS_SERVICE_NAME": "agentcron",
            "POWERTOOLS_METRICS_NAMESPACE": "agentcron",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "TABLE_NAME": "agentcron-bench",
            "RUN_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench",
            "ARTIFACTS_BUCKET": "bench",
            "EVENT_BUS_NAME": "bench",
            "DUE_SHARDS": "4",
            "TICK_SECONDS": "300",
        },
        bytecode_cache=pycache is not None,
    )
    if pycache is not None:
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def _probe(path: Path, extra: str = "", pycache: Path | None = None) -> dict[str, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path), extra],
        env=_function_env(pycache),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_wall"] = time.perf_counter() - started
    return result


def heaviest_imports(path: Path, top: int = 4) -> list[tuple[str, float]]:
    """The top-level imports with the largest cumulative time (ms), from -X importtime."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _PROBE, str(path), ""],
        env=_function_env(None),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return parse_importtime(done.stderr, top)


def parse_importtime(text: str, top: int = 4, children: int = 1) -> list[tuple[str, float]]:
    """The handler's heaviest direct imports by cumulative ms, each named with its own
    heaviest imports: `-X importtime` lists a module after the modules it imported,
    indented two spaces deeper."""
    pending: dict[int, list[tuple[str, float, list[Any]]]] = {}
    for line in text.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        _, cumulative, field = line.split("|", 2)
        level = (len(field) - len(field.lstrip()) - 1) // 2
        node = (field.strip(), int(cumulative) / 1000, pending.pop(level + 1, []))
        pending.setdefault(level, []).append(node)
    result = []
    for name, ms, kids in sorted(pending.get(0, []), key=lambda node: -node[1])[:top]:
        heavy = sorted(kids, key=lambda node: -node[1])[:children]
        label = f"{name} ({', '.join(f'{kid} {kid_ms:.0f}' for kid, kid_ms, _ in heavy)})" if heavy else name
        result.append((label, ms))
    return result


# ---- sizes -------------------------------------------------------------------------------------


def _newest_mtime(paths: Sequence[Path]) -> float:
    newest = 0.0
    for root in paths:
        if root.is_file():
            newest = max(newest, root.stat().st_mtime)
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for filename in filenames:
                newest = max(newest, (Path(dirpath) / filename).stat().st_mtime)
    return newest


def build_is_stale() -> bool:
    marker = BUILD_DIR / "template.yaml"
    if not marker.exists():
        return True
    return _newest_mtime([support.REPO_ROOT / p for p in BUILD_INPUTS]) > marker.stat().st_mtime


def sam_build() -> dict[str, Any]:
    """Run `make build` (sam build, then the bytecode); returns what happened."""
    if not SAM.exists():
        return {"built": False, "error": f"{SAM} is missing: run `make sam-cli`"}
    env = support.clean_env({"SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"})
    started = time.perf_counter()
    done = subprocess.run(
        ["make", "--no-print-directory", "build"],
        cwd=support.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return {"built": False, "error": (done.stdout + done.stderr)[-2000:], "seconds": seconds}
    return {"built": True, "seconds": seconds}


def directory_size(path: Path) -> tuple[int, int, int]:
    """(unzipped bytes, zipped bytes, files) of a build artifact, zipped as sam deploy would (deflate)."""
    total = files = 0
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            total += file.stat().st_size
            files += 1
            archive.write(file, file.relative_to(path))
    return total, buffer.tell(), files


def duplicated_packages(function_dir: Path, layer_dir: Path) -> tuple[list[str], int]:
    """Top-level packages shipped both in the function and in the layer (the function's copy shadows the layer's)."""
    names, size = [], 0
    for entry in sorted(function_dir.iterdir()):
        if entry.name.endswith(".dist-info") or entry.name.startswith("__"):
            continue
        if entry.is_file() and entry.suffix not in (".py", ".so"):
            continue  # requirements.txt and the like
        twin = layer_dir / "python" / entry.name
        if twin.exists():
            names.append(entry.name)
            size += (
                sum(p.stat().st_size for p in entry.rglob("*") if p.is_file())
                if entry.is_dir()
                else entry.stat().st_size
            )
    return names, size


def sizes() -> dict[str, Any]:
    from agentcron_local.resources import load_template

    template = load_template()
    resources = template["Resources"]
    global_layers = [ref["Ref"] for ref in template.get("Globals", {}).get("Function", {}).get("Layers", [])]
    artifacts: dict[str, Any] = {}
    functions: dict[str, list[str]] = {}
    for logical_id, resource in resources.items():
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function":
            own = [ref["Ref"] for ref in resource.get("Properties", {}).get("Layers", []) if isinstance(ref, dict)]
            functions[logical_id] = global_layers + own
        if kind in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion") and (BUILD_DIR / logical_id).is_dir():
            unzipped, zipped, files = directory_size(BUILD_DIR / logical_id)
            artifacts[logical_id] = {
                "unzipped": unzipped,
                "zipped": zipped,
                "files": files,
                "kind": kind.rsplit("::", 1)[1],
            }
    duplicates = {}
    for logical_id in functions:
        for layer in functions[logical_id]:
            if (BUILD_DIR / logical_id).is_dir() and (BUILD_DIR / layer).is_dir():
                names, size = duplicated_packages(BUILD_DIR / logical_id, BUILD_DIR / layer)
                if names:
                    duplicates[logical_id] = {"layer": layer, "packages": names, "bytes": size}
    return {"artifacts": artifacts, "functions": functions, "duplicates": duplicates}


# ---- measure and render -------------------------------------------------------------------------


def measure(repeat: int = REPEAT, build: bool = True) -> dict[str, Any]:
    targets: dict[str, tuple[Path, str]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-coldstart-") as tmp:
        pycache = Path(tmp) / "pycache"
        for name, code in BASELINES.items():
            folder = Path(tmp) / name.replace(" ", "-")
            folder.mkdir()
            (folder / "app.py").write_text(code, encoding="utf-8")
            targets[name] = (folder / "app.py", "")
        for name in FUNCTIONS:
            targets[name] = (support.REPO_ROOT / "functions" / name / "app.py", LATER_IMPORTS.get(name, ""))
        targets["runner, then connectors"] = (
            support.REPO_ROOT / "functions" / "runner" / "app.py",
            LATER_IMPORTS["runner, then connectors"],
        )
        for path, extra in targets.values():
            _probe(path, extra, pycache)  # compiles into the private cache: the "bytecode" variant reads it
        samples: dict[str, dict[str, list[dict[str, float]]]] = {v: {name: [] for name in targets} for v in VARIANTS}
        for _ in range(repeat):  # interleaved, so a burst of load on the machine hits every target alike
            for name, (path, extra) in targets.items():
                for variant in VARIANTS:
                    samples[variant][name].append(_probe(path, extra, pycache if variant == "bytecode" else None))
        heaviest = {name: heaviest_imports(path) for name, (path, _) in targets.items() if name in FUNCTIONS}
    build_info: dict[str, Any] = {"built": False, "stale": build_is_stale()}
    if build and build_info["stale"]:
        build_info.update(sam_build())
    build_info["stale_after"] = build_is_stale()
    sources, compiled = build_bytecode()
    return {
        "repeat": repeat,
        "samples": samples,
        "heaviest": heaviest,
        "build": build_info,
        "built_py_files": sources,
        "built_pyc_files": compiled,
        "sizes": sizes() if (BUILD_DIR / "template.yaml").exists() else None,
        "load": support.load_average(),
    }


def build_bytecode(build_dir: Path = BUILD_DIR) -> tuple[int, int]:
    """(.py files in the build, how many of them have their python3.13 .pyc beside them)."""
    tag = f"cpython-{sys.version_info.major}{sys.version_info.minor}"
    sources = compiled = 0
    for source in build_dir.rglob("*.py") if build_dir.exists() else ():
        sources += 1
        compiled += (source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc").exists()
    return sources, compiled


def shipped_variant(result: dict[str, Any]) -> str:
    """The variant Lambda gets from this build: with bytecode once (nearly) every module has it."""
    sources, compiled = result.get("built_py_files", 0), result.get("built_pyc_files", 0)
    return "bytecode" if sources and compiled >= 0.99 * sources else "no bytecode"


def _samples(result: dict[str, Any]) -> dict[str, Any]:
    return {_OLD_VARIANT_NAMES.get(name, name): by_handler for name, by_handler in result["samples"].items()}


def _ms(values: Sequence[float]) -> str:
    values = [v * 1000 for v in values]
    return f"{support.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"


def _mb(size: float) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} kB"


def render(result: dict[str, Any]) -> str:
    rows = []
    samples = _samples(result)
    plain, compiled = samples["no bytecode"], samples["bytecode"]
    shipped = shipped_variant(result)
    for name in plain:
        cells = [f"`{name}`" if name in FUNCTIONS else name]
        for variant in (plain[name], compiled[name]):
            cells += [_ms([s["import_wall"] for s in variant]), _ms([s["import_cpu"] for s in variant])]
        extra = [s for s in plain[name] if "extra_wall" in s]
        extra_pyc = [s for s in compiled[name] if "extra_wall" in s]
        cells.append(
            f"+ {_ms([s['extra_cpu'] for s in extra])} / {_ms([s['extra_cpu'] for s in extra_pyc])} "
            f"CPU (`import {LATER_IMPORTS.get(name, 'anthropic')}`)"
            if extra
            else "-"
        )
        rows.append(cells)
    built = (
        f"the build ships {result.get('built_pyc_files', 0):,} .pyc for its {result.get('built_py_files', 0):,} .py "
        f"files, so Lambda imports as in the **{shipped}** columns"
    )
    out = [
        f"Handler import in a fresh CPython {sys.version.split()[0]} process (x86_64 here; Lambda runs arm64), "
        f"median of {result['repeat']} (min-max), ms, without bytecode (every module compiled at import: Lambda's "
        f"/var/task and /opt are read-only, so a function cannot cache it) and with it. As shipped: {built} "
        "(`make build` compiles every artifact after `sam build`). The runner imports `anthropic` at init, so its "
        "import figures include the SDK and SnapStart's snapshot holds it; the last column is a later "
        "import in the same process: `anthropic`, and for the row `runner, then connectors` the MCP client "
        "that the first run of a task with connectors imports (`agentcron.connectors.runtime`, the `mcp` SDK).",
        "",
        support.md_table(
            [
                "handler",
                "no bytecode: wall",
                "no bytecode: CPU",
                "bytecode: wall",
                "bytecode: CPU",
                "then a later import (no bytecode / bytecode)",
            ],
            rows,
        ),
        "",
        "Heaviest packages imported, without bytecode (cumulative ms, one `-X importtime` run): "
        + "; ".join(
            f"`{name}`: " + ", ".join(f"{module} {ms:.0f}" for module, ms in result["heaviest"][name])
            for name in FUNCTIONS
        ),
        "",
    ]
    size_info = result.get("sizes")
    build = result["build"]
    if build.get("built"):
        how = f"`make build` ran ({build['seconds']:.0f} s) because .aws-sam/build was older than its sources"
    elif build.get("error"):
        how = f"`sam build` failed or was skipped: {build['error'].splitlines()[-1] if build['error'] else ''}"
    elif build.get("stale"):
        how = "WARNING: .aws-sam/build is older than its sources (run without --no-build, or `make build`)"
    else:
        how = ".aws-sam/build was up to date"
    if size_info:
        artifacts = size_info["artifacts"]
        size_rows = []
        for logical_id, layers in size_info["functions"].items():
            if logical_id not in artifacts:
                continue
            own = artifacts[logical_id]
            total_unzipped = own["unzipped"] + sum(
                artifacts[layer]["unzipped"] for layer in layers if layer in artifacts
            )
            total_zipped = own["zipped"] + sum(artifacts[layer]["zipped"] for layer in layers if layer in artifacts)
            size_rows.append(
                [
                    f"{logical_id} (+ {', '.join(layers)})",
                    _mb(own["unzipped"]),
                    _mb(own["zipped"]),
                    f"**{_mb(total_unzipped)}**",
                    _mb(total_zipped),
                ]
            )
        for logical_id, data in artifacts.items():
            if data["kind"] == "LayerVersion":
                size_rows.append([f"{logical_id} (layer)", _mb(data["unzipped"]), _mb(data["zipped"]), "-", "-"])
        out += [
            f"Build artifacts ({how}); a function's total is its code plus its layers "
            "(Lambda's limit: 250 MB unzipped):",
            "",
            support.md_table(["artifact", "unzipped", "zipped", "total unzipped", "total zipped"], size_rows),
        ]
        for logical_id, dup in size_info.get("duplicates", {}).items():
            out += [
                "",
                f"- {logical_id} also ships {', '.join(dup['packages'])} ({_mb(dup['bytes'])}), which {dup['layer']} "
                "has too: the function's copy shadows the layer's (/var/task is first on sys.path).",
            ]
    else:
        out += [f"No build artifacts: {how}."]
    out += ["", f"- Load average at the end: {result.get('load', '?')}; wall times move with it, CPU times much less."]
    return "\n".join(out)


def headline(result: dict[str, Any]) -> dict[str, float]:
    """The figures compared from run to run (bench.run)."""
    out = {}
    samples = _samples(result)
    variants = {"as shipped": samples[shipped_variant(result)], "precompiled": samples["bytecode"]}
    for label, by_handler in variants.items():
        for name in FUNCTIONS:
            out[f"cold start {name}, {label}: import CPU (ms)"] = (
                support.median([s["import_cpu"] for s in by_handler[name]]) * 1000
            )
    if result.get("sizes"):
        artifacts = result["sizes"]["artifacts"]
        for logical_id, layers in result["sizes"]["functions"].items():
            if logical_id in artifacts:
                total = artifacts[logical_id]["unzipped"] + sum(
                    artifacts[x]["unzipped"] for x in layers if x in artifacts
                )
                out[f"size {logical_id} + layers (MB)"] = total / 1e6
    return out


def main(argv: Sequence[str] | None = None) -> int:
    def options(parser: Any) -> None:
        parser.add_argument("--repeat", type=int, help=f"fresh processes per handler (default {REPEAT})")
        parser.add_argument("--no-build", dest="build", action="store_false", default=None, help="never run sam build")

    return support.main("bench.coldstart", measure, render, argv, description=__doc__ or "", add_arguments=options)


if __name__ == "__main__":
    raise SystemExit(main())
