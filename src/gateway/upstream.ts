// Calling a provider node: one OpenAI-compatible POST, with a deadline for the first byte (past it,
// the gateway tries the next node) and an abort signal for the whole call (the client went away, or
// the request ran past its limit). Every connection goes through the operator's allow-list: an IP
// literal is checked before connecting, a host name each time it resolves (a name that later points
// at a private address is refused). Streams are read as server-sent events, one `data:` payload at a time.
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { Readable } from "node:stream";
import { assertNodeAddressAllowed, guardedLookup, type AddressPolicy } from "../providers/allow.ts";
import type { RoutableNode } from "../providers/router.ts";

/** The node could not answer: unreachable, too slow, or an error status (the request was not served). */
export class UpstreamError extends Error {
  readonly status: number | undefined;
  /** The node's own error body, passed on for 4xx answers (the client's request was at fault). */
  readonly body: unknown;
  constructor(message: string, status?: number, body?: unknown) {
    super(message);
    this.name = "UpstreamError";
    this.status = status;
    this.body = body;
  }
  /** A 4xx is the request's fault: another node would refuse it too. */
  get clientFault(): boolean {
    return this.status !== undefined && this.status >= 400 && this.status < 500 && this.status !== 408 && this.status !== 429;
  }
}

export interface UpstreamRequest {
  readonly node: RoutableNode;
  readonly path: "/chat/completions" | "/embeddings";
  /** The request, serialized once (the ceiling is counted on it, and failover resends it). */
  readonly payload: string;
  /** Aborts the whole call. */
  readonly signal: AbortSignal;
  /** How long to wait for the node's response headers. */
  readonly connectTimeoutMs: number;
  /** The addresses the backend may call nodes at. */
  readonly policy: AddressPolicy;
}

/** POSTs JSON over node:http(s) with the guarded lookup; the answer as a fetch Response (headers in). */
async function post(url: URL, body: string, policy: AddressPolicy, signal: AbortSignal): Promise<Response> {
  if (isIP(url.hostname.replace(/^\[(.*)\]$/, "$1")) !== 0) await assertNodeAddressAllowed(url, policy);
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", "content-length": Buffer.byteLength(body) };
    const req = request(url, { method: "POST", headers, lookup: guardedLookup(policy), signal }, (res: IncomingMessage) => {
      const status = res.statusCode ?? 502;
      // A redirect would bounce the gateway to another address: refused like an error status.
      const stream = status === 204 || status === 304 ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
      resolve(new Response(stream, { status: status >= 300 && status < 400 ? 502 : status, headers: { "content-type": String(res.headers["content-type"] ?? "") } }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** POSTs to the node; resolves with its response once the headers arrived with a 2xx status. */
export async function callNode(request: UpstreamRequest): Promise<Response> {
  const { node, path, payload, signal, connectTimeoutMs, policy } = request;
  const headersDue = new AbortController();
  const timer = setTimeout(() => headersDue.abort(new Error(`no answer within ${connectTimeoutMs} ms`)), connectTimeoutMs);
  let response: Response;
  try {
    response = await post(new URL(`${node.baseUrl}${path}`), payload, policy, AbortSignal.any([signal, headersDue.signal]));
  } catch (error) {
    throw new UpstreamError(`node ${node.id} unreachable: ${reason(error)}`);
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) {
    const text = await response.text().catch(() => "");
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    throw new UpstreamError(`node ${node.id} answered ${response.status}`, response.status, parsed);
  }
  return response;
}

const reason = (error: unknown): string => {
  const cause = (error as { cause?: unknown })?.cause;
  return cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
};

/** The `data:` payloads of a server-sent event stream, as they arrive (`[DONE]` included). */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      const data = event
        .split(/\r?\n/)
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, ""))
        .join("\n");
      if (data !== "") yield data;
    }
  }
}
