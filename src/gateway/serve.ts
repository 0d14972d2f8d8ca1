// The compute gateway's flow for one request: authorize its ceiling (the gate), route it to a healthy
// node serving the model (failing over before any output), proxy it (streams passed through as they
// arrive), capture the tokens actually used at the serving node's tier price, and record the served
// work for the provider's rewards. Nothing is charged for a request that fails before any output.
import type { FastifyReply } from "fastify";
import type { Authorization, Gate } from "../billing/gate.ts";
import type { Meter, UsageResult } from "../billing/meter.ts";
import type { GatewayConfig } from "../config/config.ts";
import { AppError, notFound, unavailable } from "../errors.ts";
import type { Logger } from "../monitoring/index.ts";
import type { AddressPolicy } from "../providers/allow.ts";
import { TIERS, type NodeLease, type NodeRouter, type ServedWorkRecorder, type Tier } from "../providers/router.ts";
import { rateHeaders } from "./openai-errors.ts";
import { callNode, sseData, UpstreamError } from "./upstream.ts";

export interface GatewayDeps {
  readonly gate: Gate;
  readonly meter: Meter;
  readonly router: NodeRouter;
  readonly served: ServedWorkRecorder;
  readonly config: GatewayConfig;
  /** The operator's allow-list for node addresses. */
  readonly policy: AddressPolicy;
  readonly log: Logger;
}

/** What the gateway adds to an answer: how the request was billed. */
export interface Receipt {
  readonly requestId: string;
  readonly billedIn: "cxpt" | "legacy";
  readonly tier: Tier;
  readonly costWei: string;
  readonly costAusd: string;
  readonly charged: boolean;
}

/** Nodes tried before giving up with 503 NO_PROVIDER_AVAILABLE. */
const MAX_ATTEMPTS = 3;

/**
 * Prompt tokens a request can make at most: one per byte of the request the node receives (no
 * tokenizer makes more tokens than bytes), so messages, content parts and tools all count.
 */
export const promptTokenCeiling = (payload: string): number => Buffer.byteLength(payload, "utf8");

/** Prompt tokens the gateway counts when a node did not report usage: ⌈characters / 4⌉ per text, at least 1. */
export const promptTokenEstimate = (texts: readonly string[]): number => texts.reduce((sum, text) => sum + Math.max(1, Math.ceil(text.length / 4)), 0);

/** The dearest of the tiers (the ceiling is priced there; capture uses the node's own). */
const dearest = (tiers: readonly Tier[]): Tier => tiers.reduce((a, b) => (TIERS.indexOf(b) > TIERS.indexOf(a) ? b : a));

/** Checks the model is served at all (404 MODEL_NOT_FOUND); returns the tier to price the ceiling at. */
export function ceilingTier(router: NodeRouter, model: string, tier: Tier | undefined): Tier {
  if (!router.serves(model)) throw notFound("MODEL_NOT_FOUND", `The model ${model} is not served by any provider node; GET /api/v1/models lists the models`);
  const tiers = tier !== undefined ? [tier] : router.tiersOf(model);
  if (tiers.length === 0) throw unavailable("NO_PROVIDER_AVAILABLE", `no provider node serves ${model} in tier ${tier}`);
  return dearest(tiers);
}

interface Attempt {
  readonly lease: NodeLease;
  readonly response: Response;
  readonly latencyMs: number;
}

/** Routes to the best node and fails over (at most MAX_ATTEMPTS nodes) until one answers 2xx. */
async function route(
  deps: GatewayDeps,
  model: string,
  options: { tier: Tier | undefined; subscriber: boolean; path: "/chat/completions" | "/embeddings"; payload: string; signal: AbortSignal },
): Promise<Attempt> {
  const exclude = new Set<string>();
  let last: UpstreamError | undefined;
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    const lease = deps.router.acquire(model, { tier: options.tier, exclude, priority: options.subscriber ? "subscriber" : "payg" });
    if (lease === undefined) break;
    const startedAt = Date.now();
    try {
      const response = await callNode({ node: lease.node, path: options.path, payload: options.payload, signal: options.signal, connectTimeoutMs: deps.config.connectTimeoutMs, policy: deps.policy });
      return { lease, response, latencyMs: Date.now() - startedAt };
    } catch (error) {
      lease.release();
      if (options.signal.aborted) throw error;
      if (!(error instanceof UpstreamError)) throw error;
      if (error.clientFault) throw new AppError("UPSTREAM_REJECTED", upstreamMessage(error), error.status ?? 400);
      deps.router.reportFailure(lease.node.id);
      exclude.add(lease.node.id);
      last = error;
      deps.log.warn({ component: "gateway", node: lease.node.id, err: error.message }, "node failed; trying the next one");
    }
  }
  throw unavailable(
    "NO_PROVIDER_AVAILABLE",
    `every provider node serving ${model}${options.tier ? ` in tier ${options.tier}` : ""} is busy or down${last ? ` (last: ${last.message})` : ""}; nothing was charged, retry shortly`,
  );
}

const upstreamMessage = (error: UpstreamError): string => {
  const message = (error.body as { error?: { message?: unknown } } | undefined)?.error?.message;
  return typeof message === "string" ? `the provider node refused the request: ${message}` : error.message;
};

/** Captures the usage at the serving node's tier, ending the request's hold. */
async function capture(deps: GatewayDeps, auth: Authorization, model: string, endpoint: string, service: string, tier: Tier, unitsIn: number, unitsOut: number): Promise<UsageResult> {
  return deps.meter.recordUsage({
    requestId: auth.requestId, accountId: auth.accountId, endpoint, service, tier, unitsIn, unitsOut,
    billedIn: auth.billedIn, pool: auth.pool, apiKeyId: auth.apiKeyId, model,
  });
}

function receipt(clientRequestId: string, auth: Authorization, tier: Tier, usage: UsageResult): Receipt {
  return { requestId: clientRequestId, billedIn: auth.billedIn, tier, costWei: usage.costWei.toString(), costAusd: usage.costAusd.toString(), charged: usage.recorded };
}

/** A chat request as the gateway reads it (every other field is passed through to the node). */
export interface ChatBody {
  readonly model: string;
  readonly messages: readonly { readonly role: string; readonly content?: unknown }[];
  readonly max_tokens?: number;
  readonly max_completion_tokens?: number;
  readonly stream?: boolean;
  readonly stream_options?: { readonly include_usage?: boolean };
  readonly tier?: Tier;
  readonly [field: string]: unknown;
}

/** The text of a message's content (a string, or the text parts of an array). */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((part) => (typeof part?.text === "string" ? part.text : "")).join("");
  return "";
}

export interface ChatCall {
  readonly apiKey: string;
  readonly clientRequestId: string;
  readonly body: ChatBody;
  readonly reply: FastifyReply;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

/** Serves POST /chat/completions; sends the answer itself (JSON, or a stream). */
export async function serveChat(deps: GatewayDeps, call: ChatCall): Promise<void> {
  const { apiKey, clientRequestId, body, reply, signal } = call;
  const texts = body.messages.map((m) => contentText(m.content));
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? deps.config.defaultMaxTokens;
  const pricedTier = ceilingTier(deps.router, body.model, body.tier);
  const { tier: _tier, ...forwarded } = body;
  // The node may not produce more than was reserved; a stream always reports its usage to the gateway.
  const payload = JSON.stringify({
    ...forwarded,
    ...(body.max_completion_tokens !== undefined ? { max_completion_tokens: maxTokens } : { max_tokens: maxTokens }),
    ...(body.stream ? { stream_options: { ...body.stream_options, include_usage: true } } : {}),
  });
  const promptCeiling = promptTokenCeiling(payload);
  const ceiling = deps.meter.quote({ service: "chat", tier: pricedTier, unitsIn: promptCeiling, unitsOut: maxTokens });
  const auth = await deps.gate.authorize(apiKey, ceiling, clientRequestId);
  const deadline = AbortSignal.any([signal, AbortSignal.timeout(deps.config.requestTimeoutMs)]);
  let attempt: Attempt;
  try {
    attempt = await route(deps, body.model, { tier: body.tier, subscriber: auth.subscriber, path: "/chat/completions", payload, signal: deadline });
  } catch (error) {
    await deps.gate.release(auth).catch(() => {}); // an expiring hold releases it anyway
    throw error;
  }
  const { lease } = attempt;
  const tier = lease.node.tier;
  const headers = { ...rateHeaders(auth.rate, false), "x-request-id": clientRequestId };
  try {
    if (body.stream === true) {
      await streamChat(deps, { auth, attempt, reply, headers, clientRequestId, model: body.model, promptCeiling, maxTokens, texts, includeUsage: body.stream_options?.include_usage === true, signal });
      return;
    }
    const answer = (await attempt.response.json().catch(() => {
      throw unavailable("UPSTREAM_INVALID", "the provider node's answer was not JSON; nothing was charged");
    })) as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } };
    const unitsIn = clampTokens(answer.usage?.prompt_tokens, promptCeiling, promptTokenEstimate(texts));
    const unitsOut = clampTokens(answer.usage?.completion_tokens, maxTokens, maxTokens);
    const usage = await capture(deps, auth, body.model, "/api/v1/chat/completions", "chat", tier, unitsIn, unitsOut);
    recordServed(deps, auth, attempt, unitsIn + unitsOut);
    await reply.headers(headers).status(200).send({ ...answer, cxpt: receipt(clientRequestId, auth, tier, usage) });
  } catch (error) {
    await deps.gate.release(auth).catch(() => {});
    throw error;
  } finally {
    lease.release();
  }
}

/** A node's reported count, bounded by what was reserved; `fallback` when it reported none. */
function clampTokens(reported: unknown, ceiling: number, fallback: number): number {
  const value = typeof reported === "number" && Number.isSafeInteger(reported) && reported >= 0 ? reported : fallback;
  return Math.min(value, ceiling);
}

function recordServed(deps: GatewayDeps, auth: Authorization, attempt: Attempt, tokens: number): void {
  const { node } = attempt.lease;
  deps.served.record({ requestId: auth.requestId, nodeId: node.id, providerAccountId: node.providerAccountId, tier: node.tier, at: Date.now(), tokens, latencyMs: attempt.latencyMs });
}

interface StreamCall {
  readonly auth: Authorization;
  readonly model: string;
  readonly attempt: Attempt;
  readonly reply: FastifyReply;
  readonly headers: Record<string, string>;
  readonly clientRequestId: string;
  readonly promptCeiling: number;
  readonly maxTokens: number;
  readonly texts: readonly string[];
  /** Whether the client asked for the usage chunk (the gateway always asks the node for it). */
  readonly includeUsage: boolean;
  readonly signal: AbortSignal;
}

/**
 * Passes the node's events through as they arrive and captures at the end: the node's usage when it
 * finished, else the tokens delivered (one per content chunk). A node that fails mid-stream gives
 * the client an error event and charges only the completion tokens delivered; a client that leaves
 * mid-stream is charged its prompt and the tokens delivered until then.
 */
async function streamChat(deps: GatewayDeps, s: StreamCall): Promise<void> {
  const { auth, attempt, reply, clientRequestId, promptCeiling, maxTokens } = s;
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, { ...s.headers, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" });
  let delivered = 0;
  let usage: { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined;
  let failure: string | undefined;
  let done = false;
  try {
    for await (const data of sseData(attempt.response.body as ReadableStream<Uint8Array>)) {
      if (data === "[DONE]") {
        done = true;
        break;
      }
      let chunk: { choices?: { delta?: { content?: unknown } }[]; usage?: typeof usage };
      try {
        chunk = JSON.parse(data);
      } catch {
        failure = "the provider node sent a malformed event";
        break;
      }
      if (chunk.usage) usage = chunk.usage;
      const isUsageChunk = Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage !== undefined;
      if (chunk.choices?.some((c) => typeof c.delta?.content === "string" && c.delta.content !== "")) delivered++;
      if (isUsageChunk && !s.includeUsage) continue;
      if (!raw.write(`data: ${data}\n\n`)) await new Promise((resolve) => raw.once("drain", resolve));
    }
    if (!done && failure === undefined && !s.signal.aborted) failure = "the provider node closed the stream early";
  } catch (error) {
    if (!s.signal.aborted) failure = `the provider node failed mid-stream: ${error instanceof Error ? error.message : String(error)}`;
  }
  const clientLeft = s.signal.aborted && !done;
  const completed = done && failure === undefined;
  const unitsOut = completed ? clampTokens(usage?.completion_tokens, maxTokens, Math.min(delivered, maxTokens)) : Math.min(delivered, maxTokens);
  const unitsIn = completed ? clampTokens(usage?.prompt_tokens, promptCeiling, promptTokenEstimate(s.texts)) : clientLeft ? promptTokenEstimate(s.texts) : 0;
  if (failure !== undefined) deps.router.reportFailure(attempt.lease.node.id);
  let result: UsageResult | undefined;
  if (unitsIn + unitsOut > 0) {
    try {
      result = await capture(deps, auth, s.model, "/api/v1/chat/completions", "chat", attempt.lease.node.tier, unitsIn, unitsOut);
      recordServed(deps, auth, attempt, unitsIn + unitsOut);
    } catch (error) {
      // Delivered but not captured: the hold stays until it expires; the loss is logged to be billed by hand.
      deps.log.error({ component: "gateway", requestId: auth.requestId, accountId: auth.accountId, unitsIn, unitsOut, err: error }, "streamed usage could not be captured");
    }
  } else await deps.gate.release(auth).catch(() => {});
  if (!raw.destroyed) {
    if (failure !== undefined) {
      const event = { error: { message: `${failure}; charged only for the ${unitsOut} token(s) delivered`, type: "api_error", code: "UPSTREAM_FAILED", param: null } };
      raw.write(`data: ${JSON.stringify(event)}\n\n`);
    } else if (result) raw.write(`: cxpt ${JSON.stringify(receipt(clientRequestId, auth, attempt.lease.node.tier, result))}\n\n`);
    raw.end(failure === undefined ? "data: [DONE]\n\n" : undefined);
  }
}

/** An embeddings request as the gateway reads it. */
export interface EmbeddingsBody {
  readonly model: string;
  readonly input: string | readonly string[] | readonly number[] | readonly (readonly number[])[];
  readonly encoding_format?: "float" | "base64";
  readonly tier?: Tier;
  readonly [field: string]: unknown;
}

/** Serves POST /embeddings; returns the answer with its receipt. */
export async function serveEmbeddings(deps: GatewayDeps, call: Omit<ChatCall, "body" | "reply"> & { readonly body: EmbeddingsBody; readonly reply: FastifyReply }) {
  const { apiKey, clientRequestId, body, reply, signal } = call;
  ceilingTier(deps.router, body.model, body.tier); // 404 MODEL_NOT_FOUND before anything is reserved
  const { tier: _tier, ...forwarded } = body;
  const payload = JSON.stringify(forwarded);
  const tokenCeiling = promptTokenCeiling(payload); // token ids and texts alike take at least a byte a token
  const ceiling = deps.meter.quote({ service: "embeddings", unitsIn: tokenCeiling, unitsOut: 0 });
  const auth = await deps.gate.authorize(apiKey, ceiling, clientRequestId);
  const deadline = AbortSignal.any([signal, AbortSignal.timeout(deps.config.requestTimeoutMs)]);
  let attempt: Attempt | undefined;
  try {
    attempt = await route(deps, body.model, { tier: body.tier, subscriber: auth.subscriber, path: "/embeddings", payload, signal: deadline });
    const answer = (await attempt.response.json().catch(() => {
      throw unavailable("UPSTREAM_INVALID", "the provider node's answer was not JSON; nothing was charged");
    })) as { usage?: { prompt_tokens?: unknown } };
    const units = clampTokens(answer.usage?.prompt_tokens, tokenCeiling, promptTokenEstimate([payload]));
    const usage = await capture(deps, auth, body.model, "/api/v1/embeddings", "embeddings", attempt.lease.node.tier, units, 0);
    recordServed(deps, auth, attempt, units);
    reply.headers({ ...rateHeaders(auth.rate, false), "x-request-id": clientRequestId });
    return { ...answer, cxpt: receipt(clientRequestId, auth, attempt.lease.node.tier, usage) };
  } catch (error) {
    await deps.gate.release(auth).catch(() => {});
    throw error;
  } finally {
    attempt?.lease.release();
  }
}
