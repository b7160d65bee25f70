"""A running API command: its arguments, the client (made on first use), how to print its result,
and the arguments several groups share (paging, waiting)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentcron_local.cli.output import Column, echo, emit, note, print_table
from agentcron_local.client import EXIT_AUTH, Client, CliError
from agentcron_local.endpoint import Selection, resolve


def output_format(args: argparse.Namespace) -> str:
    """``--json`` is ``-o json``; ``--query`` prints a document (JSON unless ``-o yaml``)."""
    chosen: str = "json" if getattr(args, "json", False) else getattr(args, "output", None) or "table"
    if getattr(args, "query", None) and chosen in ("table", "wide"):
        return "json"
    return chosen


@dataclass
class Ctx:
    args: argparse.Namespace
    _client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            args = self.args
            target = resolve(
                Selection(
                    endpoint=args.endpoint,
                    profile=args.profile,
                    stack=args.stack,
                    region=args.region,
                    token=args.token,
                    user=args.user,
                    environ=dict(os.environ),
                )
            )
            for text in target.notes:
                note(f"agentcron: note: {text}")
            if target.token is None:
                raise CliError(
                    f"no token for {target.endpoint} ({target.source})",
                    EXIT_AUTH,
                    [
                        "sign in with `agentcron token --cognito --stack STACK --username YOU`, then pass the "
                        "token with --token or AGENTCRON_TOKEN (or token = ... in your profile)"
                    ],
                )
            self._client = Client(target, session=args._session)
        return self._client

    @property
    def format(self) -> str:
        return output_format(self.args)

    @property
    def json(self) -> bool:
        """A document goes to stdout (JSON or YAML), nothing else does."""
        return self.format in ("json", "yaml")

    @property
    def quiet(self) -> bool:
        return bool(self.args.quiet) and not self.json

    def emit(self, document: Any) -> None:
        emit(document, format=self.format, query=self.args.query)

    def show(self, document: Any, render: Callable[[Any], str]) -> None:
        if self.json:
            self.emit(document)
        elif self.quiet:
            echo(document["id"])
        else:
            echo(render(document))

    def show_page(self, page: Mapping[str, Any], columns: Sequence[Column], what: str) -> None:
        items = page.get("items") or []
        if self.json:
            self.emit(page)
            return
        if self.quiet:
            for item in items:
                echo(item["id"])
        elif items:
            print_table(items, columns, wide=self.format == "wide")
        else:
            note(f"No {what} found.")
        if page.get("next_cursor"):
            note(f"More {what}: repeat the command with --cursor {page['next_cursor']} (or --all for every page)")

    def list(
        self, path: str, params: dict[str, Any], keep: Callable[[Mapping[str, Any]], bool] | None = None
    ) -> dict[str, Any]:
        """One page, or with --all every page as one ``{"items": [...], "next_cursor": null}``."""
        params = {**params, "limit": self.args.limit, "cursor": self.args.cursor}
        if not self.args.all:
            page: dict[str, Any] = self.client.get(path, params)
            if keep is not None:
                page["items"] = [item for item in page.get("items") or [] if keep(item)]
            return page
        items: list[Any] = []
        for page in self.client.pages(path, params):
            batch = page.get("items") or []
            items.extend(item for item in batch if keep is None or keep(item))
        return {"items": items, "next_cursor": None}


def add_paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=20, help="page size, 1-100 (default %(default)s)")
    parser.add_argument("--cursor", help="continue from a previous page's next_cursor")
    parser.add_argument("--all", action="store_true", help="follow next_cursor through every page")


def add_wait_options(parser: argparse.ArgumentParser, *, flag: bool) -> None:
    if flag:
        parser.add_argument("--wait", action="store_true", help="wait until the run ends (or asks a question)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls (default %(default)s)")
    parser.add_argument("--timeout", type=float, help="give up after this many seconds (exit 7)")
