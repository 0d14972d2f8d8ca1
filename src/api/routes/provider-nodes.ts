// A provider's nodes: the OpenAI-compatible servers it registers for the gateway to route to, each
// with its health. Signed-in accounts with a linked wallet (401 without a session). Semantics in
// src/providers/nodes.ts; the allow-list in src/providers/allow.ts.
import { Type } from "typebox";
import type { AppContext } from "../../app/context.ts";
import { DEFAULT_NODE_DAYS_PAGE, MAX_NODE_DAYS_PAGE, nodeDays } from "../../providers/daily.ts";
import { editNode, nodeViews, registerNode, removeNode, type NodeView } from "../../providers/nodes.ts";
import { TIERS } from "../../providers/router.ts";
import { MAX_CONCURRENCY, MAX_MODELS } from "../../providers/store.ts";
import { dayRange, MAX_RANGE_DAYS, rangeDays } from "../../usage/service.ts";
import { accountOf, sessionHook } from "../auth.ts";
import { Day, errors, Nullable, pageQuery, Timestamp, Uuid } from "../schemas.ts";
import type { Api } from "../server.ts";

const TierSchema = Type.Enum(TIERS, { description: "service tier (PRICING.md): tide-pool, blue-surge, open-ocean, mariana-depth" });
const BaseUrl = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: "OpenAI-compatible base URL, e.g. https://gpu1.example.com/v1 (requests go to {baseUrl}/chat/completions)",
});
const Models = Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: MAX_MODELS, description: "model names the node serves" });
const Concurrency = Type.Integer({ minimum: 1, maximum: MAX_CONCURRENCY, description: "requests the node takes at once" });

const NodeSchema = Type.Object({
  id: Uuid,
  baseUrl: Type.String(),
  models: Type.Array(Type.String()),
  tier: TierSchema,
  maxConcurrency: Type.Integer(),
  paused: Type.Boolean({ description: "a paused node gets no requests" }),
  status: Type.Union([Type.Literal("up"), Type.Literal("down")], { description: "up: its last health check (GET {baseUrl}/models) succeeded" }),
  lastCheckAt: Nullable(Timestamp),
  p50Ms: Nullable(Type.Integer({ description: "median latency of the good checks over the last 24 hours" })),
  uptimeBps: Nullable(Type.Integer({ description: "share of good checks over the last 24 hours, in basis points (9995 = 99.95 %)" })),
  outstanding: Type.Integer({ description: "requests in flight through this API instance" }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const view = (n: NodeView) => ({
  id: n.id,
  baseUrl: n.baseUrl,
  models: [...n.models],
  tier: n.tier,
  maxConcurrency: n.maxConcurrency,
  paused: n.paused,
  status: n.status,
  lastCheckAt: n.lastCheckAt?.toISOString() ?? null,
  p50Ms: n.p50Ms,
  uptimeBps: n.uptimeBps,
  outstanding: n.outstanding,
  createdAt: n.createdAt.toISOString(),
  updatedAt: n.updatedAt.toISOString(),
});

const CHECKS =
  "400 INVALID_NODE_URL (http(s), no credentials, query or fragment), INVALID_MODELS, UNKNOWN_TIER, INVALID_CONCURRENCY, NODE_EXISTS (the same URL twice), " +
  "NODE_ADDRESS_NOT_ALLOWED (the host resolves outside the operator's allow-list, PROVIDER_NODE_ALLOW), NODE_HOST_UNRESOLVED.";

export function providerNodeRoutes(app: Api, ctx: AppContext): void {
  const security = [{ session: [] }];
  const tags = ["providers"];
  app.addHook("onRequest", sessionHook(ctx.db));
  const Id = Type.Object({ id: Uuid });

  app.get(
    "/api/v1/provider/nodes",
    { schema: { tags, security, summary: "Your provider nodes with their health", response: { 200: Type.Object({ nodes: Type.Array(NodeSchema) }), ...errors(401) } } },
    async (request) => ({ nodes: (await nodeViews(ctx, accountOf(request))).map(view) }),
  );

  app.get(
    "/api/v1/provider/nodes/daily",
    {
      schema: {
        tags,
        security,
        summary: "Your served work and node health per UTC day and node",
        description:
          "Requests, tokens and mean latency served through the gateway, and the health checks' uptime and p50 latency, one row per " +
          "day and node that has either (removed nodes included, with baseUrl and tier null), oldest first. from and to are " +
          `included, the last 30 days when omitted, at most ${MAX_RANGE_DAYS} days; checks are kept PROVIDER_HEALTH_RETENTION_DAYS. ` +
          "400 INVALID_DATE, INVALID_RANGE, INVALID_LIMIT, INVALID_CURSOR.",
        querystring: Type.Object(
          { from: Type.Optional(Day), to: Type.Optional(Day), ...pageQuery("rows", MAX_NODE_DAYS_PAGE, DEFAULT_NODE_DAYS_PAGE) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            from: Day,
            to: Day,
            days: Type.Array(
              Type.Object({
                day: Day,
                nodeId: Uuid,
                baseUrl: Nullable(Type.String()),
                tier: Nullable(Type.String()),
                requests: Type.Integer(),
                tokens: Type.String({ pattern: "^[0-9]{1,78}$", description: "tokens served, as a decimal string" }),
                avgLatencyMs: Nullable(Type.Integer({ description: "mean latency of the requests served" })),
                checks: Type.Integer({ description: "health checks that day" }),
                uptimeBps: Nullable(Type.Integer({ description: "share of good checks, basis points (9995 = 99.95 %)" })),
                p50Ms: Nullable(Type.Integer({ description: "median latency of the good checks" })),
              }),
            ),
            nextCursor: Nullable(Type.String()),
          }),
          ...errors(400, 401),
        },
      },
    },
    async (request) => {
      const { from, to, limit, cursor } = request.query;
      const range = dayRange(from, to);
      const page = await nodeDays(ctx.db, accountOf(request).id, range, {
        ...(limit === undefined ? {} : { limit: Number(limit) }),
        ...(cursor === undefined ? {} : { cursor }),
      });
      return {
        ...rangeDays(range),
        days: page.days.map((d) => ({ ...d, tokens: d.tokens.toString() })),
        nextCursor: page.nextCursor,
      };
    },
  );

  app.post(
    "/api/v1/provider/nodes",
    {
      schema: {
        tags,
        security,
        summary: "Register a provider node",
        description:
          "The node is checked at once (GET {baseUrl}/models); the gateway routes to it while it is up and not paused. " +
          `403 WALLET_REQUIRED without a linked wallet. ${CHECKS}`,
        body: Type.Object({ baseUrl: BaseUrl, models: Models, tier: TierSchema, maxConcurrency: Type.Optional(Concurrency) }, { additionalProperties: false }),
        response: { 201: NodeSchema, ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { baseUrl, models, tier, maxConcurrency = 4 } = request.body;
      return reply.status(201).send(view(await registerNode(ctx, accountOf(request), { baseUrl, models, tier, maxConcurrency })));
    },
  );

  app.patch(
    "/api/v1/provider/nodes/:id",
    {
      schema: {
        tags,
        security,
        summary: "Pause, resume or edit one of your nodes",
        description: `Only the fields sent change. 404 NODE_NOT_FOUND (also for another provider's node). ${CHECKS}`,
        params: Id,
        body: Type.Object(
          {
            baseUrl: Type.Optional(BaseUrl),
            models: Type.Optional(Models),
            tier: Type.Optional(TierSchema),
            maxConcurrency: Type.Optional(Concurrency),
            paused: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: NodeSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => view(await editNode(ctx, accountOf(request), request.params.id, request.body)),
  );

  app.delete(
    "/api/v1/provider/nodes/:id",
    {
      schema: {
        tags,
        security,
        summary: "Remove one of your nodes",
        description: "No request is routed to it any more; the work it served still counts for rewards. 404 NODE_NOT_FOUND (also for another provider's node).",
        params: Id,
        response: { 204: Type.Null(), ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      await removeNode(ctx, accountOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );
}
