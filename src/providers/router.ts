// What the gateway needs from the provider nodes: which healthy nodes serve a model, and a slot on
// one of them while a request is in flight. The registry (src/providers/registry.ts) keeps this view
// in memory, refreshed from PostgreSQL and the health checker; the gateway (src/gateway/) only reads
// it through this interface.

/** The service tiers of ../shared/PRICING.md, cheapest first. */
export const TIERS = ["tide-pool", "blue-surge", "open-ocean", "mariana-depth"] as const;
export type Tier = (typeof TIERS)[number];

/** A provider node the gateway may route to. */
export interface RoutableNode {
  readonly id: string;
  readonly providerAccountId: string;
  /** OpenAI-compatible base URL, without a trailing slash (requests go to `${baseUrl}/chat/completions`). */
  readonly baseUrl: string;
  readonly models: readonly string[];
  readonly tier: Tier;
  readonly maxConcurrency: number;
}

/** A slot held on a node for one request; release it exactly once when the request ends. */
export interface NodeLease {
  readonly node: RoutableNode;
  release(): void;
}

/** A model as `GET /v1/models` lists it: the tiers some healthy, unpaused node serves it in. */
export interface ServedModel {
  readonly id: string;
  readonly tiers: readonly Tier[];
  /** Providers' nodes serving it (for `owned_by`). */
  readonly nodes: number;
}

export interface NodeRouter {
  /** Every model some registered, unpaused node serves (healthy or not). */
  models(): readonly ServedModel[];
  /** Whether any registered, unpaused node serves this model (else 404 MODEL_NOT_FOUND). */
  serves(model: string): boolean;
  /** The tiers registered, unpaused nodes serve `model` in, cheapest first (no per-request scan of every model). */
  tiersOf(model: string): readonly Tier[];
  /**
   * A slot on the best healthy, unpaused node serving `model` (in `tier` when given, else the
   * cheapest tier that has a free node), least outstanding requests first, skipping `exclude`;
   * subscribers are served first when nodes are saturated (see `priority`).
   * undefined when every such node is down, paused or at its max concurrency.
   */
  acquire(
    model: string,
    options?: {
      readonly tier?: Tier | undefined;
      readonly exclude?: ReadonlySet<string>;
      /** Subscribers may fill every slot; PAYG requests only a share of each node's (GATEWAY_PAYG_SHARE_PERCENT). */
      readonly priority?: "subscriber" | "payg";
    },
  ): NodeLease | undefined;
  /** The gateway saw the node fail (connection refused, 5xx): mark it down until its next good check. */
  reportFailure(nodeId: string): void;
}

/** One request a node served, as the gateway records it for provider performance and rewards. */
export interface ServedRequest {
  /** The account-scoped request id it was billed under: served work counts once per request. */
  readonly requestId: string;
  readonly nodeId: string;
  readonly providerAccountId: string;
  readonly tier: Tier;
  /** When the request finished (ms since the epoch). */
  readonly at: number;
  /** Tokens in + out actually delivered. */
  readonly tokens: number;
  /** Time to the first byte of the node's answer (ms). */
  readonly latencyMs: number;
}

export interface ServedWorkRecorder {
  /** Records a served request; batched, never throws into the request (failures are logged). */
  record(served: ServedRequest): void;
  /** Resolves once everything recorded so far is in PostgreSQL. */
  flush(): Promise<void>;
}
