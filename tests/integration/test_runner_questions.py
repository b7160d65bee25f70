"""ask_user's kinds (issue 14): a confirm or choice question carries its kind
and options on the run, and a reply that does not fit is a 422 naming
`reply`, through the real runner, API and fake model."""

from __future__ import annotations

from tests.integration.test_runner_harness import Runner

# The harness's fixtures (runner, fake_model).
pytest_plugins = ["tests.integration.test_runner_harness"]

CHOICE = (
    'Ship it\ntool: ask_user {"question": "Which region?", "kind": "choice", "options": ["eu-west-1", "us-east-1"]}'
)


def test_a_choice_question_carries_its_options_and_refuses_a_reply_not_offered(runner: Runner) -> None:
    queued = runner.start(CHOICE, agent={"tools": ["ask_user"]})
    waiting = runner.pump(queued["id"])

    assert waiting["status"] == "WAITING_INPUT"
    assert waiting["question"] == "Which region?"
    assert waiting["question_kind"] == "choice"
    assert waiting["question_options"] == ["eu-west-1", "us-east-1"]

    refused = runner.api.post(f"/v1/runs/{queued['id']}/reply", {"reply": "mars-1"})
    assert refused.status == 422, refused.text
    assert [e["field"] for e in refused.json["errors"]] == ["body.reply"]
    assert runner.get_run(queued["id"])["status"] == "WAITING_INPUT", "nothing was written"

    accepted = runner.api.post(f"/v1/runs/{queued['id']}/reply", {"reply": "us-east-1"})
    assert accepted.status == 202, accepted.text
    done = runner.pump(queued["id"], until=frozenset({"SUCCEEDED", "FAILED"}))
    assert done["status"] == "SUCCEEDED"
    assert done["output"] == "Answer received: us-east-1"
    assert done["question_kind"] is None and done["question_options"] is None


def test_a_confirm_question_takes_yes_or_no(runner: Runner) -> None:
    queued = runner.start('tool: ask_user {"question": "Send it?", "kind": "confirm"}', agent={"tools": ["ask_user"]})
    waiting = runner.pump(queued["id"])
    assert waiting["question_kind"] == "confirm" and waiting["question_options"] is None

    refused = runner.api.post(f"/v1/runs/{queued['id']}/reply", {"reply": "perhaps"})
    assert refused.status == 422 and refused.json["errors"][0]["field"] == "body.reply"
    assert runner.api.post(f"/v1/runs/{queued['id']}/reply", {"reply": "Yes"}).status == 202


def test_a_question_without_a_kind_is_free_text_and_takes_any_reply(runner: Runner) -> None:
    queued = runner.start("ask: Which region?", agent={"tools": ["ask_user"]})
    assert runner.pump(queued["id"])["question_kind"] == "free_text"
    assert runner.api.post(f"/v1/runs/{queued['id']}/reply", {"reply": "anything at all"}).status == 202


def test_a_cancelled_question_leaves_no_kind_or_options_behind(runner: Runner) -> None:
    queued = runner.start(CHOICE, agent={"tools": ["ask_user"]})
    assert runner.pump(queued["id"])["question_kind"] == "choice"
    cancelled = runner.api.post(f"/v1/runs/{queued['id']}/cancel", {})
    assert cancelled.status == 200, cancelled.text
    run = runner.get_run(queued["id"])
    assert run["status"] == "CANCELLED"
    assert (run["question"], run["question_kind"], run["question_options"]) == (None, None, None)
