// Statistics for the whole account, from the owner's recent runs (GET /v1/runs).
import { useRuns, useTasks } from "../api/queries";
import { RunCharts } from "../components/Charts";
import { ErrorNote, Loading } from "../components/Feedback";
import { RunList } from "../components/RunList";
import { formatDuration, formatNumber, formatUsd } from "../lib/format";
import { percentile } from "../lib/stats";

export function StatsPage() {
  const runs = useRuns(undefined, 100);
  const tasks = useTasks();
  const names = new Map((tasks.data?.items ?? []).map((task) => [task.id, task.name]));
  const items = runs.data?.items ?? [];
  const finished = items.filter((run) => ["SUCCEEDED", "FAILED", "TIMED_OUT"].includes(run.status));
  const succeeded = finished.filter((run) => run.status === "SUCCEEDED").length;
  const durations = items.map((run) => run.duration_ms).filter((ms): ms is number => typeof ms === "number").sort((a, b) => a - b);
  const tokens = items.reduce((total, run) => total + (run.usage?.input_tokens ?? 0) + (run.usage?.output_tokens ?? 0), 0);
  const cost = items.reduce((total, run) => total + (run.cost_estimate?.usd ?? 0), 0);
  return (
    <section aria-labelledby="stats-page-title">
      <h1 id="stats-page-title">Statistics</h1>
      <p className="muted">Your last {items.length} runs across all tasks.</p>
      {runs.isPending && <Loading what="runs" />}
      {runs.isError && <ErrorNote error={runs.error} />}
      {runs.data && (
        <>
          <dl className="facts wide" data-testid="account-stats">
            <div>
              <dt>Success rate</dt>
              <dd>{finished.length ? `${Math.round((succeeded / finished.length) * 100)}%` : "—"}</dd>
            </div>
            <div>
              <dt>Duration p50 / p95</dt>
              <dd>
                {formatDuration(percentile(durations, 50))} / {formatDuration(percentile(durations, 95))}
              </dd>
            </div>
            <div>
              <dt>Tokens</dt>
              <dd>{formatNumber(tokens)}</dd>
            </div>
            <div>
              <dt>Estimated cost</dt>
              <dd>{formatUsd(cost)}</dd>
            </div>
          </dl>
          <RunCharts runs={items} />
          <h2>Recent runs</h2>
          <RunList runs={items.slice(0, 20)} label="Recent runs across tasks" taskNames={names} />
        </>
      )}
    </section>
  );
}
