// An account's reward history: its claims, read from the token ledger where every relayed claim is
// booked, as `claim` (the rewards dashboard) or `withdrawal` (a provider's earnings), newest first.
// The ledger pages one type at a time, so a page merges the two types' pages and its cursor carries
// each type's own ledger cursor (null once that type is exhausted).
import type { Account } from "../accounts/store.ts";
import type { AppContext } from "../app/context.ts";
import { badRequest } from "../errors.ts";
import { listTransactions, type Page, type TokenTransaction } from "../tokens/ledger.ts";
import type { ClaimKind } from "./service.ts";

const KINDS: readonly ClaimKind[] = ["claim", "withdrawal"];

/** Where each kind's next page starts: undefined from its newest, null when it has no more. */
type Cursors = Partial<Record<ClaimKind, string | null>>;

const encode = (cursors: Cursors) => Buffer.from(JSON.stringify(cursors)).toString("base64url");

function decode(cursor: string): Cursors {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString());
    const ok =
      typeof parsed === "object" &&
      parsed !== null &&
      Object.entries(parsed).every(([k, v]) => (KINDS as readonly string[]).includes(k) && (v === null || typeof v === "string"));
    if (ok) return parsed as Cursors;
  } catch {
    // falls through to the 400
  }
  throw badRequest("INVALID_CURSOR", "The cursor is not one this API returned");
}

const newestFirst = (a: TokenTransaction, b: TokenTransaction) =>
  b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/**
 * The account's claims and withdrawals, newest first, `limit` per page.
 * @throws AppError 400 `INVALID_CURSOR` for a cursor this API did not hand out.
 */
export async function claimHistory(ctx: AppContext, account: Account, options: { readonly limit: number; readonly cursor?: string }): Promise<Page<TokenTransaction>> {
  const { limit } = options;
  const cursors = options.cursor === undefined ? {} : decode(options.cursor);
  const list = (kind: ClaimKind, size: number) =>
    listTransactions(ctx.db, account.id, { limit: size, type: kind, ...(cursors[kind] ? { cursor: cursors[kind] } : {}) });
  const pages = new Map<ClaimKind, Page<TokenTransaction>>();
  for (const kind of KINDS) if (cursors[kind] !== null) pages.set(kind, await list(kind, limit));
  const items = [...pages.values()].flatMap((p) => p.items).sort(newestFirst).slice(0, limit);

  const next: Cursors = {};
  for (const kind of KINDS) {
    const page = pages.get(kind);
    const taken = items.filter((t) => t.type === kind).length;
    if (page === undefined) next[kind] = null;
    else if (taken === page.items.length) next[kind] = page.nextCursor; // all of its page shown
    else if (taken === 0) next[kind] = cursors[kind];
    // Part of its page shown: the ledger's own cursor after the last one shown.
    else next[kind] = (await list(kind, taken)).nextCursor;
  }
  const more = KINDS.some((kind) => next[kind] !== null);
  return { items, nextCursor: more ? encode(next) : null };
}
