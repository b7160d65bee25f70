"""API Gateway's routes for one function: read from its ``HttpApi`` events in
template.yaml, matched the way API Gateway picks a route (most specific first)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from agentcron_local.resources import DEFAULT_TEMPLATE, TemplateError, load_template

# Routes that skip the authorizer when the template cannot be read (the
# template's `Auth: {Authorizer: NONE}` events are the real source).
FALLBACK_PUBLIC_ROUTES = (("GET", "/v1/health"), ("GET", "/v1/openapi.json"), ("GET", "/v1/docs"))


@dataclass(frozen=True)
class Route:
    """One API Gateway route: ``GET /v1/health``, ``ANY /v1/{proxy+}`` or ``$default``."""

    method: str  # upper case, or ANY
    path: str  # "$default" for the default route
    authorized: bool
    scopes: tuple[str, ...] = ()

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters when this route takes the request, else None."""
        if self.method not in ("ANY", method):
            return None
        if self.path == "$default":
            return {}
        want = self.path.strip("/").split("/")
        have = path.strip("/").split("/")
        params: dict[str, str] = {}
        for i, segment in enumerate(want):
            if segment.startswith("{") and segment.endswith("+}"):
                rest = have[i:]
                if not rest or rest == [""]:
                    return None  # a greedy variable needs at least one segment
                params[segment[1:-2]] = unquote("/".join(rest))
                return params
            if i >= len(have):
                return None
            if segment.startswith("{") and segment.endswith("}"):
                if not have[i]:
                    return None
                params[segment[1:-1]] = unquote(have[i])
            elif segment != have[i]:
                return None
        return params if len(have) == len(want) else None

    def specificity(self) -> tuple[int, int, int]:
        # API Gateway picks the most specific route: $default last, greedy
        # variables after everything else, more literal segments first, and an
        # explicit method before ANY.
        if self.path == "$default":
            return (1, 0, 0)
        segments = self.path.strip("/").split("/")
        greedy = int(any(s.endswith("+}") for s in segments))
        literals = sum(1 for s in segments if not s.startswith("{"))
        return (0, greedy * 1000 - literals, int(self.method == "ANY"))


def load_routes(template_path: Path | str = DEFAULT_TEMPLATE, function_logical_id: str = "ApiFunction") -> list[Route]:
    """The routes of ``function_logical_id``'s HttpApi events, with their authorization."""
    template = load_template(template_path)
    resources: Mapping[str, Any] = template["Resources"]
    function = resources.get(function_logical_id)
    if function is None:
        raise TemplateError(f"template has no {function_logical_id}")
    http_globals = ((template.get("Globals") or {}).get("HttpApi") or {}).get("Auth") or {}
    routes: list[Route] = []
    for event in ((function.get("Properties") or {}).get("Events") or {}).values():
        if event.get("Type") != "HttpApi":
            continue
        props = event.get("Properties") or {}
        api_auth: Mapping[str, Any] = http_globals
        api_ref = props.get("ApiId")
        if isinstance(api_ref, dict) and isinstance(api_ref.get("Ref"), str):
            api = resources.get(api_ref["Ref"]) or {}
            api_auth = ((api.get("Properties") or {}).get("Auth")) or http_globals
        event_auth = props.get("Auth") or {}
        authorizer = event_auth.get("Authorizer", api_auth.get("DefaultAuthorizer"))
        scopes = tuple(event_auth.get("AuthorizationScopes") or ())
        path = props.get("Path")
        method = str(props.get("Method", "ANY")).upper()
        routes.append(
            Route(
                method="ANY" if method in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD") else method,
                path=str(path) if path else "$default",
                authorized=bool(authorizer) and authorizer != "NONE",
                scopes=scopes,
            )
        )
    if not routes:
        raise TemplateError(f"{function_logical_id} has no HttpApi events")
    return sorted(routes, key=Route.specificity)


def fallback_routes() -> list[Route]:
    public = [Route(method, path, authorized=False) for method, path in FALLBACK_PUBLIC_ROUTES]
    return [*public, Route("ANY", "$default", authorized=True)]


def default_routes() -> list[Route]:
    try:
        return load_routes()
    except TemplateError:
        return fallback_routes()


def match_route(method: str, path: str, routes: Sequence[Route]) -> tuple[Route, dict[str, str]] | None:
    """The route API Gateway would pick (``routes`` sorted by specificity) and its path parameters."""
    for route in routes:
        params = route.match(method, path)
        if params is not None:
            return route, params
    return None
