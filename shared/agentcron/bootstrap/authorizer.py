"""The authorizer function's root: the table (API keys by hash) and the issuer's keys.
It builds no queue, dispatcher or task service: a cold start on every request's path
pays only for the store (and PyJWT, which only this function ships)."""

from __future__ import annotations

from functools import cached_property

from agentcron.api_keys.service import ApiKeyService
from agentcron.authorizer.decision import Authorizer
from agentcron.authorizer.jwts import JwksKeys, JwtVerifier, SigningKeys
from agentcron.bootstrap.aws import AwsSession
from agentcron.bootstrap.container import Container, Root
from agentcron.config import AuthorizerSettings
from agentcron.store import Store
from agentcron.store.keys import HISTORY_RETENTION_DAYS


class AuthorizerRoot(Root):
    @cached_property
    def settings(self) -> AuthorizerSettings:
        return AuthorizerSettings.from_env()

    @cached_property
    def aws(self) -> AwsSession:
        return AwsSession()

    @cached_property
    def store(self) -> Store:
        # The authorizer reads keys and never writes a task's history: the default retention is moot.
        return self.aws.store(
            self.settings.table_name, self.settings.due_shards, history_retention_days=HISTORY_RETENTION_DAYS
        )

    @cached_property
    def signing_keys(self) -> SigningKeys:
        return JwksKeys(self.settings.jwks_location)

    @cached_property
    def api_keys(self) -> ApiKeyService:
        return ApiKeyService(store=self.store, cache_seconds=self.settings.api_key_cache_seconds)

    @cached_property
    def authorizer(self) -> Authorizer:
        config = self.settings
        jwts = JwtVerifier(issuer=config.jwt_issuer, audiences=config.jwt_audiences, keys=self.signing_keys)
        return Authorizer(jwts, self.api_keys)


root = Container(AuthorizerRoot)


def authorizer() -> Authorizer:
    return root().authorizer
