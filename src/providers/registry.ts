// The router's in-memory view of the provider nodes (NodeRouter, ./router.ts): the registered nodes
// from PostgreSQL (reloaded when a route changes one, and every PROVIDER_REFRESH_MS so several API
// instances converge), each node's health as the checker (./health.ts) last saw it, and the
// requests each node has in flight through this instance. acquire() is synchronous and does no
// I/O: the gateway calls it on every request.
import type { Queryable } from "../db/db.ts";
import { TIERS, type NodeLease, type NodeRouter, type RoutableNode, type ServedModel, type Tier } from "./router.ts";
import { latestChecks, listNodes, type ProviderNode } from "./store.ts";

/** What this instance knows of a node's health. */
export interface NodeStatus {
  readonly up: boolean;
  /** When it was last checked (or reported failing). */
  readonly at: Date;
  readonly latencyMs: number | null;
}

export interface Registry extends NodeRouter {
  /** Reloads the nodes (and, for nodes this instance has not checked, their latest stored check). */
  refresh(): Promise<void>;
  /** Every registered node, paused ones included. */
  nodes(): readonly ProviderNode[];
  status(nodeId: string): NodeStatus | undefined;
  /** A health check's outcome (./health.ts). A check older than what is known is ignored. */
  setStatus(nodeId: string, status: NodeStatus): void;
  /** Requests in flight on the node through this instance. */
  outstanding(nodeId: string): number;
  /** Stops the periodic refresh. */
  close(): void;
}

export interface RegistryOptions {
  /** How often to reload the nodes from PostgreSQL (ms); 0 for never (tests refresh by hand). */
  readonly refreshEveryMs: number;
  readonly onError?: (error: unknown) => void;
}

const tierRank = (tier: Tier) => TIERS.indexOf(tier);

export function createRegistry(db: Queryable, options: RegistryOptions): Registry {
  let nodes: ProviderNode[] = [];
  const statuses = new Map<string, NodeStatus>();
  const inFlight = new Map<string, number>();
  /** Ties between equally loaded nodes go to the one picked least recently (round robin). */
  const lastPicked = new Map<string, number>();
  let picks = 0;
  let refreshing: Promise<void> | undefined;

  const setStatus = (nodeId: string, status: NodeStatus) => {
    const known = statuses.get(nodeId);
    if (known === undefined || status.at.getTime() >= known.at.getTime()) statuses.set(nodeId, status);
  };

  async function load(): Promise<void> {
    const [loaded, checks] = await Promise.all([listNodes(db), latestChecks(db)]);
    for (const [nodeId, check] of checks) setStatus(nodeId, check);
    const ids = new Set(loaded.map((n) => n.id));
    for (const id of statuses.keys()) if (!ids.has(id)) statuses.delete(id);
    nodes = loaded;
  }

  const refresh = (): Promise<void> => {
    // A refresh asked for while one runs may have been asked for after a change it missed: chain one more.
    const next = (refreshing ?? Promise.resolve()).catch(() => {}).then(load);
    refreshing = next;
    return next.finally(() => {
      if (refreshing === next) refreshing = undefined;
    });
  };

  const timer = options.refreshEveryMs > 0 ? setInterval(() => void refresh().catch((e) => options.onError?.(e)), options.refreshEveryMs) : undefined;
  timer?.unref();

  const outstanding = (nodeId: string) => inFlight.get(nodeId) ?? 0;
  const routable = (n: ProviderNode, model: string) => !n.paused && n.models.includes(model);

  function lease(node: RoutableNode): NodeLease {
    inFlight.set(node.id, outstanding(node.id) + 1);
    lastPicked.set(node.id, ++picks);
    let released = false;
    return {
      node,
      release() {
        if (released) return;
        released = true;
        const left = outstanding(node.id) - 1;
        if (left > 0) inFlight.set(node.id, left);
        else inFlight.delete(node.id);
      },
    };
  }

  return {
    refresh,
    nodes: () => nodes,
    status: (nodeId) => statuses.get(nodeId),
    setStatus,
    outstanding,
    models(): ServedModel[] {
      const byModel = new Map<string, { tiers: Set<Tier>; nodes: number }>();
      for (const node of nodes) {
        if (node.paused) continue;
        for (const model of node.models) {
          const entry = byModel.get(model) ?? { tiers: new Set<Tier>(), nodes: 0 };
          entry.tiers.add(node.tier);
          entry.nodes += 1;
          byModel.set(model, entry);
        }
      }
      return [...byModel]
        .map(([id, e]) => ({ id, tiers: [...e.tiers].sort((a, b) => tierRank(a) - tierRank(b)), nodes: e.nodes }))
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },
    serves: (model) => nodes.some((n) => routable(n, model)),
    acquire(model, choice = {}) {
      let best: ProviderNode | undefined;
      for (const node of nodes) {
        if (!routable(node, model) || statuses.get(node.id)?.up !== true || choice.exclude?.has(node.id)) continue;
        if (choice.tier !== undefined && node.tier !== choice.tier) continue;
        if (outstanding(node.id) >= node.maxConcurrency) continue;
        if (best === undefined) {
          best = node;
          continue;
        }
        // Cheapest tier first (when no tier was asked for), then least outstanding, then least recently picked.
        const byTier = tierRank(node.tier) - tierRank(best.tier);
        const byLoad = outstanding(node.id) - outstanding(best.id);
        const byTurn = (lastPicked.get(node.id) ?? 0) - (lastPicked.get(best.id) ?? 0);
        if (byTier < 0 || (byTier === 0 && (byLoad < 0 || (byLoad === 0 && byTurn < 0)))) best = node;
      }
      if (best === undefined) return undefined;
      const { id, providerAccountId, baseUrl, models, tier, maxConcurrency } = best;
      return lease({ id, providerAccountId, baseUrl, models, tier, maxConcurrency });
    },
    reportFailure(nodeId) {
      const known = statuses.get(nodeId);
      statuses.set(nodeId, { up: false, at: new Date(), latencyMs: known?.latencyMs ?? null });
    },
    close: () => clearInterval(timer),
  };
}
