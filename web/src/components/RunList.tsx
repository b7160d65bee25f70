import { Link } from "react-router-dom";
import type { Run } from "../api/client";
import { formatDuration, formatTime } from "../lib/format";
import { StatusBadge } from "./StatusBadge";

export function RunList({ runs, label, taskNames }: { runs: Run[]; label: string; taskNames?: Map<string, string> }) {
  if (runs.length === 0) return <p className="muted">No runs.</p>;
  return (
    <table className="runs" aria-label={label}>
      <thead>
        <tr>
          <th scope="col">Run</th>
          {taskNames && <th scope="col">Task</th>}
          <th scope="col">Status</th>
          <th scope="col">Duration</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.id} data-testid="run-row" data-status={run.status}>
            <td>
              <Link to={`/runs/${run.id}`}>{formatTime(run.scheduled_for)}</Link>
            </td>
            {taskNames && <td>{taskNames.get(run.task_id) ?? run.task_id}</td>}
            <td>
              <StatusBadge status={run.status} trigger={run.trigger} />
            </td>
            <td>{formatDuration(run.duration_ms)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
