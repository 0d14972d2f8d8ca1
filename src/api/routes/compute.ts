// The compute API, OpenAI-compatible: POST /api/v1/chat/completions (streaming included),
// POST /api/v1/embeddings and GET /api/v1/models, so the official `openai` client works with
// `baseURL: "<api>/api/v1"` and an API key. Each request is authenticated, rate-limited and
// authorized at its ceiling by the gate, routed to a provider node and captured at the tokens it
// used (src/gateway/serve.ts). Errors in this scope answer in OpenAI's shape.
import { randomUUID } from "node:crypto";
import { Type } from "typebox";
import type { AppContext } from "../../app/context.ts";
import { AppError, badRequest } from "../../errors.ts";
import { openAiError, sendOpenAiError } from "../../gateway/openai-errors.ts";
import { serveChat, serveEmbeddings, type ChatBody, type EmbeddingsBody, type GatewayDeps } from "../../gateway/serve.ts";
import { TIERS } from "../../providers/router.ts";
import { requireApiKey } from "../auth.ts";
import type { Api } from "../server.ts";

const Tier = Type.Union(TIERS.map((t) => Type.Literal(t)), { description: "service tier (GPU class, ../shared/PRICING.md); default: the cheapest tier with a free node" });
const Text = Type.String({ maxLength: 1_000_000 });
/** A model name: printable, no control characters (it is stored with the usage). */
const Model = Type.String({ minLength: 1, maxLength: 128, pattern: "^[^\\u0000-\\u001f\\u007f]+$" });

const ChatRequest = Type.Object(
  {
    model: Model,
    messages: Type.Array(
      Type.Object(
        {
          role: Type.String({ minLength: 1, maxLength: 32 }),
          content: Type.Optional(Type.Union([Text, Type.Null(), Type.Array(Type.Object({ type: Type.String({ maxLength: 32 }) }), { maxItems: 256 })])),
        },
        { additionalProperties: true },
      ),
      { minItems: 1, maxItems: 1024 },
    ),
    max_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 131_072 })),
    max_completion_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 131_072 })),
    stream: Type.Optional(Type.Boolean()),
    stream_options: Type.Optional(Type.Object({ include_usage: Type.Optional(Type.Boolean()) }, { additionalProperties: true })),
    tier: Type.Optional(Tier),
  },
  { additionalProperties: true, description: "OpenAI's chat completion request; other parameters (temperature, top_p, stop, …) are passed to the node" },
);

const EmbeddingsRequest = Type.Object(
  {
    model: Model,
    input: Type.Union([
      Text,
      Type.Array(Text, { minItems: 1, maxItems: 2048 }),
      Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 8192 }),
      Type.Array(Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 8192 }), { minItems: 1, maxItems: 2048 }),
    ]),
    encoding_format: Type.Optional(Type.Union([Type.Literal("float"), Type.Literal("base64")])),
    tier: Type.Optional(Tier),
  },
  { additionalProperties: true },
);

const OpenAiError = Type.Object(
  {
    error: Type.Object({
      message: Type.String(),
      type: Type.String({ description: "OpenAI's class: invalid_request_error, authentication_error, rate_limit_error, insufficient_quota, api_error" }),
      code: Type.String({ description: "this API's UPPER_SNAKE code" }),
      param: Type.Union([Type.String(), Type.Null()]),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  },
  { description: "An error in OpenAI's shape" },
);
const errorsOf = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, OpenAiError]));
/** The node's answer as it gave it, with the gateway's `cxpt` receipt (requestId, billedIn, tier, costWei, costAusd, charged). */
const Answer = Type.Object({}, { additionalProperties: true, description: "OpenAI's answer shape, plus `cxpt`: how the request was billed" });

const REQUEST_ID_DOC =
  "Send `x-request-id` (or `idempotency-key`) to make a retry safe: ids are scoped to the account. A repeated id from the same account is never served again: 409 REQUEST_ID_REUSED. The same id from another account is an unrelated request. A request refused before it is served (401, 402, 404, 429, 503) does not use up its id.";
const LIMITS_DOC =
  "Limits: the plan's requests per minute and requests in flight (PAYG: PAYG_REQUESTS_PER_MINUTE, PAYG_CONCURRENCY); over either, 429 RATE_LIMITED or CONCURRENCY_LIMITED with Retry-After and x-ratelimit-limit-requests / x-ratelimit-remaining-requests / x-ratelimit-reset-requests (every answer carries them).";
const BILLING_DOC =
  "The request's ceiling (one token per byte of the request + max_tokens, at the dearest tier serving the model) is reserved first: 402 INSUFFICIENT_FUNDS (details: required, available, pending, held, unit) when the subscription bucket, or credits plus PAYG capacity, cannot cover it; it is captured at the tokens used at the serving node's tier, and released when nothing was served.";

const bodyLimit = 8 << 20;

function requestIdOf(headers: Record<string, string | string[] | undefined>): string {
  const given = headers["x-request-id"] ?? headers["idempotency-key"];
  if (given === undefined) return randomUUID();
  if (typeof given !== "string" || !/^[\w.:-]{1,200}$/.test(given)) {
    throw badRequest("INVALID_REQUEST_ID", "x-request-id must be 1–200 characters of letters, digits, '.', ':', '_' or '-'");
  }
  return given;
}

/** Aborted when the client closes the connection before the answer is complete. */
function clientGone(raw: import("node:http").ServerResponse): AbortSignal {
  const controller = new AbortController();
  raw.once("close", () => {
    if (!raw.writableFinished) controller.abort(new Error("the client closed the connection"));
  });
  return controller.signal;
}

export function computeRoutes(app: Api, ctx: AppContext): void {
  const deps = (): GatewayDeps => ({
    gate: ctx.billing.gate,
    meter: ctx.billing.meter,
    router: ctx.providers.router,
    served: ctx.providers.served,
    config: ctx.config.gateway,
    policy: ctx.providers.policy,
    log: ctx.monitor.log,
  });

  // OpenAI clients read errors in OpenAI's shape: every error of this scope is answered in it.
  app.setErrorHandler((error, request, reply) => {
    if (error instanceof AppError) return sendOpenAiError(reply, error);
    const fastifyError = error as { validation?: unknown; statusCode?: number; message: string; code?: string };
    if (fastifyError.validation) return sendOpenAiError(reply, badRequest("VALIDATION_FAILED", fastifyError.message));
    if (fastifyError.statusCode && fastifyError.statusCode < 500)
      return sendOpenAiError(reply, new AppError(fastifyError.code ?? "BAD_REQUEST", fastifyError.message, fastifyError.statusCode));
    request.log.error(error);
    return reply.status(500).send(openAiError(new AppError("INTERNAL", "Something went wrong on our side; it has been logged", 500)));
  });

  app.post(
    "/api/v1/chat/completions",
    {
      bodyLimit,
      schema: {
        tags: ["compute"],
        summary: "Chat completion (OpenAI-compatible; stream: true for server-sent events)",
        description: `Send the API key as Authorization: Bearer cxk_…. ${REQUEST_ID_DOC} ${LIMITS_DOC} ${BILLING_DOC} 404 MODEL_NOT_FOUND when no node serves the model; 503 NO_PROVIDER_AVAILABLE when every node serving it is busy or down (nothing charged). A stream whose node fails mid-way ends with an error event and is charged only for the tokens delivered.`,
        security: [{ apiKey: [] }],
        body: ChatRequest,
        response: { 200: Answer, ...errorsOf(400, 401, 402, 404, 409, 429, 503) },
      },
    },
    async (request, reply) => {
      const apiKey = requireApiKey(request);
      const clientRequestId = requestIdOf(request.headers);
      await serveChat(deps(), { apiKey, clientRequestId, body: request.body as ChatBody, reply, signal: clientGone(reply.raw) });
      return reply;
    },
  );

  app.post(
    "/api/v1/embeddings",
    {
      bodyLimit,
      schema: {
        tags: ["compute"],
        summary: "Embeddings (OpenAI-compatible; encoding_format float or base64)",
        description: `Billed at the embeddings rate per input token. ${REQUEST_ID_DOC} ${LIMITS_DOC} ${BILLING_DOC}`,
        security: [{ apiKey: [] }],
        body: EmbeddingsRequest,
        response: { 200: Answer, ...errorsOf(400, 401, 402, 404, 409, 429, 503) },
      },
    },
    async (request, reply) => {
      const apiKey = requireApiKey(request);
      const clientRequestId = requestIdOf(request.headers);
      return serveEmbeddings(deps(), { apiKey, clientRequestId, body: request.body as EmbeddingsBody, reply, signal: clientGone(reply.raw) });
    },
  );

  app.get(
    "/api/v1/models",
    {
      schema: {
        tags: ["compute"],
        summary: "The models some provider node serves (OpenAI-compatible list)",
        security: [{ apiKey: [] }],
        response: {
          200: Type.Object({
            object: Type.Literal("list"),
            data: Type.Array(
              Type.Object({ id: Type.String(), object: Type.Literal("model"), created: Type.Integer(), owned_by: Type.String(), tiers: Type.Array(Type.String()) }),
            ),
          }),
          ...errorsOf(401),
        },
      },
    },
    async (request) => {
      await ctx.billing.gate.identify(requireApiKey(request));
      const data = ctx.providers.router.models().map((m) => ({ id: m.id, object: "model" as const, created: 0, owned_by: "cxmpute", tiers: [...m.tiers] }));
      return { object: "list" as const, data };
    },
  );
}
