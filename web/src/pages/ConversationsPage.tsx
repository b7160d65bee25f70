// Conversations: the person's chats with the assistant, most recently active first, each with
// its status (a run started from it may be working or waiting for an answer).
import { useMemo, useState } from "react";
import { Link } from "react-router-dom";
import { useConversations } from "../api/conversationQueries";
import { CONVERSATION_STATUSES, type Conversation, type ConversationStatus } from "../api/conversations";
import { ErrorNote, Loading } from "../components/Feedback";
import { ConversationStatusBadge, conversationStatusLabel } from "../components/StatusBadge";
import { formatTime } from "../lib/format";

export function ConversationsPage() {
  const [status, setStatus] = useState<ConversationStatus | "">("");
  const conversations = useConversations(status || undefined);
  const shown = useMemo(() => {
    const byId = new Map<string, Conversation>();
    for (const page of conversations.data?.pages ?? []) for (const item of page.items) byId.set(item.id, item);
    return [...byId.values()].sort((a, b) => b.updated_at.localeCompare(a.updated_at));
  }, [conversations.data]);

  return (
    <section aria-labelledby="conversations-title">
      <div className="page-head">
        <h1 id="conversations-title">Conversations</h1>
        <Link to="/conversations/new" className="button primary">
          New conversation
        </Link>
      </div>
      <div className="filters" role="search" aria-label="Filter conversations">
        <div className="field">
          <label htmlFor="filter-conversation-status">Status</label>
          <select id="filter-conversation-status" value={status} onChange={(e) => setStatus(e.target.value as ConversationStatus | "")}>
            <option value="">All</option>
            {CONVERSATION_STATUSES.map((value) => (
              <option key={value} value={value}>
                {conversationStatusLabel(value)}
              </option>
            ))}
          </select>
        </div>
      </div>
      {conversations.isPending && <Loading what="your conversations" />}
      {conversations.isError && <ErrorNote error={conversations.error} />}
      {conversations.isSuccess && shown.length === 0 && (
        <div className="empty">
          <h2>{status ? "No conversation with this status" : "No conversations yet"}</h2>
          <p>Tell the assistant what you need in your own words: it can create tasks, run them and report back here.</p>
          <Link to="/conversations/new" className="button primary">
            Start a conversation
          </Link>
        </div>
      )}
      <ul className="conversation-list" aria-label="Your conversations">
        {shown.map((conversation) => (
          <ConversationRow key={conversation.id} conversation={conversation} />
        ))}
      </ul>
      {conversations.hasNextPage && (
        <div className="pager">
          <button type="button" onClick={() => conversations.fetchNextPage()} disabled={conversations.isFetchingNextPage}>
            Show older conversations
          </button>
        </div>
      )}
    </section>
  );
}

function ConversationRow({ conversation }: { conversation: Conversation }) {
  const waiting = conversation.waiting.length;
  const tasks = conversation.task_ids.length;
  return (
    <li className="conversation-row" data-testid="conversation" data-status={conversation.status}>
      <h2>
        <Link to={`/conversations/${conversation.id}`}>{conversation.title || "Untitled conversation"}</Link>
      </h2>
      <ConversationStatusBadge status={conversation.status} />
      <p className="muted">
        Last activity <time dateTime={conversation.updated_at}>{formatTime(conversation.updated_at)}</time>
        {tasks > 0 && ` · ${tasks} ${tasks === 1 ? "task" : "tasks"}`}
        {waiting > 0 && ` · ${waiting} ${waiting === 1 ? "question waits" : "questions wait"} for you`}
      </p>
    </li>
  );
}
