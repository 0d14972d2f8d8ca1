// The provider nodes' runtime, one per app (AppContext.providers): the router the gateway asks for
// a node, the served-work recorder, the health checker and the allow-list every call to a node
// goes through. Built by createApp, closed by its close().
import { Counter, Gauge, type Registry as MetricsRegistry } from "prom-client";
import type { Db } from "../db/db.ts";
import type { Logger } from "../monitoring/index.ts";
import { addressPolicy, guardedLookup, type AddressPolicy } from "./allow.ts";
import { startHealthChecker, type HealthChecker } from "./health.ts";
import { createRegistry, type Registry } from "./registry.ts";
import type { NodeRouter, ServedWorkRecorder } from "./router.ts";
import { createServedRecorder } from "./served.ts";

export { assertNodeAddressAllowed, guardedLookup } from "./allow.ts";
export type { NodeLease, NodeRouter, RoutableNode, ServedModel, ServedRequest, ServedWorkRecorder, Tier } from "./router.ts";

export interface ProvidersConfig {
  /** PROVIDER_NODE_ALLOW, parsed; undefined for the default (loopback in development, public addresses in production). */
  readonly allow: readonly string[] | undefined;
  readonly healthEveryMs: number;
  readonly healthTimeoutMs: number;
  readonly healthRetentionDays: number;
  readonly refreshEveryMs: number;
  readonly servedFlushMs: number;
}

export interface Providers {
  /** What the gateway routes with. */
  readonly router: NodeRouter;
  /** Where the gateway records served requests. */
  readonly served: ServedWorkRecorder;
  /** The full view behind `router` (status, outstanding requests, refresh). */
  readonly registry: Registry;
  readonly health: HealthChecker;
  /** The operator's allow-list: check node URLs with assertNodeAddressAllowed(url, policy), or connect with `lookup`. */
  readonly policy: AddressPolicy;
  /** A dns.lookup replacement that refuses addresses outside `policy` (for http(s) agents and undici). */
  readonly lookup: ReturnType<typeof guardedLookup>;
  close(): Promise<void>;
}

export interface ProvidersOptions {
  readonly development: () => boolean;
  /** Share of a node's slots PAYG requests may fill (GATEWAY_PAYG_SHARE_PERCENT / 100). */
  readonly paygShare?: number;
  readonly log: Logger;
  /** Where to register cxpt_provider_nodes{state} and cxpt_provider_node_checks_total{outcome}. */
  readonly metrics?: MetricsRegistry;
}

export async function openProviders(db: Db, config: ProvidersConfig, options: ProvidersOptions): Promise<Providers> {
  const { log, metrics } = options;
  const policy = addressPolicy(config.allow, options.development);
  const onError = (e: unknown) => log.warn({ component: "providers", err: String(e) }, "node refresh failed");
  const registry = createRegistry(db, { refreshEveryMs: config.refreshEveryMs, paygShare: options.paygShare, onError });
  await registry.refresh();
  const checks = { everyMs: config.healthEveryMs, timeoutMs: config.healthTimeoutMs, retentionDays: config.healthRetentionDays };
  const checked =
    metrics && new Counter({ name: "cxpt_provider_node_checks_total", help: "Node health checks by outcome", labelNames: ["outcome"], registers: [metrics] });
  const health = startHealthChecker(db, registry, policy, checks, log, (up) => checked?.inc({ outcome: up ? "up" : "down" }));
  if (metrics) {
    new Gauge({
      name: "cxpt_provider_nodes",
      help: "Registered provider nodes by state (up, down, paused) as this instance sees them",
      labelNames: ["state"],
      registers: [metrics],
      collect() {
        const counts = { up: 0, down: 0, paused: 0 };
        for (const node of registry.nodes()) counts[node.paused ? "paused" : registry.status(node.id)?.up ? "up" : "down"] += 1;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
  }
  const served = createServedRecorder(db, { flushEveryMs: config.servedFlushMs, log });
  return {
    router: registry,
    served,
    registry,
    health,
    policy,
    lookup: guardedLookup(policy),
    async close() {
      registry.close();
      await health.stop();
      await served.close();
    },
  };
}
