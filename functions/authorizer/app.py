"""The HTTP API's Lambda authorizer (payload 2.0, simple responses): a Cognito JWT or an
API key (``Authorization: Bearer ak_…``) lets the request in, with the caller as the
context the API reads (``requestContext.authorizer.lambda.sub``).

API Gateway answers a refusal itself, with 403 ``{"message":"Forbidden"}``: a Lambda
authorizer cannot make it a 401 (only a request without the Authorization header, which
never reaches this function, is API Gateway's 401). The logs say why, never the token.
The local gateway invokes this very handler for every authorized route."""

from __future__ import annotations

from typing import Any

from agentcron.authorizer.jwts import Rejected
from agentcron.bootstrap.authorizer import authorizer
from agentcron.observability import logger
from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    headers = event.get("headers") or {}
    try:
        identity = authorizer().authorize(headers.get("authorization"))
    except Rejected as refused:
        logger.info("request refused", extra={"reason": refused.reason, "route": event.get("routeKey")})
        return {"isAuthorized": False}
    logger.append_keys(owner=identity.owner)
    return {"isAuthorized": True, "context": identity.context()}
