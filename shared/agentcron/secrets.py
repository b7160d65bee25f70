"""The Anthropic API key: from Secrets Manager in AWS (cached for the
container's life), from ANTHROPIC_API_KEY locally. Never logged."""

from __future__ import annotations

import os
from functools import cache

import boto3


class MissingApiKey(RuntimeError):
    pass


@cache
def anthropic_api_key() -> str:
    local = os.environ.get("ANTHROPIC_API_KEY")
    if local:
        return local
    arn = os.environ.get("ANTHROPIC_SECRET_ARN")
    if not arn:
        raise MissingApiKey("set ANTHROPIC_API_KEY, or ANTHROPIC_SECRET_ARN to a Secrets Manager secret")
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=arn).get("SecretString") or ""
    if not secret.strip():
        raise MissingApiKey(f"the secret {arn} holds no API key yet: put your Anthropic key in it")
    return secret.strip()
