// Provider nodes in PostgreSQL (0016_provider_nodes.sql): registration, edits and removal, each
// scoped to the provider that owns the node (another provider's node is "not found"), and the
// health figures the provider dashboard shows (last check, p50 latency and uptime over a day).
import type { Queryable } from "../db/db.ts";
import { badRequest, notFound } from "../errors.ts";
import { TIERS, type RoutableNode, type Tier } from "./router.ts";

export const MAX_MODELS = 64;
export const MAX_CONCURRENCY = 10_000;
const MODEL = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$/;

/** A registered node, as stored. */
export interface ProviderNode extends RoutableNode {
  readonly paused: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface NodeInput {
  readonly baseUrl: string;
  readonly models: readonly string[];
  readonly tier: Tier;
  readonly maxConcurrency: number;
}

export interface NodePatch {
  readonly baseUrl?: string;
  readonly models?: readonly string[];
  readonly tier?: Tier;
  readonly maxConcurrency?: number;
  readonly paused?: boolean;
}

interface NodeRow {
  [key: string]: unknown;
  id: string;
  provider_account_id: string;
  base_url: string;
  models: string[];
  tier: string;
  max_concurrency: number;
  paused: boolean;
  created_at: Date | string;
  updated_at: Date | string;
}

const COLUMNS = "id, provider_account_id, base_url, models, tier, max_concurrency, paused, created_at, updated_at";

const nodeOf = (r: NodeRow): ProviderNode => ({
  id: r.id,
  providerAccountId: r.provider_account_id,
  baseUrl: r.base_url,
  models: r.models,
  tier: r.tier as Tier,
  maxConcurrency: Number(r.max_concurrency),
  paused: r.paused,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

/**
 * The URL a node is stored and called at: http(s), a host, no credentials, query or fragment, no
 * trailing slash. 400 `INVALID_NODE_URL`.
 */
export function normaliseBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw badRequest("INVALID_NODE_URL", `"${raw}" is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw badRequest("INVALID_NODE_URL", "a node URL must be http:// or https://");
  if (url.username !== "" || url.password !== "") throw badRequest("INVALID_NODE_URL", "a node URL must not carry credentials");
  if (url.search !== "" || url.hash !== "" || raw.includes("?") || raw.includes("#")) {
    throw badRequest("INVALID_NODE_URL", "a node URL must not have a query or fragment");
  }
  if (url.hostname === "") throw badRequest("INVALID_NODE_URL", "a node URL needs a host");
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

/** The models, checked and without repeats. 400 `INVALID_MODELS`. */
export function normaliseModels(models: readonly string[]): string[] {
  const unique = [...new Set(models.map((m) => m.trim()))];
  if (unique.length === 0 || unique.length > MAX_MODELS) throw badRequest("INVALID_MODELS", `a node serves 1–${MAX_MODELS} models`);
  const bad = unique.find((m) => !MODEL.test(m));
  if (bad !== undefined) throw badRequest("INVALID_MODELS", `"${bad}" is not a model name (letters, digits and . _ : / @ + -, at most 128)`);
  return unique;
}

function checkTier(tier: string): Tier {
  if (!(TIERS as readonly string[]).includes(tier)) throw badRequest("UNKNOWN_TIER", `tier must be one of ${TIERS.join(", ")}`);
  return tier as Tier;
}

function checkConcurrency(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_CONCURRENCY) throw badRequest("INVALID_CONCURRENCY", `maxConcurrency must be 1–${MAX_CONCURRENCY}`);
  return n;
}

const duplicate = (baseUrl: string) => badRequest("NODE_EXISTS", `you already registered a node at ${baseUrl}`);
const missing = (id: string) => notFound("NODE_NOT_FOUND", `you have no node ${id}`);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A unique violation (provider, base_url) raced past the check: the same answer as the check. */
const isUniqueViolation = (error: unknown) => (error as { code?: string } | null)?.code === "23505";

/** Registers a node. 400 `INVALID_NODE_URL` / `INVALID_MODELS` / `UNKNOWN_TIER` / `INVALID_CONCURRENCY` / `NODE_EXISTS`. */
export async function insertNode(db: Queryable, providerAccountId: string, input: NodeInput): Promise<ProviderNode> {
  const baseUrl = normaliseBaseUrl(input.baseUrl);
  const { rows } = await db.query<NodeRow>(
    `insert into provider_nodes (provider_account_id, base_url, models, tier, max_concurrency) values ($1, $2, $3, $4, $5)
     on conflict (provider_account_id, base_url) do nothing returning ${COLUMNS}`,
    [providerAccountId, baseUrl, normaliseModels(input.models), checkTier(input.tier), checkConcurrency(input.maxConcurrency)],
  );
  if (rows.length === 0) throw duplicate(baseUrl);
  return nodeOf(rows[0]!);
}

/** Edits, pauses or resumes the provider's node. 404 `NODE_NOT_FOUND`; 400 as insertNode. */
export async function updateNode(db: Queryable, providerAccountId: string, id: string, patch: NodePatch): Promise<ProviderNode> {
  if (!UUID.test(id)) throw missing(id);
  const baseUrl = patch.baseUrl === undefined ? null : normaliseBaseUrl(patch.baseUrl);
  try {
    const { rows } = await db.query<NodeRow>(
      `update provider_nodes set base_url = coalesce($3, base_url), models = coalesce($4, models), tier = coalesce($5, tier),
              max_concurrency = coalesce($6, max_concurrency), paused = coalesce($7, paused), updated_at = now()
        where id = $1 and provider_account_id = $2 returning ${COLUMNS}`,
      [
        id,
        providerAccountId,
        baseUrl,
        patch.models === undefined ? null : normaliseModels(patch.models),
        patch.tier === undefined ? null : checkTier(patch.tier),
        patch.maxConcurrency === undefined ? null : checkConcurrency(patch.maxConcurrency),
        patch.paused ?? null,
      ],
    );
    if (rows.length === 0) throw missing(id);
    return nodeOf(rows[0]!);
  } catch (error) {
    if (isUniqueViolation(error)) throw duplicate(baseUrl!);
    throw error;
  }
}

/** Removes the provider's node (its served work and checks stay for rewards). 404 `NODE_NOT_FOUND`. */
export async function deleteNode(db: Queryable, providerAccountId: string, id: string): Promise<void> {
  if (!UUID.test(id)) throw missing(id);
  const { rows } = await db.query("delete from provider_nodes where id = $1 and provider_account_id = $2 returning id", [id, providerAccountId]);
  if (rows.length === 0) throw missing(id);
}

/** The provider's node. 404 `NODE_NOT_FOUND`. */
export async function getNode(db: Queryable, providerAccountId: string, id: string): Promise<ProviderNode> {
  if (!UUID.test(id)) throw missing(id);
  const { rows } = await db.query<NodeRow>(`select ${COLUMNS} from provider_nodes where id = $1 and provider_account_id = $2`, [id, providerAccountId]);
  if (rows.length === 0) throw missing(id);
  return nodeOf(rows[0]!);
}

/** Every node (of one provider when given), oldest first. */
export async function listNodes(db: Queryable, providerAccountId?: string): Promise<ProviderNode[]> {
  const { rows } = await db.query<NodeRow>(
    `select ${COLUMNS} from provider_nodes ${providerAccountId === undefined ? "" : "where provider_account_id = $1"} order by created_at, id`,
    providerAccountId === undefined ? [] : [providerAccountId],
  );
  return rows.map(nodeOf);
}

/** One health check's outcome. */
export interface NodeCheck {
  readonly nodeId: string;
  readonly providerAccountId: string;
  readonly at: Date;
  readonly up: boolean;
  /** Time to the answer (up), or to the failure. */
  readonly latencyMs: number;
  readonly error: string | null;
}

/** Stores checks in one statement. */
export async function insertChecks(db: Queryable, checks: readonly NodeCheck[]): Promise<void> {
  if (checks.length === 0) return;
  await db.query(
    `insert into provider_node_checks (node_id, provider_account_id, at, up, latency_ms, error)
     select * from unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::boolean[], $5::integer[], $6::text[])`,
    [
      checks.map((c) => c.nodeId),
      checks.map((c) => c.providerAccountId),
      checks.map((c) => c.at.toISOString()),
      checks.map((c) => c.up),
      checks.map((c) => Math.round(c.latencyMs)),
      checks.map((c) => c.error),
    ],
  );
}

/** Deletes checks older than `before`; returns how many. */
export async function pruneChecks(db: Queryable, before: Date): Promise<number> {
  const { rows } = await db.query(
    "with gone as (delete from provider_node_checks where at < $1 returning 1) select count(*)::int as n from gone",
    [before.toISOString()],
  );
  return Number(rows[0]!.n);
}

/** Each node's latest check. */
export async function latestChecks(db: Queryable): Promise<Map<string, { at: Date; up: boolean; latencyMs: number | null }>> {
  const { rows } = await db.query<{ node_id: string; at: Date | string; up: boolean; latency_ms: number | null }>(
    // One index probe per node (provider_node_checks_node), not a scan of days of checks.
    `select n.id as node_id, c.at, c.up, c.latency_ms from provider_nodes n
       cross join lateral (select at, up, latency_ms from provider_node_checks where node_id = n.id order by at desc limit 1) c`,
  );
  return new Map(rows.map((r) => [r.node_id, { at: new Date(r.at), up: r.up, latencyMs: r.latency_ms === null ? null : Number(r.latency_ms) }]));
}

/** A node's health over a window, as the dashboard shows it. */
export interface NodeHealth {
  readonly checks: number;
  /** Share of checks that were up, in basis points (null without checks). */
  readonly uptimeBps: number | null;
  /** Median latency of the good checks (ms; null without one). */
  readonly p50Ms: number | null;
}

/** Health of the provider's nodes since `since`. */
export async function nodeHealth(db: Queryable, providerAccountId: string, since: Date): Promise<Map<string, NodeHealth>> {
  const { rows } = await db.query<{ node_id: string; checks: number; ups: number; p50: number | null }>(
    `select node_id, count(*)::int as checks, count(*) filter (where up)::int as ups,
            percentile_disc(0.5) within group (order by latency_ms) filter (where up) as p50
       from provider_node_checks where provider_account_id = $1 and at >= $2 group by node_id`,
    [providerAccountId, since.toISOString()],
  );
  return new Map(
    rows.map((r) => {
      const uptimeBps = Math.floor((Number(r.ups) * 10_000) / Number(r.checks));
      return [r.node_id, { checks: Number(r.checks), uptimeBps, p50Ms: r.p50 === null ? null : Number(r.p50) }];
    }),
  );
}
