// The provider's work served through the gateway and its nodes' health, per day and node, over the
// last 30 days (GET /api/v1/provider/nodes/daily, every page): requests and tokens per node as
// stacked bars, uptime and p50 latency per node as lines, each drawn by uPlot on demand beside the table.
import { useQuery } from "@tanstack/react-query";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading } from "../components/Notice.tsx";
import { SeriesChart } from "../components/SeriesChart.tsx";
import { formatBps } from "../lib/format.ts";
import { useApi } from "../lib/session.tsx";

export interface NodeDay {
  readonly day: string;
  readonly nodeId: string;
  readonly baseUrl: string | null;
  readonly tier: string | null;
  readonly requests: number;
  /** Decimal string. */
  readonly tokens: string;
  readonly avgLatencyMs: number | null;
  readonly checks: number;
  readonly uptimeBps: number | null;
  readonly p50Ms: number | null;
}

interface NodeDaysPage {
  readonly from: string;
  readonly to: string;
  readonly days: readonly NodeDay[];
  readonly nextCursor: string | null;
}

/** A node's name in the charts: its host and port, or "removed node …" once it is gone. */
export function nodeLabel(row: Pick<NodeDay, "nodeId" | "baseUrl">): string {
  if (row.baseUrl === null) return `removed node ${row.nodeId.slice(0, 8)}`;
  try {
    return new URL(row.baseUrl).host;
  } catch {
    return row.baseUrl;
  }
}

type Series = { label: string; values: (number | null)[] };

/** The rows as chart columns: one series per node, one value per day (null where the node has no figure). */
export function nodeColumns(rows: readonly NodeDay[]) {
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const nodes = [...new Map(rows.map((r) => [r.nodeId, nodeLabel(r)])).entries()].sort(([, a], [, b]) => a.localeCompare(b));
  const byKey = new Map(rows.map((r) => [`${r.nodeId} ${r.day}`, r]));
  const column = (pick: (row: NodeDay) => number | null): Series[] =>
    nodes.map(([id, label]) => ({
      label,
      values: days.map((day) => {
        const row = byKey.get(`${id} ${day}`);
        return row === undefined ? null : pick(row);
      }),
    }));
  return {
    days,
    requests: column((r) => r.requests),
    // Tokens are display numbers in the chart; the table keeps them exact.
    tokens: column((r) => Number(r.tokens)),
    uptime: column((r) => (r.uptimeBps === null ? null : r.uptimeBps / 100)),
    latency: column((r) => r.p50Ms),
  };
}

export function NodeActivity() {
  const api = useApi();
  const activity = useQuery({
    queryKey: ["provider", "node-days"],
    queryFn: async () => {
      const first = await api<NodeDaysPage>("/api/v1/provider/nodes/daily");
      const days = [...first.days];
      for (let cursor = first.nextCursor; cursor !== null;) {
        const page = await api<NodeDaysPage>(
          `/api/v1/provider/nodes/daily?from=${first.from}&to=${first.to}&cursor=${encodeURIComponent(cursor)}`,
        );
        days.push(...page.days);
        cursor = page.nextCursor;
      }
      return { from: first.from, to: first.to, days };
    },
  });
  const columns = activity.data ? nodeColumns(activity.data.days) : undefined;
  return (
    <Card title="Your nodes: served work and health">
      {activity.error ? (
        <ErrorNote error={activity.error} />
      ) : !activity.data || !columns ? (
        <Loading what="your nodes' served work" />
      ) : activity.data.days.length === 0 ? (
        <p className="muted">
          Nothing served or checked from {activity.data.from} to {activity.data.to}: register a node and its work and health show here.
        </p>
      ) : (
        <div className="stack">
          <h3>Requests served per day and node</h3>
          <SeriesChart days={columns.days} series={columns.requests} kind="bars" unit="requests" />
          <h3>Tokens served per day and node</h3>
          <SeriesChart days={columns.days} series={columns.tokens} kind="bars" unit="tokens" />
          <h3>Node health over time</h3>
          <SeriesChart days={columns.days} series={columns.uptime} kind="lines" unit="uptime %" height={160} />
          <SeriesChart days={columns.days} series={columns.latency} kind="lines" unit="p50 ms" height={160} />
          <div className="table-wrap">
            <table aria-label="Served work and health per day and node">
              <thead>
                <tr>
                  <th>Day</th>
                  <th>Node</th>
                  <th>Requests</th>
                  <th>Tokens</th>
                  <th>Mean latency</th>
                  <th>Checks</th>
                  <th>Uptime</th>
                  <th>p50 latency</th>
                </tr>
              </thead>
              <tbody>
                {activity.data.days.map((d) => (
                  <tr key={`${d.day} ${d.nodeId}`}>
                    <td>{d.day}</td>
                    <td title={d.baseUrl ?? d.nodeId}>
                      {nodeLabel(d)}
                      {d.tier === null ? "" : ` (${d.tier})`}
                    </td>
                    <td>{d.requests.toLocaleString()}</td>
                    <td>{BigInt(d.tokens).toLocaleString()}</td>
                    <td>{d.avgLatencyMs === null ? "—" : `${d.avgLatencyMs.toLocaleString()} ms`}</td>
                    <td>{d.checks.toLocaleString()}</td>
                    <td>{d.uptimeBps === null ? "—" : formatBps(d.uptimeBps)}</td>
                    <td>{d.p50Ms === null ? "—" : `${d.p50Ms.toLocaleString()} ms`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </Card>
  );
}
