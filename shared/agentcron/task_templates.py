"""Ready-made tasks: `GET /v1/templates` lists them, and `POST /v1/tasks {"template": id,
...overrides}` creates a task from one.

The catalogue is the persona scheduler's five reflection tasks (daily self-reflection,
weekly goal assessment, memory consolidation, capability exploration, emotional
check-in), which keep their continuity through the agent's own memory (`remember` /
`recall`), and three everyday watchers. A template is only defaults: what the request
gives wins, field by field inside `agent`, `policies`, `notify` and `variables`, as a
whole elsewhere. The task keeps the template's id (`template`) so its origin shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel, Field

# Fields of a request that merge into the template's, key by key; the rest replace.
MERGED_FIELDS: Final = ("agent", "policies", "notify", "variables")


class TaskTemplate(BaseModel):
    id: str = Field(description="What `template` names in POST /v1/tasks")
    name: str = Field(description="The task's name unless the request gives one")
    summary: str
    prompt: str
    schedule: dict[str, Any]
    agent: dict[str, Any] = Field(default_factory=dict)
    variables: dict[str, str] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    notify: dict[str, Any] = Field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        """The task this template makes when the request gives nothing else."""
        fields = {
            "name": self.name,
            "description": self.summary,
            "prompt": self.prompt,
            "schedule": self.schedule,
            "agent": self.agent,
            "variables": self.variables,
            "tags": self.tags,
            "notify": self.notify,
        }
        return {name: value for name, value in fields.items() if value != {}}


_REFLECT: Final = {"tools": ["remember", "recall"], "max_turns": 8}

TEMPLATES: Final[tuple[TaskTemplate, ...]] = (
    TaskTemplate(
        id="daily-self-reflection",
        name="Daily self-reflection",
        summary="Every evening: what went well today, what did not, and one thing to do differently tomorrow.",
        prompt=(
            "Reflect on today. First recall what you noted in earlier reflections (recall 'reflection/'). "
            "Then write three short sections: what went well, what did not, and one concrete thing to do "
            "differently tomorrow. Finally remember today's one change under 'reflection/{{today_key}}' "
            "so tomorrow's reflection can check on it."
        ),
        schedule={"type": "cron", "expression": "0 21 * * *", "timezone": "UTC"},
        agent=_REFLECT,
        tags=["reflection"],
    ),
    TaskTemplate(
        id="weekly-goal-assessment",
        name="Weekly goal assessment",
        summary="Every Sunday: progress on each goal, what is blocking, and next week's focus.",
        prompt=(
            "Assess the week against the goals. Recall 'goals' (if nothing is stored, ask the owner for their "
            "goals with ask_user and remember them under 'goals'). For each goal: progress this week, what is "
            "blocking it, and a rating from 1 to 5. End with next week's single focus."
        ),
        schedule={"type": "cron", "expression": "0 18 * * 0", "timezone": "UTC"},
        agent={"tools": ["remember", "recall", "ask_user"], "max_turns": 10},
        tags=["reflection", "goals"],
    ),
    TaskTemplate(
        id="memory-consolidation",
        name="Memory consolidation",
        summary="Every night: merge, shorten and tidy what the agent remembers, so recall stays useful.",
        prompt=(
            "Consolidate your memory. Recall everything you have stored, merge entries that say the same thing, "
            "shorten long ones to what matters, and remember the consolidated versions. Report what you merged "
            "and what you dropped, in a short list."
        ),
        schedule={"type": "cron", "expression": "30 3 * * *", "timezone": "UTC"},
        agent={"tools": ["remember", "recall"], "max_turns": 20},
        tags=["reflection", "memory"],
    ),
    TaskTemplate(
        id="capability-exploration",
        name="Capability exploration",
        summary="Every Wednesday: try one tool or approach not used lately and note what it is good for.",
        prompt=(
            "Explore one capability you have not used lately. Recall 'explored/' to see what you tried before, "
            "pick something new (a tool, a kind of source, a way of working), try it on a small real question, "
            "and remember under 'explored/<name>' what it is good for and its limits."
        ),
        schedule={"type": "cron", "expression": "0 15 * * 3", "timezone": "UTC"},
        agent={"tools": ["remember", "recall", "web_fetch"], "max_turns": 10},
        tags=["reflection"],
    ),
    TaskTemplate(
        id="emotional-check-in",
        name="Emotional check-in",
        summary="Twice a week: ask how the owner is doing, listen, and keep a gentle record of the answers.",
        prompt=(
            "Check in with the owner. Recall 'check-in/last' for what they said last time. Ask one warm, "
            "open question with ask_user (mention last time if there was one). When they answer, reflect it back "
            "briefly, and remember a one-line summary under 'check-in/last'."
        ),
        schedule={"type": "cron", "expression": "0 19 * * 1,4", "timezone": "UTC"},
        agent={"tools": ["remember", "recall", "ask_user"], "max_turns": 6},
        tags=["reflection", "wellbeing"],
    ),
    TaskTemplate(
        id="daily-digest",
        name="Daily digest",
        summary="Every weekday morning: a short digest of what matters from the sources you list.",
        prompt=(
            "Write today's digest of {{sources}}. Fetch each source, keep only what is new since yesterday "
            "(recall 'digest/seen' for what you reported before, and remember today's headlines there), "
            "and write at most five bullet points, each with its link."
        ),
        schedule={"type": "cron", "expression": "0 8 * * 1-5", "timezone": "UTC"},
        agent={"tools": ["web_fetch", "remember", "recall"], "max_turns": 12},
        variables={"sources": "https://news.ycombinator.com"},
        tags=["digest"],
    ),
    TaskTemplate(
        id="website-change-watcher",
        name="Website change watcher",
        summary="Every hour: fetch a page and tell you only when what you care about on it changed.",
        prompt=(
            "Fetch {{url}} and find {{what}}. Recall 'watch/last' for what it was last time. If it changed, "
            "call notify_user with the old and the new value; either way, remember the current value under "
            "'watch/last'. Answer with the current value only."
        ),
        schedule={"type": "cron", "expression": "0 * * * *", "timezone": "UTC"},
        agent={"tools": ["web_fetch", "remember", "recall"], "max_turns": 6},
        variables={"url": "https://example.com", "what": "the page's main heading"},
        notify={"when": "agent_decides"},
        tags=["watcher"],
    ),
    TaskTemplate(
        id="inbox-watcher",
        name="Inbox watcher",
        summary="Every 30 minutes: read new mail through your mail connector and draft replies for you to confirm.",
        prompt=(
            "Look for new mail matching {{query}} with your mail connector's tools. For each message that needs "
            "an answer, draft a short reply and ask the owner (ask_user, confirm) before sending it. Report what "
            "you found, drafted and sent."
        ),
        schedule={"type": "interval", "every_seconds": 1800},
        agent={"tools": ["ask_user"], "max_turns": 12},
        variables={"query": "is:unread"},
        notify={"when": "agent_decides"},
        tags=["watcher", "mail"],
    ),
)

TEMPLATE_IDS: Final = tuple(template.id for template in TEMPLATES)
_BY_ID: Final = {template.id: template for template in TEMPLATES}


def template_named(template_id: str) -> TaskTemplate | None:
    return _BY_ID.get(template_id)


def from_template(template: TaskTemplate, request: Mapping[str, Any]) -> dict[str, Any]:
    """The task a request makes from `template`: its defaults with the request's fields over them."""
    merged = template.defaults()
    for name, value in request.items():
        base = merged.get(name)
        if name in MERGED_FIELDS and isinstance(base, dict) and isinstance(value, dict):
            merged[name] = {**base, **value}
        else:
            merged[name] = value
    return merged
