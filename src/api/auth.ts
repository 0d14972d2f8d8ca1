// Who is calling: a dashboard session (Bearer cxs_…, from Sign-In with Ethereum) or an API key
// (Bearer cxk_… or x-api-key) for the compute API. Admin routes also need the admin role.
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

/** The API key of a compute request, or 401. */
export function requireApiKey(request: FastifyRequest): string {
  const key = bearer(request);
  if (!key?.startsWith("cxk_")) throw unauthorized("API_KEY_REQUIRED", "Send your API key: Authorization: Bearer cxk_…");
  return key;
}
