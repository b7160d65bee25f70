// The tasks board: name, schedule in words, a live countdown, the last run's badge; paused
// tasks greyed with their reason; filters by tag, state and text.
import { useMemo, useState } from "react";
import { Link } from "react-router-dom";
import type { Run, Task } from "../api/client";
import { useRuns, useTasks } from "../api/queries";
import { Countdown } from "../components/Countdown";
import { ErrorNote, Loading } from "../components/Feedback";
import { ScheduleText } from "../components/ScheduleText";
import { StatusBadge } from "../components/StatusBadge";

type StateFilter = "all" | "active" | "paused";

export function TasksPage() {
  const tasks = useTasks();
  // The task's last_run has no trigger; the recent runs say whether it was scheduled or manual.
  const runs = useRuns();
  const runsById = useMemo(() => new Map((runs.data?.items ?? []).map((run) => [run.id, run])), [runs.data]);
  const [text, setText] = useState("");
  const [tag, setTag] = useState("");
  const [state, setState] = useState<StateFilter>("all");
  const all = useMemo(() => tasks.data?.items ?? [], [tasks.data]);
  const tags = useMemo(() => [...new Set(all.flatMap((task) => task.tags))].sort(), [all]);
  const shown = all.filter((task) => matches(task, text, tag, state));

  return (
    <section aria-labelledby="tasks-title">
      <div className="page-head">
        <h1 id="tasks-title">Tasks</h1>
        <Link to="/tasks/new" className="button primary">
          New task
        </Link>
      </div>
      <div className="filters" role="search" aria-label="Filter tasks">
        <div className="field">
          <label htmlFor="filter-text">Search</label>
          <input id="filter-text" type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="Name, prompt or description" />
        </div>
        <div className="field">
          <label htmlFor="filter-state">State</label>
          <select id="filter-state" value={state} onChange={(e) => setState(e.target.value as StateFilter)}>
            <option value="all">All</option>
            <option value="active">Active</option>
            <option value="paused">Paused</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="filter-tag">Tag</label>
          <select id="filter-tag" value={tag} onChange={(e) => setTag(e.target.value)}>
            <option value="">Any</option>
            {tags.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
      </div>
      {tasks.isPending && <Loading what="your tasks" />}
      {tasks.isError && <ErrorNote error={tasks.error} />}
      {tasks.isSuccess && all.length === 0 && (
        <div className="empty">
          <h2>No tasks yet</h2>
          <p>A task is a prompt and a schedule: “every weekday at 09:00, summarise the open incidents”.</p>
          <Link to="/tasks/new" className="button primary">
            Create your first task
          </Link>
        </div>
      )}
      {tasks.isSuccess && all.length > 0 && shown.length === 0 && <p className="empty">No task matches these filters.</p>}
      <ul className="task-list" aria-label="Your tasks">
        {shown.map((task) => (
          <TaskCard key={task.id} task={task} lastRun={task.last_run ? runsById.get(task.last_run.id) : undefined} />
        ))}
      </ul>
    </section>
  );
}

function matches(task: Task, text: string, tag: string, state: StateFilter): boolean {
  if (state === "active" && !task.enabled) return false;
  if (state === "paused" && task.enabled) return false;
  if (tag && !task.tags.includes(tag)) return false;
  const needle = text.trim().toLowerCase();
  return !needle || [task.name, task.description, task.prompt].some((field) => field.toLowerCase().includes(needle));
}

function TaskCard({ task, lastRun }: { task: Task; lastRun?: Run }) {
  return (
    <li className={task.enabled ? "task-card" : "task-card paused"} data-testid="task-card">
      <div className="card-head">
        <h2>
          <Link to={`/tasks/${task.id}`}>{task.name}</Link>
        </h2>
        {!task.enabled && <span className="badge paused-badge">Paused</span>}
      </div>
      <p className="schedule">
        <ScheduleText schedule={task.schedule} />
      </p>
      {!task.enabled && task.paused_reason && <p className="paused-reason">Paused: {task.paused_reason}</p>}
      <dl className="facts">
        <div>
          <dt>Next run</dt>
          <dd>{task.enabled && task.next_run_at ? <Countdown at={task.next_run_at} /> : "—"}</dd>
        </div>
        <div>
          <dt>Last run</dt>
          <dd>
            {task.last_run ? (
              <Link to={`/runs/${task.last_run.id}`}>
                <StatusBadge status={task.last_run.status} trigger={lastRun?.trigger} />
              </Link>
            ) : (
              "never"
            )}
          </dd>
        </div>
      </dl>
      {task.tags.length > 0 && (
        <ul className="tags" aria-label="Tags">
          {task.tags.map((name) => (
            <li key={name}>{name}</li>
          ))}
        </ul>
      )}
    </li>
  );
}
