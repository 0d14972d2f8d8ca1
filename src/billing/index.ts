// Billing: pricing, the CXPT/USD price source, metering (Redis or embedded store), the drain into
// PostgreSQL and the gate. The seeds call this module src/lib/billing.ts.
export {
  ONE_E18,
  DEFAULT_PRICE_TABLE,
  DEFAULT_PRICE_TABLE_JSON,
  ausdToWei,
  formatDecimal,
  parseDecimal,
  parsePriceTable,
  priceRequest,
  priceTableToJson,
  rateFor,
  type Price,
  type PriceInput,
  type PriceTable,
  type PriceTableJson,
  type Rate,
  type RateJson,
} from "./pricing.ts";
export { fixedPriceSource, openHttpPriceSource, parseCxptUsd, type HttpPriceSourceConfig, type PriceSource } from "./price-source.ts";
export {
  DEFAULT_DEDUPE_TTL_SECONDS,
  decodeEvent,
  encodeEvent,
  scopedRequestId,
  type AccountUsage,
  type BilledIn,
  type HoldResult,
  type MeterStore,
  type Pool,
  type PulledBatch,
  type UsageEvent,
} from "./meter-store.ts";
export { openRedisMeterStore, type RedisMeterStoreConfig } from "./meter-store-redis.ts";
export { JOURNAL_FILE, openEmbeddedMeterStore, type EmbeddedMeterStoreConfig } from "./meter-store-embedded.ts";
export { createMeter, type Meter, type MeterConfig, type Quote, type UsageInput, type UsageResult } from "./meter.ts";
export { budgetOf, splitCharge, CASH_UNIT, type Budget, type BillingMode, type Funds, type Limits, type Split } from "./funds.ts";
export {
  drainOnce,
  startDrainLoop,
  type DrainConfig,
  type DrainLoop,
  type DrainLoopConfig,
  type DrainResult,
} from "./drain.ts";
export { startDrainThread, type DrainThreadConfig } from "./drain-thread.ts";
export { createGate, DEFAULT_HOLD_MS, type Authorization, type Gate, type GateConfig, type Spending } from "./gate.ts";
export { dbKeyBudgetLoader, dbKeyResolver, dbSpendingLoader, type DbSpendingLoaderConfig } from "./spending-db.ts";
