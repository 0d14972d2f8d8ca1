// What `/metrics` serves: the app's own counters (./metrics.ts: what this process did) and the
// business figures read from PostgreSQL at scrape time, so every API instance reports the same
// totals whichever one Prometheus reaches. Each figure is one aggregate query over the table that
// records it; nothing is cached, so a scrape is as fresh as the database.
import { Gauge, Registry } from "prom-client";
import type { AppContext } from "../app/context.ts";

export interface Scrape {
  /** The Prometheus text format's content type. */
  readonly contentType: string;
  /** Every metric, in the Prometheus text format. */
  render(): Promise<string>;
}

type ScrapeContext = Pick<AppContext, "db" | "chain" | "monitor">;

/**
 * A gauge whose samples are the rows of `sql`: one sample per row, the `labels` columns as its
 * labels and the `value` column as its value. Rows gone since the last scrape are dropped.
 */
function tableGauge(ctx: ScrapeContext, registry: Registry, name: string, help: string, labels: readonly string[], sql: string): void {
  new Gauge({
    name,
    help,
    labelNames: labels,
    registers: [registry],
    async collect() {
      const { rows } = await ctx.db.query(sql);
      this.reset();
      for (const row of rows) this.set(Object.fromEntries(labels.map((label) => [label, String(row[label])])), Number(row.value));
    },
  });
}

/**
 * The indexer's cursor per chain and, while the chain is connected, its head; returns how to read
 * them, before each render. The head minus the cursor is the indexer lag, set on the app's
 * `cxpt_indexer_lag_blocks`. A chain that does not answer leaves the head out of this scrape
 * (logged) rather than failing every other figure.
 */
function indexerGauges(ctx: ScrapeContext, registry: Registry): () => Promise<void> {
  const log = ctx.monitor.log.child({ component: "metrics" });
  const cursor = new Gauge({ name: "cxpt_indexer_cursor_block", help: "The last block the indexer stored, per chain", labelNames: ["chain_id"], registers: [registry] });
  const head = new Gauge({ name: "cxpt_chain_head_block", help: "The chain's latest block, while the chain is connected", labelNames: ["chain_id"], registers: [registry] });
  return async () => {
    const chain = ctx.chain;
    const [{ rows }, latest] = await Promise.all([
      ctx.db.query<{ chain_id: unknown; block_number: string }>("select chain_id, block_number::text as block_number from indexer_cursor"),
      chain?.client.getBlockNumber({ cacheTime: 0 }).catch((error: unknown) => {
        log.warn({ err: error }, "chain head unreadable at scrape time");
        return undefined;
      }),
    ]);
    cursor.reset();
    for (const row of rows) cursor.set({ chain_id: String(row.chain_id) }, Number(row.block_number));
    head.reset();
    if (chain === undefined || latest === undefined) return;
    head.set({ chain_id: String(chain.chainId) }, Number(latest));
    const indexed = rows.find((row) => Number(row.chain_id) === chain.chainId);
    if (indexed) ctx.monitor.metrics.indexerLag.set(Number(latest - BigInt(indexed.block_number)));
  };
}

/** The scrape-time figures of `ctx`, rendered together with the app's own counters. */
export function createScrape(ctx: ScrapeContext): Scrape {
  const registry = new Registry();
  const gauge = (name: string, help: string, labels: readonly string[], sql: string) => tableGauge(ctx, registry, name, help, labels, sql);

  gauge("cxpt_token_transactions", "Token transactions booked, by type and status", ["type", "status"],
    "select type, status, count(*) as value from token_transactions group by type, status");
  gauge("cxpt_subscription_conversions", "Subscription payments confirmed, by how they were paid (cxpt | fiat) and kind (activation | renewal)", ["method", "kind"],
    `select coalesce(details->>'method', 'cxpt') as method, coalesce(details->>'kind', 'activation') as kind, count(*) as value
       from token_transactions where type = 'subscription_payment' and status = 'confirmed' group by 1, 2`);
  gauge("cxpt_fiat_payments", "Fiat subscription payments, by status", ["status"],
    "select status, count(*) as value from fiat_payments group by status");
  gauge("cxpt_reward_epochs", "Reward epochs, by status", ["status"],
    "select status, count(*) as value from reward_epochs group by status");
  gauge("cxpt_reward_epoch_latest", "The newest reward epoch in each status", ["status"],
    "select status, max(epoch) as value from reward_epochs group by status");
  gauge("cxpt_reward_latest_epoch_wallets", "Wallets with points in the newest reward epoch, by pool and whether they are on chain", ["pool", "uploaded"],
    `select pool, uploaded::text as uploaded, count(*) as value from reward_points
      where epoch = (select max(epoch) from reward_epochs) group by pool, uploaded`);
  gauge("cxpt_settlement_batches", "Settlement batches, by state", ["state"],
    "select state, count(*) as value from settlement_batches group by state");
  gauge("cxpt_settlement_leaves", "Settlement leaves (one wallet in one batch), by status; shortfall = not collected for lack of funds", ["status"],
    "select status, count(*) as value from settlement_leaves group by status");
  gauge("cxpt_alerts_open", "Open alerts, by kind and severity", ["kind", "severity"],
    "select kind, severity, count(*) as value from alerts where resolved_at is null group by kind, severity");
  const readIndexer = indexerGauges(ctx, registry);

  return {
    contentType: registry.contentType,
    async render() {
      await readIndexer();
      return `${await registry.metrics()}\n${await ctx.monitor.metrics.registry.metrics()}`;
    },
  };
}
