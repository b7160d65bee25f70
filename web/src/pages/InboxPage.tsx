// Questions: every run waiting for its owner's answer, across tasks; answered in place.
import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { describeError } from "../api/client";
import { useRunActions, useRuns, useTasks } from "../api/queries";
import { ErrorNote, Loading } from "../components/Feedback";
import { Markdown } from "../components/Markdown";
import { formatTime } from "../lib/format";

export function useWaitingRuns() {
  return useRuns("WAITING_INPUT", 100);
}

export function InboxPage() {
  const waiting = useWaitingRuns();
  const tasks = useTasks();
  const names = new Map((tasks.data?.items ?? []).map((task) => [task.id, task.name]));
  // An answered run leaves the list at once; this says where it went.
  const [sent, setSent] = useState<string | null>(null);
  return (
    <section aria-labelledby="inbox-title">
      <h1 id="inbox-title">Questions</h1>
      <p className="notice" role="status" aria-live="polite">
        {sent}
      </p>
      {waiting.isPending && <Loading what="questions" />}
      {waiting.isError && <ErrorNote error={waiting.error} />}
      {waiting.data?.items.length === 0 && (
        <div className="empty">
          <h2>Nothing is waiting for you</h2>
          <p>When an agent asks a question mid-run (the ask_user tool), it appears here until you answer.</p>
        </div>
      )}
      <ul className="inbox">
        {waiting.data?.items.map((run) => (
          <li key={run.id} className="question-card" data-testid="question">
            <p className="muted">
              <Link to={`/tasks/${run.task_id}`}>{names.get(run.task_id) ?? run.task_id}</Link> · <Link to={`/runs/${run.id}`}>run of {formatTime(run.scheduled_for)}</Link>
            </p>
            <Markdown text={run.question ?? "(no question text)"} label="Question" />
            <AnswerForm runId={run.id} onSent={() => setSent(`Answer sent to ${names.get(run.task_id) ?? "the task"}: the run goes on.`)} />
          </li>
        ))}
      </ul>
    </section>
  );
}

export function AnswerForm({ runId, onSent }: { runId: string; onSent?: () => void }) {
  const { reply } = useRunActions(runId);
  const [text, setText] = useState("");
  const [sent, setSent] = useState(false);
  const inputId = `answer-${runId}`;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!text.trim()) return;
    try {
      await reply.mutateAsync(text);
      setSent(true);
      onSent?.();
    } catch {
      // Shown below from the mutation's error.
    }
  }

  if (sent) return <p role="status">Answer sent: the run goes on.</p>;
  return (
    <form onSubmit={submit} className="answer">
      <label htmlFor={inputId}>Your answer</label>
      <textarea id={inputId} rows={2} value={text} onChange={(e) => setText(e.target.value)} />
      {reply.isError && <p className="field-error" role="alert">{describeError(reply.error)}</p>}
      <button type="submit" className="primary" disabled={reply.isPending || !text.trim()}>
        Send answer
      </button>
    </form>
  );
}
