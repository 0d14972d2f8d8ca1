// Request rates per client with @fastify/rate-limit: counted in Redis when REDIS_URL is set (so
// every API instance shares them), in memory otherwise. Routes opt in with
// `config: { rateLimit: routeLimit(ctx, "nonce") }`; failed API-key authentication is limited per
// IP for every route by a hook (`limitApiKeyFailures`), so guessing keys costs the guesser.
import rateLimit, { normalizeIP, type RateLimitPluginOptions } from "@fastify/rate-limit";
import type { FastifyRequest } from "fastify";
import { Redis } from "ioredis";
import type { AppContext } from "../app/context.ts";
import type { ApiConfig } from "../config/config.ts";
import { accountOf, bearer } from "./auth.ts";
import { rateLimited } from "./hardening.ts";
import type { Api } from "./server.ts";

/** The limits a route can opt into, named as in ApiConfig.rateLimit. */
export type LimitName = "nonce" | "siwe" | "rpc" | "keyCreation";

/** A Redis outage must not stall requests: a counter that cannot be reached within this lets the request through. */
const REDIS_TIMEOUT_MS = 500;

/**
 * Registers the rate limiter on `app` (before the routes), with the Redis store when configured.
 * Nothing is limited unless a route asks (`routeLimit`).
 */
export async function registerRateLimit(app: Api, ctx: AppContext): Promise<void> {
  let redis: Redis | undefined;
  if (ctx.config.redisUrl !== undefined) {
    redis = new Redis(ctx.config.redisUrl, {
      lazyConnect: true,
      connectTimeout: REDIS_TIMEOUT_MS,
      commandTimeout: REDIS_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    redis.on("error", () => {}); // reported by the health check; the limiter skips while Redis is away
    await redis.connect().catch(() => undefined);
    app.addHook("onClose", async () => redis?.disconnect());
  }
  const options: RateLimitPluginOptions = {
    global: false,
    // A limiter that cannot count lets requests through rather than failing them.
    skipOnError: true,
    timeWindow: ctx.config.api.rateLimit.windowMs,
    errorResponseBuilder: (_request, context) => rateLimited(Math.max(1, Math.ceil(context.ttl / 1000))),
    ...(redis ? { redis, nameSpace: `${ctx.config.redisPrefix}ratelimit:` } : {}),
  };
  await app.register(rateLimit, options);
}

/** Key creation is counted per account: its route's session hook (a scope hook) ran before this route hook. */
const perAccount = (request: FastifyRequest): string => `account:${accountOf(request).id}`;

/** The `config.rateLimit` of a route limited by `name`, or false when that limit is off (0). */
export function routeLimit(api: ApiConfig, name: LimitName): false | { max: number; timeWindow: number; keyGenerator?: (request: FastifyRequest) => string } {
  const max = api.rateLimit[name];
  if (max === 0) return false;
  return { max, timeWindow: api.rateLimit.windowMs, ...(name === "keyCreation" ? { keyGenerator: perAccount } : {}) };
}

/** Whether `request` authenticates with an API key (cxk_…) rather than a session. */
const carriesApiKey = (request: FastifyRequest): boolean => bearer(request)?.startsWith("cxk_") === true;

/** Most IPs remembered as blocked at once; expired ones are dropped first. */
const MAX_BLOCKED = 10_000;

/**
 * Limits failed API-key authentication (401 to a request with a cxk_ key) per IP: past the limit,
 * every request with an API key from that IP is refused 429 until the window ends. Successful
 * requests never touch the counter, so the compute path pays nothing for it.
 */
export function limitApiKeyFailures(app: Api, api: ApiConfig): void {
  const max = api.rateLimit.keyFailures;
  if (max === 0) return;
  const count = app.createRateLimit({ max, timeWindow: api.rateLimit.windowMs, keyGenerator: (request) => `keyfail:${normalizeIP(request.ip)}` });
  // IPs over the limit, until when (ms): checked locally, so good keys cost no Redis round trip.
  const blocked = new Map<string, number>();
  app.addHook("onRequest", async (request, reply) => {
    if (blocked.size === 0 || !carriesApiKey(request)) return;
    const until = blocked.get(normalizeIP(request.ip));
    if (until === undefined) return;
    const wait = until - Date.now();
    if (wait <= 0) return void blocked.delete(normalizeIP(request.ip));
    const seconds = Math.max(1, Math.ceil(wait / 1000));
    reply.header("retry-after", String(seconds));
    throw rateLimited(seconds);
  });
  // Counted before the 401 leaves, so a guesser's next request already meets the block.
  app.addHook("onSend", async (request, reply, payload) => {
    if (reply.statusCode !== 401 || !carriesApiKey(request)) return payload;
    const status = await count(request).catch(() => undefined);
    if (status === undefined || status.isAllowed || !status.isExceeded) return payload;
    if (blocked.size >= MAX_BLOCKED) for (const [ip, until] of blocked) if (until <= Date.now()) blocked.delete(ip);
    if (blocked.size < MAX_BLOCKED) blocked.set(normalizeIP(request.ip), Date.now() + status.ttl);
    return payload;
  });
}
