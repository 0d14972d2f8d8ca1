// Monitoring as the app carries it: the logger, the metrics registry and the alert sink.
import type { Queryable } from "../db/db.ts";
import { raiseAlert, resolveAlert, type AlertInput } from "./alerts.ts";
import { createLogger, type Logger } from "./log.ts";
import { createMetrics, type Metrics } from "./metrics.ts";

export type { Alert, AlertInput, AlertKind, AlertSeverity } from "./alerts.ts";
export type { Logger } from "./log.ts";
export type { Metrics } from "./metrics.ts";

export interface Monitor {
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Logs and records an alert (see ./alerts.ts). */
  alert(alert: AlertInput): Promise<void>;
  /** Closes the open alert `key` once its condition is gone. */
  resolve(key: string): Promise<void>;
}

export function createMonitor(db: Queryable, options: { readonly logLevel: string; readonly log?: Logger }): Monitor {
  const log = options.log ?? createLogger({ level: options.logLevel });
  return {
    log,
    metrics: createMetrics(),
    alert: (alert) => raiseAlert(db, log, alert),
    resolve: async (key) => void (await resolveAlert(db, log, key)),
  };
}
