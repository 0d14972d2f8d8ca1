// The provider's served work and health over the last 30 days (GET /api/v1/usage/provider/daily):
// requests served per day (bars, per tier) and node health over time (uptime and p50 latency, lines),
// each chart drawn by uPlot on demand beside its table. These are the statistics the rewards epoch reads
// (the orchestrator's reports); the work served through the gateway per node, with tokens, is NodeActivity.
import { useQuery } from "@tanstack/react-query";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading } from "../components/Notice.tsx";
import { SeriesChart } from "../components/SeriesChart.tsx";
import { formatBps } from "../lib/format.ts";
import { useApi } from "../lib/session.tsx";

export interface ProviderDay {
  readonly day: string;
  readonly requests: number;
  readonly byTier: Readonly<Record<string, number>>;
  readonly uptimeBps: number | null;
  readonly p50Ms: number | null;
}

/** The days as chart columns: requests per tier, and uptime (%) and p50 (ms) for the days that have them. */
export function activityColumns(days: readonly ProviderDay[]) {
  const tiers = [...new Set(days.flatMap((d) => Object.keys(d.byTier)))].sort();
  return {
    days: days.map((d) => d.day),
    requests: tiers.map((tier) => ({ label: tier, values: days.map((d) => d.byTier[tier] ?? null) })),
    uptime: [{ label: "Uptime (%)", values: days.map((d) => (d.uptimeBps === null ? null : d.uptimeBps / 100)) }],
    latency: [{ label: "p50 latency (ms)", values: days.map((d) => d.p50Ms) }],
  };
}

export function ProviderActivity() {
  const api = useApi();
  const activity = useQuery({ queryKey: ["provider", "activity"], queryFn: () => api<{ from: string; to: string; days: ProviderDay[] }>("/api/v1/usage/provider/daily") });
  const columns = activity.data ? activityColumns(activity.data.days) : undefined;
  return (
    <Card title="Served work and health">
      {activity.error ? (
        <ErrorNote error={activity.error} />
      ) : !activity.data || !columns ? (
        <Loading what="your served work" />
      ) : activity.data.days.length === 0 ? (
        <p className="muted">
          Nothing served from {activity.data.from} to {activity.data.to}: requests and health show here once your nodes serve work.
        </p>
      ) : (
        <div className="stack">
          <h3>Requests served per day</h3>
          <SeriesChart days={columns.days} series={columns.requests} kind="bars" unit="requests" />
          <h3>Health over time</h3>
          <SeriesChart days={columns.days} series={columns.uptime} kind="lines" unit="uptime %" height={160} />
          <SeriesChart days={columns.days} series={columns.latency} kind="lines" unit="p50 ms" height={160} />
          <div className="table-wrap">
            <table aria-label="Served work and health per day">
              <thead>
                <tr>
                  <th>Day</th>
                  <th>Requests</th>
                  <th>Per tier</th>
                  <th>Uptime</th>
                  <th>p50 latency</th>
                </tr>
              </thead>
              <tbody>
                {activity.data.days.map((d) => (
                  <tr key={d.day}>
                    <td>{d.day}</td>
                    <td>{d.requests.toLocaleString()}</td>
                    <td>
                      {Object.entries(d.byTier)
                        .map(([tier, n]) => `${tier} ${n.toLocaleString()}`)
                        .join(", ") || "—"}
                    </td>
                    <td>{d.uptimeBps === null ? "—" : formatBps(d.uptimeBps)}</td>
                    <td>{d.p50Ms === null ? "—" : `${d.p50Ms.toLocaleString()} ms`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="muted">The statistics reported for rewards; the work your nodes served through the gateway, per node and with tokens, is in “Your nodes”.</p>
        </div>
      )}
    </Card>
  );
}
