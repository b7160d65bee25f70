"""API keys (issue 15) against `agentcron local`: a key made through the API works as a
bearer token for plain HTTP, is its owner's alone, and stops working once revoked, after
the authorizer's cache time (API_KEY_CACHE_SECONDS, 2 s here: the revocation delay)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.conftest import RunningStack, agentcron, clean_env, local_stack_process

CACHE_SECONDS = 2


@pytest.fixture(scope="module")
def keyed_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    env = {"API_KEY_CACHE_SECONDS": str(CACHE_SECONDS)}
    with local_stack_process(tmp_path_factory.mktemp("api-keys"), extra_env=env) as running:
        yield running


def cli(stack: RunningStack, *args: str, user: str = "alice") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        agentcron(stack.state_dir, "--user", user, *args),
        capture_output=True,
        text=True,
        env=clean_env(),
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
    time.sleep(CACHE_SECONDS + 0.5)
    refused = get_tasks(keyed_stack, key)
    assert refused.status_code == 401 and refused.json() == {"message": "Unauthorized"}
    assert "revoked_at" in cli(keyed_stack, "api-keys", "list", "--json").stdout


def test_an_unknown_key_is_refused(keyed_stack: RunningStack) -> None:
    assert get_tasks(keyed_stack, "ak_" + "x" * 43).status_code == 401
