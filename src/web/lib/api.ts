// The dashboards' HTTP client for the CXPT API on the same origin. Every failure becomes an ApiError
// carrying the API's machine-readable code and human message, or NETWORK_ERROR when no answer came.

/** An API answer other than 2xx, or no answer at all (status 0, code NETWORK_ERROR). */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export interface RequestOptions {
  readonly method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Sent as JSON. */
  readonly body?: unknown;
  /** A session token (cxs_…) or API key (cxk_…). */
  readonly token?: string | undefined;
  readonly signal?: AbortSignal;
}

/** apiFetch bound to a session's token (useApi): what the dashboards' modules take to reach the API. */
export type Api = <T>(path: string, options?: Omit<RequestOptions, "token">) => Promise<T>;

/** Calls `path` (e.g. /api/v1/tokens/balance) and returns its JSON body; throws ApiError otherwise. */
export async function apiFetch<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if ((error as { name?: unknown }).name === "AbortError") throw error;
    throw new ApiError(0, "NETWORK_ERROR", "The Cxmpute API could not be reached: check your connection and try again.");
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined)?.error;
    throw new ApiError(response.status, error?.code ?? `HTTP_${response.status}`, error?.message ?? `The API answered ${response.status} ${response.statusText}`, error?.details);
  }
  return body as T;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `post` until the API stops answering 409 TX_PENDING (the transaction lacks the confirmations
 * the backend waits for), at most `tries` times `waitMs` apart; any other outcome is returned or thrown.
 */
export async function untilConfirmed<T>(post: () => Promise<T>, options: { tries?: number; waitMs?: number; wait?: (ms: number) => Promise<void> } = {}): Promise<T> {
  const { tries = 20, waitMs = 3_000, wait = sleep } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await post();
    } catch (error) {
      if (!(error instanceof ApiError && error.code === "TX_PENDING") || attempt >= tries) throw error;
      await wait(waitMs);
    }
  }
}
