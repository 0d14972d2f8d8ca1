// The testnet faucet (src/faucet): test CXPT and a little gas money for the signed-in wallet, at
// most once per FAUCET_COOLDOWN_SECONDS. A refusal for the cooldown is 429 with Retry-After.
import { Type } from "typebox";
import type { AppContext } from "../../app/context.ts";
import { AppError } from "../../errors.ts";
import { faucetStatus, requestDrip } from "../../faucet/faucet.ts";
import { accountOf, sessionHook } from "../auth.ts";
import { Address, errors, Nullable, Timestamp, TxHash, Wei } from "../schemas.ts";
import type { Api } from "../server.ts";

const FaucetStatusView = Type.Object({
  enabled: Type.Boolean({ description: "testnet with a faucet key configured" }),
  amountWei: Wei,
  gasWei: Type.String({ pattern: "^[0-9]{1,78}$", description: "native gas money the wallet is topped up to, in wei" }),
  cooldownSeconds: Type.Integer(),
  nextAt: Nullable(Timestamp),
});

const DripView = Type.Object({
  id: Type.String(),
  wallet: Address,
  amountWei: Wei,
  gasWei: Type.String({ pattern: "^[0-9]{1,78}$", description: "native gas money sent (0: the wallet held enough)" }),
  cxptTxHash: TxHash,
  gasTxHash: Nullable(TxHash),
  nextAt: Timestamp,
});

export function faucetRoutes(app: Api, ctx: AppContext): void {
  const security = [{ session: [] }];
  const tags = ["faucet"];
  app.addHook("onRequest", sessionHook(ctx.db));

  app.get(
    "/api/v1/faucet",
    { schema: { tags, security, summary: "Whether the testnet faucet is on, what it gives and when this wallet may ask", response: { 200: FaucetStatusView, ...errors(401) } } },
    async (request) => {
      const status = await faucetStatus(ctx, accountOf(request));
      return { ...status, amountWei: status.amountWei.toString(), gasWei: status.gasWei.toString(), nextAt: status.nextAt?.toISOString() ?? null };
    },
  );

  app.post(
    "/api/v1/faucet",
    {
      schema: {
        tags,
        security,
        summary: "Send test CXPT and a little gas money to the signed-in wallet (testnet only)",
        description:
          "Sends FAUCET_AMOUNT_WEI of CXPT and tops the wallet's native balance up to FAUCET_GAS_WEI, once per FAUCET_COOLDOWN_SECONDS per wallet across every API instance. " +
          "429 FAUCET_COOLDOWN (details.retryAfterSeconds, Retry-After header) within the period; 409 FEATURE_DISABLED off testnet, FAUCET_NOT_CONFIGURED without a faucet key, " +
          "NO_WALLET; 503 FAUCET_EMPTY when the faucet has run dry.",
        response: { 200: DripView, ...errors(401, 409, 429, 502, 503, 504) },
      },
    },
    async (request, reply) => {
      try {
        const drip = await requestDrip(ctx, accountOf(request));
        return {
          id: drip.id,
          wallet: drip.wallet,
          amountWei: drip.amountWei.toString(),
          gasWei: drip.gasWei.toString(),
          cxptTxHash: drip.cxptTxHash,
          gasTxHash: drip.gasTxHash,
          nextAt: drip.nextAt.toISOString(),
        };
      } catch (error) {
        if (error instanceof AppError && error.code === "FAUCET_COOLDOWN") reply.header("retry-after", String(error.details!.retryAfterSeconds));
        throw error;
      }
    },
  );
}
