// How domain records look in API answers (amounts as decimal strings, addresses checksummed), and
// the request bodies more than one route module accepts.
import { Type } from "typebox";
import type { Account, ApiKeyRecord } from "../../accounts/store.ts";
import type { ClaimResult } from "../../rewards/service.ts";
import type { TokenTransaction } from "../../tokens/ledger.ts";
import { Address, HexData, Nullable, Timestamp, TxHash, Uuid, Wei } from "../schemas.ts";

export const AccountView = Type.Object(
  {
    id: Uuid,
    kind: Type.Union([Type.Literal("user"), Type.Literal("provider")]),
    role: Type.Union([Type.Literal("member"), Type.Literal("admin")]),
    displayName: Nullable(Type.String()),
    wallet: Nullable(Address),
    creditsWei: Wei,
    legacyCreditsAusd: Type.String({ description: "legacy off-chain credits in 1e-18 USD" }),
    subscription: Nullable(
      Type.Object({
        type: Nullable(Type.String()),
        planId: Nullable(Type.Integer()),
        passId: Nullable(Type.String()),
        end: Nullable(Timestamp),
        bucketRemaining: Type.String({ description: "tokens" }),
      }),
    ),
    totalEarningsWei: Wei,
    createdAt: Timestamp,
  },
  { $id: "Account" },
);

export function accountView(account: Account) {
  return {
    id: account.id,
    kind: account.kind,
    role: account.role,
    displayName: account.displayName,
    wallet: account.wallet,
    creditsWei: account.creditsWei.toString(),
    legacyCreditsAusd: account.legacyCreditsAusd.toString(),
    subscription:
      account.subscriptionPlanId === null
        ? null
        : {
            type: account.subscriptionType,
            planId: account.subscriptionPlanId,
            passId: account.subscriptionPassId?.toString() ?? null,
            end: account.subscriptionEnd?.toISOString() ?? null,
            bucketRemaining: account.bucketRemaining.toString(),
          },
    totalEarningsWei: account.totalEarningsWei.toString(),
    createdAt: account.createdAt.toISOString(),
  };
}

export const ApiKeyView = Type.Object({
  id: Uuid,
  name: Type.String(),
  prefix: Type.String({ description: "the key's first characters, to recognise it" }),
  createdAt: Timestamp,
  revokedAt: Nullable(Timestamp),
});

export const apiKeyView = (key: ApiKeyRecord) => ({
  id: key.id,
  name: key.name,
  prefix: key.prefix,
  createdAt: key.createdAt.toISOString(),
  revokedAt: key.revokedAt?.toISOString() ?? null,
});

export const TransactionTypeName = Type.Union([
  Type.Literal("deposit"),
  Type.Literal("withdrawal"),
  Type.Literal("claim"),
  Type.Literal("usage_charge"),
  Type.Literal("subscription_payment"),
  Type.Literal("reward"),
]);
const BlockNumber = Type.String({ pattern: "^[0-9]{1,20}$", description: "a block number, as a decimal string" });

export const TransactionView = Type.Object({
  id: Uuid,
  type: TransactionTypeName,
  status: Type.Union([Type.Literal("pending"), Type.Literal("confirmed"), Type.Literal("failed")]),
  amountWei: Wei,
  txHash: Nullable(TxHash),
  blockNumber: Nullable(BlockNumber),
  ref: Nullable(Type.String({ description: "the Vault deposit's reference (bytes32), or another booking's" })),
  details: Type.Record(Type.String(), Type.Unknown()),
  createdAt: Timestamp,
});

export const transactionView = (t: TokenTransaction) => ({
  id: t.id,
  type: t.type,
  status: t.status,
  amountWei: t.amountWei.toString(),
  txHash: t.txHash,
  blockNumber: t.blockNumber?.toString() ?? null,
  ref: t.ref,
  details: { ...t.details },
  createdAt: t.createdAt.toISOString(),
});

/** The signed claim request, as `GET /api/v1/rewards/claim-request` hands out its message. */
export const ClaimBody = Type.Object(
  {
    request: Type.Object(
      {
        from: Address,
        to: Address,
        value: Wei,
        gas: Wei,
        nonce: Type.Optional(Wei),
        deadline: Type.Integer({ minimum: 0, maximum: 2 ** 48 - 1, description: "unix seconds" }),
        data: HexData,
      },
      { additionalProperties: false, description: "typedData.message of the claim request" },
    ),
    signature: Type.String({ pattern: "^0x([0-9a-fA-F]{2}){1,1024}$", description: "the wallet's EIP-712 signature over typedData" }),
  },
  { additionalProperties: false },
);

export const ClaimResultView = Type.Object({
  claimedWei: Wei,
  txHash: TxHash,
  blockNumber: BlockNumber,
  transaction: TransactionView,
  totalEarningsWei: Wei,
});

export const claimResultView = (r: ClaimResult) => ({
  claimedWei: r.outcome.claimed.toString(),
  txHash: r.outcome.txHash,
  blockNumber: r.outcome.blockNumber.toString(),
  transaction: transactionView(r.transaction),
  totalEarningsWei: r.totalEarningsWei.toString(),
});
