// The metered compute API, shown end to end by a demo endpoint: POST /api/v1/chat/completions
// answers a canned completion (OpenAI's shape) behind the billing gate. The gate checks the API
// key's account can pay (memory only), the request is served, then its usage is metered once per
// request id (x-request-id or idempotency-key; a retry with the same id is not charged again).
import { randomUUID } from "node:crypto";
import { Type, type Static } from "typebox";
import type { AppContext } from "../../app/context.ts";
import { badRequest } from "../../errors.ts";
import { requireApiKey } from "../auth.ts";
import { errors } from "../schemas.ts";
import type { Api } from "../server.ts";

const TIERS = ["tide-pool", "blue-surge", "open-ocean", "mariana-depth"] as const;
const DEFAULT_TIER = "tide-pool";
const DEFAULT_MAX_TOKENS = 256;

const ChatRequest = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 128 }),
    messages: Type.Array(
      Type.Object({ role: Type.Union([Type.Literal("system"), Type.Literal("user"), Type.Literal("assistant")]), content: Type.String({ maxLength: 200_000 }) }, { additionalProperties: false }),
      { minItems: 1, maxItems: 256 },
    ),
    max_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 32_768 })),
    tier: Type.Optional(Type.Union(TIERS.map((t) => Type.Literal(t)), { description: "service tier (GPU class); prices in ../shared/PRICING.md" })),
  },
  { additionalProperties: false },
);
type ChatRequest = Static<typeof ChatRequest>;

const Usage = Type.Object({ prompt_tokens: Type.Integer(), completion_tokens: Type.Integer(), total_tokens: Type.Integer() });
const ChatResponse = Type.Object({
  id: Type.String(),
  object: Type.Literal("chat.completion"),
  created: Type.Integer(),
  model: Type.String(),
  choices: Type.Array(
    Type.Object({ index: Type.Integer(), message: Type.Object({ role: Type.Literal("assistant"), content: Type.String() }), finish_reason: Type.String() }),
  ),
  usage: Usage,
  cxpt: Type.Optional(
    Type.Object({
      requestId: Type.String(),
      billedIn: Type.Union([Type.Literal("cxpt"), Type.Literal("legacy")]),
      costWei: Type.String({ description: "CXPT wei at the current rate (0 when billed in legacy credits)" }),
      costAusd: Type.String({ description: "the USD-pegged price in 1e-18 USD" }),
      charged: Type.Boolean({ description: "false for a repeated request id: not charged again" }),
    }),
  ),
});

const CANNED = "Hello from Cxmpute! This is the demo endpoint: a canned completion, metered and billed in CXPT like a real one.";

/** Rough token count (≈ 4 characters a token), the same on every call: what the demo meters. */
const tokensOf = (text: string): number => Math.ceil(text.length / 4);

function completion(body: ChatRequest, requestId: string) {
  const maxTokens = body.max_tokens ?? DEFAULT_MAX_TOKENS;
  const words = CANNED.split(" ");
  let content = CANNED;
  while (tokensOf(content) > maxTokens && words.length > 1) content = words.splice(0, words.length - 1).join(" ");
  const promptTokens = body.messages.reduce((sum, m) => sum + tokensOf(m.content), 0);
  const completionTokens = Math.min(tokensOf(content), maxTokens);
  return {
    id: `chatcmpl-${requestId}`,
    object: "chat.completion" as const,
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [{ index: 0, message: { role: "assistant" as const, content }, finish_reason: "stop" }],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

function requestIdOf(headers: Record<string, string | string[] | undefined>): string {
  const given = headers["x-request-id"] ?? headers["idempotency-key"];
  if (given === undefined) return randomUUID();
  if (typeof given !== "string" || !/^[\w.:-]{1,200}$/.test(given)) {
    throw badRequest("INVALID_REQUEST_ID", "x-request-id must be 1–200 characters of letters, digits, '.', ':', '_' or '-'");
  }
  return given;
}

const schema = {
  tags: ["compute"],
  summary: "Chat completion (demo: a canned answer), metered and billed",
  description:
    "Send the API key as Authorization: Bearer cxk_…. The gate answers 402 INSUFFICIENT_FUNDS when the account's subscription bucket, credits, or wallet allowance and balance cannot cover its pending usage plus this request (priced at max_tokens), and 402 ACCOUNT_SUSPENDED while a settled PAYG charge is unpaid (details: owedWei, wallet, batches); 503 METERING_UNAVAILABLE when usage cannot be recorded (nothing is charged). Send x-request-id to make retries safe: a request id is charged once.",
  security: [{ apiKey: [] }],
  body: ChatRequest,
  response: { 200: ChatResponse, ...errors(400, 401, 402, 503) },
};

export function computeRoutes(app: Api, ctx: AppContext): void {
  app.post("/api/v1/chat/completions", { schema }, async (request) => {
    const key = requireApiKey(request);
    const requestId = requestIdOf(request.headers);
    const body = request.body;
    const tier = body.tier ?? DEFAULT_TIER;
    const { meter, gate } = ctx.billing;
    const promptTokens = body.messages.reduce((sum, m) => sum + tokensOf(m.content), 0);
    // The gate prices the request at its ceiling (max_tokens); the meter charges what it used.
    const ceiling = meter.quote({ service: "chat", tier, unitsIn: promptTokens, unitsOut: body.max_tokens ?? DEFAULT_MAX_TOKENS });
    const account = await gate.ensureAllowance(key, ceiling);
    const answer = completion(body, requestId);
    const usage = await meter.recordUsage({
      requestId,
      accountId: account.accountId,
      endpoint: "/api/v1/chat/completions",
      service: "chat",
      tier,
      unitsIn: answer.usage.prompt_tokens,
      unitsOut: answer.usage.completion_tokens,
      billedIn: account.billedIn,
    });
    return {
      ...answer,
      cxpt: { requestId, billedIn: account.billedIn, costWei: usage.costWei.toString(), costAusd: usage.costAusd.toString(), charged: usage.recorded },
    };
  });
}

/** The same demo answer without the gate or the meter: the baseline `npm run bench:metering` compares against. */
export function ungatedComputeRoutes(app: Api): void {
  app.post("/bench/ungated/chat/completions", { schema: { ...schema, hide: true, security: [] } }, async (request) =>
    completion(request.body, requestIdOf(request.headers)),
  );
}
