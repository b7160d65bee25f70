"""Conversations: the thread a user chats in, and what its runs report there.

A user's message is stored with its chat turn, a run of the conversation's hidden
chat task, in one transaction; the turn goes through the same queue and runner as
any run (so API Gateway's 30 s never bounds a chat turn, and a failed turn is
retried like a run). A message in a conversation with a waiting question answers it
instead (Service.reply_to_run: the same checks as POST /v1/runs/{id}/reply).

The conversation's status is derived from its tasks and their waiting runs
(`refresh`), and stored so listings can filter on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from agentcron.clock import utcnow
from agentcron.conversations.models import (
    Action,
    Conversation,
    ConversationCreate,
    ConversationStatus,
    Message,
    MessageCreate,
    MessageRole,
    Question,
    WaitingQuestion,
)
from agentcron.errors import FieldError, InvalidRequest, NotFound
from agentcron.history import Actor, Via
from agentcron.ids import chat_task_id, manual_run_id, new_conversation_id, new_message_id
from agentcron.models import AgentConfig, Policies, Run, RunStatus, Task, Trigger, reply_problem
from agentcron.observability import logger
from agentcron.schedules import to_epoch
from agentcron.schedules.manual import ManualSchedule
from agentcron.service import Service
from agentcron.store import IdempotencyClaim, Page, Store

MAX_MESSAGES_PAGE = 200
WAITING_RUNS_READ = 20
TITLE_CHARS = 80
# A chat turn is a short exchange: fewer attempts and less time than a task's default.
CHAT_POLICIES = Policies(overlap="buffer_one", max_attempts=3, timeout_seconds=300, auto_pause_after_failures=100)
CHAT_AGENT = AgentConfig(max_turns=12, max_tokens=4096)


def _title_of(text: str | None) -> str:
    first = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    cleaned = "".join(ch for ch in first if ch.isprintable())[:TITLE_CHARS].strip()
    return cleaned or "New conversation"


@dataclass
class ConversationService:
    store: Store
    tasks: Service
    clock: Callable[[], datetime] = field(default=utcnow)

    # ---- conversations ---------------------------------------------------

    def create_conversation(
        self, owner: str, body: ConversationCreate, idempotency_key: str | None
    ) -> tuple[Conversation, bool]:
        now = self.clock()
        conversation = Conversation(
            id=new_conversation_id(),
            owner=owner,
            title=body.title or _title_of(body.message),
            created_at=now,
            updated_at=now,
        )
        chat_task = self._chat_task(conversation, now)
        first = None
        if body.message is not None:
            message, turn = self._user_message_with_turn(conversation, chat_task, body.message, now)
            first = (message, turn)
        claim = IdempotencyClaim.for_request(
            owner, idempotency_key, "create_conversation", body.model_dump(mode="json"), conversation.id
        )
        stored_id = self.store.create_conversation(conversation, chat_task, first, claim)
        if stored_id != conversation.id:
            return self.store.get_conversation(owner, stored_id), False
        if first is not None:
            self.tasks.enqueue(first[1])
        return conversation, True

    def get_conversation(self, owner: str, conversation_id: str) -> Conversation:
        return self.store.get_conversation(owner, conversation_id)

    def list_conversations(
        self, owner: str, *, limit: int, cursor: str | None, status: ConversationStatus | None
    ) -> Page[Conversation]:
        return self.store.list_conversations(owner, limit=limit, cursor=cursor, status=status)

    def archive_conversation(self, owner: str, conversation_id: str) -> Conversation:
        current = self.store.get_conversation(owner, conversation_id)
        return self.store.set_conversation_state(
            owner, conversation_id, status=ConversationStatus.ARCHIVED, waiting=current.waiting, archived=True
        )

    # ---- messages --------------------------------------------------------

    def list_messages(
        self, owner: str, conversation_id: str, *, after: str | None, limit: int
    ) -> tuple[list[Message], bool]:
        self.store.get_conversation(owner, conversation_id)
        return self.store.list_messages(conversation_id, after=after, limit=min(limit, MAX_MESSAGES_PAGE))

    def post_message(
        self, owner: str, conversation_id: str, body: MessageCreate, idempotency_key: str | None
    ) -> tuple[Message, bool]:
        """The user's message: it answers the waiting question it names (or the only
        one), else it starts a chat turn. Returns the message and whether this
        request wrote it (False on an idempotent replay)."""
        conversation = self.store.get_conversation(owner, conversation_id)
        claim = IdempotencyClaim.for_request(
            owner, idempotency_key, f"conversation_message:{conversation_id}", body.model_dump(mode="json"), ""
        )
        if claim is not None:
            earlier = self.store.remembered_resource(claim)
            if earlier is not None:
                return self.store.get_message(owner, conversation_id, earlier), False
        question = _answered_question(conversation, body)
        now = self.clock()
        if question is not None:
            return self._answer(conversation, question, body.text, claim)
        chat_task = self._chat_task(conversation, now)
        message, turn = self._user_message_with_turn(conversation, chat_task, body.text, now)
        binding = None if claim is None else claim.binding(message.id)
        stored_id = self.store.post_message(message, turn=turn, idempotency=binding, reopen=conversation.archived)
        if stored_id != message.id:  # the same request, concurrently: it wrote first
            return self.store.get_message(owner, conversation_id, stored_id), False
        self.tasks.enqueue(turn)
        return message, True

    def _answer(
        self,
        conversation: Conversation,
        question: WaitingQuestion,
        text: str,
        claim: IdempotencyClaim | None,
    ) -> tuple[Message, bool]:
        # The run first: it is the answer's only effect, and a run that no longer
        # waits refuses it (409) before anything is written.
        self.tasks.reply_to_run(Actor(conversation.owner, Via.CONVERSATION), question.run_id, text, field="body.text")
        message = self.new_message(
            conversation, MessageRole.USER, text, task_id=question.task_id, answers_run_id=question.run_id
        )
        binding = None if claim is None else claim.binding(message.id)
        stored_id = self.store.post_message(message, idempotency=binding, reopen=conversation.archived)
        # (The conversation's waiting list follows through Service.on_task_changed.)
        if stored_id != message.id:
            return self.store.get_message(conversation.owner, conversation.id, stored_id), False
        return message, True

    def _user_message_with_turn(
        self, conversation: Conversation, chat_task: Task, text: str, now: datetime
    ) -> tuple[Message, Run]:
        message_id = new_message_id()
        turn = Run(
            id=manual_run_id(chat_task.id, to_epoch(now)),
            task_id=chat_task.id,
            owner=conversation.owner,
            status=RunStatus.QUEUED,
            trigger=Trigger.CHAT,
            scheduled_for=now,
            created_at=now,
            conversation_id=conversation.id,
            message_id=message_id,
        )
        message = self.new_message(conversation, MessageRole.USER, text, id=message_id, run_id=turn.id)
        return message, turn

    def _chat_task(self, conversation: Conversation, now: datetime) -> Task:
        """The conversation's hidden task: its runs are the chat turns (written once,
        with the conversation; later turns only need its id)."""
        return Task(
            id=chat_task_id(conversation.id),
            owner=conversation.owner,
            name=f"Conversation {conversation.id}",
            prompt="A chat turn's prompt is the conversation itself.",
            schedule=ManualSchedule(type="manual"),
            policies=CHAT_POLICIES,
            agent=CHAT_AGENT,
            kind="chat",
            conversation_id=conversation.id,
            created_at=now,
            updated_at=now,
        )

    # ---- what runs post, and the derived status ---------------------------------

    def post_system_message(self, message: Message) -> None:
        """A message written by the runner (an answer, a run's report, an action)."""
        self.store.post_message(message)

    def new_message(self, conversation: Conversation, role: MessageRole, text: str, **fields: object) -> Message:
        """A message of the conversation, posted now (`fields`: the rest, an `id` included when known)."""
        return Message.model_validate(
            {
                "id": new_message_id(),
                "conversation_id": conversation.id,
                "owner": conversation.owner,
                "role": role,
                "text": text,
                "created_at": self.clock(),
                **fields,
            }
        )

    def post_run_report(self, conversation: Conversation, run: Run) -> Message | None:
        """A run of one of the conversation's tasks ended or asks: say so in the thread."""
        if run.status == RunStatus.WAITING_INPUT:
            text = run.question or ""
            question = Question(text=text, kind=run.question_kind or "free_text", options=run.question_options)
            message = self.new_message(
                conversation,
                MessageRole.RUN,
                text,
                run_id=run.id,
                task_id=run.task_id,
                run_status=run.status,
                question=question,
            )
        elif run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.TIMED_OUT):
            text = run.output or (run.error.message if run.error else "") or run.status.value
            message = self.new_message(
                conversation, MessageRole.RUN, text, run_id=run.id, task_id=run.task_id, run_status=run.status
            )
        else:
            return None
        self.post_system_message(message)
        return message

    def post_action(self, conversation: Conversation, action: Action, run_id: str) -> Message:
        message = self.new_message(
            conversation, MessageRole.ACTION, action.summary, run_id=run_id, task_id=action.task_id, action=action
        )
        self.post_system_message(message)
        return message

    def refresh_status(self, owner: str, conversation_id: str) -> Conversation:
        """Derive the status from the conversation's tasks and their waiting runs, and store it."""
        conversation = self.store.get_conversation(owner, conversation_id)
        waiting: list[WaitingQuestion] = []
        background = False
        for task_id in conversation.task_ids:
            task = self.store.get_task_by_id(task_id)
            if task is None or task.owner != owner or task.deleted_at is not None:
                continue
            # Background work is a schedule that runs by itself (a manual task waits to be asked).
            background = background or (task.enabled and task.schedule.type != "manual")
            page = self.store.list_task_runs(
                owner, task_id, limit=WAITING_RUNS_READ, cursor=None, status=RunStatus.WAITING_INPUT
            )
            waiting += [
                WaitingQuestion(
                    run_id=run.id,
                    task_id=run.task_id,
                    question=run.question or "",
                    question_kind=run.question_kind or "free_text",
                    question_options=run.question_options,
                )
                for run in page.items
            ]
        if conversation.archived:
            status = ConversationStatus.ARCHIVED
        elif waiting:
            status = ConversationStatus.WAITING_INPUT
        elif background:
            status = ConversationStatus.BACKGROUND
        else:
            status = ConversationStatus.ACTIVE
        if status == conversation.status and waiting == conversation.waiting:
            return conversation
        return self.store.set_conversation_state(owner, conversation_id, status=status, waiting=waiting)

    def task_changed(self, task: Task) -> None:
        """A task of a conversation was paused, resumed, deleted or its run answered: its
        status may have moved. Never fails the change that called it."""
        if task.conversation_id is None or task.kind is not None:
            return
        try:
            self.refresh_status(task.owner, task.conversation_id)
        except NotFound:
            pass
        except Exception:
            logger.exception("conversation status not refreshed", extra={"conversation_id": task.conversation_id})


def _answered_question(conversation: Conversation, body: MessageCreate) -> WaitingQuestion | None:
    """The waiting question the message answers, if it answers one; a 422 when it
    cannot say which, or when the reply does not fit the question."""
    waiting = conversation.waiting
    if body.reply_to is not None:
        matched = next((question for question in waiting if question.run_id == body.reply_to), None)
        if matched is None:
            why = f"run {body.reply_to} is not waiting for an answer in this conversation"
            raise InvalidRequest(why, [FieldError("body.reply_to", why)])
    elif len(waiting) == 1:
        matched = waiting[0]
    elif waiting:
        why = (
            f"{len(waiting)} runs wait for an answer ({', '.join(q.run_id for q in waiting)}); "
            "name the one this answers"
        )
        raise InvalidRequest(why, [FieldError("body.reply_to", why)])
    else:
        return None
    problem = reply_problem(matched.question_kind, matched.question_options, body.text)
    if problem is not None:
        raise InvalidRequest(f"the reply does not answer the question: {problem}", [FieldError("body.text", problem)])
    return matched
