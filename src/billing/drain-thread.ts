// The drain in a worker thread, for the Redis store and a PostgreSQL server: decoding, charging and
// writing batches of usage takes a share of the CPU that, on the API's event loop, would stall every
// request waiting behind it. The worker (./drain-worker.ts) opens its own Redis and PostgreSQL
// connections (and its own counter store) and runs the same drain loop (acknowledging an event in Redis takes it off its
// account's undrained tally into its budget, for every instance at once).
import { Worker } from "node:worker_threads";
import type { CountersConfig } from "../config/config.ts";
import type { DrainLoop } from "./drain.ts";
import type { Meter } from "./meter.ts";

export interface DrainThreadConfig {
  readonly redisUrl: string;
  /** The metering store's key prefix (the stream the API records into). */
  readonly redisPrefix: string;
  readonly databaseUrl: string;
  /** The counter store the drain counts bucket tokens in (COUNTER_STORE=dynamodb); the thread opens its own. */
  readonly counters: CountersConfig;
  readonly intervalMs: number;
  /** Most events per transaction; default 1000. */
  readonly max?: number;
  /** Flushed before the final drain on stop. */
  readonly meter: Pick<Meter, "flush">;
  /** Called with each failed round (the next round retries). */
  readonly onError?: (error: unknown) => void;
}

/** The thread's name (as `ps -L` and /proc show it). */
export const DRAIN_THREAD_NAME = "cxpt-drain";

/** What the worker is started with. */
export type DrainWorkerData = Pick<DrainThreadConfig, "redisUrl" | "redisPrefix" | "databaseUrl" | "counters" | "intervalMs" | "max">;

/** Messages from the worker, in the order its drain produced them. */
export type DrainWorkerMessage =
  | { readonly type: "ready" }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "stopped" };

/** Messages to the worker. */
export type DrainWorkerCommand = { readonly type: "stop" };

function deferred() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Starts the drain thread; resolves once its connections are open (rejects if they cannot be). */
export async function startDrainThread(config: DrainThreadConfig): Promise<DrainLoop> {
  const { meter, onError = () => {} } = config;
  const workerData: DrainWorkerData = {
    redisUrl: config.redisUrl,
    redisPrefix: config.redisPrefix,
    databaseUrl: config.databaseUrl,
    counters: config.counters,
    intervalMs: config.intervalMs,
    max: config.max,
  };
  const worker = new Worker(new URL("./drain-worker.ts", import.meta.url), { workerData, name: DRAIN_THREAD_NAME });
  const ready = deferred();
  const stopped = deferred();
  void stopped.promise.catch(() => {}); // observed by stop()
  worker.on("message", (message: DrainWorkerMessage) => {
    switch (message.type) {
      case "ready":
        return ready.resolve();
      case "failed":
        return onError(new Error(`drain round failed: ${message.message}`));
      case "stopped":
        return stopped.resolve();
    }
  });
  const failed = (error: Error) => {
    ready.reject(error);
    stopped.reject(error);
  };
  worker.on("error", failed);
  worker.on("exit", (code) => failed(new Error(`the drain thread exited (code ${code})`)));
  try {
    await ready.promise;
  } catch (error) {
    await worker.terminate();
    throw error;
  }

  return {
    async stop(): Promise<void> {
      await meter.flush();
      worker.postMessage({ type: "stop" } satisfies DrainWorkerCommand);
      await stopped.promise;
    },
  };
}
