// How domain records look in API answers: amounts as decimal strings, addresses checksummed.
import { Type } from "typebox";
import type { Account, ApiKeyRecord } from "../../accounts/store.ts";
import { Address, Nullable, Timestamp, Uuid, Wei } from "../schemas.ts";

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
