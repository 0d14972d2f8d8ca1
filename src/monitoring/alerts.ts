// Alerts: conditions an operator must act on (low signer balance, failed transactions, job
// failures, reconciliation drift, indexer lag). Each is a structured log event and a row in
// `alerts` that the admin API lists. An alert has a key: raising an open alert again counts it,
// and `resolveAlert` closes it once the condition is gone.
import type { Queryable } from "../db/db.ts";
import { conflict, notFound } from "../errors.ts";
import type { Logger } from "./log.ts";

export const ALERT_KINDS = ["low_balance", "tx_failed", "job_failed", "reconcile_drift", "indexer_lag", "settlement_shortfall"] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];
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

const COLUMNS = "id, key, kind, severity, message, details, count, first_at, last_at, resolved_at";

const iso = (value: Date | string): string => new Date(value).toISOString();

const toAlert = (r: AlertRow): Alert => ({
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
});

/** Alerts newest first; `open` only those not resolved. */
export async function listAlerts(db: Queryable, filter: { readonly open?: boolean; readonly limit: number; readonly offset: number }): Promise<Alert[]> {
  const { rows } = await db.query<AlertRow>(
    `select ${COLUMNS} from alerts
      ${filter.open ? "where resolved_at is null" : ""} order by last_at desc, id desc limit $1 offset $2`,
    [filter.limit, filter.offset],
  );
  return rows.map(toAlert);
}

/**
 * Closes alert `id` by hand (an operator dealt with it) and returns it; 404 `ALERT_NOT_FOUND` when
 * there is no such alert, 409 `ALERT_RESOLVED` when it was already closed. A condition that is
 * still there is raised again, as a new alert, by the next check that sees it.
 */
export async function resolveAlertById(db: Queryable, log: Logger, id: string): Promise<Alert> {
  const { rows } = await db.query<AlertRow>(`update alerts set resolved_at = now() where id = $1 and resolved_at is null returning ${COLUMNS}`, [id]);
  if (rows[0]) {
    log.info({ component: "alerts", alert: { id, key: rows[0].key } }, "alert resolved by an operator");
    return toAlert(rows[0]);
  }
  const found = await db.query<{ resolved_at: Date | string }>("select resolved_at from alerts where id = $1", [id]);
  if (!found.rows[0]) throw notFound("ALERT_NOT_FOUND", `There is no alert ${id}`);
  throw conflict("ALERT_RESOLVED", `Alert ${id} is already resolved`, { resolvedAt: iso(found.rows[0].resolved_at) });
}
