// The statistics charts (Chart.js via react-chartjs-2): success rate, duration percentiles,
// tokens and estimated cost per day. Each canvas has a text summary for screen readers.
import {
  BarElement,
  CategoryScale,
  Chart as ChartJS,
  Legend,
  LinearScale,
  LineElement,
  PointElement,
  Tooltip,
  type ChartOptions,
} from "chart.js";
import { Bar, Line } from "react-chartjs-2";
import type { Run } from "../api/client";
import { formatDuration, formatUsd } from "../lib/format";
import { statsByDay } from "../lib/stats";

ChartJS.register(CategoryScale, LinearScale, PointElement, LineElement, BarElement, Tooltip, Legend);

const BLUE = "#3b5bdb";
const GREEN = "#2b8a3e";
const ORANGE = "#d9480f";

function options(yTitle: string, extra: ChartOptions<"line" | "bar"> = {}): ChartOptions<"line" | "bar"> {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    plugins: { legend: { position: "bottom" } },
    scales: { y: { beginAtZero: true, title: { display: true, text: yTitle } } },
    ...extra,
  };
}

export function RunCharts({ runs }: { runs: Run[] }) {
  const days = statsByDay(runs);
  if (days.length === 0) return <p className="muted">No runs yet: the charts fill in as runs finish.</p>;
  const labels = days.map((day) => day.day);
  const last = days[days.length - 1];
  const summary = (text: string) => `${text} over ${days.length} day(s), latest ${last?.day}`;
  return (
    <div className="charts">
      <figure>
        <figcaption>Success rate per day (%)</figcaption>
        <div className="chart-box">
          <Line
            role="img"
            aria-label={summary(`Success rate, latest ${last?.successRate ?? "—"}%`)}
            data={{ labels, datasets: [{ label: "success %", data: days.map((d) => d.successRate), borderColor: GREEN, backgroundColor: GREEN }] }}
            options={options("%", { scales: { y: { min: 0, max: 100, title: { display: true, text: "%" } } } }) as ChartOptions<"line">}
          />
        </div>
      </figure>
      <figure>
        <figcaption>Run duration per day (p50 and p95)</figcaption>
        <div className="chart-box">
          <Line
            role="img"
            aria-label={summary(`Duration p50 ${formatDuration(last?.p50)}, p95 ${formatDuration(last?.p95)}`)}
            data={{
              labels,
              datasets: [
                { label: "p50 (s)", data: days.map((d) => (d.p50 ?? 0) / 1000), borderColor: BLUE, backgroundColor: BLUE },
                { label: "p95 (s)", data: days.map((d) => (d.p95 ?? 0) / 1000), borderColor: ORANGE, backgroundColor: ORANGE },
              ],
            }}
            options={options("seconds") as ChartOptions<"line">}
          />
        </div>
      </figure>
      <figure>
        <figcaption>Tokens per day</figcaption>
        <div className="chart-box">
          <Bar
            role="img"
            aria-label={summary(`Tokens, latest ${(last?.inputTokens ?? 0) + (last?.outputTokens ?? 0)}`)}
            data={{
              labels,
              datasets: [
                { label: "input", data: days.map((d) => d.inputTokens), backgroundColor: BLUE },
                { label: "output", data: days.map((d) => d.outputTokens), backgroundColor: GREEN },
              ],
            }}
            options={options("tokens", { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }) as ChartOptions<"bar">}
          />
        </div>
      </figure>
      <figure>
        <figcaption>Estimated cost per day (USD)</figcaption>
        <div className="chart-box">
          <Bar
            role="img"
            aria-label={summary(`Estimated cost, latest ${formatUsd(last?.costUsd)}`)}
            data={{ labels, datasets: [{ label: "USD", data: days.map((d) => d.costUsd), backgroundColor: ORANGE }] }}
            options={options("USD") as ChartOptions<"bar">}
          />
        </div>
      </figure>
    </div>
  );
}
