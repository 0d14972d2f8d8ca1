// The billing hot path as the app runs it: the price table (admin-configurable, kept in settings),
// the CXPT/USD price source, the metering store (Redis, or the embedded store), the meter, the
// gate with its PostgreSQL and chain loaders, and the drain loop. The chain indexer
// (src/indexer/follow.ts) invalidates the gate's cache when a wallet's balance or allowance changes.
import { join } from "node:path";
import type { Address } from "viem";
import {
  createGate,
  createMeter,
  dbKeyBudgetLoader,
  dbKeyResolver,
  dbSpendingLoader,
  DEFAULT_PRICE_TABLE,
  fixedPriceSource,
  openEmbeddedMeterStore,
  openHttpPriceSource,
  openRedisMeterStore,
  parsePriceTable,
  priceTableToJson,
  startDrainLoop,
  startDrainThread,
  type BilledIn,
  type Gate,
  type Meter,
  type MeterStore,
  type PriceSource,
  type PriceTable,
} from "../billing/index.ts";
import type { AppConfig } from "../config/config.ts";
import type { CounterStore } from "../counters/counters.ts";
import type { Db } from "../db/db.ts";
import type { Logger } from "../monitoring/index.ts";
import { features } from "../stage/stage.ts";
import { billingAbi } from "../chain/abis.ts";
import { readPlans } from "../subscriptions/chain.ts";
import { readWalletFunds } from "../tokens/balances.ts";
import { CASH_UNIT, type Limits } from "../billing/funds.ts";
import type { ChainContext } from "./chain.ts";
import { closeAll } from "./close.ts";
import type { RuntimeStage } from "./context.ts";
import { readSetting, writeSetting } from "./settings.ts";

const PRICE_TABLE_KEY = "price_table";

export interface Billing {
  readonly store: MeterStore;
  readonly meter: Meter;
  readonly gate: Gate;
  readonly priceSource: PriceSource;
  /** The price table in force. */
  prices(): PriceTable;
  /** Replaces the price table (validated) and keeps it for the next start. */
  setPrices(json: unknown): Promise<PriceTable>;
  /** How usage is billed at the current stage: CXPT from phase 2 on, legacy credits before. */
  billedIn(): BilledIn;
  /**
   * CXPT usage captured but not yet drained into PostgreSQL (rounded up to the gate's CASH_UNIT);
   * 0 while the metering store cannot be reached.
   */
  undrainedWei(accountId: string): Promise<bigint>;
  /** The stage switch connected or dropped the chain: drop cached chain reads. */
  chainChanged(): void;
  /** Stops the drain loop, draining everything metered so far. */
  close(): Promise<void>;
}

export interface BillingDeps {
  readonly config: AppConfig;
  readonly db: Db;
  readonly stage: RuntimeStage;
  /** The chain as it is now (the admin's stage switch may connect or drop it). */
  readonly chain: () => ChainContext | undefined;
  /** Where the embedded store keeps its journal; memory only when undefined. */
  readonly dataDir: string | undefined;
  /** The counter store the drain counts bucket tokens in (COUNTER_STORE=dynamodb). */
  readonly counters: CounterStore;
  readonly log: Logger;
}

export async function openBilling(deps: BillingDeps): Promise<Billing> {
  const { config, db, stage } = deps;
  let table = await readSetting<unknown>(db, PRICE_TABLE_KEY).then((json) => (json === undefined ? DEFAULT_PRICE_TABLE : parsePriceTable(json)));
  const priceSource = config.price.sourceUrl
    ? await openHttpPriceSource({ url: config.price.sourceUrl, path: config.price.jsonPath, initialUsd: config.price.cxptUsd })
    : fixedPriceSource(config.price.cxptUsd);
  const store = config.redisUrl
    ? await openRedisMeterStore({
        url: config.redisUrl,
        prefix: config.redisPrefix,
        onError: (error) => deps.log.warn({ component: "billing", err: error }, "metering store connection error"),
      })
    : await openEmbeddedMeterStore({ dataDir: deps.dataDir === undefined ? undefined : join(deps.dataDir, "meter") });
  const billedIn = (): BilledIn => (features(stage.stage, stage.phase).paygInCxpt ? "cxpt" : "legacy");
  const meter = createMeter({ store, prices: () => table, priceSource });
  const defaultLimits: Limits = { requestsPerMinute: config.gateway.paygRequestsPerMinute, concurrency: config.gateway.paygConcurrency };

  // What settlement can collect: min(balance, Vault allowance), and no more than the spending cap the
  // wallet set on UsageBilling leaves in its period (no cap: no PAYG).
  const paygCapacity = async (wallet: string): Promise<bigint> => {
    const chain = deps.chain();
    if (!chain) return 0n;
    const [funds, cap] = await Promise.all([
      readWalletFunds(chain.client, { cxpt: chain.addresses.cxpt, vault: chain.addresses.vault, wallet: wallet as Address }),
      chain.client.readContract({ address: chain.addresses.billing, abi: billingAbi, functionName: "remainingCap", args: [wallet as Address] }),
    ]);
    return funds.paygCapacity < cap ? funds.paygCapacity : cap;
  };
  // Plans change rarely (a timelocked admin action): their limits are read once a minute at most.
  let plans: { readonly at: number; readonly limits: Promise<Map<number, Limits>> } | undefined;
  const planLimits = async (planId: number): Promise<Limits | undefined> => {
    const chain = deps.chain();
    if (!chain) return undefined;
    if (plans === undefined || Date.now() - plans.at > 60_000) {
      const limits = readPlans(chain.client, chain.addresses.subscriptions).then(
        (all) => new Map(all.map((p) => [Number(p.planId), { requestsPerMinute: Math.max(1, Number(p.requestsPerMinute)), concurrency: Math.max(1, Number(p.concurrency)) }])),
      );
      plans = { at: Date.now(), limits };
      limits.catch(() => (plans = undefined));
    }
    return (await plans.limits).get(planId);
  };
  const gate = createGate({
    resolveKey: dbKeyResolver(db),
    loadSpending: dbSpendingLoader({ db, billedIn, paygCapacity, planLimits, defaultLimits }),
    loadKeyBudget: dbKeyBudgetLoader(db),
    store,
    billedIn,
    ttlMs: config.gateTtlMs,
    holdMs: config.gateway.holdMs,
    onError: (error) => deps.log.warn({ component: "billing", err: error }, "gate invalidation failed"),
  });
  // A failed drain round leaves its events in the store for the next round; it is logged, not lost.
  const onError = (error: unknown) => deps.log.error({ component: "billing", err: error }, "drain round failed");
  // With Redis and a PostgreSQL server the drain runs in a thread of its own, off the requests' event
  // loop; the embedded stand-ins live in this thread, and so does their drain.
  const drain =
    config.redisUrl && "url" in config.database
      ? await startDrainThread({
          redisUrl: config.redisUrl,
          redisPrefix: config.redisPrefix,
          databaseUrl: config.database.url,
          counters: config.counters,
          meter,
          onError,
          intervalMs: config.drainIntervalMs,
        }).catch(
          async (error: unknown) => {
            priceSource.close();
            await store.close();
            throw error;
          },
        )
      : startDrainLoop({ store, db, counters: deps.counters, meter, onError, intervalMs: config.drainIntervalMs });

  return {
    store,
    meter,
    gate,
    priceSource,
    prices: () => table,
    async setPrices(json) {
      const parsed = parsePriceTable(json);
      await writeSetting(db, PRICE_TABLE_KEY, priceTableToJson(parsed));
      table = parsed;
      return parsed;
    },
    billedIn,
    undrainedWei: (accountId) => store.usage(accountId).then((u) => BigInt(u.undrainedUnits) * CASH_UNIT, () => 0n),
    chainChanged() {
      gate.invalidateAll(); // billing mode and PAYG capacity depend on the stage and the chain
    },
    close: () => closeAll([() => drain.stop(), () => priceSource.close(), () => store.close()]),
  };
}
