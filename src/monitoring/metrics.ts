// Prometheus metrics (prom-client), one registry per app so tests and several apps in one process
// don't share counters. Counters count what this process did; `/metrics` also reads totals that
// live in PostgreSQL at scrape time, so every instance reports the same business figures.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface Metrics {
  readonly registry: Registry;
  /** Job runs by job and outcome (ok | failed | skipped). */
  readonly jobRuns: Counter<"job" | "outcome">;
  /** Job run durations in seconds. */
  readonly jobDuration: Histogram<"job">;
  /** Settlement failures by kind (commit, collect, shortfall). */
  readonly settlementFailures: Counter<"kind">;
  /** Blocks between the chain head and the indexer cursor. */
  readonly indexerLag: Gauge;
  /** Chain transactions the backend sent, by purpose and outcome. */
  readonly chainTransactions: Counter<"purpose" | "outcome">;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "cxpt_process_" });
  return {
    registry,
    jobRuns: new Counter({ name: "cxpt_job_runs_total", help: "Scheduled and manual job runs by outcome", labelNames: ["job", "outcome"], registers: [registry] }),
    jobDuration: new Histogram({
      name: "cxpt_job_duration_seconds",
      help: "Job run duration",
      labelNames: ["job"],
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers: [registry],
    }),
    settlementFailures: new Counter({ name: "cxpt_settlement_failures_total", help: "Settlement failures by kind", labelNames: ["kind"], registers: [registry] }),
    indexerLag: new Gauge({ name: "cxpt_indexer_lag_blocks", help: "Blocks between the chain head and the indexed cursor", registers: [registry] }),
    chainTransactions: new Counter({
      name: "cxpt_chain_transactions_total",
      help: "Transactions the backend sent, by purpose and outcome",
      labelNames: ["purpose", "outcome"],
      registers: [registry],
    }),
  };
}
