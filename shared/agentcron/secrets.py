"""The Anthropic API key: ANTHROPIC_API_KEY locally, else from Secrets Manager
(ANTHROPIC_SECRET_ARN) in AWS. The runner's composition root asks for it once
per container and keeps the client made with it. Never logged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentcron.config import AnthropicSettings


class MissingApiKey(RuntimeError):
    pass


def anthropic_api_key(settings: AnthropicSettings, secrets_client: Callable[[], Any]) -> str:
    """`secrets_client` is called only when the key is in Secrets Manager (making a client
    costs a service model's parse)."""
    if settings.api_key:
        return settings.api_key
    arn = settings.secret_arn
    if not arn:
        raise MissingApiKey("set ANTHROPIC_API_KEY, or ANTHROPIC_SECRET_ARN to a Secrets Manager secret")
    secret = secrets_client().get_secret_value(SecretId=arn).get("SecretString") or ""
    if not secret.strip():
        raise MissingApiKey(f"the secret {arn} holds no API key yet: put your Anthropic key in it")
    return secret.strip()
