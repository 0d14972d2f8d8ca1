// The signed-in account's CXPT: crediting a Vault deposit, withdrawing earnings (a relayed claim
// on the RewardDistributor), the balances and the transaction history. Every route needs a
// session, checked before the input is looked at.
import { Type } from "typebox";
import type { Hex } from "viem";
import type { AppContext } from "../../app/context.ts";
import { claimRewards } from "../../rewards/service.ts";
import { HISTORY_PAGE, readBalance, submitDeposit, transactionHistory, type TokenBalance } from "../../tokens/service.ts";
import { accountOf, sessionHook } from "../auth.ts";
import { Address, errors, Nullable, TxHash, Wei } from "../schemas.ts";
import type { Api } from "../server.ts";
import { ClaimBody, ClaimResultView, claimResultView, TransactionTypeName, TransactionView, transactionView } from "./views.ts";

const BalanceView = Type.Object({
  wallet: Nullable(Address),
  onchain: Nullable(
    Type.Object(
      {
        balanceWei: Wei,
        allowanceToVaultWei: Wei,
        paygCapacityWei: Wei,
      },
      { description: "the wallet's CXPT; null without a wallet or with the chain off" },
    ),
  ),
  creditsWei: Wei,
  legacyCreditsAusd: Type.String({ description: "legacy off-chain credits in 1e-18 USD" }),
  pendingUsageWei: Wei,
  billedIn: Type.Union([Type.Literal("cxpt"), Type.Literal("legacy")]),
});

const balanceView = (b: TokenBalance) => ({
  wallet: b.wallet,
  onchain:
    b.onchain === null
      ? null
      : { balanceWei: b.onchain.balance.toString(), allowanceToVaultWei: b.onchain.allowanceToVault.toString(), paygCapacityWei: b.onchain.paygCapacity.toString() },
  creditsWei: b.creditsWei.toString(),
  legacyCreditsAusd: b.legacyCreditsAusd.toString(),
  pendingUsageWei: b.pendingUsageWei.toString(),
  billedIn: b.billedIn,
});

export function tokenRoutes(app: Api, ctx: AppContext): void {
  const security = [{ session: [] }];
  const tags = ["tokens"];
  app.addHook("onRequest", sessionHook(ctx.db));

  app.post(
    "/api/v1/tokens/deposit",
    {
      schema: {
        tags,
        security,
        summary: "Credit a CXPT deposit into the Vault to the account",
        description:
          "Send the hash of a transaction that called Vault.deposit or depositWithPermit crediting the account's linked wallet. It is credited once: submitting it again answers 200 with credited=false. Needs DEPOSIT_CONFIRMATIONS blocks on top (409 TX_PENDING before). Refused: another wallet's deposit (403 DEPOSIT_NOT_YOURS), a transaction that is not a direct deposit such as a subscription activation (422 NOT_A_DEPOSIT / NOT_A_VAULT_DEPOSIT).",
        body: Type.Object({ txHash: TxHash }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            credited: Type.Boolean({ description: "false: credited by an earlier submission" }),
            transaction: TransactionView,
            creditsWei: Wei,
          }),
          ...errors(400, 401, 403, 404, 409, 422),
        },
      },
    },
    async (request) => {
      const result = await submitDeposit(ctx, accountOf(request), request.body.txHash as Hex);
      return { credited: result.credited, transaction: transactionView(result.transaction), creditsWei: result.creditsWei.toString() };
    },
  );

  app.post(
    "/api/v1/tokens/withdraw",
    {
      schema: {
        tags,
        security,
        summary: "Withdraw the account's earnings to its wallet (gasless)",
        description:
          "Pays the wallet everything the RewardDistributor holds for it (the Vault never pays out). Sign the typed data of GET /api/v1/rewards/claim-request and send its message as `request` with the `signature`; the backend's relayer pays the gas. Booked as a withdrawal and added to the account's total earnings.",
        body: ClaimBody,
        response: { 200: ClaimResultView, ...errors(400, 401, 403, 409, 502, 503) },
      },
    },
    async (request) => claimResultView(await claimRewards(ctx, accountOf(request), request.body, "withdrawal")),
  );

  app.get(
    "/api/v1/tokens/balance",
    {
      schema: {
        tags,
        security,
        summary: "The account's balances: the wallet on chain, credits, and usage not yet paid",
        response: { 200: BalanceView, ...errors(401) },
      },
    },
    async (request) => balanceView(await readBalance(ctx, accountOf(request))),
  );

  app.get(
    "/api/v1/tokens/transactions",
    {
      schema: {
        tags,
        security,
        summary: "The account's token transactions, newest first",
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.String({ pattern: "^(100|[1-9][0-9]?)$", description: `transactions per page, 1–${HISTORY_PAGE.max} (${HISTORY_PAGE.default})` })),
            cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "nextCursor of the previous page" })),
            type: Type.Optional(TransactionTypeName),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ transactions: Type.Array(TransactionView), nextCursor: Nullable(Type.String()) }), ...errors(400, 401) },
      },
    },
    async (request) => {
      const { limit, cursor, type } = request.query;
      const page = await transactionHistory(ctx, accountOf(request), {
        ...(limit === undefined ? {} : { limit: Number(limit) }),
        ...(cursor === undefined ? {} : { cursor }),
        ...(type === undefined ? {} : { type }),
      });
      return { transactions: page.items.map(transactionView), nextCursor: page.nextCursor };
    },
  );
}
