// The demo provider's nodes on a local stack: two demo nodes (src/providers/demo-node.ts) serving the
// demo models, one in tide-pool and one in blue-surge, registered to the demo provider account, so a
// fresh `npm start` routes real traffic and the provider dashboard has nodes to show. Ports come from
// DEMO_NODE_PORT (the second node takes the next port; 0, the default, picks free ones); the nodes a
// previous start registered (demo-nodes.json in the data folder) are removed first, since their
// ports are gone. DEMO_NODES=off starts none.
import { readFile, writeFile } from "node:fs/promises";
import type { App } from "../app/create.ts";
import { DEMO_MODELS, startDemoNode, type DemoNode } from "../providers/demo-node.ts";
import type { Tier } from "../providers/router.ts";
import { deleteNode, insertNode } from "../providers/store.ts";

export interface StackDemoNode {
  readonly id: string;
  readonly baseUrl: string;
  readonly tier: Tier;
  readonly models: readonly string[];
}

const TIERS_SERVED: readonly Tier[] = ["tide-pool", "blue-surge"];

/** Starts the demo nodes and registers them to `providerAccountId`; `close` stops them. */
export async function startDemoNodes(app: App, providerAccountId: string, file: string, firstPort: number): Promise<{ nodes: StackDemoNode[]; close(): Promise<void> }> {
  const previous = JSON.parse(await readFile(file, "utf8").catch(() => "[]")) as string[];
  for (const id of previous) await deleteNode(app.db, providerAccountId, id).catch(() => {});
  const servers: DemoNode[] = [];
  const close = async () => void (await Promise.all(servers.map((s) => s.close())));
  try {
    const nodes: StackDemoNode[] = [];
    for (const [i, tier] of TIERS_SERVED.entries()) {
      const server = await startDemoNode({ port: firstPort === 0 ? 0 : firstPort + i, models: DEMO_MODELS, tokenDelayMs: 20 });
      servers.push(server);
      const node = await insertNode(app.db, providerAccountId, { baseUrl: server.baseUrl, models: DEMO_MODELS, tier, maxConcurrency: 8 });
      nodes.push({ id: node.id, baseUrl: node.baseUrl, tier, models: node.models });
    }
    await writeFile(file, JSON.stringify(nodes.map((n) => n.id)));
    await app.providers.registry.refresh();
    await app.providers.health.checkNow(nodes.map((n) => n.id));
    return { nodes, close };
  } catch (error) {
    await close();
    throw error;
  }
}
