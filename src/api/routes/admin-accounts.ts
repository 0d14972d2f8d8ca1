// The admin's accounts: the list with balances, one account with its usage, and topping up the
// legacy off-chain credits (billed while the chain is off or before PAYG in CXPT). Admins only:
// 401 without a session, 403 without the admin role, both before the input is looked at.
import { Type } from "typebox";
import type { AppContext } from "../../app/context.ts";
import { DEFAULT_ACCOUNTS_PAGE, grantLegacyCredits, listAccounts, MAX_ACCOUNTS_PAGE, readAccount, type AdminAccount, type LegacyGrantResult } from "../../admin/accounts.ts";
import { accountOf, adminHook } from "../auth.ts";
import { Address, errors, Nullable, pageQuery, Timestamp, Uuid, Wei } from "../schemas.ts";
import type { Api } from "../server.ts";
import { AccountView, accountView } from "./views.ts";

const Ausd = Type.String({ pattern: "^[0-9]{1,78}$", description: "atto-USD (1e-18 USD), as a decimal string" });

const AdminAccountView = Type.Object({
  ...AccountView.properties,
  email: Nullable(Type.String()),
  legacyDebtAusd: Type.String({ description: "legacy usage the legacy credits could not cover, in 1e-18 USD; a grant pays it first" }),
  keysSuspendedAt: Nullable(Timestamp),
});

const UsageView = Type.Object({
  events: Type.Integer(),
  costAusd: Ausd,
  costWei: Wei,
  unsettledPaygWei: Wei,
});

const GrantView = Type.Object({
  accountId: Uuid,
  grantedAusd: Ausd,
  paidDebtAusd: Type.String({ description: "the part that paid legacy debt (atto-USD)" }),
  creditedAusd: Type.String({ description: "the part added to the legacy credits (atto-USD)" }),
  legacyCreditsAusd: Type.String({ description: "legacy credits after the grant (atto-USD)" }),
  legacyDebtAusd: Type.String({ description: "legacy debt after the grant (atto-USD)" }),
});

const adminAccountView = (a: AdminAccount) => ({
  ...accountView(a),
  email: a.email,
  legacyDebtAusd: a.legacyDebtAusd.toString(),
  keysSuspendedAt: a.keysSuspendedAt?.toISOString() ?? null,
});

const grantView = (g: LegacyGrantResult) => ({
  accountId: g.accountId,
  grantedAusd: g.grantedAusd.toString(),
  paidDebtAusd: g.paidDebtAusd.toString(),
  creditedAusd: g.creditedAusd.toString(),
  legacyCreditsAusd: g.legacyCreditsAusd.toString(),
  legacyDebtAusd: g.legacyDebtAusd.toString(),
});

const AccountId = Type.Object({ id: Uuid });

export function adminAccountRoutes(app: Api, ctx: AppContext): void {
  const security = [{ session: [] }];
  const tags = ["admin"];
  app.addHook("onRequest", adminHook(ctx.db));

  app.get(
    "/api/v1/admin/accounts",
    {
      schema: {
        tags,
        security,
        summary: "Accounts with their balances, newest first",
        querystring: Type.Object(
          {
            ...pageQuery("accounts", MAX_ACCOUNTS_PAGE, DEFAULT_ACCOUNTS_PAGE),
            wallet: Type.Optional(Address),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ accounts: Type.Array(AdminAccountView), nextCursor: Nullable(Type.String()) }), ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const { limit, cursor, wallet } = request.query;
      const page = await listAccounts(ctx.db, {
        ...(limit === undefined ? {} : { limit: Number(limit) }),
        ...(cursor === undefined ? {} : { cursor }),
        ...(wallet === undefined ? {} : { wallet }),
      });
      return { accounts: page.accounts.map(adminAccountView), nextCursor: page.nextCursor };
    },
  );

  app.get(
    "/api/v1/admin/accounts/:id",
    {
      schema: {
        tags,
        security,
        summary: "One account: its balances and its usage, all time",
        params: AccountId,
        response: { 200: Type.Object({ ...AdminAccountView.properties, usage: UsageView }), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const account = await readAccount(ctx.db, request.params.id);
      const { usage } = account;
      return {
        ...adminAccountView(account),
        usage: { events: usage.events, costAusd: usage.costAusd.toString(), costWei: usage.costWei.toString(), unsettledPaygWei: usage.unsettledPaygWei.toString() },
      };
    },
  );

  app.post(
    "/api/v1/admin/accounts/:id/legacy-credits",
    {
      schema: {
        tags,
        security,
        summary: "Grant legacy off-chain credits in USD (legacy debt is paid first)",
        description:
          "The legacy credits bill usage while the chain is off or before PAYG in CXPT (phase 2). The grant first pays the account's legacy debt, then adds the rest to its legacy credits, in one transaction; the compute API counts it from the next request. Audited as grant_legacy_credits. 400 INVALID_AMOUNT unless `usd` is a decimal above 0 with at most 18 decimals (at most 1,000,000,000 per grant).",
        params: AccountId,
        body: Type.Object(
          {
            usd: Type.String({ minLength: 1, maxLength: 64, description: 'US dollars as a decimal string ("12.50"), exact' }),
            reason: Type.String({ minLength: 1, maxLength: 500, description: "why, for the audit log" }),
          },
          { additionalProperties: false },
        ),
        response: { 200: GrantView, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => grantView(await grantLegacyCredits(ctx, accountOf(request).id, request.params.id, request.body)),
  );
}
