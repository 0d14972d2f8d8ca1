// A NodeRouter over a fixed list of nodes, all assumed up until the gateway reports a failure:
// where the registry (PostgreSQL and the health checker) is not wanted, e.g. a benchmark in front
// of one node. The routing rule itself, `pickNode`, is the one the registry uses too.
import { TIERS, type NodeLease, type NodeRouter, type RoutableNode, type ServedModel, type Tier } from "./router.ts";

export interface NodeSlots {
  /** Requests in flight per node id. */
  readonly outstanding: Map<string, number>;
}

/**
 * The node to route to: serving `model` (in `tier` if given), not excluded, with a free slot (PAYG
 * requests may fill only `paygShare` of a node's slots, so subscribers find room when nodes are
 * busy), cheapest tier first, then least outstanding requests.
 */
export function pickNode(
  nodes: Iterable<RoutableNode>,
  slots: NodeSlots,
  model: string,
  options: Parameters<NodeRouter["acquire"]>[1] & { readonly paygShare?: number } = {},
): RoutableNode | undefined {
  const { tier, exclude, priority = "subscriber", paygShare = 1 } = options;
  let best: RoutableNode | undefined;
  let bestKey: [number, number] | undefined;
  for (const node of nodes) {
    if (!node.models.includes(model) || (tier !== undefined && node.tier !== tier) || exclude?.has(node.id)) continue;
    const outstanding = slots.outstanding.get(node.id) ?? 0;
    const cap = priority === "payg" ? Math.max(1, Math.floor(node.maxConcurrency * paygShare)) : node.maxConcurrency;
    if (outstanding >= cap) continue;
    const key: [number, number] = [TIERS.indexOf(node.tier), outstanding / node.maxConcurrency];
    if (bestKey === undefined || key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) [best, bestKey] = [node, key];
  }
  return best;
}

/** Takes a slot on `node`; the lease gives it back once. */
export function leaseSlot(slots: NodeSlots, node: RoutableNode): NodeLease {
  slots.outstanding.set(node.id, (slots.outstanding.get(node.id) ?? 0) + 1);
  let released = false;
  return {
    node,
    release() {
      if (released) return;
      released = true;
      slots.outstanding.set(node.id, (slots.outstanding.get(node.id) ?? 1) - 1);
    },
  };
}

/** The models a set of nodes serves, with their tiers. */
export function servedModels(nodes: Iterable<RoutableNode>): ServedModel[] {
  const models = new Map<string, { tiers: Set<Tier>; nodes: number }>();
  for (const node of nodes)
    for (const id of node.models) {
      const entry = models.get(id) ?? { tiers: new Set<Tier>(), nodes: 0 };
      entry.tiers.add(node.tier);
      entry.nodes++;
      models.set(id, entry);
    }
  return [...models].map(([id, m]) => ({ id, tiers: TIERS.filter((t) => m.tiers.has(t)), nodes: m.nodes }));
}

export function createStaticRouter(nodes: readonly RoutableNode[], options: { readonly paygShare?: number } = {}): NodeRouter {
  const slots: NodeSlots = { outstanding: new Map() };
  const down = new Set<string>();
  const up = () => nodes.filter((n) => !down.has(n.id));
  return {
    models: () => servedModels(nodes),
    serves: (model) => nodes.some((n) => n.models.includes(model)),
    acquire(model, acquireOptions = {}) {
      const node = pickNode(up(), slots, model, { ...acquireOptions, paygShare: options.paygShare });
      return node && leaseSlot(slots, node);
    },
    reportFailure: (nodeId) => void down.add(nodeId),
  };
}
