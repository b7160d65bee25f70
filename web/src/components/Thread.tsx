// A conversation's messages: the person's on the right, the assistant's on the left as
// sanitised Markdown (model output is untrusted), runs as cards, actions as compact rows with
// an Undo, failed turns as errors. The list is a live log: new messages are announced.
import { useEffect, useRef, useState } from "react";
import { Link } from "react-router-dom";
import { useUndo } from "../api/conversationQueries";
import type { Message, MessageAction } from "../api/conversations";
import { ErrorNote } from "./Feedback";
import { Markdown } from "./Markdown";
import { StatusBadge } from "./StatusBadge";
import { formatTime } from "../lib/format";

export function Thread({ messages, taskNames, working }: { messages: Message[]; taskNames: Map<string, string>; working: boolean }) {
  const end = useRef<HTMLDivElement>(null);
  const count = messages.length;
  useEffect(() => {
    // The newest message in view when one arrives, as a chat reads; focus stays where it is.
    if (count > 0) end.current?.scrollIntoView({ block: "nearest" });
  }, [count, working]);
  return (
    <div className="thread" role="log" aria-label="Messages" aria-live="polite">
      <ol>
        {messages.map((message) => (
          <MessageItem key={message.id} message={message} taskNames={taskNames} />
        ))}
      </ol>
      {working && (
        <p className="typing" data-testid="assistant-working">
          The assistant is working on it…
        </p>
      )}
      <div ref={end} />
    </div>
  );
}

function MessageTime({ at }: { at: string }) {
  return (
    <p className="meta">
      <time dateTime={at}>{formatTime(at)}</time>
    </p>
  );
}

function MessageItem({ message, taskNames }: { message: Message; taskNames: Map<string, string> }) {
  const common = { "data-testid": "message", "data-role": message.role, "data-id": message.id };
  switch (message.role) {
    case "user":
      return (
        <li className="chat user" {...common}>
          <span className="sr-only">You{message.answers_run_id ? " answered" : " said"}:</span>
          <div className="bubble">{message.text}</div>
          {message.answers_run_id && (
            <p className="meta">
              Answer to <Link to={`/runs/${message.answers_run_id}`}>a run's question</Link>
            </p>
          )}
          <MessageTime at={message.created_at} />
        </li>
      );
    case "assistant":
      return (
        <li className="chat assistant" {...common}>
          <span className="sr-only">Assistant:</span>
          <Markdown text={message.text} label="Assistant message" />
          <MessageTime at={message.created_at} />
        </li>
      );
    case "run":
      return (
        <li className="chat run" {...common}>
          <RunCard message={message} taskName={message.task_id ? taskNames.get(message.task_id) : undefined} />
        </li>
      );
    case "action":
      return (
        <li className="chat action" {...common}>
          {message.action ? (
            <ActionRow message={message} action={message.action} taskNames={taskNames} />
          ) : (
            <p className="action-row">{message.text}</p>
          )}
        </li>
      );
    case "error":
      return (
        <li className="chat error" {...common}>
          <div className="error-note">
            <strong>The assistant could not answer:</strong> {message.text}
          </div>
          <MessageTime at={message.created_at} />
        </li>
      );
  }
}

function RunCard({ message, taskName }: { message: Message; taskName?: string }) {
  return (
    <article className="run-card" aria-label={`Run of ${taskName ?? "a task"}`}>
      <div className="card-head">
        <p className="run-card-title">
          {message.task_id ? <Link to={`/tasks/${message.task_id}`}>{taskName ?? "Task"}</Link> : "Task"}
          {message.run_id && (
            <>
              {" · "}
              <Link to={`/runs/${message.run_id}`}>the run</Link>
            </>
          )}
        </p>
        {message.run_status && (
          <span data-testid="run-message-status" data-status={message.run_status}>
            <StatusBadge status={message.run_status} />
          </span>
        )}
      </div>
      {message.text && <Markdown text={message.text} label="Run report" />}
      {message.question && (
        <div className="run-card-question">
          <p className="muted">It asks:</p>
          <Markdown text={message.question.text} label="Question" />
        </div>
      )}
      <MessageTime at={message.created_at} />
    </article>
  );
}

function ActionRow({ message, action, taskNames }: { message: Message; action: MessageAction; taskNames: Map<string, string> }) {
  const undo = useUndo(message.conversation_id);
  const [undone, setUndone] = useState(false);
  const taskId = action.task_id ?? message.task_id;
  return (
    <div className="action-row">
      <span className="tool mono">{action.tool}</span>
      <span>{action.summary || message.text}</span>
      {taskId && <Link to={`/tasks/${taskId}`}>{taskNames.get(taskId) ?? "the task"}</Link>}
      {action.run_id && <Link to={`/runs/${action.run_id}`}>the run</Link>}
      {action.undo && !undone && (
        <button
          type="button"
          disabled={undo.isPending}
          aria-label={`Undo: ${action.summary || action.tool}`}
          onClick={() => action.undo && undo.mutateAsync(action.undo).then(() => setUndone(true), () => undefined)}
        >
          Undo
        </button>
      )}
      {undone && <span role="status">Undone.</span>}
      {undo.isError && <ErrorNote error={undo.error} />}
    </div>
  );
}
