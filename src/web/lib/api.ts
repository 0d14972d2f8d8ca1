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
  readonly method?: "GET" | "POST" | "PUT" | "DELETE";
  /** Sent as JSON. */
  readonly body?: unknown;
  /** A session token (cxs_…) or API key (cxk_…). */
  readonly token?: string | undefined;
  readonly signal?: AbortSignal;
}

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
