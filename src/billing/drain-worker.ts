// The drain thread's entry (started by ./drain-thread.ts): the drain loop over its own Redis and
// PostgreSQL connections and counter store, reporting failed rounds to the API thread.
import { parentPort, workerData } from "node:worker_threads";
import { openCounters } from "../counters/index.ts";
import { openDb } from "../db/db.ts";
import { startDrainLoop } from "./drain.ts";
import type { DrainWorkerCommand, DrainWorkerData, DrainWorkerMessage } from "./drain-thread.ts";
import { openRedisMeterStore } from "./meter-store-redis.ts";

const port = parentPort!;
const data = workerData as DrainWorkerData;
const post = (message: DrainWorkerMessage) => port.postMessage(message);

// A lost connection fails the round in flight, which is reported as a failed round; ioredis reconnects.
const store = await openRedisMeterStore({ url: data.redisUrl, prefix: data.redisPrefix, failFast: false, onError: () => {} });
const db = await openDb({ url: data.databaseUrl }).catch(async (error: unknown) => {
  await store.close();
  throw error;
});
const counters = await openCounters(data.counters, db).catch(async (error: unknown) => {
  await Promise.all([store.close(), db.close()]);
  throw error;
});
const loop = startDrainLoop({
  store,
  db,
  counters,
  intervalMs: data.intervalMs,
  max: data.max,
  meter: { flush: async () => {} },
  onError: (error) => post({ type: "failed", message: error instanceof Error ? error.message : String(error) }),
});

port.on("message", (command: DrainWorkerCommand) => {
  if (command.type !== "stop") return;
  void (async () => {
    try {
      await loop.stop();
    } finally {
      await store.close();
      await counters.close();
      await db.close();
    }
    post({ type: "stopped" });
    port.close();
  })();
});
post({ type: "ready" });
