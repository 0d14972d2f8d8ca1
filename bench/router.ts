// Router benchmark: `node bench/router.ts` (pinned Node first on PATH). The cost of the gateway's
// per-request routing call, acquire() and release(), over an in-memory PGlite with 10 and 100 nodes
// registered, all healthy and serving the model (half in tide-pool, half in blue-surge). No I/O:
// acquire reads the registry's in-memory view.
import { openDb } from "../src/db/db.ts";
import { migrate } from "../src/db/migrate.ts";
import { createRegistry } from "../src/providers/registry.ts";
import { insertNode } from "../src/providers/store.ts";

const ROUNDS = 200_000;
const db = await openDb({ dataDir: undefined });
await migrate(db);
const { rows } = await db.query<{ id: string }>("insert into accounts (kind, wallet) values ('provider', '0x00000000000000000000000000000000000000a1') returning id");
for (const count of [10, 100]) {
  await db.query("delete from provider_nodes");
  for (let i = 0; i < count; i++) {
    const tier = i % 2 === 0 ? "tide-pool" : "blue-surge";
    await insertNode(db, rows[0]!.id, { baseUrl: `http://127.0.0.1:${10_000 + i}/v1`, models: ["m", `only-${i}`], tier, maxConcurrency: 1000 });
  }
  const registry = createRegistry(db, { refreshEveryMs: 0 });
  await registry.refresh();
  for (const node of registry.nodes()) registry.setStatus(node.id, { up: true, at: new Date(), latencyMs: 1 });
  for (let i = 0; i < 10_000; i++) registry.acquire("m")!.release(); // warm up
  const started = performance.now();
  for (let i = 0; i < ROUNDS; i++) registry.acquire("m")!.release();
  console.log(`${count} nodes: ${(((performance.now() - started) * 1000) / ROUNDS).toFixed(2)} µs per acquire + release`);
  registry.close();
}
await db.close();
