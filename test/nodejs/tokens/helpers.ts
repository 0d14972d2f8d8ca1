// Shared by the backend chain-service tests (tokens, rewards/backend, subscriptions/backend):
// AppError assertions, mempool control on the in-process chain, and a tiny JSON HTTP server.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Hex } from "viem";
import { AppError } from "../../../src/errors.ts";
import { connection, networkHelpers } from "../helpers/fixture.ts";

/** Asserts that `promise` rejects with AppError `code` and HTTP `status`; returns the error. */
export async function rejectsWith(promise: Promise<unknown>, code: string, status: number): Promise<AppError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof AppError, `expected an AppError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.status, status, `${code} status`);
  return caught;
}

const setAutomine = (on: boolean) => connection.provider.request({ method: "evm_setAutomine", params: [on] });

/**
 * Runs `work` with automine off (transactions wait in the mempool until `networkHelpers.mine()`),
 * restoring automine afterwards.
 */
export async function withoutAutomine<T>(work: () => Promise<T>): Promise<T> {
  await setAutomine(false);
  try {
    return await work();
  } finally {
    await setAutomine(true);
  }
}

/**
 * Sends a transaction that reverts on chain (with automine off the node cannot refuse it up front)
 * and mines it; returns its hash.
 */
export function minedRevert(send: () => Promise<Hex>): Promise<Hex> {
  return withoutAutomine(async () => {
    const hash = await send();
    await networkHelpers.mine();
    return hash;
  });
}

/** A request as the JSON server sees it. */
export interface JsonRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingMessage["headers"];
  readonly body: unknown;
}

/** What a handler answers: a status and a JSON body, or a raw text body. */
export type JsonAnswer = { status: number; json: unknown } | { status: number; text: string };

/** A local HTTP server answering JSON through `handle`; `url` is its base, `close()` stops it. */
export async function jsonServer(handle: (request: JsonRequest) => Promise<JsonAnswer> | JsonAnswer) {
  const requests: JsonRequest[] = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const request: JsonRequest = {
      method: req.method ?? "GET",
      url: new URL(req.url ?? "/", "http://localhost"),
      headers: req.headers,
      body: raw === "" ? undefined : JSON.parse(raw),
    };
    requests.push(request);
    let answer: JsonAnswer;
    try {
      answer = await handle(request);
    } catch (error) {
      answer = { status: 500, json: { message: error instanceof Error ? error.message : String(error) } };
    }
    const text = "json" in answer ? JSON.stringify(answer.json) : answer.text;
    res.writeHead(answer.status, { "content-type": "json" in answer ? "application/json" : "text/plain" }).end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
