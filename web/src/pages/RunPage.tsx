// One run: a status timeline, the output as sanitised Markdown, usage, cost, attempts, error,
// the question (answer it here), the transcript with tool calls folded, and cancel.
import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import type { Run } from "../api/client";
import { downloadReport, useRun, useRunActions, useTask, useTranscript } from "../api/queries";
import { ErrorNote, Loading } from "../components/Feedback";
import { Markdown } from "../components/Markdown";
import { StatusBadge } from "../components/StatusBadge";
import { formatDuration, formatNumber, formatTime, formatUsd } from "../lib/format";
import { AnswerForm } from "./InboxPage";

export function RunPage() {
  const { runId = "" } = useParams();
  const run = useRun(runId);
  if (run.isPending) return <Loading what="the run" />;
  if (run.isError) return <ErrorNote error={run.error} />;
  return <RunDetail run={run.data} />;
}

const ENDED = ["SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED", "SKIPPED", "MISSED"];

function RunDetail({ run }: { run: Run }) {
  const task = useTask(run.task_id);
  const { cancel } = useRunActions(run.id);
  const [cancelError, setCancelError] = useState<unknown>(null);
  const cancellable = run.status === "QUEUED" || run.status === "WAITING_INPUT";
  const steps: { label: string; at: string | null | undefined }[] = [
    { label: "Due", at: run.scheduled_for },
    { label: "Queued", at: run.created_at },
    { label: "Started", at: run.started_at },
    { label: ENDED.includes(run.status) ? "Ended" : run.status === "WAITING_INPUT" ? "Waiting for you" : "Running", at: run.finished_at },
  ];
  return (
    <article aria-labelledby="run-title" className="run-detail">
      <p className="crumbs">
        <Link to={`/tasks/${run.task_id}`}>{task.data?.name ?? "Task"}</Link> › run
      </p>
      <div className="page-head">
        <h1 id="run-title">Run of {formatTime(run.scheduled_for)}</h1>
        <span data-testid="run-status" data-status={run.status} aria-live="polite">
          <StatusBadge status={run.status} trigger={run.trigger} />
        </span>
      </div>
      <ol className="timeline" aria-label="Status timeline">
        {steps.map((step) => (
          <li key={step.label} className={step.at ? "done" : "pending"}>
            <span className="step">{step.label}</span> <time dateTime={step.at ?? undefined}>{step.at ? formatTime(step.at) : "—"}</time>
          </li>
        ))}
      </ol>
      {cancellable && (
        <div className="actions">
          <button type="button" className="danger" disabled={cancel.isPending} onClick={() => cancel.mutateAsync().catch(setCancelError)}>
            Cancel the run
          </button>
        </div>
      )}
      {cancelError !== null && <ErrorNote error={cancelError} />}
      {run.status === "WAITING_INPUT" && run.question && (
        <section className="question" aria-labelledby="question-title">
          <h2 id="question-title">The agent asks</h2>
          <Markdown text={run.question} label="Question" />
          <AnswerForm runId={run.id} />
        </section>
      )}
      {run.error && (
        <section className="error-note" aria-labelledby="error-title">
          <h2 id="error-title">Error: {run.error.type}</h2>
          <p>{run.error.message}</p>
        </section>
      )}
      {run.reason && <p className="muted">Reason: {run.reason}</p>}
      <section aria-labelledby="output-title">
        <h2 id="output-title">Output</h2>
        {run.output ? <Markdown text={run.output} label="Run output" /> : <p className="muted">No output yet.</p>}
      </section>
      <dl className="facts wide">
        <div>
          <dt>Attempt</dt>
          <dd>{run.attempt}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{formatDuration(run.duration_ms)}</dd>
        </div>
        <div>
          <dt>Model</dt>
          <dd>{run.model ?? "—"}</dd>
        </div>
        <div>
          <dt>Tokens in / out</dt>
          <dd>
            {formatNumber(run.usage?.input_tokens)} / {formatNumber(run.usage?.output_tokens)}
          </dd>
        </div>
        <div>
          <dt>Cache write / read</dt>
          <dd>
            {formatNumber(run.usage?.cache_creation_input_tokens)} / {formatNumber(run.usage?.cache_read_input_tokens)}
          </dd>
        </div>
        <div>
          <dt>Estimated cost</dt>
          <dd title={run.cost_estimate?.note ?? undefined}>{formatUsd(run.cost_estimate?.usd)}</dd>
        </div>
      </dl>
      {run.prompt && (
        <details className="prompt-box">
          <summary>Prompt as sent</summary>
          <pre>{run.prompt}</pre>
        </details>
      )}
      <ReportDownload run={run} />
      <TranscriptView run={run} />
    </article>
  );
}

function ReportDownload({ run }: { run: Run }) {
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  if (!run._links["report"]) return null;
  const fetchIt = () => {
    setBusy(true);
    setFailure(null);
    downloadReport(run.id)
      .catch(setFailure)
      .finally(() => setBusy(false));
  };
  return (
    <div className="actions">
      <button type="button" disabled={busy} onClick={fetchIt}>
        Download the report ({(run.report_format ?? "").toUpperCase()})
      </button>
      {failure !== null && <ErrorNote error={failure} />}
    </div>
  );
}

interface Block {
  type?: string;
  text?: string;
  name?: string;
  input?: unknown;
  content?: unknown;
  is_error?: boolean;
}

function blocksOf(content: unknown): Block[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  return Array.isArray(content) ? (content as Block[]) : [];
}

function TranscriptView({ run }: { run: Run }) {
  const [open, setOpen] = useState(false);
  const transcript = useTranscript(run.id, open && Boolean(run._links["transcript"]));
  if (!run._links["transcript"]) return null;
  return (
    <details className="transcript" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Transcript</summary>
      {transcript.isPending && open && <Loading what="the transcript" />}
      {transcript.isError && <ErrorNote error={transcript.error} />}
      <ol className="messages">
        {transcript.data?.messages.map((message, index) => {
          const { role, content } = message as { role?: string; content?: unknown };
          return (
            <li key={index} className={`message ${role ?? ""}`}>
              <p className="role">{role}</p>
              {blocksOf(content).map((block, i) =>
                block.type === "text" ? (
                  <Markdown key={i} text={block.text ?? ""} />
                ) : (
                  <details key={i} className="tool-call">
                    <summary>
                      {block.type === "tool_use" ? `Tool call: ${block.name}` : block.type === "tool_result" ? `Tool result${block.is_error ? " (error)" : ""}` : block.type}
                    </summary>
                    <pre>{JSON.stringify(block.type === "tool_use" ? block.input : (block.content ?? block), null, 2)}</pre>
                  </details>
                ),
              )}
            </li>
          );
        })}
      </ol>
    </details>
  );
}
