"""Publish web/dist to a deployed stack: `make deploy-web STACK=agentcron` after `sam deploy`.

1. Reads the stack's outputs (WebBucketName, WebDistributionId, WebUrl, UserPoolId,
   WebUserPoolClientId, WebAuthDomain).
2. Adds https://<distribution>/callback and / to the web client's callback and logout URLs.
   The template cannot: the distribution routes to the HTTP API, whose authorizer names the
   client, so the client naming the distribution would be a cycle. UpdateUserPoolClient
   resets every setting it is not sent, so the client's current settings are sent back.
3. Writes config.json (how the app signs in) next to the app and uploads dist/: hashed
   assets as immutable, index.html and config.json as no-cache; files no longer built are removed.
4. Invalidates the distribution, so the new index.html is served at once.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
import time
from pathlib import Path
from typing import Any

import boto3

DIST = Path(__file__).resolve().parents[1] / "dist"
# UpdateUserPoolClient's settings that DescribeUserPoolClient returns and must be sent back.
CLIENT_SETTINGS = (
    "ClientName",
    "RefreshTokenValidity",
    "AccessTokenValidity",
    "IdTokenValidity",
    "TokenValidityUnits",
    "ReadAttributes",
    "WriteAttributes",
    "ExplicitAuthFlows",
    "SupportedIdentityProviders",
    "CallbackURLs",
    "LogoutURLs",
    "DefaultRedirectURI",
    "AllowedOAuthFlows",
    "AllowedOAuthScopes",
    "AllowedOAuthFlowsUserPoolClient",
    "AnalyticsConfiguration",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
    "EnablePropagateAdditionalUserContextData",
    "AuthSessionValidity",
)


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    (described,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}


def point_client_at(cognito: Any, pool_id: str, client_id: str, web_url: str) -> dict[str, Any]:
    client = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
    settings = {name: client[name] for name in CLIENT_SETTINGS if name in client}
    settings["CallbackURLs"] = sorted({*client.get("CallbackURLs", []), f"{web_url}/callback"})
    settings["LogoutURLs"] = sorted({*client.get("LogoutURLs", []), f"{web_url}/"})
    cognito.update_user_pool_client(UserPoolId=pool_id, ClientId=client_id, **settings)
    return settings


def auth_config(outputs: dict[str, str]) -> dict[str, Any]:
    if "WebAuthDomain" in outputs and "WebUserPoolClientId" in outputs:
        domain, client_id = outputs["WebAuthDomain"], outputs["WebUserPoolClientId"]
        return {"auth": {"kind": "cognito", "domain": domain, "client_id": client_id}}
    raise SystemExit("the stack has no Cognito web client (JwtIssuer is set): sign-in for the web app needs one")


def upload(s3: Any, bucket: str, dist: Path, config: dict[str, Any]) -> list[str]:
    keys: list[str] = []
    for path in sorted(p for p in dist.rglob("*") if p.is_file()):
        key = path.relative_to(dist).as_posix()
        if key == "config.json":
            continue
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        hashed = key.startswith("assets/")
        cache = "public, max-age=31536000, immutable" if hashed else "no-cache"
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType=content_type, CacheControl=cache)
        keys.append(key)
    s3.put_object(
        Bucket=bucket,
        Key="config.json",
        Body=json.dumps(config).encode(),
        ContentType="application/json",
        CacheControl="no-cache",
    )
    keys.append("config.json")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    stale = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
    gone = [{"Key": key} for key in stale if key not in keys]
    if gone:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": gone})
    return keys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--dist", type=Path, default=DIST)
    args = parser.parse_args(argv)
    if not (args.dist / "index.html").is_file():
        raise SystemExit(f"{args.dist} has no index.html: run `make web` first")
    session = boto3.session.Session()
    outputs = stack_outputs(session.client("cloudformation"), args.stack)
    web_url = outputs["WebUrl"]
    config = auth_config(outputs)
    point_client_at(session.client("cognito-idp"), outputs["UserPoolId"], outputs["WebUserPoolClientId"], web_url)
    keys = upload(session.client("s3"), outputs["WebBucketName"], args.dist, config)
    session.client("cloudfront").create_invalidation(
        DistributionId=outputs["WebDistributionId"],
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": str(time.time_ns())},
    )
    print(f"published {len(keys)} files; the app is at {web_url}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
