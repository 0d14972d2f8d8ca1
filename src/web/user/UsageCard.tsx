// Usage and spend: requests, tokens and cost per day (a chart with the table beside it) in total, per
// API key or per model; the recent requests with how each was charged and its settlement batch; and
// the monthly statements, downloadable as CSV or opened as a printable page.
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "../app/router.tsx";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading } from "../components/Notice.tsx";
import { SeriesChart } from "../components/SeriesChart.tsx";
import { ApiError } from "../lib/api.ts";
import { formatCxpt, formatTime } from "../lib/format.ts";
import { useApi, useSession } from "../lib/session.tsx";
import { chargedTo, chartColumns, monthName, recentMonths, type Grouping, type UsageDay, type UsageRequest } from "./usageData.ts";

const GROUPINGS: readonly { value: Grouping; label: string }[] = [
  { value: "total", label: "In total" },
  { value: "key", label: "Per API key" },
  { value: "model", label: "Per model" },
];

function DailyUsage() {
  const api = useApi();
  const [by, setBy] = useState<Grouping>("total");
  const daily = useQuery({ queryKey: ["usage", "daily", by], queryFn: () => api<{ from: string; to: string; days: UsageDay[] }>(`/api/v1/usage/daily?by=${by}`) });
  const columns = daily.data ? chartColumns(daily.data.days) : undefined;
  return (
    <section aria-label="Usage per day">
      <div className="card-header">
        <h3>Per day, last 30 days</h3>
        <label>
          Show
          <select value={by} onChange={(e) => setBy(e.target.value as Grouping)}>
            {GROUPINGS.map((g) => (
              <option key={g.value} value={g.value}>
                {g.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {daily.error ? (
        <ErrorNote error={daily.error} />
      ) : !daily.data || !columns ? (
        <Loading what="your usage" />
      ) : daily.data.days.length === 0 ? (
        <p className="muted">No metered requests from {daily.data.from} to {daily.data.to}. Calls show here seconds after they are made.</p>
      ) : (
        <div className="chart-table">
          <SeriesChart days={columns.days} series={columns.series} kind="bars" unit="CXPT" />
          <div className="table-wrap">
            <table aria-label="Usage per day">
              <thead>
                <tr>
                  <th>Day</th>
                  {by !== "total" && <th>{by === "key" ? "Key" : "Model"}</th>}
                  <th>Requests</th>
                  <th>Tokens</th>
                  <th>Cost</th>
                </tr>
              </thead>
              <tbody>
                {daily.data.days.map((d) => (
                  <tr key={`${d.day}:${d.group ?? ""}`}>
                    <td>{d.day}</td>
                    {by !== "total" && <td>{d.label ?? (by === "key" ? "no key recorded" : "—")}</td>}
                    <td>{d.requests.toLocaleString()}</td>
                    <td>{BigInt(d.tokens).toLocaleString()}</td>
                    <td>{formatCxpt(d.costWei, 6)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </section>
  );
}

function RecentRequests() {
  const api = useApi();
  const requests = useInfiniteQuery({
    queryKey: ["usage", "requests"],
    queryFn: ({ pageParam }) => api<{ requests: UsageRequest[]; nextCursor: string | null }>(`/api/v1/usage/requests?limit=10${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ""}`),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const rows = requests.data?.pages.flatMap((p) => p.requests) ?? [];
  return (
    <section aria-label="Recent requests">
      <h3>Recent requests</h3>
      {requests.error ? (
        <ErrorNote error={requests.error} />
      ) : !requests.data ? (
        <Loading what="your requests" />
      ) : rows.length === 0 ? (
        <p className="muted">No metered requests yet.</p>
      ) : (
        <div className="table-wrap">
          <table aria-label="Recent requests">
            <thead>
              <tr>
                <th>Time</th>
                <th>Key</th>
                <th>Model</th>
                <th>Tokens</th>
                <th>Cost</th>
                <th>Charged to</th>
                <th>Batch</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.requestId}>
                  <td>{formatTime(r.recordedAt)}</td>
                  <td>{r.key?.name ?? "—"}</td>
                  <td className="mono">{r.model}</td>
                  <td>{(r.tokensIn + r.tokensOut).toLocaleString()}</td>
                  <td>{formatCxpt(r.costWei, 6)}</td>
                  <td>{chargedTo(r)}</td>
                  <td>{r.batchId ? `#${r.batchId}${r.settledAt ? ", settled" : ""}` : BigInt(r.paygWei) > 0n ? "not yet settled" : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {requests.hasNextPage && (
        <button type="button" className="secondary" onClick={() => requests.fetchNextPage()} disabled={requests.isFetchingNextPage}>
          {requests.isFetchingNextPage ? "Loading…" : "Older requests"}
        </button>
      )}
    </section>
  );
}

/** Downloads `month`'s statement as CSV with the session's token (a plain link could not send it). */
async function downloadCsv(token: string | undefined, month: string): Promise<void> {
  const response = await fetch(`/api/v1/usage/statements/${month}?format=csv`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!response.ok) {
    const body = (await response.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
    throw new ApiError(response.status, body?.error?.code ?? `HTTP_${response.status}`, body?.error?.message ?? "The statement could not be downloaded.");
  }
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: `cxpt-statement-${month}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function Statements() {
  const token = useSession().session?.token;
  const months = recentMonths(new Date());
  const [month, setMonth] = useState(months[0]!);
  const [error, setError] = useState<unknown>(undefined);
  return (
    <section aria-label="Monthly statements">
      <h3>Monthly statements</h3>
      <div className="form-row">
        <label>
          Month
          <select value={month} onChange={(e) => (setMonth(e.target.value), setError(undefined))}>
            {months.map((m) => (
              <option key={m} value={m}>
                {monthName(m)}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="secondary" onClick={() => downloadCsv(token, month).catch(setError)}>
          Download CSV
        </button>
        <Link to={`/statement/${month}`}>Printable statement</Link>
      </div>
      <ErrorNote error={error} />
    </section>
  );
}

export function UsageCard() {
  return (
    <Card title="Usage and spend">
      <div className="stack">
        <DailyUsage />
        <RecentRequests />
        <Statements />
      </div>
    </Card>
  );
}
