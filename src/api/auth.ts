// Who is calling: a dashboard session (Bearer cxs_…, from Sign-In with Ethereum) or an API key
// (Bearer cxk_… or x-api-key) for the compute API. Admin routes also need the admin role. Routes
// settle the session in an onRequest hook (`sessionHook`, `adminHook`), so a caller without one
// gets 401/403 before the body or query is validated, and read it with `accountOf`.
import type { FastifyRequest } from "fastify";
import { accountForSession, type Account } from "../accounts/store.ts";
import type { Queryable } from "../db/db.ts";
import { forbidden, unauthorized } from "../errors.ts";

/** The bearer token of a request, if any. */
export function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith("Bearer ")) return header.slice(7).trim();
  const key = request.headers["x-api-key"];
  return typeof key === "string" ? key : undefined;
}

/** The signed-in account, or 401. */
export async function requireSession(db: Queryable, request: FastifyRequest): Promise<Account> {
  const token = bearer(request);
  if (!token?.startsWith("cxs_")) throw unauthorized("UNAUTHENTICATED", "Sign in first: send Authorization: Bearer <session token>");
  const account = await accountForSession(db, token);
  if (!account) throw unauthorized("SESSION_EXPIRED", "The session is unknown or expired: sign in again");
  return account;
}

/** The signed-in account if it is an admin; 401 without a session, 403 without the role. */
export async function requireAdmin(db: Queryable, request: FastifyRequest): Promise<Account> {
  const account = await requireSession(db, request);
  if (account.role !== "admin") throw forbidden("ADMIN_ONLY", "This action needs the admin role");
  return account;
}

/** The account each request was let in as, by `sessionHook` or `adminHook`. */
const callers = new WeakMap<FastifyRequest, Account>();

/** An onRequest hook: lets the request in as an account (read it with `accountOf`) or throws 401/403. */
export type AccessHook = (request: FastifyRequest) => Promise<void>;

/**
 * Lets in signed-in accounts only (401 otherwise). For every route of a module:
 * `app.addHook("onRequest", sessionHook(ctx.db))`; for one route: `{ onRequest: sessionHook(ctx.db) }`.
 */
export function sessionHook(db: Queryable): AccessHook {
  return async (request) => {
    callers.set(request, await requireSession(db, request));
  };
}

/** Lets in admins only: 401 without a session, 403 without the admin role. Used like `sessionHook`. */
export function adminHook(db: Queryable): AccessHook {
  return async (request) => {
    callers.set(request, await requireAdmin(db, request));
  };
}

/** The account a `sessionHook` or `adminHook` let this request in as. */
export function accountOf(request: FastifyRequest): Account {
  const account = callers.get(request);
  // Only a route registered without either hook gets here: a bug, not the caller's fault.
  if (!account) throw new Error(`${request.method} ${request.routeOptions.url ?? request.url} reads the account without a sessionHook or adminHook`);
  return account;
}

/** The API key of a compute request, or 401. */
export function requireApiKey(request: FastifyRequest): string {
  const key = bearer(request);
  if (!key?.startsWith("cxk_")) throw unauthorized("API_KEY_REQUIRED", "Send your API key: Authorization: Bearer cxk_…");
  return key;
}
