// The health checker: every PROVIDER_HEALTH_EVERY_MS each API instance asks every registered node
// for `GET {baseUrl}/models` (through the allow-list, with a timeout), stores the outcome
// (provider_node_checks) and tells the registry, so the router never routes to a node that is down.
// A node is up when it answers 200 with a JSON model list. Checks older than the retention are
// pruned here, at most once an hour.
import type { Db } from "../db/db.ts";
import type { Logger } from "../monitoring/index.ts";
import type { AddressPolicy } from "./allow.ts";
import { nodeGet } from "./http.ts";
import type { Registry } from "./registry.ts";
import { insertChecks, pruneChecks, type NodeCheck } from "./store.ts";
import type { ProviderNode } from "./store.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Nodes checked at once. */
const PARALLEL = 16;

export interface HealthOptions {
  /** How often (ms); 0 for never (tests check by hand). */
  readonly everyMs: number;
  readonly timeoutMs: number;
  readonly retentionDays: number;
}

export interface HealthChecker {
  /** Checks the nodes (all registered ones by default) now; resolves with their outcomes once stored. */
  checkNow(nodeIds?: readonly string[]): Promise<NodeCheck[]>;
  stop(): Promise<void>;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 500);

/** Why a node's answer to GET /models is not healthy, or undefined when it is. */
function unhealthy(status: number, body: string): string | undefined {
  if (status !== 200) return `GET /models answered ${status}`;
  try {
    const list = JSON.parse(body) as { data?: unknown };
    return Array.isArray(list.data) ? undefined : "GET /models did not answer a model list";
  } catch {
    return "GET /models did not answer JSON";
  }
}

/** One node's check. Never throws: a failure is a down check. */
export async function checkNode(node: ProviderNode, policy: AddressPolicy, timeoutMs: number): Promise<NodeCheck> {
  // Stamped with its start: a check begun before a reportFailure must not overrule it.
  const at = new Date();
  const started = performance.now();
  let error: string | undefined;
  try {
    const answer = await nodeGet(`${node.baseUrl}/models`, policy, timeoutMs);
    error = unhealthy(answer.status, answer.body);
  } catch (e) {
    error = messageOf(e);
  }
  const latencyMs = performance.now() - started;
  return { nodeId: node.id, providerAccountId: node.providerAccountId, at, up: error === undefined, latencyMs, error: error ?? null };
}

export function startHealthChecker(
  db: Db,
  registry: Registry,
  policy: AddressPolicy,
  options: HealthOptions,
  log: Logger,
  onCheck: (up: boolean) => void = () => {},
): HealthChecker {
  let lastPrune = 0;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;

  async function run(nodeIds?: readonly string[]): Promise<NodeCheck[]> {
    const wanted = nodeIds === undefined ? undefined : new Set(nodeIds);
    const nodes = registry.nodes().filter((n) => wanted === undefined || wanted.has(n.id));
    const checks: NodeCheck[] = [];
    for (let i = 0; i < nodes.length; i += PARALLEL) {
      checks.push(...(await Promise.all(nodes.slice(i, i + PARALLEL).map((n) => checkNode(n, policy, options.timeoutMs)))));
    }
    for (const c of checks) {
      registry.setStatus(c.nodeId, { up: c.up, at: c.at, latencyMs: c.up ? Math.round(c.latencyMs) : null });
      onCheck(c.up);
    }
    await insertChecks(db, checks);
    if (Date.now() - lastPrune > HOUR_MS) {
      lastPrune = Date.now();
      await pruneChecks(db, new Date(Date.now() - options.retentionDays * DAY_MS));
    }
    return checks;
  }

  const scheduled = async () => {
    try {
      await registry.refresh();
      await run();
    } catch (error) {
      log.warn({ component: "providers", err: messageOf(error) }, "health check run failed");
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    running = scheduled().finally(() => {
      if (!stopped) timer = setTimeout(tick, options.everyMs).unref();
    });
  };
  if (options.everyMs > 0) timer = setTimeout(tick, 0).unref();

  return {
    checkNow: (nodeIds) => run(nodeIds),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running.catch(() => {});
    },
  };
}
