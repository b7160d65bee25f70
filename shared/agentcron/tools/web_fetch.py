"""``web_fetch``: HTTP GET of a public URL, safe against SSRF.

The model chooses the URL, so it is untrusted input. The call goes through
``agentcron.guarded_http`` (the SSRF rules, a checked and pinned address, one
deadline), always with the production policy unless a test passes another;
each redirect target is checked exactly like the first URL.

Limits: one total deadline for resolution, connection, redirects and body;
the body is read up to ``max_bytes``; only text is returned.

Standard library only: this runs in the runner Lambda.
"""

from __future__ import annotations

import codecs
import http.client
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin

from agentcron.guarded_http import DEFAULT_POLICY, AddressPolicy, Exchange, Failed, GuardedClient, Refused, Resolver
from agentcron.tools.errors import ToolError

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "agentcron-web-fetch/1"
_SNIFF_BYTES = 1024
_HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept": "text/*, application/json;q=0.9, */*;q=0.1",
    # Compressed bodies could expand far past max_bytes; ask for them plain.
    "Accept-Encoding": "identity",
}


class FetchRefused(ToolError):
    """The URL (or a redirect) points somewhere the tool must not go; nothing was sent there."""


class FetchFailed(ToolError):
    """The fetch was allowed but did not complete: timeout, connection error, too many redirects."""


@dataclass(frozen=True)
class FetchResult:
    url: str  # as asked
    final_url: str  # after redirects
    status: int
    content_type: str  # media type without parameters, "" when the server sent none
    text: str
    truncated: bool  # the body was longer than max_bytes
    bytes_read: int  # body bytes read (at most max_bytes; 0 when a non-text body was skipped)


@dataclass(frozen=True)
class _Redirect:
    location: str


def _is_text(media_type: str) -> bool:
    main, _, sub = media_type.partition("/")
    return (
        main == "text"
        or sub in ("json", "xml", "javascript", "ecmascript", "x-javascript", "x-www-form-urlencoded")
        or sub.endswith(("+json", "+xml"))
    )


def _decode(data: bytes, charset: str | None, truncated: bool) -> str:
    try:
        decoder = codecs.getincrementaldecoder(charset or "utf-8")(errors="replace")
    except LookupError:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    # When truncated, a multi-byte character cut in half at the end is dropped, not turned into U+FFFD.
    return decoder.decode(data, final=not truncated)


def _note(media_type: str, response: http.client.HTTPResponse, why: str) -> str:
    length = response.getheader("content-length")
    size = f", {length} bytes" if length and length.isdigit() else ""
    return f"[{media_type or 'unknown'} content{size}: not shown, {why}]"


def fetch(
    url: str,
    *,
    max_bytes: int = 200_000,
    timeout_seconds: float = 10,
    max_redirects: int = 3,
    resolver: Resolver = socket.getaddrinfo,
    policy: AddressPolicy = DEFAULT_POLICY,
    ssl_context: ssl.SSLContext | None = None,
) -> FetchResult:
    """GET ``url`` and return its text, refusing anything that is not the public internet.

    Raises FetchRefused (nothing was sent to the refused place) or FetchFailed.
    ``timeout_seconds`` bounds the whole call: resolution, connections, redirects, body.
    ``ssl_context`` replaces the default verifying context (tests trust their own CA with it).
    """
    if max_bytes < 0 or timeout_seconds <= 0 or max_redirects < 0:
        raise ValueError("max_bytes and max_redirects must be >= 0, timeout_seconds > 0")
    client = GuardedClient(policy=policy, resolver=resolver, ssl_context=ssl_context)
    try:
        with client.deadline(timeout_seconds) as deadline:
            current = url
            for hop in range(max_redirects + 1):
                with client.request("GET", current, headers=_HEADERS, deadline=deadline) as exchange:
                    outcome = _answer(exchange, url, max_bytes)
                if isinstance(outcome, FetchResult):
                    return outcome
                if hop == max_redirects:
                    break
                current = urljoin(current, outcome.location)
            raise FetchFailed(f"too many redirects (more than {max_redirects})")
    except Refused as refused:
        raise FetchRefused(refused.reason) from None
    except Failed as failed:
        raise FetchFailed(failed.reason) from None


def _answer(exchange: Exchange, original_url: str, max_bytes: int) -> FetchResult | _Redirect:
    """The answer's text, or where it redirects to."""
    response = exchange.response
    location = response.getheader("location")
    if response.status in REDIRECT_STATUSES and location:
        return _Redirect(location.strip())

    def result(media_type: str, text: str, truncated: bool = False, bytes_read: int = 0) -> FetchResult:
        return FetchResult(
            url=original_url,
            final_url=exchange.target.url,
            status=response.status,
            content_type=media_type,
            text=text,
            truncated=truncated,
            bytes_read=bytes_read,
        )

    media_type = response.headers.get_content_type() if response.getheader("content-type") else ""
    encoding = (response.getheader("content-encoding") or "identity").strip().lower()
    if encoding != "identity":
        return result(media_type, _note(media_type, response, f"it is {encoding}-compressed"))
    if media_type and not _is_text(media_type):
        return result(media_type, _note(media_type, response, "web_fetch returns text only"))
    data, truncated = exchange.read(max_bytes)
    if not media_type and b"\x00" in data[:_SNIFF_BYTES]:
        # No Content-Type and NUL bytes: binary, whatever the server forgot to say.
        note = f"[binary content without a content type: not shown, {len(data)} bytes read]"
        return result("", note, truncated, len(data))
    text = _decode(data, response.headers.get_content_charset(), truncated)
    return result(media_type, text, truncated, len(data))
