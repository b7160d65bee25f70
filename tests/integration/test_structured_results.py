"""Structured results (issue 16): a task's output_schema becomes the final_result tool's
input schema; the run stores a result that validates, fails on one that does not, and
the next run's prompt reads it as {{last_result.field}}. Through the real runner, SDK,
jsonschema and the fake model."""

from __future__ import annotations

import json

from tests.integration.test_runner_harness import FINAL, Runner

pytest_plugins = ["tests.integration.test_runner_harness"]

PRICE = {
    "type": "object",
    "properties": {"price": {"type": "number", "minimum": 0}, "currency": {"type": "string", "enum": ["USD", "EUR"]}},
    "required": ["price", "currency"],
}


def result_line(value: object) -> str:
    return f"tool: final_result {json.dumps(value)}"


def test_a_valid_result_is_stored_and_feeds_the_next_prompt(runner: Runner) -> None:
    prompt = "Last time: {{last_result.price}} {{last_result.currency}}\n{{answer}}"
    task = runner.create_task(
        prompt, output_schema=PRICE, variables={"answer": result_line({"price": 289.5, "currency": "USD"})}
    )
    first = runner.pump(runner.run_now(task["id"])["id"], until=FINAL)
    assert first["status"] == "SUCCEEDED", first
    assert first["result"] == {"price": 289.5, "currency": "USD"}
    [request] = runner.model_requests(first["id"])
    offered = {tool["name"]: tool for tool in request["tools"]}
    assert offered["final_result"]["input_schema"] == PRICE
    assert request["messages"][0]["content"].startswith("Last time:  \n"), "no result before the first run"

    second = runner.pump(runner.run_now(task["id"])["id"], until=FINAL)
    [request] = runner.model_requests(second["id"])
    assert request["messages"][0]["content"].startswith("Last time: 289.5 USD\n")


def test_a_result_that_does_not_fit_fails_the_run_with_the_errors(runner: Runner) -> None:
    task = runner.create_task(result_line({"price": -1, "currency": "GBP"}), output_schema=PRICE)
    done = runner.pump(runner.run_now(task["id"])["id"], until=FINAL)
    assert done["status"] == "FAILED" and done["error"]["type"] == "result_invalid"
    assert "currency: 'GBP' is not one of ['USD', 'EUR']" in done["error"]["message"]
    assert "price: -1 is less than the minimum of 0" in done["error"]["message"]
    assert done["result"] is None


def test_an_answer_in_prose_is_asked_once_more_for_the_result(runner: Runner) -> None:
    # No final_result line: the fake answers in prose, and the runner forces the tool once.
    task = runner.create_task("What is the price?", output_schema={"type": "object"})
    done = runner.pump(runner.run_now(task["id"])["id"], until=FINAL)
    requests = runner.model_requests(done["id"])
    assert len(requests) == 2 and requests[1]["tool_choice"] == {"type": "tool", "name": "final_result"}
    assert done["status"] == "SUCCEEDED" and done["result"] == {}


def test_the_schema_must_describe_an_object(runner: Runner) -> None:
    body = {"name": "x", "prompt": "x", "schedule": {"type": "manual"}, "output_schema": {"type": "array"}}
    refused = runner.api.post("/v1/tasks", body)
    assert refused.status == 422 and refused.json["errors"][0]["field"] == "body.output_schema"
    invalid = runner.create_task("x", output_schema={"type": "object", "properties": 5})
    done = runner.pump(runner.run_now(invalid["id"])["id"], until=FINAL)
    assert done["status"] == "FAILED" and done["error"]["type"] == "output_schema_invalid"
