"""The web app on the local stack: ``web/dist`` at ``/`` and a dev sign-in at ``/local/dev-token``.

Deployed, CloudFront serves the built app from S3 next to ``/v1/*`` and Cognito signs people in.
Locally the gateway hands every request outside ``/v1`` (and the inbox's ``/hooks``) to
:meth:`WebApp.answer`, so the app and the API share one origin (no CORS) as they do behind
CloudFront, and the dev sign-in signs a token with the stack's own key (tokens.py) for any
user name. That route exists only here.

The response headers are those of the template's CloudFront response headers policy, so the
browser tests run the app under the same Content-Security-Policy it gets deployed.
"""

from __future__ import annotations

import json
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from agentcron_local import tokens
from agentcron_local.gateway.local_routes import LocalRequest
from agentcron_local.gateway.responses import HttpResponse
from agentcron_local.resources import REPO_ROOT

DEFAULT_DIST = REPO_ROOT / "web" / "dist"
DEV_SIGN_IN_PATH = "/local/dev-token"
# How the app signs people in; deployed, `make deploy-web` writes Cognito's settings here instead.
CONFIG_PATH = "/config.json"
LOCAL_CONFIG = {"auth": {"kind": "local"}}
# What a person types as a user name; it becomes the token's `sub` (the API's owner).
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# Kept in step with WebResponseHeadersPolicy in template.yaml (tests/browser checks both).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self' https://*.amazoncognito.com; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self' https://*.amazoncognito.com; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
)
NOT_BUILT_PAGE = (
    b"<!doctype html><html lang=en><title>agentcron</title><h1>The web app is not built</h1>"
    b"<p>Run <code>make web</code> (npm ci and a Vite build into web/dist), then reload.</p></html>"
)

Answer = tuple[int, list[tuple[str, str]], bytes]


@dataclass(frozen=True)
class WebApp:
    """A ``LocalRoute`` (agentcron_local.gateway.local_routes) for every path outside ``/v1``;
    registered after the other local routes (the webhook inbox), which it would shadow."""

    dist: Path = DEFAULT_DIST

    def answer(self, request: LocalRequest) -> HttpResponse | None:
        answer = self._answer(request.method, request.path, request.body)
        return None if answer is None else HttpResponse(*answer)

    def _answer(self, method: str, path: str, body: bytes) -> Answer | None:
        if path == "/v1" or path.startswith("/v1/"):
            return None
        if path == DEV_SIGN_IN_PATH:
            return self._dev_token(method, body)
        if method not in ("GET", "HEAD"):
            return _json(405, {"message": "Method Not Allowed"})
        if path == CONFIG_PATH:
            return _json(200, LOCAL_CONFIG)
        return self._static(path)

    def _dev_token(self, method: str, body: bytes) -> Answer:
        if method != "POST":
            return _json(405, {"message": "Method Not Allowed"})
        try:
            payload = json.loads(body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _problem("the body is not JSON")
        user = payload.get("user") if isinstance(payload, dict) else None
        if not isinstance(user, str) or not USER_NAME.match(user):
            return _problem("user: 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
        return _json(200, {"user": user, "token": tokens.issue_token(user), "expires_in": tokens.DEFAULT_TTL_SECONDS})

    def _static(self, path: str) -> Answer:
        index = self.dist / "index.html"
        if not index.is_file():
            return 503, [("content-type", "text/html; charset=utf-8"), *SECURITY_HEADERS], NOT_BUILT_PAGE
        file = self._file_for(path)
        if file is None:
            # Client-side routes (/tasks/task_…) are the app's: the SPA answers them.
            file = index
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in ("application/javascript", "application/json"):
            content_type += "; charset=utf-8"
        # Vite puts a content hash in every asset's name: those never change; index.html always may.
        immutable = file.parent.name == "assets" and file != index
        cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
        headers = [("content-type", content_type), ("cache-control", cache), *SECURITY_HEADERS]
        return 200, headers, file.read_bytes()

    def _file_for(self, path: str) -> Path | None:
        relative = path.lstrip("/")
        if not relative:
            return None
        root = self.dist.resolve()
        candidate = (root / relative).resolve()
        # No way out of dist (../, symlinks), whatever the path says.
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
        return candidate


def _json(status: int, payload: object) -> Answer:
    return status, [("content-type", "application/json"), ("cache-control", "no-store")], json.dumps(payload).encode()


def _problem(detail: str) -> Answer:
    body = {"type": "about:blank", "title": "Unprocessable Content", "status": 422, "detail": detail}
    body["errors"] = [{"field": "user", "message": detail}]
    return 422, [("content-type", "application/problem+json")], json.dumps(body).encode()
