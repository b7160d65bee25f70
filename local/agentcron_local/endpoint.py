"""Where the CLI's API is and which token it sends.

Endpoint, first match wins (like the AWS CLI's flag > environment > profile):

1. ``--endpoint URL``
2. ``AGENTCRON_ENDPOINT``
3. ``--profile NAME`` / ``AGENTCRON_PROFILE``: ``[profiles.NAME]`` in
   ``~/.config/agentcron/config.toml`` (``endpoint``, ``token`` or ``token_file``, ``stack``, ``region``)
4. ``--stack NAME``: the deployed stack's ``ApiUrl`` output (CloudFormation)
5. the running local stack: ``<state dir>/stack.json``
6. ``http://127.0.0.1:3000`` (``agentcron local``'s default), with a hint to start it

Token: ``--token``, ``AGENTCRON_TOKEN``, the profile's ``token``, and for a
local endpoint a dev token for ``--user`` / ``AGENTCRON_USER`` (default
``demo``) signed with the local stack's key.

Nothing here prints or exits: failures are CliErrors carrying what to say and the exit code.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agentcron_local.client import EXIT_API, EXIT_AUTH, EXIT_UNREACHABLE, EXIT_USAGE, CliError

DEFAULT_LOCAL_ENDPOINT = "http://127.0.0.1:3000"
DEFAULT_USER = "demo"
STACK_FILE_NAME = "stack.json"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0"})  # noqa: S104 - compared, not bound

ENV_ENDPOINT = "AGENTCRON_ENDPOINT"
ENV_TOKEN = "AGENTCRON_TOKEN"  # noqa: S105 - a variable name, not a secret
ENV_PROFILE = "AGENTCRON_PROFILE"
ENV_USER = "AGENTCRON_USER"
ENV_CONFIG = "AGENTCRON_CONFIG"

# ------------------------------------------------------------------ config


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$AGENTCRON_CONFIG``, else ``$XDG_CONFIG_HOME/agentcron/config.toml``, else ``~/.config/...``."""
    env = os.environ if environ is None else environ
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]).expanduser()
    base = Path(env["XDG_CONFIG_HOME"]).expanduser() if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "agentcron" / "config.toml"


@dataclass(frozen=True)
class Profile:
    name: str
    path: Path
    endpoint: str | None = None
    token: str | None = None
    stack: str | None = None
    region: str | None = None
    # A file holding the token (an API key saved by `agentcron api-keys create --save-profile`).
    token_file: str | None = None

    def secret(self) -> str | None:
        """The profile's token: ``token``, else the contents of ``token_file`` (which must be 0600)."""
        if self.token or not self.token_file:
            return self.token
        from agentcron_local.profiles import read_key_file

        return read_key_file(Path(self.token_file).expanduser(), self.name)


def load_profile(name: str, path: Path) -> Profile:
    if not path.is_file():
        raise CliError(
            f"profile {name!r} requested, but there is no config file at {path}",
            EXIT_USAGE,
            [f'create it with:\n    [profiles.{name}]\n    endpoint = "https://..."\n    token = "..."'],
        )
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CliError(f"{path} is not valid TOML: {exc}", EXIT_USAGE) from exc
    profiles = document.get("profiles")
    section = profiles.get(name) if isinstance(profiles, dict) else None
    if not isinstance(section, dict):
        known = ", ".join(sorted(profiles)) if isinstance(profiles, dict) and profiles else "none"
        raise CliError(
            f"no profile {name!r} in {path} (profiles there: {known})",
            EXIT_USAGE,
            [f"add a [profiles.{name}] table with endpoint = ... (or stack = ...) and token = ..."],
        )
    values: dict[str, str | None] = {}
    for key in ("endpoint", "token", "stack", "region", "token_file"):
        value = section.get(key)
        if value is not None and not isinstance(value, str):
            raise CliError(f"[profiles.{name}] {key} in {path} must be a string", EXIT_USAGE)
        values[key] = value or None
    if not values["endpoint"] and not values["stack"]:
        raise CliError(f"[profiles.{name}] in {path} has neither endpoint nor stack", EXIT_USAGE)
    return Profile(name=name, path=path, **values)


# --------------------------------------------------------------- the stacks


def state_dir() -> Path:
    from agentcron_local import tokens

    return tokens.state_dir()


def pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def read_stack_file(directory: Path) -> dict[str, Any] | None:
    """The running local stack's ``stack.json``; None when absent, unreadable or its process is gone."""
    path = directory / STACK_FILE_NAME
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("api_url"), str):
        return None
    if not pid_alive(document.get("pid")):
        return None  # left behind by a killed stack
    return document


def stack_outputs(stack_name: str, region: str | None) -> dict[str, str]:
    """A deployed stack's outputs (``aws cloudformation describe-stacks``)."""
    import boto3
    import botocore.exceptions

    where = f"in region {region}" if region else "in your default AWS region"
    try:
        cloudformation: Any = boto3.client("cloudformation", region_name=region)
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except botocore.exceptions.NoRegionError as exc:
        raise CliError(
            f"cannot look up stack {stack_name!r}: no AWS region configured",
            EXIT_USAGE,
            ["pass --region, or set AWS_REGION / AWS_DEFAULT_REGION"],
        ) from exc
    except (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError) as exc:
        raise CliError(
            f"cannot look up stack {stack_name!r}: no AWS credentials",
            EXIT_AUTH,
            ["configure them (aws configure, AWS_PROFILE, or SSO), or pass --endpoint URL instead of --stack"],
        ) from exc
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        message = str(error.get("Message") or exc)
        if "does not exist" in message:
            raise CliError(
                f"no CloudFormation stack {stack_name!r} {where}",
                EXIT_API,
                ["check the name (sam deploy's stack_name in samconfig.toml) and --region"],
            ) from exc
        code = EXIT_AUTH if error.get("Code") in {"AccessDenied", "AccessDeniedException", "ExpiredToken"} else EXIT_API
        raise CliError(f"cannot read stack {stack_name!r} {where}: {message}", code) from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise CliError(f"cannot reach CloudFormation to read stack {stack_name!r}: {exc}", EXIT_UNREACHABLE) from exc
    outputs = stacks[0].get("Outputs") or []
    return {o["OutputKey"]: o["OutputValue"] for o in outputs if "OutputKey" in o and "OutputValue" in o}


def cognito_id_token(*, client_id: str, username: str, password: str, region: str | None) -> str:
    """Sign in to the stack's user pool (USER_PASSWORD_AUTH) and return the IdToken."""
    import boto3
    import botocore.exceptions

    try:
        cognito: Any = boto3.client("cognito-idp", region_name=region)
        answer = cognito.initiate_auth(
            AuthFlow="USER_PASSWORD_AUTH",
            ClientId=client_id,
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", str(exc))
        if code in {"NotAuthorizedException", "UserNotFoundException"}:
            raise CliError(f"Cognito refused the sign-in: {message}", EXIT_AUTH) from exc
        if code == "PasswordResetRequiredException":
            hint = ["reset the password (aws cognito-idp forgot-password)"]
            raise CliError(f"Cognito: {message}", EXIT_AUTH, hint) from exc
        raise CliError(f"Cognito sign-in failed ({code}): {message}", EXIT_API) from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise CliError(f"cannot reach Cognito: {exc}", EXIT_UNREACHABLE) from exc
    if "AuthenticationResult" not in answer:
        challenge = answer.get("ChallengeName", "a challenge")
        hints = []
        if challenge == "NEW_PASSWORD_REQUIRED":
            hints.append(
                "the user still has its temporary password; set a permanent one: aws cognito-idp "
                "admin-set-user-password --user-pool-id POOL --username USER --password NEW --permanent"
            )
        raise CliError(f"Cognito asks for {challenge}, which this CLI does not answer", EXIT_AUTH, hints)
    return str(answer["AuthenticationResult"]["IdToken"])


# -------------------------------------------------------------- resolution


@dataclass(frozen=True)
class Target:
    """Where requests go and with which token, and why (for error messages)."""

    endpoint: str
    source: str
    local: bool
    token: str | None = None
    token_source: str | None = None
    notes: tuple[str, ...] = ()  # said on stderr: an ignored flag, a stale stack file
    hints: tuple[str, ...] = ()  # said when the endpoint cannot be reached
    state_dir: Path | None = None


def normalise_endpoint(url: str) -> str:
    url = url.strip().rstrip("/")
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise CliError(
            f"not an http(s) URL: {url!r}",
            EXIT_USAGE,
            ["e.g. --endpoint https://abc123.execute-api.eu-west-1.amazonaws.com"],
        )
    return url


def is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOOPBACK_HOSTS


@dataclass(frozen=True)
class Selection:
    """What the user asked for: flags, with the environment as a fallback."""

    endpoint: str | None = None
    profile: str | None = None
    stack: str | None = None
    region: str | None = None
    token: str | None = None
    user: str | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


def resolve(selection: Selection, directory: Path | None = None) -> Target:
    """Pick the endpoint and the token (module docstring: the order)."""
    env = selection.environ
    notes: list[str] = []
    profile_name = selection.profile or env.get(ENV_PROFILE) or None
    profile = load_profile(profile_name, config_path(env)) if profile_name else None
    region = selection.region or (profile.region if profile else None)
    directory = directory if directory is not None else state_dir()

    hints: tuple[str, ...] = ()
    if selection.endpoint:
        endpoint, source = selection.endpoint, "--endpoint"
    elif env.get(ENV_ENDPOINT):
        endpoint, source = env[ENV_ENDPOINT], ENV_ENDPOINT
    elif profile is not None and profile.endpoint:
        endpoint, source = profile.endpoint, f"profile {profile.name} in {profile.path}"
    elif selection.stack or (profile is not None and profile.stack):
        stack = selection.stack or (profile.stack if profile else None) or ""
        outputs = stack_outputs(stack, region)
        if not outputs.get("ApiUrl"):
            raise CliError(f"stack {stack!r} has no ApiUrl output; is it an agentcron stack?", EXIT_API)
        endpoint, source = outputs["ApiUrl"], f"stack {stack} (its ApiUrl output)"
    else:
        running = read_stack_file(directory)
        if running is not None:
            endpoint, source = running["api_url"], f"the local stack ({directory / STACK_FILE_NAME})"
        else:
            endpoint, source = DEFAULT_LOCAL_ENDPOINT, "the default local endpoint"
            hints = (
                f"no local stack is running on state dir {directory}: start one with `agentcron local` "
                "(or `make local`) in another terminal",
                "or point the CLI at a deployed API with --endpoint URL, --profile NAME or --stack NAME",
            )
    if selection.stack and not source.startswith("stack"):
        notes.append(f"--stack {selection.stack} is ignored: the endpoint comes from {source}")
    endpoint = normalise_endpoint(endpoint)
    local = source.startswith(("the local stack", "the default")) or is_loopback(endpoint)

    user = selection.user or env.get(ENV_USER) or None
    token: str | None
    if selection.token:
        token, token_source = selection.token, "--token"
    elif env.get(ENV_TOKEN):
        token, token_source = env[ENV_TOKEN], ENV_TOKEN
    elif profile is not None and (profile_token := profile.secret()):
        token, token_source = profile_token, f"profile {profile.name}"
    elif local:
        from agentcron_local.tokens import issue_token

        user = user or DEFAULT_USER
        token, token_source = issue_token(user, ttl_seconds=3600), f"a local dev token for user {user!r}"
        user = None  # used
    else:
        token, token_source = None, None
    if user and token_source and not token_source.startswith("a local dev token"):
        notes.append(f"--user {user} is ignored: the token comes from {token_source}")
    return Target(
        endpoint=endpoint,
        source=source,
        local=local,
        token=token,
        token_source=token_source,
        notes=tuple(notes),
        hints=hints,
        state_dir=directory,
    )
