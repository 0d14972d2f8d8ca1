// The counter store the configuration names (see ./counters.ts), opened and checked at start.
import type { CountersConfig } from "../config/config.ts";
import type { Db } from "../db/db.ts";
import type { CounterStore } from "./counters.ts";
import { openDynamoCounters } from "./dynamodb.ts";
import { postgresCounters } from "./postgres.ts";

export * from "./counters.ts";
export { openDynamoCounters, SHARDS } from "./dynamodb.ts";
export { postgresCounters } from "./postgres.ts";
export { servedWorkRecorder } from "./recorder.ts";

/** @throws ConfigError (one line) when the DynamoDB table is missing, misconfigured or out of reach. */
export async function openCounters(config: CountersConfig, db: Db): Promise<CounterStore> {
  if (config.store === "postgres") return postgresCounters(db);
  const local = config.endpoint !== undefined && /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(config.endpoint);
  return openDynamoCounters({
    table: config.table,
    region: config.region,
    endpoint: config.endpoint,
    // A local stand-in (dynalite, DynamoDB Local) takes any credentials; AWS gets the SDK's default chain.
    ...(local && !process.env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
  });
}
