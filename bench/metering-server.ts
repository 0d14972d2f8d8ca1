// The API under test for `npm run bench:metering` (bench/metering.ts), run as a child process so the
// load generator and the server do not share an event loop. Configured by the environment like the
// real backend (DATABASE_URL, REDIS_URL, RPC_URL, ADDRESS_*, keys), it serves the API in front of
// a demo provider node it starts too (the baseline calls that node directly) and talks to its
// parent over IPC:
//   → { type: "ready", port, nodePort } once both listen
//   ← { type: "usage" }                 → { type: "usage", cpuMicros, loopDelay… }   (CPU time so far; event-loop stalls since the last report)
//   ← { type: "stop" }                  closes the API, then the backend (draining every metered event),
//                                       → { type: "stopped" } and exits
import { monitorEventLoopDelay } from "node:perf_hooks";
import { buildServer } from "../src/api/server.ts";
import { createApp } from "../src/app/create.ts";
import { createAccount } from "../src/accounts/store.ts";
import { startDemoNode } from "../src/providers/demo-node.ts";
import { insertNode, MAX_CONCURRENCY } from "../src/providers/store.ts";
import { loadConfig } from "../src/config/config.ts";

/** Messages from the parent. */
export type ServerCommand = { readonly type: "usage" } | { readonly type: "stop" };

/** Messages to the parent. */
export type ServerReport =
  | { readonly type: "ready"; readonly port: number; readonly nodePort: number }
  | { readonly type: "usage"; readonly cpuMicros: number; readonly loopDelayP99Ms: number; readonly loopDelayMaxMs: number }
  | { readonly type: "stopped" };

const send = (report: ServerReport) => new Promise<void>((resolve) => process.send!(report, () => resolve()));

if (!process.send) throw new Error("bench/metering-server.ts runs as a child of bench/metering.ts (IPC)");

const node = await startDemoNode();
const app = await createApp(loadConfig());
// The node registered as a provider would register it, checked once so that it is routable at once.
const provider = await createAccount(app.db, { kind: "provider", displayName: "bench provider" });
await insertNode(app.db, provider.id, { baseUrl: node.baseUrl, models: ["llama-3.1-8b-instruct"], tier: "tide-pool", maxConcurrency: MAX_CONCURRENCY });
await app.providers.registry.refresh();
await app.providers.health.checkNow();
const api = await buildServer(app);
await api.listen({ host: "127.0.0.1", port: 0 });
const address = api.server.address();
if (address === null || typeof address === "string") throw new Error("the API did not bind a TCP port");

// How long the event loop stalls (a stall delays every request waiting on it), since the last report.
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();

process.on("message", (command: ServerCommand) => {
  if (command.type === "usage") {
    const cpu = process.cpuUsage();
    void send({ type: "usage", cpuMicros: cpu.user + cpu.system, loopDelayP99Ms: loopDelay.percentile(99) / 1e6, loopDelayMaxMs: loopDelay.max / 1e6 });
    loopDelay.reset();
  } else if (command.type === "stop") {
    void (async () => {
      await api.close();
      await app.close();
      await node.close();
      await send({ type: "stopped" });
      process.disconnect();
    })();
  }
});
await send({ type: "ready", port: address.port, nodePort: Number(new URL(node.baseUrl).port) });
