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
  /** Share of a node's slots PAYG requests may fill (0–1]; default 1. */
  readonly paygShare?: number;
  readonly onError?: (error: unknown) => void;
}

const tierRank = (tier: Tier) => TIERS.indexOf(tier);

export function createRegistry(db: Queryable, options: RegistryOptions): Registry {
  let nodes: ProviderNode[] = [];
  /** The unpaused nodes serving each model, cheapest tier first: acquire() looks at these only. */
  let byModel = new Map<string, ProviderNode[]>();
  /** What a lease hands the gateway, built once per reload. */
  let routable = new Map<string, RoutableNode>();
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
    const index = new Map<string, ProviderNode[]>();
    for (const node of loaded) {
      if (node.paused) continue;
      for (const model of node.models) index.set(model, [...(index.get(model) ?? []), node]);
    }
    for (const list of index.values()) list.sort((a, b) => tierRank(a.tier) - tierRank(b.tier));
    byModel = index;
    routable = new Map(
      loaded.map(({ id, providerAccountId, baseUrl, models, tier, maxConcurrency }) => [id, { id, providerAccountId, baseUrl, models, tier, maxConcurrency }]),
    );
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
    serves: (model) => byModel.has(model),
    tiersOf: (model) => [...new Set((byModel.get(model) ?? []).map((node) => node.tier))], // the list is cheapest first
    acquire(model, choice = {}) {
      let best: ProviderNode | undefined;
      let bestLoad = 0;
      let bestTurn = 0;
      for (const node of byModel.get(model) ?? []) {
        // Cheapest tier first: once a tier has a free node, dearer tiers are not looked at.
        if (best !== undefined && node.tier !== best.tier) break;
        if (choice.tier !== undefined && node.tier !== choice.tier) continue;
        if (statuses.get(node.id)?.up !== true || choice.exclude?.has(node.id)) continue;
        const load = outstanding(node.id);
        // PAYG requests leave the last slots of a node to subscribers (PRICING.md: subscribers get priority).
        const cap = choice.priority === "payg" ? Math.max(1, Math.floor(node.maxConcurrency * (options.paygShare ?? 1))) : node.maxConcurrency;
        if (load >= cap) continue;
        // Least outstanding, then least recently picked.
        const turn = lastPicked.get(node.id) ?? 0;
        if (best === undefined || load < bestLoad || (load === bestLoad && turn < bestTurn)) {
          best = node;
          bestLoad = load;
          bestTurn = turn;
        }
      }
      if (best === undefined) return undefined;
      return lease(routable.get(best.id)!);
    },
    reportFailure(nodeId) {
      const known = statuses.get(nodeId);
      statuses.set(nodeId, { up: false, at: new Date(), latencyMs: known?.latencyMs ?? null });
    },
    close: () => clearInterval(timer),
  };
}
