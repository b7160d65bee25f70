"""The values the CLI's flags take (durations, ``NAME=VALUE``, times) and the files it reads."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agentcron_local.client import EXIT_USAGE, CliError

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """``3600``, ``90s``, ``30m``, ``12h``, ``7d`` -> seconds."""
    match = _DURATION.match(text)
    if match is None or int(match[1]) <= 0:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 3600, 30m, 12h, 7d)")
    return int(match[1]) * _UNIT_SECONDS[match[2].lower()]


def parse_var(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value


def parse_since(text: str) -> str:
    """``1h`` / ``30m`` / ``7d`` ago, or an ISO instant (with an offset; ``Z`` is fine)."""
    try:
        seconds = parse_duration(text)
    except argparse.ArgumentTypeError:
        pass
    else:
        return (datetime.now(UTC) - timedelta(seconds=seconds)).replace(microsecond=0).isoformat()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration or ISO time: {text!r} (e.g. 1h, 2026-12-01T09:00Z)") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs an offset, e.g. {text}Z or {text}+01:00")
    return moment.isoformat()


def parse_at(text: str) -> str:
    """An ISO instant as given, or ``+10m`` (from now, to the second, in UTC)."""
    if not text.startswith("+"):
        return text
    try:
        seconds = parse_duration(text[1:])
    except argparse.ArgumentTypeError:
        raise CliError(f"--at {text}: expected an ISO time or +DURATION (e.g. +10m)", EXIT_USAGE) from None
    return (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0).isoformat()


def read_text(source: str, what: str) -> str:
    try:
        return sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {what} {source}: {exc.strerror or exc}", EXIT_USAGE) from exc


def read_json(source: str, what: str) -> dict[str, Any]:
    text = read_text(source, what)
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise CliError(f"{what} {source} is not JSON: {exc}", EXIT_USAGE) from exc
    if not isinstance(document, dict):
        raise CliError(f"{what} {source} must hold a JSON object", EXIT_USAGE)
    return document


def parse_chain_link(text: str) -> dict[str, Any]:
    """``TASK_ID`` or ``TASK_ID:NAME=TEMPLATE,NAME=TEMPLATE`` -> a chain link (on_success / on_failure);
    a template may read the finished run: ``summary={{run.output}}``."""
    task_id, _, rest = text.partition(":")
    if not task_id.strip():
        raise argparse.ArgumentTypeError(f"expected TASK_ID[:NAME=TEMPLATE,...], got {text!r}")
    variables = dict(parse_var(part) for part in rest.split(",") if part) if rest else {}
    return {"task": task_id.strip(), **({"variables": variables} if variables else {})}
