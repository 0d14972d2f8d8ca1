// Every failure the backend reports on purpose is an AppError: a machine-readable code, a human
// message and the HTTP status the API answers with. Domain modules throw them; the API maps them.

/** A failure with a stable code (`DEPOSIT_NOT_FOUND`), a message for people and an HTTP status. */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  /** `options.cause`: the failure underneath (e.g. the node's revert, with its data), kept for logs and tests. */
  constructor(code: string, message: string, status = 400, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AppError";
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

export const badRequest = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError(code, message, 400, details);
export const unauthorized = (code: string, message: string) => new AppError(code, message, 401);
export const forbidden = (code: string, message: string) => new AppError(code, message, 403);
export const notFound = (code: string, message: string) => new AppError(code, message, 404);
export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError(code, message, 409, details);
export const paymentRequired = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError(code, message, 402, details);
export const unavailable = (code: string, message: string) => new AppError(code, message, 503);
