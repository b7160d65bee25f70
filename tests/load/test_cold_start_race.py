"""The local stack's first invocations of a function, from several threads at once.

The queue poller has two workers, and each resolves the runner with
``load_function_handler("runner")`` when its first message arrives. Found by
the load test: a run answered 202 stayed QUEUED for the whole test, its
message received but never handled.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent(
    """
    import sys, threading
    from agentcron_local.gateway import load_function_handler

    barrier = threading.Barrier(6)
    errors = []

    def first_invocation():
        barrier.wait()
        try:
            load_function_handler(sys.argv[1])
        except Exception as error:
            errors.append(repr(error))

    threads = [threading.Thread(target=first_invocation) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(errors)
    sys.exit(1 if errors else 0)
    """
)


@pytest.mark.parametrize("function", ["runner", "dispatcher", "api"])
def test_concurrent_first_loads_of_a_function_all_get_its_handler(function: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, function], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
