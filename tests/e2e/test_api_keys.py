"""API keys (issue 15) against `agentcron local`: a key made through the API works as a
bearer token for plain HTTP, is its owner's alone, and stops working once revoked, after
the revocation delay: the gateway's cache of the authorizer's answer (ReauthorizeEvery) plus the
authorizer's cache of the key (API_KEY_CACHE_SECONDS), 1 s each here."""

from __future__ import annotations

import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import RunningStack, agentcron, clean_env, local_stack_process

CACHE_SECONDS = 1


@pytest.fixture(scope="module")
def keyed_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    caches = ("--api-key-cache-seconds", str(CACHE_SECONDS), "--authorizer-ttl-seconds", str(CACHE_SECONDS))
    with local_stack_process(tmp_path_factory.mktemp("api-keys"), extra_args=caches) as running:
        yield running


def cli(
    stack: RunningStack, *args: str, user: str = "alice", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        agentcron(stack.state_dir, "--user", user, *args),
        capture_output=True,
        text=True,
        env={**clean_env(), **(env or {})},
        timeout=60,
        check=False,
    )


def get_tasks(stack: RunningStack, key: str) -> requests.Response:
    return requests.get(f"{stack.url}/v1/tasks", headers={"Authorization": f"Bearer {key}"}, timeout=10)


def test_a_key_works_as_a_token_is_its_owners_and_stops_once_revoked(keyed_stack: RunningStack) -> None:
    made = cli(keyed_stack, "api-keys", "create", "--name", "nightly script", "-q")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("ak_") and len(key) > 40

    created = requests.post(
        f"{keyed_stack.url}/v1/tasks",
        json={"name": "from a script", "prompt": "hello", "schedule": {"type": "manual"}},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    listed = cli(keyed_stack, "tasks", "list", "--json")
    assert created.json()["id"] in listed.stdout, "the key acts as its owner, alice"

    keys = cli(keyed_stack, "api-keys", "list", "--json")
    assert "nightly script" in keys.stdout and key not in keys.stdout, "never the key itself"
    key_id = next(word.strip('",') for word in keys.stdout.split() if word.strip('",').startswith("key_"))
    assert cli(keyed_stack, "api-keys", "list", "--json", user="bob").stdout.count("key_") == 0
    assert cli(keyed_stack, "api-keys", "revoke", key_id, user="bob").returncode == 1, "bob: 404"
    assert get_tasks(keyed_stack, key).status_code == 200

    assert cli(keyed_stack, "api-keys", "revoke", key_id).returncode == 0
    time.sleep(2 * CACHE_SECONDS + 0.5)
    refused = get_tasks(keyed_stack, key)
    # The Lambda authorizer's refusal: API Gateway's 403 (it cannot be a 401).
    assert refused.status_code == 403 and refused.json() == {"message": "Forbidden"}
    assert "revoked_at" in cli(keyed_stack, "api-keys", "list", "--json").stdout


def test_an_unknown_key_is_refused(keyed_stack: RunningStack) -> None:
    assert get_tasks(keyed_stack, "ak_" + "x" * 43).status_code == 403
    no_header = requests.get(f"{keyed_stack.url}/v1/tasks", timeout=10)
    assert no_header.status_code == 401 and no_header.json() == {"message": "Unauthorized"}


def test_a_profile_holds_a_key_in_a_file_only_its_owner_may_read(keyed_stack: RunningStack, tmp_path: Path) -> None:
    config = tmp_path / "agentcron" / "config.toml"
    env = {"AGENTCRON_CONFIG": str(config)}
    saved = cli(keyed_stack, "api-keys", "create", "--name", "ci", "--save-profile", "ci", env=env)
    assert saved.returncode == 0, saved.stderr
    key_file = tmp_path / "agentcron" / "keys" / "ci.key"
    key = key_file.read_text().strip()
    assert key.startswith("ak_") and key not in saved.stdout + saved.stderr, "never printed"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert f'token_file = "{key_file}"' in config.read_text() and key not in config.read_text()

    # As carol (--user is ignored: the token is the profile's), with the flag or the environment.
    made = cli(
        keyed_stack,
        "--profile",
        "ci",
        "tasks",
        "create",
        "--name",
        "via key",
        "--prompt",
        "p",
        "--manual",
        user="carol",
        env=env,
    )
    assert made.returncode == 0, made.stderr
    as_alice = cli(keyed_stack, "tasks", "list", "--json", user="alice", env=env)
    assert "via key" in as_alice.stdout, "the key acts as alice, who made it"
    from_env = cli(keyed_stack, "tasks", "list", "--json", user="carol", env={**env, "AGENTCRON_PROFILE": "ci"})
    assert from_env.returncode == 0 and "via key" in from_env.stdout

    again = cli(keyed_stack, "api-keys", "create", "--name", "ci2", "--save-profile", "ci", env=env)
    assert again.returncode == 2 and "already has a profile 'ci'" in again.stderr, "refused before a key is made"
    key_file.chmod(0o644)
    loose = cli(keyed_stack, "--profile", "ci", "tasks", "list", env=env)
    assert loose.returncode == 4 and "may be read by others" in loose.stderr
