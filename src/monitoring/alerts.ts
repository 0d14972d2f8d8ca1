// Alerts: conditions an operator must act on (low signer balance, failed transactions, job
// failures, reconciliation drift, indexer lag). Each is a structured log event and a row in
// `alerts` that the admin API lists. An alert has a key: raising an open alert again counts it,
// and `resolveAlert` closes it once the condition is gone.
import type { Queryable } from "../db/db.ts";
import type { Logger } from "./log.ts";

export type AlertKind = "low_balance" | "tx_failed" | "job_failed" | "reconcile_drift" | "indexer_lag" | "settlement_shortfall";
export type AlertSeverity = "warning" | "critical";

export interface AlertInput {
  /** Identifies the condition, e.g. `low_balance:settler`; one open alert per key. */
  readonly key: string;
  readonly kind: AlertKind;
  readonly severity: AlertSeverity;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface Alert extends Required<AlertInput> {
  readonly id: string;
  readonly count: number;
  readonly firstAt: string;
  readonly lastAt: string;
  readonly resolvedAt: string | null;
}

const jsonSafe = (details: Readonly<Record<string, unknown>>): string =>
  JSON.stringify(details, (_, value: unknown) => (typeof value === "bigint" ? value.toString() : value));

/** Logs the alert and records it (a new open alert, or one more count of the open one). */
export async function raiseAlert(db: Queryable, log: Logger, alert: AlertInput): Promise<void> {
  const details = alert.details ?? {};
  log.warn({ component: "alerts", alert: { key: alert.key, kind: alert.kind, severity: alert.severity }, details: JSON.parse(jsonSafe(details)) }, alert.message);
  await db.query(
    `insert into alerts (key, kind, severity, message, details) values ($1, $2, $3, $4, $5::jsonb)
     on conflict (key) where resolved_at is null
     do update set count = alerts.count + 1, last_at = now(), message = excluded.message, details = excluded.details, severity = excluded.severity`,
    [alert.key, alert.kind, alert.severity, alert.message, jsonSafe(details)],
  );
}

/** Closes the open alert `key`, if any; returns whether one was open. */
export async function resolveAlert(db: Queryable, log: Logger, key: string): Promise<boolean> {
  const { rows } = await db.query("update alerts set resolved_at = now() where key = $1 and resolved_at is null returning id", [key]);
  if (rows.length > 0) log.info({ component: "alerts", alert: { key } }, "alert resolved");
  return rows.length > 0;
}

type AlertRow = {
  id: unknown;
  key: string;
  kind: AlertKind;
  severity: AlertSeverity;
  message: string;
  details: Record<string, unknown> | string;
  count: unknown;
  first_at: Date | string;
  last_at: Date | string;
  resolved_at: Date | string | null;
};

const iso = (value: Date | string): string => new Date(value).toISOString();

/** Alerts newest first; `open` only those not resolved. */
export async function listAlerts(db: Queryable, filter: { readonly open?: boolean; readonly limit: number; readonly offset: number }): Promise<Alert[]> {
  const { rows } = await db.query<AlertRow>(
    `select id, key, kind, severity, message, details, count, first_at, last_at, resolved_at from alerts
      ${filter.open ? "where resolved_at is null" : ""} order by last_at desc, id desc limit $1 offset $2`,
    [filter.limit, filter.offset],
  );
  return rows.map((r) => ({
    id: String(r.id),
    key: r.key,
    kind: r.kind,
    severity: r.severity,
    message: r.message,
    details: typeof r.details === "string" ? (JSON.parse(r.details) as Record<string, unknown>) : r.details,
    count: Number(r.count),
    firstAt: iso(r.first_at),
    lastAt: iso(r.last_at),
    resolvedAt: r.resolved_at === null ? null : iso(r.resolved_at),
  }));
}
