"""Per-run budgets (issue 16's policies.max_cost_usd), end to end through the real runner,
SDK and the fake model's `usage:` directive: the tool loop stops when the run's estimated
cost reaches the budget, and an unpriced model is refused, never counted as free."""

from __future__ import annotations

from tests.integration.test_runner_harness import FINAL, Runner

pytest_plugins = ["tests.integration.test_runner_harness"]

# Each answer: 100k input tokens ($0.30 at Sonnet's $3/M) + 10k output ($0.15 at $15/M) = $0.45.
THREE_STEPS = "usage: 100000 10000\nremember: a=1\nremember: b=2\nremember: c=3"


def test_a_budget_stops_the_tool_loop_mid_run(runner: Runner) -> None:
    run = runner.start(
        THREE_STEPS,
        agent={"model": "claude-sonnet-5", "tools": ["remember"]},
        policies={"max_cost_usd": 0.8},
    )
    done = runner.pump(run["id"], until=FINAL)
    assert done["status"] == "FAILED", done
    assert done["error"]["type"] == "budget_exceeded"
    assert "$0.9 of the run's $0.8 budget" in done["error"]["message"]
    # Two answers ($0.45 each) were paid for; the third request was never sent.
    assert len(runner.model_requests(run["id"])) == 2
    assert done["usage"]["input_tokens"] == 200_000 and done["cost_estimate"]["usd"] == 0.9


def test_without_a_budget_the_same_run_finishes(runner: Runner) -> None:
    run = runner.start(THREE_STEPS, agent={"model": "claude-sonnet-5", "tools": ["remember"]})
    done = runner.pump(run["id"], until=FINAL)
    assert done["status"] == "SUCCEEDED" and len(runner.model_requests(run["id"])) == 4


def test_an_unpriced_model_is_refused_under_a_budget_unless_allowed(runner: Runner) -> None:
    refused = runner.start("hello", agent={"model": "claude-next-preview"}, policies={"max_cost_usd": 1})
    done = runner.pump(refused["id"], until=FINAL)
    assert done["status"] == "FAILED" and done["error"]["type"] == "budget_unpriced"
    assert runner.model_requests(refused["id"]) == [], "the model was never called"

    allowed = runner.start(
        "hello", agent={"model": "claude-next-preview"}, policies={"max_cost_usd": 1, "unpriced_model": "allow"}
    )
    assert runner.pump(allowed["id"], until=FINAL)["status"] == "SUCCEEDED"
