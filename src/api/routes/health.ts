// GET /api/health: whether the backend can serve, for load balancers, uptime checks and npm start's
// readiness. No auth and quick: the database, the metering store and the chain are probed in
// parallel, each given at most PROBE_TIMEOUT_MS. 200 "ok" when every probe answers, else 503
// "degraded" with the reason in the failing probe's field.
import { Redis } from "ioredis";
import { Type } from "typebox";
import { BaseError } from "viem";
import type { ChainContext } from "../../app/chain.ts";
import type { AppContext } from "../../app/context.ts";
import { features } from "../../stage/stage.ts";
import { Nullable } from "../schemas.ts";
import type { Api } from "../server.ts";

/** The most each probe may take: health must answer fast even when a dependency hangs. */
export const PROBE_TIMEOUT_MS = 1_000;

const OK = "ok";
const ProbeStatus = Type.String({ description: '"ok", or why the probe failed' });

const { stage: _stage, phase: _phase, ...FLAGS } = features("off", 0);
const FeaturesView = Type.Object(Object.fromEntries(Object.keys(FLAGS).map((name) => [name, Type.Boolean()])));

const HealthView = Type.Object({
  status: Type.Union([Type.Literal("ok"), Type.Literal("degraded")]),
  stage: Type.Union([Type.Literal("off"), Type.Literal("testnet"), Type.Literal("mainnet")]),
  phase: Type.Integer({ description: "migration phase 0–3" }),
  features: FeaturesView,
  chain: Nullable(
    Type.Object(
      { chainId: Type.Integer(), blockNumber: Nullable(Type.String({ description: "the latest block, as a decimal string" })), status: ProbeStatus },
      { description: "null while the chain is off" },
    ),
  ),
  database: ProbeStatus,
  meter: ProbeStatus,
});

/** `work`, or a rejection once `ms` have passed. */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** A probe's outcome: "ok" with the value, or why it failed (one line). */
interface Probed<T> {
  readonly status: string;
  readonly value?: T;
}

async function probe<T>(work: () => Promise<T>): Promise<Probed<T>> {
  try {
    return { status: OK, value: await within(PROBE_TIMEOUT_MS, work()) };
  } catch (error) {
    // viem's short message ("HTTP request failed.") says what failed, its details why.
    const reason =
      error instanceof BaseError ? [error.shortMessage.replace(/\.$/, ""), error.details].filter(Boolean).join(": ") : error instanceof Error ? error.message : String(error);
    return { status: reason.split("\n")[0] || "failed" };
  }
}

/** The chain's id and head, read now. */
async function chainHealth(chain: ChainContext) {
  const head = await probe(() => chain.client.getBlockNumber({ cacheTime: 0 }));
  return { chainId: chain.chainId, blockNumber: head.value?.toString() ?? null, status: head.status };
}

/**
 * How to probe the metering store: Redis answers PING (on a connection of its own, opened on the
 * first health check and closed with the API); the embedded store is in this process and answers
 * unless it was closed.
 */
function meterProbe(app: Api, ctx: AppContext): () => Promise<unknown> {
  const url = ctx.config.redisUrl;
  if (url === undefined) return () => ctx.billing.store.pull(0);
  let redis: Redis | undefined;
  let connectionError: Error | undefined; // why the connection is down, more telling than the failed PING
  app.addHook("onClose", async () => redis?.disconnect());
  return async () => {
    if (redis === undefined) {
      redis = new Redis(url, { connectTimeout: PROBE_TIMEOUT_MS, maxRetriesPerRequest: 0 });
      redis.on("error", (error: Error) => void (connectionError = error));
      redis.on("ready", () => void (connectionError = undefined));
    }
    try {
      return await redis.ping();
    } catch (error) {
      throw connectionError ? new Error(`Redis: ${connectionError.message}`) : error;
    }
  };
}

export function healthRoutes(app: Api, ctx: AppContext): void {
  const pingMeter = meterProbe(app, ctx);

  app.get(
    "/api/health",
    {
      schema: {
        tags: ["health"],
        summary: "Whether the backend can serve: the database, the metering store and the chain",
        description: `200 when every probe answers, 503 (status "degraded") when one does not; each probe waits at most ${PROBE_TIMEOUT_MS} ms.`,
        response: { 200: HealthView, 503: HealthView },
      },
    },
    async (_request, reply) => {
      const { stage, phase } = ctx.stage;
      const { stage: _s, phase: _p, ...flags } = features(stage, phase);
      const [database, meter, chain] = await Promise.all([
        probe(() => ctx.db.query("select 1")),
        probe(pingMeter),
        ctx.chain === undefined ? null : chainHealth(ctx.chain),
      ]);
      const healthy = [database.status, meter.status, chain?.status ?? OK].every((status) => status === OK);
      return reply.status(healthy ? 200 : 503).send({
        status: healthy ? "ok" : "degraded",
        stage,
        phase,
        features: flags,
        chain,
        database: database.status,
        meter: meter.status,
      });
    },
  );
}
