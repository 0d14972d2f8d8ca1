// The audit log (GET /api/v1/admin/audit): every admin action with its parameters and outcome, newest
// first, filtered by admin wallet, action and date range, and paged with "Older entries".
import { useInfiniteQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { isAddress } from "viem";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading } from "../components/Notice.tsx";
import { formatTime, shortHex } from "../lib/format.ts";
import { useApi } from "../lib/session.tsx";
import type { AuditEntry } from "./data.ts";

export interface AuditFilter {
  readonly admin: string;
  readonly action: string;
  readonly from: string;
  readonly to: string;
}

const EMPTY: AuditFilter = { admin: "", action: "", from: "", to: "" };

/** The query string of a filter; `to` is a day the person means to include, so the API gets the next day (exclusive). */
export function auditQuery(filter: AuditFilter, cursor?: string): string {
  const params = new URLSearchParams({ limit: "20" });
  if (filter.admin) params.set("admin", filter.admin);
  if (filter.action) params.set("action", filter.action);
  if (filter.from) params.set("from", filter.from);
  if (filter.to) params.set("to", new Date(Date.parse(`${filter.to}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10));
  if (cursor) params.set("cursor", cursor);
  return params.toString();
}

/** What is wrong with a filter before it is sent, or null. */
export function filterProblem(filter: AuditFilter): string | null {
  if (filter.admin && !isAddress(filter.admin, { strict: false })) return "The admin is a wallet address: 0x followed by 40 hex digits.";
  if (filter.action && !/^[a-z][a-z0-9_]{0,63}$/.test(filter.action)) return "The action is a name in snake_case, such as set_split.";
  if (filter.from && filter.to && filter.from > filter.to) return "The start date is after the end date.";
  return null;
}

const outcomeText = (outcome: Readonly<Record<string, unknown>>): string =>
  outcome.status === "failed" ? `failed: ${String(outcome.code ?? "")} ${String(outcome.message ?? "")}`.trim() : String(outcome.status ?? "—");

export function AuditLog() {
  const api = useApi();
  const [draft, setDraft] = useState<AuditFilter>(EMPTY);
  const [filter, setFilter] = useState<AuditFilter>(EMPTY);
  const [problem, setProblem] = useState<string | null>(null);
  const entries = useInfiniteQuery({
    queryKey: ["admin", "audit", filter],
    queryFn: ({ pageParam }) => api<{ entries: AuditEntry[]; nextCursor: string | null }>(`/api/v1/admin/audit?${auditQuery(filter, pageParam)}`),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const edit = (change: Partial<AuditFilter>) => {
    setDraft({ ...draft, ...change });
    setProblem(null);
  };
  const apply = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = { admin: draft.admin.trim(), action: draft.action.trim(), from: draft.from, to: draft.to };
    const wrong = filterProblem(trimmed);
    setProblem(wrong);
    if (wrong === null) setFilter(trimmed);
  };
  const rows = entries.data?.pages.flatMap((p) => p.entries) ?? [];
  return (
    <Card title="Audit log">
      <form className="form-row" onSubmit={apply} aria-label="Filter the audit log" noValidate>
        <label>
          Admin wallet
          <input className="mono" size={20} value={draft.admin} onChange={(e) => edit({ admin: e.target.value })} placeholder="0x…" autoComplete="off" />
        </label>
        <label>
          Action
          <input size={14} value={draft.action} onChange={(e) => edit({ action: e.target.value })} placeholder="set_split" autoComplete="off" />
        </label>
        <label>
          From
          <input type="date" value={draft.from} onChange={(e) => edit({ from: e.target.value })} />
        </label>
        <label>
          To
          <input type="date" value={draft.to} onChange={(e) => edit({ to: e.target.value })} />
        </label>
        <button type="submit" className="secondary">
          Filter
        </button>
        {problem && (
          <p className="note error wide" role="alert">
            {problem}
          </p>
        )}
      </form>
      {entries.error ? (
        <ErrorNote error={entries.error} />
      ) : !entries.data ? (
        <Loading what="the audit log" />
      ) : rows.length === 0 ? (
        <p className="muted">No entries{filter === EMPTY ? "" : " match this filter"}.</p>
      ) : (
        <div className="table-wrap">
          <table aria-label="Audit entries">
            <thead>
              <tr>
                <th>When</th>
                <th>Admin</th>
                <th>Action</th>
                <th>Parameters</th>
                <th>Outcome</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <tr key={e.id} className={e.outcome.status === "failed" ? "row-bad" : undefined}>
                  <td>{formatTime(e.createdAt)}</td>
                  <td className="mono" title={e.actorWallet ?? undefined}>
                    {e.actorWallet ? shortHex(e.actorWallet) : "system"}
                  </td>
                  <td className="mono">{e.action}</td>
                  <td className="mono wrap small">{JSON.stringify(e.params)}</td>
                  <td>{outcomeText(e.outcome)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {entries.hasNextPage && (
        <button type="button" className="secondary" onClick={() => entries.fetchNextPage()} disabled={entries.isFetchingNextPage}>
          {entries.isFetchingNextPage ? "Loading…" : "Older entries"}
        </button>
      )}
    </Card>
  );
}
