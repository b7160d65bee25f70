// Statistics over runs: per-day series for the charts (success rate, duration percentiles,
// tokens and estimated cost). The API's /stats gives the task's totals; days come from runs.
import type { Run, RunStatus } from "../api/client";

const FINISHED: RunStatus[] = ["SUCCEEDED", "FAILED", "TIMED_OUT"];

export interface DayStats {
  day: string; // YYYY-MM-DD, UTC
  runs: number;
  succeeded: number;
  successRate: number | null; // 0..100 over finished runs
  p50: number | null;
  p95: number | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  // Nearest rank: what a person reading "p95" expects from a handful of runs.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? null;
}

export function statsByDay(runs: Run[]): DayStats[] {
  const days = new Map<string, Run[]>();
  for (const run of runs) {
    const day = (run.finished_at ?? run.scheduled_for).slice(0, 10);
    days.set(day, [...(days.get(day) ?? []), run]);
  }
  return [...days.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([day, dayRuns]) => {
      const finished = dayRuns.filter((run) => FINISHED.includes(run.status));
      const succeeded = finished.filter((run) => run.status === "SUCCEEDED").length;
      const durations = dayRuns
        .map((run) => run.duration_ms)
        .filter((ms): ms is number => typeof ms === "number")
        .sort((a, b) => a - b);
      return {
        day,
        runs: dayRuns.length,
        succeeded,
        successRate: finished.length ? Math.round((succeeded / finished.length) * 1000) / 10 : null,
        p50: percentile(durations, 50),
        p95: percentile(durations, 95),
        inputTokens: sum(dayRuns.map((run) => run.usage?.input_tokens ?? 0)),
        outputTokens: sum(dayRuns.map((run) => run.usage?.output_tokens ?? 0)),
        costUsd: sum(dayRuns.map((run) => run.cost_estimate?.usd ?? 0)),
      };
    });
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
