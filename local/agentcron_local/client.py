"""The CLI's side of the HTTPS API: the calls, their retries, and what an error answer means.

Idempotent requests (GET, PUT, DELETE, ...) and POSTs that carry an ``Idempotency-Key`` are
retried with exponential backoff on 429, 5xx and failed connections, honouring ``Retry-After``
(urllib3's ``Retry``); any other POST or PATCH is sent once, since repeating it could act twice.

Nothing here prints or exits: failures are exceptions carrying what to say
and the exit code, and the CLI decides how to show them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    # Imported when the first request is made: `agentcron --help` and `token` stay instant.
    import requests
    from urllib3.util.retry import Retry

    from agentcron_local.endpoint import Target

USER_AGENT = "agentcron-cli/0.1"
# Tells the API the changes this client makes are the CLI's (a task's history records `via: cli`).
CLIENT_HEADERS = {"X-Agentcron-Client": "cli"}
# (connect, read): a dead endpoint fails fast; a slow answer still gets time.
DEFAULT_TIMEOUT = (5.0, 30.0)
# Retries after the first attempt; the waits between them are 0, 1, 2 s (capped at 8 s, or Retry-After).
RETRIES = 3
# A refused connection is retried once, at once: nothing listens (`agentcron local` is not running),
# and saying so fast beats three seconds of backoff. Resets and 5xx get every retry.
CONNECT_RETRIES = 1
RETRY_BACKOFF_FACTOR = 0.5
RETRY_BACKOFF_MAX = 8.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Messages asked for per page when reading a conversation (the API's maximum).
MESSAGES_PAGE = 200

# Exit codes (documented in `agentcron --help`).
EXIT_OK = 0
EXIT_API = 1  # the API answered 4xx
EXIT_USAGE = 2  # argparse's own code for bad arguments
EXIT_UNREACHABLE = 3
EXIT_AUTH = 4
EXIT_SERVER = 5
EXIT_RUN_FAILED = 6
EXIT_WAIT_TIMEOUT = 7


class CliError(Exception):
    """Something the user can act on: ``message`` plus ``hints`` (what to do), and the exit code."""

    def __init__(self, message: str, exit_code: int, hints: tuple[str, ...] | list[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.hints = tuple(hints)


# ------------------------------------------------------------------- calls


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: Any  # parsed JSON, or None for an empty body


class ApiError(CliError):
    """The API answered with an error status; ``problem`` is its problem+json (or what it sent)."""

    def __init__(self, status: int, problem: dict[str, Any], target: Target, www_authenticate: str | None) -> None:
        self.status = status
        self.problem = problem
        self.detail = str(problem.get("detail") or problem.get("message") or problem.get("title") or "")
        self.field_errors: list[tuple[str, str]] = [
            (str(e.get("field", "")), str(e.get("message", "")))
            for e in problem.get("errors") or []
            if isinstance(e, dict)
        ]
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "error"
        if status in (401, 403):
            code = EXIT_AUTH
            described = _auth_description(www_authenticate)
            # The authorizer says only Unauthorized/Forbidden (API Gateway's body): say what that means.
            detail = None if self.detail in ("", phrase) else self.detail
            refused = "no token was sent" if status == 401 else "the token or API key was refused"
            message = f"{status} {phrase}: {described or detail or refused}"
            hints = _auth_hints(status, target)
        elif status >= 500:
            code = EXIT_SERVER
            message = f"the API failed: {status} {phrase}: {self.detail}"
            hints = (
                ["it is the server's fault, not your request's: retry; the local stack's terminal shows the error"]
                if target.local
                else ["it is the server's fault: retry, and see the ApiFunction's CloudWatch logs"]
            )
        else:
            code = EXIT_API
            message = f"{status} {phrase}: {self.detail}"
            hints = [f"{loc}: {msg}" for loc, msg in self.field_errors]
            if status == 404 and target.token_source:
                hints.append(f"it does not exist, or another user owns it (you are {target.token_source})")
        super().__init__(message, code, hints)


def _auth_description(header: str | None) -> str | None:
    if not header:
        return None
    marker = 'error_description="'
    start = header.find(marker)
    if start < 0:
        return None
    start += len(marker)
    end = header.find('"', start)
    return header[start:end] if end > start else None


def _auth_hints(status: int, target: Target) -> list[str]:
    hints = [f"the token came from {target.token_source}" if target.token_source else "no token was sent"]
    if status == 403:
        # API Gateway's answer when the authorizer refuses a token (a Lambda authorizer cannot answer 401).
        hints.insert(0, "the authorizer refused it: expired, revoked, or signed by another issuer's key")
    if target.local:
        hints.append(
            f"local tokens are signed with the key in the stack's state dir ({target.state_dir}); "
            "run the CLI with the same --state-dir as `agentcron local`, or get one with `agentcron token NAME`"
        )
    else:
        hints.append(
            "sign in with `agentcron token --cognito --stack STACK --username YOU` and pass the token "
            "with --token or AGENTCRON_TOKEN (or token = ... in your profile)"
        )
    return hints


@dataclass(frozen=True)
class Download:
    content_type: str
    filename: str | None  # from Content-Disposition
    content: bytes


_FILENAME = re.compile(r'filename="?([A-Za-z0-9._-]+)"?')


def _attachment_name(disposition: str | None) -> str | None:
    """The file name of `attachment; filename="x.pdf"`, when it is a plain one (never a path)."""
    match = _FILENAME.search(disposition or "")
    return match[1] if match else None


class Client:
    """A thin client of the v1 API: one method per HTTP call, JSON in and out."""

    def __init__(self, target: Target, session: requests.Session | None = None) -> None:
        """``session`` replaces both retrying sessions (tests mount their own transport on it)."""
        self.target = target
        self.session = session or retrying_session(IDEMPOTENT_METHODS)
        # A POST with an Idempotency-Key may be repeated: the API answers a repeat with the first result.
        self.keyed_session = session or retrying_session(IDEMPOTENT_METHODS | {"POST"})

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        answer = self._send(method, path, params=params, body=body, headers=headers)
        parsed = _parse(answer)
        if parsed is None and answer.content:
            raise CliError(
                f"{self.target.endpoint} ({self.target.source}) answered {method} {path} with something that is "
                f"not JSON ({answer.headers.get('content-type', 'no content type')}): is it the agentcron API?",
                EXIT_UNREACHABLE,
                ["the API's base URL is the stack's ApiUrl output (or http://127.0.0.1:3000 locally)"],
            )
        return Response(answer.status_code, answer.headers, parsed)

    def download(self, path: str) -> Download:
        """A file the API answers (a run's report), following a redirect to where it is kept
        (requests drops the Authorization header when the redirect leaves the API's host)."""
        answer = self._send("GET", path, headers={"Accept": "*/*"})
        return Download(
            content_type=answer.headers.get("content-type", "application/octet-stream"),
            filename=_attachment_name(answer.headers.get("content-disposition")),
            content=answer.content,
        )

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """The API's answer when it is not an error; an error (or no answer) raises what to tell the user."""
        import requests

        all_headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **CLIENT_HEADERS, **(headers or {})}
        if self.target.token:
            all_headers["Authorization"] = f"Bearer {self.target.token}"
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        url = self.target.endpoint + path
        session = self.keyed_session if "Idempotency-Key" in all_headers else self.session
        try:
            answer = session.request(
                method,
                url,
                params=query or None,
                json=body,
                headers=all_headers,
                timeout=DEFAULT_TIMEOUT,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise CliError(
                f"cannot reach the agentcron API at {self.target.endpoint} ({self.target.source}): {_reason(exc)}",
                EXIT_UNREACHABLE,
                self.target.hints
                or (
                    ["is `agentcron local` running? start it with `agentcron local` (or `make local`)"]
                    if self.target.local
                    else ["check the URL and your network; --endpoint / --profile / --stack choose another API"]
                ),
            ) from exc
        if answer.status_code >= 400:
            parsed = _parse(answer)
            problem = parsed if isinstance(parsed, dict) else {"detail": (answer.text or "").strip()[:500]}
            raise ApiError(answer.status_code, problem, self.target, answer.headers.get("www-authenticate"))
        return answer

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).body

    def pages(self, path: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every page of a list, following ``next_cursor``."""
        cursor = params.get("cursor")
        while True:
            page = self.get(path, {**params, "cursor": cursor})
            yield page
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def wait_for_run(
        self,
        run_id: str,
        *,
        interval: float,
        timeout: float | None,
        on_change: Any = None,
        stop_at: frozenset[str],
    ) -> dict[str, Any]:
        """Poll a run until its status is in ``stop_at``; ``on_change(run)`` on every new status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        path = f"/v1/runs/{segment(run_id)}"
        last: str | None = None
        while True:
            run: dict[str, Any] = self.get(path)
            if run.get("status") != last:
                last = run.get("status")
                if on_change is not None:
                    on_change(run)
            if last in stop_at:
                return run
            if deadline is not None and time.monotonic() >= deadline:
                raise CliError(
                    f"run {run_id} is still {last} after {timeout:g} s",
                    EXIT_WAIT_TIMEOUT,
                    [f"keep watching with `agentcron runs watch {run_id}`"],
                )
            time.sleep(interval)

    # ------------------------------------------------------------ conversations

    def create_conversation(self, *, title: str | None, message: str | None, idempotency_key: str | None) -> Response:
        """A new conversation; with ``message`` its first user message is posted and a chat turn queued."""
        body = {key: value for key, value in (("title", title), ("message", message)) if value is not None}
        return self.request("POST", "/v1/conversations", body=body, headers=_idempotency(idempotency_key))

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        document: dict[str, Any] = self.get(_conversation_path(conversation_id))
        return document

    def archive_conversation(self, conversation_id: str) -> dict[str, Any]:
        document: dict[str, Any] = self.request("POST", _conversation_path(conversation_id, "/archive")).body
        return document

    def post_message(
        self, conversation_id: str, text: str, *, reply_to: str | None, idempotency_key: str | None
    ) -> Response:
        """The user's message (202): it starts a chat turn, or answers the run that waits for input."""
        body = {"text": text, **({"reply_to": reply_to} if reply_to else {})}
        path = _conversation_path(conversation_id, "/messages")
        return self.request("POST", path, body=body, headers=_idempotency(idempotency_key))

    def messages(self, conversation_id: str, *, after: str | None = None) -> list[dict[str, Any]]:
        """Every message posted after the message ``after`` (all of them without it), oldest first."""
        path = _conversation_path(conversation_id, "/messages")
        items: list[dict[str, Any]] = []
        while True:
            page = self.get(path, {"after": after, "limit": MESSAGES_PAGE})
            batch = page.get("items") or []
            items.extend(batch)
            if not batch or not page.get("has_more"):
                return items
            after = batch[-1]["id"]

    def wait_for_message(
        self,
        conversation_id: str,
        *,
        after: str | None,
        ends: Callable[[Mapping[str, Any]], bool],
        interval: float,
        timeout: float | None,
        on_message: Callable[[dict[str, Any]], None],
    ) -> dict[str, Any]:
        """Poll the messages after ``after`` until one for which ``ends(message)`` holds, and return it;
        ``on_message(message)`` for each message that arrives, that one included."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            for message in self.messages(conversation_id, after=after):
                after = message["id"]
                on_message(message)
                if ends(message):
                    return message
            if deadline is not None and time.monotonic() >= deadline:
                raise CliError(
                    f"no answer in conversation {conversation_id} after {timeout:g} s",
                    EXIT_WAIT_TIMEOUT,
                    [f"it is posted there when it comes: agentcron conversations show {conversation_id}"],
                )
            time.sleep(interval)


def retry_policy(methods: frozenset[str]) -> Retry:
    """Backoff on 429/5xx and failed connections for ``methods`` only; the last answer is returned."""
    from urllib3.util.retry import Retry

    return Retry(
        total=RETRIES,
        connect=CONNECT_RETRIES,
        backoff_factor=RETRY_BACKOFF_FACTOR,
        backoff_max=RETRY_BACKOFF_MAX,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=methods,
        respect_retry_after_header=True,
        raise_on_status=False,  # the caller maps the final 5xx to its exit code and problem detail
    )


def retrying_session(methods: frozenset[str]) -> requests.Session:
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry_policy(methods))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _conversation_path(conversation_id: str, suffix: str = "") -> str:
    return f"/v1/conversations/{segment(conversation_id)}{suffix}"


def _idempotency(key: str | None) -> dict[str, str] | None:
    return {"Idempotency-Key": key} if key else None


def segment(value: str) -> str:
    """A path segment: ids are URL-safe, but a typo must not turn into another route."""
    return quote(value, safe="")


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse(answer: requests.Response) -> Any:
    if not answer.content:
        return None
    try:
        return answer.json()
    except ValueError:
        return None


def _reason(exc: Exception) -> str:
    import requests

    if isinstance(exc, requests.Timeout):
        return "timed out"
    text = str(exc)
    for needle, said in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("Temporary failure in name resolution", "unknown host"),
    ):
        if needle in text:
            return said
    return text[:200]
