// What keeps one client from hurting the API: timeouts for slow or silent connections, a cap on
// connections per IP, the documented error shape for everything the HTTP parser and router refuse
// before a route runs, and a guard against text no field may hold (control characters, unpaired
// surrogates) or JSON nested too deep to walk.
import { STATUS_CODES, type ServerOptions } from "node:http";
import type { Server, Socket } from "node:net";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { ApiConfig } from "../config/config.ts";
import { AppError, badRequest } from "../errors.ts";
import { hasBadText } from "../text.ts";

/** Deepest JSON nesting any request may carry; no route's input comes near it. */
export const MAX_JSON_DEPTH = 32;


/**
 * Refuses `value` (a parsed body, query or params) with 400 `INVALID_TEXT` if a key or string in it
 * holds a control character or an unpaired surrogate (PostgreSQL cannot store them, and no field
 * needs them), or 400 `JSON_TOO_DEEP` past MAX_JSON_DEPTH. Iterative, so no input can overflow the stack.
 */
export function checkInput(value: unknown, where: string): void {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: where, depth: 0 }];
  while (stack.length > 0) {
    const { value: v, path, depth } = stack.pop()!;
    if (typeof v === "string") {
      if (hasBadText(v)) throw badRequest("INVALID_TEXT", `${path} holds a control character or an unpaired surrogate`, { path });
      continue;
    }
    if (typeof v !== "object" || v === null) continue;
    if (depth >= MAX_JSON_DEPTH) throw badRequest("JSON_TOO_DEEP", `${where} is nested deeper than ${MAX_JSON_DEPTH} levels`);
    for (const [key, item] of Object.entries(v)) {
      if (hasBadText(key)) throw badRequest("INVALID_TEXT", `a field name in ${path} holds a control character or an unpaired surrogate`, { path });
      stack.push({ value: item, path: `${path}/${key}`, depth: depth + 1 });
    }
  }
}

/** A preValidation hook: every body, query and params go through checkInput. */
export async function inputGuard(request: FastifyRequest): Promise<void> {
  checkInput(request.params, "params");
  checkInput(request.query, "query");
  checkInput(request.body, "body");
}

/** Codes for Fastify's own 4xx errors (body parsing mostly); others lose their FST_ERR_ prefix. */
const FRAMEWORK_CODES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: "INVALID_JSON",
  FST_ERR_CTP_EMPTY_JSON_BODY: "INVALID_JSON",
  FST_ERR_CTP_BODY_TOO_LARGE: "BODY_TOO_LARGE",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "INVALID_CONTENT_LENGTH",
  FST_ERR_CTP_EMPTY_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_INVALID_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_BAD_URL: "INVALID_URL",
  FST_ERR_MAX_PARAM_LENGTH: "URI_TOO_LONG",
};

/** The UPPER_SNAKE code for a Fastify error (`FST_ERR_CTP_BODY_TOO_LARGE` → `BODY_TOO_LARGE`). */
export function frameworkCode(error: FastifyError): string {
  const code = error.code ?? "";
  if (FRAMEWORK_CODES[code] !== undefined) return FRAMEWORK_CODES[code];
  if (error.statusCode === 429) return "RATE_LIMITED";
  // JSON.parse failures that reach us without a Fastify code (a SyntaxError with statusCode 400).
  if (code === "" && error.name === "SyntaxError") return "INVALID_JSON";
  const bare = code.replace(/^FST_ERR_/, "").replace(/[^A-Z0-9_]/gi, "_").toUpperCase();
  return bare === "" ? "BAD_REQUEST" : bare;
}

/** Fastify's frameworkErrors: a bad URL encoding (400) or an over-long path parameter (414), in the error shape. */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : error.code === "FST_ERR_MAX_PARAM_LENGTH" ? 414 : 400;
  const message = error.code === "FST_ERR_MAX_PARAM_LENGTH" ? "A path parameter is too long" : "The URL is not validly encoded";
  void reply.status(status).send({ error: { code: frameworkCode(error), message } });
}

/** A complete HTTP/1.1 error answer with the error shape, written to a socket the parser gave up on. */
export function rawErrorResponse(status: number, code: string, message: string, headers: Record<string, string> = {}): string {
  const body = JSON.stringify({ error: { code, message } });
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("");
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`;
}

/** What the HTTP parser refused, as status, code and message. */
function parserError(error: Error & { code?: string }): [number, string, string] {
  switch (error.code) {
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return [408, "REQUEST_TIMEOUT", "The request did not arrive in time"];
    case "HPE_HEADER_OVERFLOW":
      return [431, "HEADERS_TOO_LARGE", "The request headers are too large"];
    case "HPE_URI_TOO_LONG":
      return [414, "URI_TOO_LONG", "The URL is too long"];
    case "HPE_INVALID_METHOD":
      return [400, "INVALID_METHOD", "The HTTP method is not one this server knows"];
    default:
      return [400, "MALFORMED_REQUEST", "The request is not valid HTTP/1.1"];
  }
}

/** Fastify's clientErrorHandler: what the HTTP parser refuses is answered in the error shape, then the socket closes. */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const [status, code, message] = parserError(error);
  if (socket.writable) socket.write(rawErrorResponse(status, code, message));
  socket.destroy();
}

/** Node's HTTP server options for `api`: how long a request may take to arrive, checked often enough to matter. */
export function httpOptions(api: ApiConfig): ServerOptions {
  const shortest = Math.min(api.requestTimeoutMs, api.headersTimeoutMs);
  return {
    requestTimeout: api.requestTimeoutMs,
    // Node refuses a headers timeout above the request timeout.
    headersTimeout: Math.min(api.headersTimeoutMs, api.requestTimeoutMs),
    connectionsCheckingInterval: Math.max(50, Math.min(5_000, Math.floor(shortest / 4))),
  };
}

/**
 * Caps the connections one IP holds open: one over `max` is answered 429 `TOO_MANY_CONNECTIONS`
 * and closed, before the HTTP parser sees it.
 */
export function capConnections(server: Server, max: number): void {
  const open = new Map<string, number>();
  server.on("connection", (socket: Socket) => {
    const ip = socket.remoteAddress ?? "unknown";
    const count = (open.get(ip) ?? 0) + 1;
    if (count > max) {
      socket.end(rawErrorResponse(429, "TOO_MANY_CONNECTIONS", `At most ${max} open connections per client`, { "Retry-After": "1" }));
      return;
    }
    open.set(ip, count);
    socket.once("close", () => {
      const left = (open.get(ip) ?? 1) - 1;
      if (left <= 0) open.delete(ip);
      else open.set(ip, left);
    });
  });
}

/** An error raised by the rate limiter (`errorResponseBuilder`): 429 `RATE_LIMITED` with the wait. */
export const rateLimited = (retryAfterSeconds: number) =>
  new AppError("RATE_LIMITED", `Too many requests: retry in ${retryAfterSeconds} s`, 429, { retryAfterSeconds });
