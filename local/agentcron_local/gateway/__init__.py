"""A local stand-in for API Gateway (HTTP API): HTTP in, payload v2.0 events out.

Each request becomes the event API Gateway would send the api function
(payload format 2.0, the shape of `sam local generate-event apigateway
http-api-proxy`), after the checks API Gateway makes before the function is
ever invoked: route matching (404 ``{"message":"Not Found"}``), the
template's Lambda authorizer (functions/authorizer, run as API Gateway runs it:
``authorizer``; no Authorization header is 401, a refused token 403) and the
10 MB payload limit (413). A gateway made without the stack emulates API
Gateway's JWT authorizer instead (401 with ``www-authenticate``). Routes and which of them skip the authorizer
come from the function's ``HttpApi`` events in template.yaml. The function's
answer is mapped back the way API Gateway maps a 2.0 response.

The package: ``routes`` (the template's routes and API Gateway's matching),
``events`` (the payload v2.0 event), ``authorizer`` (the Lambda authorizer
and API Gateway's cache of its answers), ``functions`` (the function loader and
the Lambda context), ``responses`` (results mapped back to HTTP, API
Gateway's own answers), ``local_routes`` (routes the local stack serves
itself, in front of API Gateway's: the one place to plug one in) and
``server`` (the HTTP server).

One invocation at a time: a Lambda execution environment never runs two
events at once, and handlers rely on that (Powertools' resolver keeps the
current event in a module-level object). Concurrent requests queue, as they
would on one warm environment.
"""

from agentcron_local.gateway.events import DEFAULT_API_ID, build_event, claims_for_event, scopes_of
from agentcron_local.gateway.functions import (
    Handler,
    LambdaContext,
    function_settings,
    lambda_context,
    load_function_handler,
    load_function_module,
)
from agentcron_local.gateway.local_routes import LocalRequest, LocalRoute
from agentcron_local.gateway.responses import HttpResponse, response_from_result
from agentcron_local.gateway.routes import Route, fallback_routes, load_routes, match_route
from agentcron_local.gateway.server import MAX_PAYLOAD_BYTES, GatewayServer, make_gateway, serve_in_thread
from agentcron_local.motoserver import PortInUseError

__all__ = [
    "DEFAULT_API_ID",
    "MAX_PAYLOAD_BYTES",
    "GatewayServer",
    "Handler",
    "HttpResponse",
    "LambdaContext",
    "LocalRequest",
    "LocalRoute",
    "PortInUseError",
    "Route",
    "build_event",
    "claims_for_event",
    "fallback_routes",
    "function_settings",
    "lambda_context",
    "load_function_handler",
    "load_function_module",
    "load_routes",
    "make_gateway",
    "match_route",
    "response_from_result",
    "scopes_of",
    "serve_in_thread",
]
