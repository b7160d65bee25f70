"""Conversations and their messages, always for one owner.

Contract: a conversation is created with its hidden chat task (and, with a first
message, that message and its chat turn) in one transaction, with its idempotency
record. A user message is written with its chat turn and its idempotency record in
one transaction, so a message without its turn, or a turn without its message,
cannot exist. Every message write also moves the conversation's activity time (the
ByOwner sort key), in the same transaction. Messages are read oldest first after a
message id (ids sort in posting order). Reads by id check the owner: another
owner's conversation is NotFound.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key

from agentcron.conversations.models import (
    MAX_TASKS_PER_CONVERSATION,
    Conversation,
    ConversationStatus,
    Message,
    WaitingQuestion,
)
from agentcron.errors import Conflict, NotFound
from agentcron.models import Run, Task
from agentcron.store.dynamo import _ConditionFailed, plain, translated
from agentcron.store.idempotency import IdempotencyClaim, IdempotentWrites
from agentcron.store.keys import conversation_key, message_key
from agentcron.store.paging import Page, owner_page


def _activity_key(latest_id: str, conversation_id: str) -> str:
    """Most recently active first in the ByOwner listing: the ULID of the latest message (or
    of the conversation itself), millisecond-ordered where the clock's times are whole seconds."""
    return f"{latest_id.split('_', 1)[1]}#{conversation_id}"


class ConversationStore(IdempotentWrites):
    # ---- item shapes ---------------------------------------------------

    def conversation_item(self, conversation: Conversation) -> dict[str, Any]:
        item: dict[str, Any] = conversation.model_dump(mode="json", exclude_none=True)
        item.update(conversation_key(conversation.id))
        item["GSI1PK"] = f"OWNER#{conversation.owner}#CONVS"
        item["GSI1SK"] = _activity_key(conversation.id, conversation.id)
        return item

    def message_item(self, message: Message) -> dict[str, Any]:
        item: dict[str, Any] = message.model_dump(mode="json", exclude_none=True)
        item.update(message_key(message.conversation_id, message.id))
        return item

    def _put(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"Put": {"TableName": self.table_name, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}

    def _touch(self, message: Message) -> dict[str, Any]:
        """The transaction entry that moves the conversation's activity to the message."""
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": conversation_key(message.conversation_id),
                "UpdateExpression": "SET updated_at = :at, GSI1SK = :sort",
                "ConditionExpression": "attribute_exists(PK) AND #owner = :owner",
                "ExpressionAttributeNames": {"#owner": "owner"},
                "ExpressionAttributeValues": {
                    ":at": message.created_at.isoformat(),
                    ":sort": _activity_key(message.id, message.conversation_id),
                    ":owner": message.owner,
                },
            }
        }

    # ---- writes ----------------------------------------------------------

    @translated
    def create_conversation(
        self,
        conversation: Conversation,
        chat_task: Task,
        first: tuple[Message, Run] | None,
        idempotency: IdempotencyClaim | None,
    ) -> str:
        """Returns the id of the conversation the request stands for (an idempotent
        replay answers the earlier one's)."""
        writes = [self._put(self.conversation_item(conversation)), self._put(self.task_item(chat_task))]
        if first is not None:
            message, run = first
            writes += [self._put(self.message_item(message)), self._put(self.run_item(run))]
        return self._write_with_idempotency(writes, idempotency, conversation.id)

    @translated
    def post_message(
        self,
        message: Message,
        *,
        turn: Run | None = None,
        idempotency: IdempotencyClaim | None = None,
        reopen: bool = False,
    ) -> str:
        """Write a message (with the chat turn answering it, when there is one).
        Returns the id of the message the request stands for."""
        touch = self._touch(message)
        if reopen:
            update = touch["Update"]
            update["UpdateExpression"] += ", archived = :false, #status = :active"
            update["ExpressionAttributeNames"]["#status"] = "status"
            update["ExpressionAttributeValues"].update({":false": False, ":active": ConversationStatus.ACTIVE.value})
        writes = [self._put(self.message_item(message)), touch]
        if turn is not None:
            writes.append(self._put(self.run_item(turn)))
        return self._write_with_idempotency(writes, idempotency, message.id)

    @translated
    def set_conversation_state(
        self,
        owner: str,
        conversation_id: str,
        *,
        status: ConversationStatus,
        waiting: Sequence[WaitingQuestion],
        archived: bool | None = None,
    ) -> Conversation:
        names = {"#owner": "owner", "#status": "status"}
        values: dict[str, Any] = {
            ":owner": owner,
            ":status": status.value,
            ":waiting": [question.model_dump(mode="json", exclude_none=True) for question in waiting],
        }
        sets = ["#status = :status", "waiting = :waiting"]
        if archived is not None:
            values[":archived"] = archived
            sets.append("archived = :archived")
        result = self._update_returning(
            conversation_id, "SET " + ", ".join(sets), "attribute_exists(PK) AND #owner = :owner", names, values
        )
        return Conversation.model_validate(result)

    @translated
    def add_conversation_task(self, owner: str, conversation_id: str, task_id: str) -> None:
        """Record a task created from the conversation (once, however often a retried turn asks)."""
        added = self._update_if(
            Key=conversation_key(conversation_id),
            UpdateExpression="SET task_ids = list_append(if_not_exists(task_ids, :empty), :task)",
            ConditionExpression=(
                "attribute_exists(PK) AND #owner = :owner AND NOT contains(task_ids, :id) AND "
                "(attribute_not_exists(task_ids) OR size(task_ids) < :most)"
            ),
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={
                ":owner": owner,
                ":empty": [],
                ":task": [task_id],
                ":id": task_id,
                ":most": MAX_TASKS_PER_CONVERSATION,
            },
        )
        if not added and task_id not in self.get_conversation(owner, conversation_id).task_ids:
            raise Conflict(f"conversation {conversation_id} has {MAX_TASKS_PER_CONVERSATION} tasks already")

    def _update_returning(
        self, conversation_id: str, expression: str, condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            return self._update(conversation_key(conversation_id), expression, condition, names, values)
        except _ConditionFailed:
            raise NotFound(f"conversation {conversation_id} not found") from None

    # ---- reads -----------------------------------------------------------

    @translated
    def get_conversation(self, owner: str, conversation_id: str) -> Conversation:
        item = self._get(conversation_key(conversation_id))
        if item is None or item.get("owner") != owner:
            raise NotFound(f"conversation {conversation_id} not found")
        return Conversation.model_validate(item)

    @translated
    def get_conversation_by_id(self, conversation_id: str) -> Conversation | None:
        """For the runner, which acts for the conversation's owner already."""
        item = self._get(conversation_key(conversation_id))
        return None if item is None else Conversation.model_validate(item)

    @translated
    def list_conversations(
        self, owner: str, *, limit: int, cursor: str | None, status: ConversationStatus | None
    ) -> Page[Conversation]:
        partition = f"OWNER#{owner}#CONVS"
        filters: list[ConditionBase] = []
        if status is not None:
            filters.append(Attr("status").eq(status.value))
        return owner_page(
            self.table, partition, Key("GSI1PK").eq(partition), limit, cursor, filters, Conversation.model_validate
        )

    @translated
    def get_message(self, owner: str, conversation_id: str, message_id: str) -> Message:
        item = self._get(message_key(conversation_id, message_id))
        if item is None or item.get("owner") != owner:
            raise NotFound(f"message {message_id} not found")
        return Message.model_validate(item)

    @translated
    def list_messages(
        self, conversation_id: str, *, after: str | None, limit: int, up_to: str | None = None
    ) -> tuple[list[Message], bool]:
        """Oldest first, strictly after the message `after` (and at most `up_to`), and
        whether more follow. The caller has checked the conversation is the owner's."""
        lower = f"MSG#{after}" if after is not None else "MSG#"
        upper = f"MSG#{up_to}" if up_to is not None else "MSG#~"
        condition = Key("PK").eq(conversation_key(conversation_id)["PK"]) & Key("SK").between(lower, upper)
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition, "ConsistentRead": True}
        while len(items) <= limit:
            kwargs["Limit"] = limit + 1 - len(items)
            response = self.table.query(**kwargs)
            # BETWEEN is inclusive; `after` itself is not part of the answer.
            items += [item for item in response.get("Items", []) if item["SK"] != f"MSG#{after}"]
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return [Message.model_validate(plain(item)) for item in items[:limit]], len(items) > limit

    @translated
    def latest_messages(self, conversation_id: str, *, up_to: str, limit: int) -> list[Message]:
        """The last `limit` messages up to and including `up_to`, oldest first (a chat turn's context)."""
        condition = Key("PK").eq(conversation_key(conversation_id)["PK"]) & Key("SK").between("MSG#", f"MSG#{up_to}")
        response = self.table.query(
            KeyConditionExpression=condition, ScanIndexForward=False, Limit=limit, ConsistentRead=True
        )
        return [Message.model_validate(plain(item)) for item in reversed(response.get("Items", []))]
