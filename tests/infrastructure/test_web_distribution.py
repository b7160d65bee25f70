"""The web app's part of the template: a private bucket behind CloudFront with origin access
control, /v1/* to the HTTP API on the same distribution, security headers, and a Cognito
client for authorization code + PKCE."""

from __future__ import annotations

from typing import Any

import pytest
from agentcron_local.webapp import CONTENT_SECURITY_POLICY

from tests.infrastructure import iam

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    resources: dict[str, Any] = iam.load_sam_template()["Resources"]
    return resources


def config(resources: dict[str, Any]) -> dict[str, Any]:
    distribution_config: dict[str, Any] = resources["WebDistribution"]["Properties"]["DistributionConfig"]
    return distribution_config


def test_the_app_is_served_from_a_private_bucket_through_origin_access_control(resources: dict[str, Any]) -> None:
    bucket = resources["WebBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    origins = {origin["Id"]: origin for origin in config(resources)["Origins"]}
    web = origins["WebApp"]
    assert iam.references(web["OriginAccessControlId"]) == {"WebOriginAccessControl"}
    assert web["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not the legacy OAI
    oac = resources["WebOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["SigningBehavior"], oac["SigningProtocol"], oac["OriginAccessControlOriginType"]) == (
        "always",
        "sigv4",
        "s3",
    )

    (allow,) = [
        s for s in resources["WebBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    ]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    # Only this distribution may read the bucket.
    assert iam.references(allow["Condition"]["StringEquals"]["AWS:SourceArn"]) == {"WebDistribution"}


def test_v1_goes_to_the_http_api_on_the_same_distribution_uncached_with_the_callers_headers(
    resources: dict[str, Any],
) -> None:
    distribution = config(resources)
    origins = {origin["Id"]: origin for origin in distribution["Origins"]}
    assert iam.references(origins["Api"]["DomainName"]) == {"HttpApi"}
    assert origins["Api"]["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    (api,) = distribution["CacheBehaviors"]
    assert (api["PathPattern"], api["TargetOriginId"]) == ("/v1/*", "Api")
    assert set(api["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    assert api["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST
    cache = resources["WebApiCachePolicy"]["Properties"]["CachePolicyConfig"]
    assert (cache["DefaultTTL"], cache["MinTTL"]) == (0, 0)
    # GET and HEAD carry Authorization to the origin only when the cache policy names it.
    assert cache["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]["Headers"] == ["Authorization"]
    assert "CorsConfiguration" not in resources["HttpApi"]["Properties"]  # one origin: no CORS


def test_the_apps_own_routes_fall_back_to_index_html_only_on_the_app_behaviour(resources: dict[str, Any]) -> None:
    default = config(resources)["DefaultCacheBehavior"]
    assert default["TargetOriginId"] == "WebApp"
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert default["CachePolicyId"] == CACHING_OPTIMIZED
    (association,) = default["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    assert iam.references(association["FunctionARN"]) == {"WebSpaRouting"}
    assert "/index.html" in resources["WebSpaRouting"]["Properties"]["FunctionCode"]
    # Custom error responses would turn the API's 403/404 into index.html too.
    assert "CustomErrorResponses" not in config(resources)


def test_every_response_carries_hsts_and_the_same_csp_as_the_local_stack(resources: dict[str, Any]) -> None:
    distribution = config(resources)
    for behaviour in [distribution["DefaultCacheBehavior"], *distribution["CacheBehaviors"]]:
        assert iam.references(behaviour["ResponseHeadersPolicyId"]) == {"WebResponseHeadersPolicy"}
    headers = resources["WebResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"][
        "SecurityHeadersConfig"
    ]
    hsts = headers["StrictTransportSecurity"]
    assert hsts["AccessControlMaxAgeSec"] >= 31536000 and hsts["IncludeSubdomains"] and hsts["Override"]
    csp = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert " ".join(csp.split()) == CONTENT_SECURITY_POLICY
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["script-src"] == ["'self'"]  # no 'unsafe-inline', no CDN
    assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"]
    assert headers["FrameOptions"]["FrameOption"] == "DENY"


def test_the_web_client_signs_in_with_authorization_code_and_pkce_and_the_api_accepts_its_tokens(
    resources: dict[str, Any],
) -> None:
    client = resources["WebUserPoolClient"]
    assert client["Condition"] == "UseCognito"
    props = client["Properties"]
    assert props["GenerateSecret"] is False  # a public client: PKCE instead of a secret
    assert props["AllowedOAuthFlows"] == ["code"] and props["AllowedOAuthFlowsUserPoolClient"] is True
    assert "openid" in props["AllowedOAuthScopes"]
    assert iam.references(resources["UserPoolDomain"]["Properties"]["UserPoolId"]) == {"UserPool"}
    audiences = resources["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]["JWT_AUDIENCES"]
    assert "WebUserPoolClient" in iam.references(audiences)
