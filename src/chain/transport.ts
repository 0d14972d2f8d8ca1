// How the backend reaches its RPC node: HTTP with a per-request timeout and retries with exponential
// backoff. viem's transport retries what may pass (a timeout, HTTP 408/429/5xx, JSON-RPC -32603
// internal error, -32005 limit exceeded, unknown errors) and never what will not (an execution
// revert, invalid params, nonce or fee errors): buildRequest's shouldRetry in viem.
import { http, type HttpTransport, type HttpTransportConfig } from "viem";

export interface RpcRetry {
  /** Retries after the first try. */
  readonly retryCount: number;
  /** Base delay in ms: the nth retry waits 2ⁿ × this (250, 500, 1000, 2000, 4000). */
  readonly retryDelay: number;
  /** A request without an answer after this many ms fails (and is retried). */
  readonly timeout: number;
}

/** 5 retries from 250 ms (≈ 8 s of backoff in all), 10 s per request. */
export const RPC_RETRY: RpcRetry = { retryCount: 5, retryDelay: 250, timeout: 10_000 };

/** The HTTP transport to `url` (the chain's default RPC when undefined) with `retry` (RPC_RETRY unless given). */
export function rpcTransport(url: string | undefined, retry: Partial<RpcRetry> = {}): HttpTransport {
  const config: HttpTransportConfig = { ...RPC_RETRY, ...retry };
  return http(url, config);
}
