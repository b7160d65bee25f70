"""The flags of ``tasks create`` and ``tasks update``, and the request bodies they make.

The agent, policy and notify flags are one table (``SECTION_FLAGS``): one flag per field of
``AgentConfig``, ``Policies`` and ``Notify`` in shared/agentcron/models.py (a unit test holds the
table to those models, so a new API field without its flag fails).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentcron_local.cli.schedule import KIND_FLAG_NAMES, WordsReader, add_schedule_options, schedule_from_args
from agentcron_local.cli.values import parse_chain_link, parse_duration, parse_var, read_json, read_text
from agentcron_local.client import EXIT_USAGE, CliError

TOOLS_HELP = "ask_user, web_fetch, remember, recall, schedule_followup, web_search, code_execution"


def parse_seconds(text: str) -> int:
    """A duration that may be zero (``0``, ``30s``, ``5m``)."""
    return 0 if text.strip() in ("0", "0s", "0m", "0h", "0d") else parse_duration(text)


def parse_connector_grant(text: str) -> dict[str, Any]:
    """``conn_…`` (all its tools) or ``conn_…=search_messages,read_message`` (only those)."""
    connector, sep, tools = text.partition("=")
    if not connector.strip():
        raise argparse.ArgumentTypeError("give a connector id: conn_…[=tool,tool]")
    if not sep:
        return {"connector": connector.strip()}
    names = [name.strip() for name in tools.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("after = name the connector's tools, comma-separated")
    return {"connector": connector.strip(), "tools": names}


@dataclass(frozen=True)
class SectionFlag:
    """``--flag VALUE`` sets ``body[section][key]``."""

    section: str  # agent, policies or notify
    key: str
    flag: str
    help: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


SECTION_FLAGS = (
    SectionFlag("agent", "model", "--model", "the Claude model (default claude-sonnet-5)", {"metavar": "MODEL"}),
    SectionFlag("agent", "max_turns", "--max-turns", "model turns a run may take, 1-50", {"type": int, "metavar": "N"}),
    SectionFlag(
        "agent", "max_tokens", "--max-tokens", "output tokens per model turn, 1-64000", {"type": int, "metavar": "N"}
    ),
    SectionFlag(
        "policies",
        "overlap",
        "--overlap",
        "when the previous run is still going: skip this one, allow both, or buffer_one (queue one)",
        {"choices": ("skip", "allow", "buffer_one")},
    ),
    SectionFlag(
        "policies",
        "misfire",
        "--misfire",
        "missed occurrences (the stack was down, the task paused): skip them, run_once, or catch_up",
        {"choices": ("skip", "run_once", "catch_up")},
    ),
    SectionFlag(
        "policies",
        "misfire_grace_seconds",
        "--misfire-grace",
        "how late an occurrence may still run: 0, 90s, 5m (max 1d)",
        {"type": parse_seconds, "metavar": "DURATION"},
    ),
    SectionFlag(
        "policies",
        "catch_up_max",
        "--catch-up-max",
        "at most this many catch-up runs, 1-100",
        {"type": int, "metavar": "N"},
    ),
    SectionFlag(
        "policies",
        "max_attempts",
        "--max-attempts",
        "attempts of a failing run (1 = no retries), 1-10",
        {"type": int, "metavar": "N"},
    ),
    SectionFlag(
        "policies",
        "timeout_seconds",
        "--run-timeout",
        "a run's time limit: 10s-15m",
        {"type": parse_duration, "metavar": "DURATION"},
    ),
    SectionFlag(
        "policies",
        "auto_pause_after_failures",
        "--auto-pause-after",
        "pause the task after this many failures in a row, 1-100",
        {"type": int, "metavar": "N"},
    ),
    SectionFlag(
        "policies", "max_runs", "--max-runs", "stop after this many scheduled runs", {"type": int, "metavar": "N"}
    ),
    SectionFlag(
        "policies",
        "max_cost_usd",
        "--max-cost",
        "the most one run may spend on model tokens, in USD (e.g. 0.50)",
        {"type": float, "metavar": "USD"},
    ),
    SectionFlag(
        "policies",
        "monthly_budget_usd",
        "--monthly-budget",
        "the most the task's runs may spend on model tokens per month (UTC), in USD; the task pauses there",
        {"type": float, "metavar": "USD"},
    ),
    SectionFlag(
        "policies",
        "unpriced_model",
        "--unpriced-model",
        "with --max-cost or --monthly-budget, a model without a known price: refuse the run or allow it unchecked",
        {"choices": ("refuse", "allow")},
    ),
    SectionFlag(
        "agent",
        "disallowed_tools",
        "--deny-tool",
        "never offer this tool, built-in or a connector's (repeat; deny wins)",
        {"action": "append", "metavar": "NAME"},
    ),
    SectionFlag(
        "agent",
        "connectors",
        "--connector",
        "let the agent use this connector (repeat): conn_ID for all its tools, conn_ID=tool,tool for some",
        {"action": "append", "type": parse_connector_grant, "metavar": "ID[=TOOLS]"},
    ),
    SectionFlag("notify", "webhook_url", "--webhook", "POST each finished run here (https)", {"metavar": "URL"}),
    SectionFlag(
        "notify",
        "when",
        "--notify-when",
        "which runs notify: every run, failures, a changed result, or when the agent calls notify_user",
        {"choices": ("always", "on_failure", "on_change", "agent_decides")},
    ),
)


def add_task_fields(parser: argparse.ArgumentParser, *, update: bool) -> None:
    fields = parser.add_argument_group("task fields")
    fields.add_argument("--name", help="a short name")
    fields.add_argument("--description", help="a longer description")
    prompts = fields.add_mutually_exclusive_group()
    prompts.add_argument("--prompt", help="the prompt template ({{name}} variables)")
    prompts.add_argument("--prompt-file", metavar="FILE", help="read the prompt from FILE (- for stdin)")
    fields.add_argument(
        "--var",
        metavar="NAME=VALUE",
        type=parse_var,
        action="append",
        default=[],
        help="a prompt variable (repeat)" + ("; merged into the task's" if update else ""),
    )
    fields.add_argument(
        "--tool",
        metavar="NAME",
        action="append",
        default=[],
        help=f"a tool the agent may use (repeat): {TOOLS_HELP}" + ("; replaces the task's list" if update else ""),
    )
    fields.add_argument(
        "--tag",
        metavar="TAG",
        action="append",
        default=[],
        help="a tag (repeat)" + ("; replaces the tags" if update else ""),
    )
    for chain_flag, when in (("--on-success", "succeeds"), ("--on-failure", "fails or times out")):
        fields.add_argument(
            chain_flag,
            metavar="TASK_ID[:VAR=TEMPLATE,...]",
            type=parse_chain_link,
            action="append",
            default=[],
            help=f"run this task of yours after each run that {when}, e.g. task_01...:summary={{{{run.output}}}} "
            "(repeat)" + ("; replaces the list" if update else ""),
        )
    if update:
        fields.add_argument("--unset-var", metavar="NAME", action="append", default=[], help="remove a variable")
        fields.add_argument("--no-tools", action="store_true", help="allow no tools")
        fields.add_argument("--no-tags", action="store_true", help="remove every tag")
    sections = parser.add_argument_group(
        "agent, policies and notification" + (" (each changes only its own field)" if update else "")
    )
    for flag in SECTION_FLAGS:
        sections.add_argument(flag.flag, dest=flag.dest, help=flag.help, **flag.options)
    if update:
        sections.add_argument("--no-webhook", action="store_true", help="stop notifying a webhook")
    sections.add_argument(
        "--report",
        choices=REPORT_FORMATS,
        help="give each run that ends a report in this format (agentcron runs report RUN_ID)",
    )
    if update:
        sections.add_argument("--no-report", action="store_true", help="stop making reports")
    add_schedule_options(parser)
    fields.add_argument(
        "--from-file",
        metavar="FILE",
        help=("a JSON patch body" if update else "a whole JSON task body")
        + " (- for stdin); the flags above override its fields",
    )


def _common_fields(args: argparse.Namespace, body: dict[str, Any]) -> None:
    for name in ("name", "description"):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    for name in ("on_success", "on_failure"):
        if getattr(args, name, None):
            body[name] = getattr(args, name)
    prompt = read_text(args.prompt_file, "the prompt file") if args.prompt_file is not None else args.prompt
    if prompt is not None:
        body["prompt"] = prompt


def _sections(args: argparse.Namespace, body: dict[str, Any], current: Mapping[str, Any]) -> None:
    """Each section flag given changes its field; the rest of the section is kept (from ``current``
    on update: the API replaces a whole section, so a partial one would reset the others)."""
    changes: dict[str, dict[str, Any]] = {}
    for flag in SECTION_FLAGS:
        value = getattr(args, flag.dest)
        if value is not None:
            changes.setdefault(flag.section, {})[flag.key] = value
    if getattr(args, "no_webhook", False):
        if args.webhook is not None:
            raise CliError("--webhook and --no-webhook contradict each other", EXIT_USAGE)
        changes.setdefault("notify", {})["webhook_url"] = None
    for section, values in changes.items():
        body[section] = {**(current.get(section) or {}), **(body.get(section) or {}), **values}


REPORT_FORMATS = ("markdown", "html", "json", "pdf")


def _report(args: argparse.Namespace, body: dict[str, Any]) -> None:
    if getattr(args, "no_report", False):
        if args.report is not None:
            raise CliError("--report and --no-report contradict each other", EXIT_USAGE)
        body["report"] = None
    elif args.report is not None:
        body["report"] = {"format": args.report}


def create_body(args: argparse.Namespace, read_words: WordsReader | None = None) -> dict[str, Any]:
    """``tasks create``'s flags -> the POST /v1/tasks body (``read_words`` reads --when)."""
    body = read_json(args.from_file, "the task file") if args.from_file else {}
    _common_fields(args, body)
    if args.var:
        body["variables"] = {**(body.get("variables") or {}), **dict(args.var)}
    if args.tool:
        body["agent"] = {**(body.get("agent") or {}), "tools": args.tool}
    if args.tag:
        body["tags"] = args.tag
    if args.disabled:
        body["enabled"] = False
    _sections(args, body, {})
    _report(args, body)
    schedule = schedule_from_args(args, body.get("schedule"), read_words)
    if schedule is not None:
        body["schedule"] = schedule
    if getattr(args, "template", None):
        # The template gives what is left out (the API merges): nothing is missing.
        return {"template": args.template, **body}
    missing = [
        flag
        for key, flag in (("name", "--name"), ("prompt", "--prompt"), ("schedule", "a schedule"))
        if key not in body
    ]
    if missing:
        raise CliError(
            f"tasks create needs {', '.join(missing)}",
            EXIT_USAGE,
            [f"a schedule is one of {KIND_FLAG_NAMES} (--tz ZONE with --cron and --preset)"]
            if "a schedule" in missing
            else [],
        )
    return body


def update_body(
    args: argparse.Namespace, current: Mapping[str, Any], read_words: WordsReader | None = None
) -> dict[str, Any]:
    """``tasks update``'s flags -> the PATCH body, merged onto ``current`` where a field is a whole
    object (variables, agent, policies, notify) so that only what was asked for changes."""
    body = read_json(args.from_file, "the patch file") if args.from_file else {}
    _common_fields(args, body)
    if args.var or args.unset_var:
        variables = {**(current.get("variables") or {}), **(body.get("variables") or {}), **dict(args.var)}
        for name in args.unset_var:
            if name not in variables:
                raise CliError(f"--unset-var {name}: the task has no variable {name!r}", EXIT_USAGE)
            del variables[name]
        body["variables"] = variables
    if args.tool or args.no_tools:
        if args.tool and args.no_tools:
            raise CliError("--tool and --no-tools contradict each other", EXIT_USAGE)
        body["agent"] = {**(current.get("agent") or {}), **(body.get("agent") or {}), "tools": list(args.tool)}
    if args.tag or args.no_tags:
        if args.tag and args.no_tags:
            raise CliError("--tag and --no-tags contradict each other", EXIT_USAGE)
        body["tags"] = list(args.tag)
    _sections(args, body, current)
    _report(args, body)
    schedule = schedule_from_args(args, body.get("schedule") or current.get("schedule"), read_words)
    if schedule is not None:
        body["schedule"] = schedule
    if not body:
        raise CliError(
            "nothing to update",
            EXIT_USAGE,
            ["pass a field: --name, --prompt, --var, --tool, --tag, --model, a policy or schedule flag, ..."],
        )
    return body
