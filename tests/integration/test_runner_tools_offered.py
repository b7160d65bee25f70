"""What the runner offers the model (issue 15): server tools by their versioned type,
and the deny list winning over the allow list, through the real runner and SDK."""

from __future__ import annotations

from tests.integration.test_runner_harness import FINAL, Runner

pytest_plugins = ["tests.integration.test_runner_harness"]


def test_server_tools_are_offered_by_type_and_denied_tools_never(runner: Runner) -> None:
    agent = {
        "tools": ["web_fetch", "remember", "web_search", "code_execution"],
        "disallowed_tools": ["web_fetch", "some_connector__send_email"],
    }
    run = runner.start('tool: web_fetch {"url": "https://example.com"}', agent=agent)
    done = runner.pump(run["id"], until=FINAL)
    [request] = runner.model_requests(run["id"])
    offered = {tool["name"]: tool for tool in request["tools"]}
    assert set(offered) == {"remember", "web_search", "code_execution"}
    assert offered["code_execution"] == {"type": "code_execution_20250825", "name": "code_execution"}
    assert offered["web_search"]["type"] == "web_search_20250305"
    # The model asked for the denied tool anyway: it was never offered, so it never ran.
    assert done["output"] == "Tool web_fetch is not available to this task"


def test_an_unknown_tool_name_in_the_deny_list_must_still_be_a_tool_name(runner: Runner) -> None:
    body = {"name": "x", "prompt": "x", "schedule": {"type": "manual"}, "agent": {"disallowed_tools": ["no spaces"]}}
    refused = runner.api.post("/v1/tasks", body)
    assert refused.status == 422
    assert refused.json["errors"][0]["field"].startswith("body.agent.disallowed_tools")
