// Errors as OpenAI's API answers them, so OpenAI clients raise the right exception: the body is
// `{ error: { message, type, code, param } }`, where `code` is this API's UPPER_SNAKE code and
// `type` is OpenAI's class of error. Rate-limit headers are the ones OpenAI clients read.
import type { FastifyReply } from "fastify";
import { AppError } from "../errors.ts";
import type { RateState } from "../billing/meter-store.ts";

export type OpenAiErrorType = "invalid_request_error" | "authentication_error" | "rate_limit_error" | "insufficient_quota" | "api_error";

export interface OpenAiErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: OpenAiErrorType;
    readonly code: string;
    readonly param: string | null;
    readonly details?: Readonly<Record<string, unknown>>;
  };
}

/** OpenAI's type for an HTTP status. */
export function openAiType(status: number): OpenAiErrorType {
  if (status === 401) return "authentication_error";
  if (status === 402) return "insufficient_quota";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "api_error";
  return "invalid_request_error";
}

/** The OpenAI-shaped body of an AppError. */
export function openAiError(error: AppError): OpenAiErrorBody {
  return {
    error: {
      message: error.message,
      type: openAiType(error.status),
      code: error.code,
      param: null,
      ...(error.details ? { details: error.details } : {}),
    },
  };
}

/** `x-ratelimit-*` headers (OpenAI's names) for a rate state, and `retry-after` (seconds) on a 429. */
export function rateHeaders(rate: RateState, refused: boolean): Record<string, string> {
  const reset = `${Math.max(0, Math.ceil(rate.resetMs / 1000))}s`;
  return {
    "x-ratelimit-limit-requests": String(rate.limit),
    "x-ratelimit-remaining-requests": String(rate.remaining),
    "x-ratelimit-reset-requests": reset,
    ...(refused ? { "retry-after": String(Math.max(1, Math.ceil(rate.resetMs / 1000))) } : {}),
  };
}

/** Sends an AppError in OpenAI's shape, with rate headers when it carries a rate state (429). */
export function sendOpenAiError(reply: FastifyReply, error: AppError): FastifyReply {
  const details = error.details as { limit?: number; remaining?: number; resetMs?: number } | undefined;
  if (error.status === 429 && details?.limit !== undefined)
    reply.headers(rateHeaders({ limit: details.limit, remaining: details.remaining ?? 0, resetMs: details.resetMs ?? 1000 }, true));
  return reply.status(error.status).send(openAiError(error));
}
