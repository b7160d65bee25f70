// One task: what it does and when, its actions (run now, pause, resume, edit, delete), its
// history (latest runs, paginated, filtered by status), its statistics and the record of every
// change made to it (who, when, how, and an edit's before and after, shown as text).
import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { describeError, RUN_STATUSES, type FieldChange, type HistoryEntry, type RunStatus, type Task } from "../api/client";
import { useTask, useTaskActions, useTaskHistory, useTaskRuns, useTaskStats } from "../api/queries";
import { RunCharts } from "../components/Charts";
import { Countdown } from "../components/Countdown";
import { Dialog } from "../components/Dialog";
import { ErrorNote, Loading } from "../components/Feedback";
import { RunList } from "../components/RunList";
import { ScheduleText } from "../components/ScheduleText";
import { statusLabel } from "../components/StatusBadge";
import { formatDuration, formatNumber, formatTime, formatUsd, promptVariables } from "../lib/format";

export function TaskPage() {
  const { taskId = "" } = useParams();
  const task = useTask(taskId);
  if (task.isPending) return <Loading what="the task" />;
  if (task.isError) return <ErrorNote error={task.error}>{" "}<Link to="/">Back to tasks</Link></ErrorNote>;
  return <TaskDetail task={task.data} />;
}

function TaskDetail({ task }: { task: Task }) {
  return (
    <article aria-labelledby="task-title" className={task.enabled ? "task-detail" : "task-detail paused"}>
      <div className="page-head">
        <h1 id="task-title">{task.name}</h1>
        {!task.enabled && <span className="badge paused-badge">Paused</span>}
      </div>
      {task.description && <p>{task.description}</p>}
      <dl className="facts wide">
        <div>
          <dt>Schedule</dt>
          <dd>
            <ScheduleText schedule={task.schedule} />
          </dd>
        </div>
        <div>
          <dt>Next run</dt>
          <dd>{task.enabled && task.next_run_at ? <><Countdown at={task.next_run_at} /> ({formatTime(task.next_run_at)})</> : "—"}</dd>
        </div>
        {!task.enabled && (
          <div>
            <dt>Paused because</dt>
            <dd className="paused-reason">{task.paused_reason || "no reason given"}</dd>
          </div>
        )}
        <div>
          <dt>Version</dt>
          <dd data-testid="task-version">{task.version}</dd>
        </div>
      </dl>
      <TaskActions task={task} />
      <details className="prompt-box">
        <summary>Prompt</summary>
        <pre>{task.prompt}</pre>
      </details>
      <History taskId={task.id} />
      <TaskStatistics taskId={task.id} />
      <ChangeHistory taskId={task.id} />
    </article>
  );
}

function TaskActions({ task }: { task: Task }) {
  const navigate = useNavigate();
  const { runNow, pause, resume, remove } = useTaskActions(task.id);
  const [dialog, setDialog] = useState<"run" | "pause" | "delete" | null>(null);
  const [variables, setVariables] = useState<Record<string, string>>({});
  const [reason, setReason] = useState("");
  const [notice, setNotice] = useState<string | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const names = promptVariables(task.prompt);

  async function act(work: () => Promise<unknown>, done: string) {
    setFailure(null);
    try {
      await work();
      setNotice(done);
      setDialog(null);
    } catch (error) {
      setFailure(error);
    }
  }

  async function submitRun(event: FormEvent) {
    event.preventDefault();
    await act(async () => {
      const run = await runNow.mutateAsync(variables);
      setNotice(`Run started (${statusLabel(run.status)}).`);
      navigate(`/runs/${run.id}`);
    }, "Run started.");
  }

  return (
    <div className="task-actions">
      <div className="actions" role="group" aria-label="Task actions">
        <button type="button" className="primary" onClick={() => (names.length ? setDialog("run") : act(() => runNow.mutateAsync({}), "Run started: it appears in the history below."))} disabled={runNow.isPending}>
          Run now
        </button>
        {task.enabled ? (
          <button type="button" onClick={() => setDialog("pause")}>
            Pause
          </button>
        ) : (
          <button type="button" onClick={() => act(() => resume.mutateAsync(), "Resumed.")} disabled={resume.isPending}>
            Resume
          </button>
        )}
        <Link to={`/tasks/${task.id}/edit`} className="button">
          Edit
        </Link>
        <button type="button" className="danger" onClick={() => setDialog("delete")}>
          Delete
        </button>
      </div>
      <p className="notice" role="status" aria-live="polite">
        {notice}
      </p>
      {failure !== null && dialog === null && <ErrorNote error={failure} />}

      <Dialog open={dialog === "run"} title={`Run ${task.name} now`} onClose={() => setDialog(null)}>
        <form onSubmit={submitRun}>
          {names.map((name) => (
            <div className="field" key={name}>
              <label htmlFor={`run-var-${name}`}>{name}</label>
              <input id={`run-var-${name}`} value={variables[name] ?? String(task.variables[name] ?? "")} onChange={(e) => setVariables({ ...variables, [name]: e.target.value })} />
            </div>
          ))}
          {failure !== null && <p className="field-error" role="alert">{describeError(failure)}</p>}
          <div className="actions">
            <button type="submit" className="primary" disabled={runNow.isPending}>
              Start the run
            </button>
            <button type="button" onClick={() => setDialog(null)}>
              Cancel
            </button>
          </div>
        </form>
      </Dialog>

      <Dialog open={dialog === "pause"} title={`Pause ${task.name}`} onClose={() => setDialog(null)}>
        <form onSubmit={(e) => { e.preventDefault(); void act(() => pause.mutateAsync(reason), "Paused."); }}>
          <div className="field">
            <label htmlFor="pause-reason">Reason (shown on the task)</label>
            <input id="pause-reason" value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} />
          </div>
          {failure !== null && <p className="field-error" role="alert">{describeError(failure)}</p>}
          <div className="actions">
            <button type="submit" className="primary" disabled={pause.isPending}>
              Pause the task
            </button>
            <button type="button" onClick={() => setDialog(null)}>
              Cancel
            </button>
          </div>
        </form>
      </Dialog>

      <Dialog open={dialog === "delete"} title={`Delete ${task.name}?`} onClose={() => setDialog(null)}>
        <p>It will not run again. Its runs stay readable.</p>
        {failure !== null && <p className="field-error" role="alert">{describeError(failure)}</p>}
        <div className="actions">
          <button type="button" className="danger" disabled={remove.isPending} onClick={() => act(async () => { await remove.mutateAsync(); navigate("/", { state: { notice: `Deleted ${task.name}.` } }); }, "Deleted.")}>
            Delete the task
          </button>
          <button type="button" onClick={() => setDialog(null)}>
            Keep it
          </button>
        </div>
      </Dialog>
    </div>
  );
}

function History({ taskId }: { taskId: string }) {
  const [status, setStatus] = useState<RunStatus | "">("");
  // Cursors of the pages before this one: "Newer" pops, "Older" pushes.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const runs = useTaskRuns(taskId, { status: status || undefined, cursor, limit: 10 });
  return (
    <section aria-labelledby="history-title" className="history">
      <div className="page-head">
        <h2 id="history-title">History</h2>
        <div className="field inline">
          <label htmlFor="history-status">Status</label>
          <select id="history-status" value={status} onChange={(e) => { setStatus(e.target.value as RunStatus | ""); setCursors([]); }}>
            <option value="">All</option>
            {RUN_STATUSES.map((name) => (
              <option key={name} value={name}>
                {statusLabel(name)}
              </option>
            ))}
          </select>
        </div>
      </div>
      {runs.isPending && <Loading what="runs" />}
      {runs.isError && <ErrorNote error={runs.error} />}
      {runs.data && <RunList runs={runs.data.items} label="Runs of this task" />}
      <nav className="pager" aria-label="History pages">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <span>Page {cursors.length + 1}</span>
        <button type="button" disabled={!runs.data?.next_cursor} onClick={() => runs.data?.next_cursor && setCursors([...cursors, runs.data.next_cursor])}>
          Older
        </button>
      </nav>
    </section>
  );
}

function TaskStatistics({ taskId }: { taskId: string }) {
  const stats = useTaskStats(taskId);
  const runs = useTaskRuns(taskId, { limit: 100 });
  return (
    <section aria-labelledby="stats-title" className="stats">
      <h2 id="stats-title">Statistics</h2>
      {stats.isPending && <Loading what="statistics" />}
      {stats.isError && <ErrorNote error={stats.error} />}
      {stats.data && (
        <dl className="facts wide" data-testid="task-stats">
          <div>
            <dt>Success rate</dt>
            <dd>{stats.data.success_rate === null ? "—" : `${Math.round(stats.data.success_rate * 100)}%`} of {stats.data.window} runs</dd>
          </div>
          <div>
            <dt>Duration p50 / p95</dt>
            <dd>
              {formatDuration(stats.data.duration_ms_p50)} / {formatDuration(stats.data.duration_ms_p95)}
            </dd>
          </div>
          <div>
            <dt>Tokens in / out</dt>
            <dd>
              {formatNumber(stats.data.input_tokens_total)} / {formatNumber(stats.data.output_tokens_total)}
            </dd>
          </div>
          <div>
            <dt>Estimated cost</dt>
            <dd title={stats.data.cost_estimate.basis}>{formatUsd(stats.data.cost_estimate.total_usd)}</dd>
          </div>
        </dl>
      )}
      {runs.data && <RunCharts runs={runs.data.items} />}
    </section>
  );
}


const ACTION_LABELS: Record<HistoryEntry["action"], string> = {
  created: "Created",
  updated: "Edited",
  enabled: "Resumed",
  disabled: "Paused",
  deleted: "Deleted",
  run_requested: "Run started",
  replied: "Answered a run",
  run_cancelled: "Run cancelled",
  auto_paused: "Paused after failures",
  budget_paused: "Paused by its budget",
  trigger_created: "Webhook trigger added",
  trigger_rotated: "Webhook secret rotated",
  trigger_deleted: "Webhook trigger deleted",
};

/** A before/after value as text: JSON for anything but a plain string. Rendered as a text node. */
function valueText(value: unknown): string {
  if (value === null || value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function ChangeList({ changes }: { changes: FieldChange[] }) {
  return (
    <ul className="changes">
      {changes.map((change) => (
        <li key={change.field}>
          <code>{change.field}</code>: <del>{valueText(change.before)}</del> → <ins>{valueText(change.after)}</ins>
        </li>
      ))}
    </ul>
  );
}

function ChangeHistory({ taskId }: { taskId: string }) {
  // Cursors of the pages before this one, as the runs' history keeps them.
  const [cursors, setCursors] = useState<string[]>([]);
  const history = useTaskHistory(taskId, cursors[cursors.length - 1]);
  return (
    <section aria-labelledby="changes-title" className="change-history">
      <h2 id="changes-title">Changes</h2>
      {history.isPending && <Loading what="the task's changes" />}
      {history.isError && <ErrorNote error={history.error} />}
      {history.data && (
        <table data-testid="task-changes">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Who</th>
              <th scope="col">How</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {history.data.items.map((entry) => (
              <tr key={entry.id}>
                <td>{formatTime(entry.at)}</td>
                <td>
                  {ACTION_LABELS[entry.action] ?? entry.action}
                  {entry.run_id && <> (<Link to={`/runs/${entry.run_id}`}>run</Link>)</>}
                </td>
                <td>{entry.actor}</td>
                <td>{entry.via}</td>
                <td>
                  {entry.changes.length > 0 && <ChangeList changes={entry.changes} />}
                  {entry.reason && <p className="reason">{entry.reason}</p>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label="Change pages">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <span>Page {cursors.length + 1}</span>
        <button type="button" disabled={!history.data?.next_cursor} onClick={() => history.data?.next_cursor && setCursors([...cursors, history.data.next_cursor])}>
          Older
        </button>
      </nav>
    </section>
  );
}
