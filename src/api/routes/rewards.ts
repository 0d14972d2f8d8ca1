// The signed-in account's rewards: what the RewardDistributor holds for its wallet, the EIP-712
// request to sign for a gasless claim, and the claim, relayed by the backend. Every route needs a
// session, checked before the input is looked at.
import { Type } from "typebox";
import type { AppContext } from "../../app/context.ts";
import { availableRewards, CLAIM_REQUEST_TTL_SECONDS, claimRequest, claimRewards } from "../../rewards/service.ts";
import { accountOf, sessionHook } from "../auth.ts";
import { Address, errors, HexData, Wei } from "../schemas.ts";
import type { Api } from "../server.ts";
import { ClaimBody, ClaimResultView, claimResultView } from "./views.ts";

const TypedField = Type.Object({ name: Type.String(), type: Type.String() });

const ClaimRequestView = Type.Object({
  typedData: Type.Object(
    {
      domain: Type.Object({ name: Type.String(), version: Type.String(), chainId: Type.Integer(), verifyingContract: Address }),
      types: Type.Object({ EIP712Domain: Type.Array(TypedField), ForwardRequest: Type.Array(TypedField) }),
      primaryType: Type.Literal("ForwardRequest"),
      message: Type.Object({
        from: Address,
        to: Address,
        value: Wei,
        gas: Wei,
        nonce: Wei,
        deadline: Type.Integer({ description: "unix seconds" }),
        data: HexData,
      }),
    },
    { description: "EIP-712 typed data, ready for eth_signTypedData_v4" },
  ),
  pendingWei: Wei,
});

const SIGNING = `Sign \`typedData\` with the account's linked wallet, unchanged:
- a browser wallet: \`ethereum.request({ method: "eth_signTypedData_v4", params: [wallet, JSON.stringify(typedData)] })\`;
- viem: \`walletClient.signTypedData({ account, ...typedData })\`.

Then POST \`{ request: typedData.message, signature }\` to /api/v1/rewards/claim (a provider's earnings: /api/v1/tokens/withdraw). The request is valid until its deadline and for one claim only.`;

export function rewardRoutes(app: Api, ctx: AppContext): void {
  const security = [{ session: [] }];
  const tags = ["rewards"];
  app.addHook("onRequest", sessionHook(ctx.db));

  app.get(
    "/api/v1/rewards/available",
    {
      schema: {
        tags,
        security,
        summary: "Rewards the account's wallet can claim now, per pool",
        response: {
          200: Type.Object({
            wallet: Address,
            providersWei: Wei,
            usersWei: Wei,
            totalWei: Wei,
            totalEarningsWei: Wei,
          }),
          ...errors(401, 409),
        },
      },
    },
    async (request) => {
      const { wallet, pending, totalEarningsWei } = await availableRewards(ctx, accountOf(request));
      return {
        wallet,
        providersWei: pending.providers.toString(),
        usersWei: pending.users.toString(),
        totalWei: pending.total.toString(),
        totalEarningsWei: totalEarningsWei.toString(),
      };
    },
  );

  app.get(
    "/api/v1/rewards/claim-request",
    {
      schema: {
        tags,
        security,
        summary: "The EIP-712 request the wallet signs to claim without gas",
        description: `${SIGNING}\n\n\`deadline\` defaults to the chain's time + ${CLAIM_REQUEST_TTL_SECONDS} s.`,
        querystring: Type.Object(
          { deadline: Type.Optional(Type.String({ pattern: "^[0-9]{1,15}$", description: "unix seconds after which the request is void" })) },
          { additionalProperties: false },
        ),
        response: { 200: ClaimRequestView, ...errors(400, 401, 409) },
      },
    },
    async (request) => {
      const { deadline } = request.query;
      const result = await claimRequest(ctx, accountOf(request), deadline === undefined ? undefined : Number(deadline));
      return { typedData: result.typedData, pendingWei: result.pendingWei.toString() };
    },
  );

  app.post(
    "/api/v1/rewards/claim",
    {
      schema: {
        tags,
        security,
        summary: "Claim the account's rewards with a signed request; the backend pays the gas",
        description: `${SIGNING}\n\nBooked as a claim transaction and added to the account's total earnings. The request's \`from\` must be the account's wallet (403 NOT_YOUR_REQUEST); a request already used is refused (400 INVALID_SIGNATURE: the forwarder's nonce moved on).`,
        body: ClaimBody,
        response: { 200: ClaimResultView, ...errors(400, 401, 403, 409, 502, 503) },
      },
    },
    async (request) => claimResultView(await claimRewards(ctx, accountOf(request), request.body, "claim")),
  );
}
