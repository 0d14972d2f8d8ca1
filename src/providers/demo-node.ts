// The demo provider node: a small OpenAI-compatible inference server the project ships, so that a
// fresh `npm start` and the tests have a real node to route to. Its answers are deterministic (the
// same request gives the same text, token by token, and the same embedding), its token counts are
// exact (one word of output is one token), and it streams server-sent events like OpenAI's API,
// with the usage chunk when `stream_options.include_usage` is set. It is not inference: it is the
// node side of the protocol, real over HTTP.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface DemoNodeOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /** The model names it serves; default DEMO_MODELS. */
  readonly models?: readonly string[];
  /** Pause between streamed tokens (ms); default 0. Tests slow it down to cut a stream half-way. */
  readonly tokenDelayMs?: number;
  /** Words in a full answer before max_tokens cuts it; default 24. */
  readonly answerWords?: number;
}

export interface DemoNode {
  /** The OpenAI-compatible base URL, e.g. http://127.0.0.1:41234/v1 */
  readonly baseUrl: string;
  readonly server: Server;
  /** Requests answered so far (chat and embeddings). */
  served(): number;
  close(): Promise<void>;
}

export const DEMO_MODELS = ["llama-3.1-8b-instruct", "mistral-7b-instruct", "nomic-embed-text"] as const;
/** Dimensions of every demo embedding. */
export const DEMO_EMBEDDING_DIMENSIONS = 16;

const WORDS = (
  "Cxmpute routes this request to a community GPU node which answers it token by token while the gateway meters " +
  "every token and bills the account in CXPT at the tier price of the node that served it"
).split(" ");

/** Prompt tokens as the demo node counts them: ⌈characters / 4⌉ per message, at least 1. */
export function demoPromptTokens(texts: readonly string[]): number {
  return texts.reduce((sum, text) => sum + Math.max(1, Math.ceil(text.length / 4)), 0);
}

/** The words of the demo answer to `seed`, at most `max` of them. */
export function demoAnswer(seed: string, max: number, answerWords = 24): string[] {
  const start = createHash("sha256").update(seed).digest()[0] % WORDS.length;
  const count = Math.max(0, Math.min(max, answerWords));
  return Array.from({ length: count }, (_, i) => WORDS[(start + i) % WORDS.length]);
}

/** The demo embedding of one input: DEMO_EMBEDDING_DIMENSIONS floats in [-1, 1), from its hash. */
export function demoEmbedding(input: string): number[] {
  const digest = createHash("sha256").update(input).digest();
  return Array.from({ length: DEMO_EMBEDDING_DIMENSIONS }, (_, i) => (digest.readUInt16BE(i * 2) - 32_768) / 32_768);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

const fail = (res: ServerResponse, status: number, message: string, type = "invalid_request_error") =>
  sendJson(res, status, { error: { message, type, code: null } });

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 4 << 20) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    return typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const contentOf = (message: unknown): string => {
  const content = (message as { content?: unknown } | null)?.content;
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((part) => (typeof part?.text === "string" ? part.text : "")).join("");
  return "";
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a demo node; resolves once it listens. */
export async function startDemoNode(options: DemoNodeOptions = {}): Promise<DemoNode> {
  const { host = "127.0.0.1", port = 0, models = DEMO_MODELS, tokenDelayMs = 0, answerWords = 24 } = options;
  const known = new Set(models);
  let served = 0;

  async function chat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req);
    if (!body || !Array.isArray(body.messages) || typeof body.model !== "string") return fail(res, 400, "model and messages are required");
    if (!known.has(body.model)) return fail(res, 404, `The model \`${body.model}\` does not exist`);
    const texts = body.messages.map(contentOf);
    const maxTokens = Number(body.max_completion_tokens ?? body.max_tokens ?? 256);
    const words = demoAnswer(texts.join("\n"), Number.isSafeInteger(maxTokens) && maxTokens > 0 ? maxTokens : 256, answerWords);
    const usage = { prompt_tokens: demoPromptTokens(texts), completion_tokens: words.length, total_tokens: 0 };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const finish = words.length < answerWords ? "length" : "stop";
    const id = `chatcmpl-demo-${createHash("sha256").update(JSON.stringify(body)).digest("hex").slice(0, 16)}`;
    const created = Math.floor(Date.now() / 1000);
    served++;
    if (body.stream !== true) {
      const message = { role: "assistant", content: words.join(" ") };
      return sendJson(res, 200, { id, object: "chat.completion", created, model: body.model, choices: [{ index: 0, message, finish_reason: finish }], usage });
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    const chunk = (delta: object, finishReason: string | null, extra: object = {}) =>
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: body.model, choices: [{ index: 0, delta, finish_reason: finishReason }], ...extra })}\n\n`;
    res.write(chunk({ role: "assistant", content: "" }, null));
    for (let i = 0; i < words.length; i++) {
      if (tokenDelayMs > 0) await sleep(tokenDelayMs);
      if (res.destroyed) return;
      res.write(chunk({ content: i === 0 ? words[i] : ` ${words[i]}` }, null));
    }
    res.write(chunk({}, finish));
    const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
    if (streamOptions?.include_usage === true)
      res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: body.model, choices: [], usage })}\n\n`);
    res.end("data: [DONE]\n\n");
  }

  async function embeddings(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req);
    if (!body || typeof body.model !== "string") return fail(res, 400, "model and input are required");
    if (!known.has(body.model)) return fail(res, 404, `The model \`${body.model}\` does not exist`);
    const input = body.input;
    const inputs = typeof input === "string" ? [input] : Array.isArray(input) ? input.map((item) => (typeof item === "string" ? item : JSON.stringify(item))) : undefined;
    if (!inputs || inputs.length === 0) return fail(res, 400, "input must be a string or an array");
    const base64 = body.encoding_format === "base64";
    served++;
    const data = inputs.map((text, index) => {
      const vector = demoEmbedding(text);
      const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector;
      return { object: "embedding", index, embedding };
    });
    const promptTokens = demoPromptTokens(inputs);
    sendJson(res, 200, { object: "list", data, model: body.model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } });
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0].replace(/\/+$/, "");
    const route =
      req.method === "GET" && path === "/v1/models"
        ? async () => sendJson(res, 200, { object: "list", data: [...known].map((id) => ({ id, object: "model", created: 0, owned_by: "cxmpute-demo" })) })
        : req.method === "POST" && path === "/v1/chat/completions"
          ? () => chat(req, res)
          : req.method === "POST" && path === "/v1/embeddings"
            ? () => embeddings(req, res)
            : async () => fail(res, 404, `No route ${req.method} ${path}`);
    route().catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    baseUrl: `http://${host}:${address.port}/v1`,
    server,
    served: () => served,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
