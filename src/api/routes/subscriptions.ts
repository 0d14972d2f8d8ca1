// Subscriptions: the plans on sale (public), paying for a plan in CXPT or fiat, cancelling the
// renewal and the pass's status. Everything but the plans needs a session, settled before the body
// is looked at; all of it needs the `subscriptions` feature (phase 3) and a linked wallet.
// POST /api/pay/subscription is POST /api/v1/subscriptions/create under the path the seeds'
// dashboard calls.
import { Type } from "typebox";
import type { AppContext } from "../../app/context.ts";
import { formatDecimal, parseDecimal } from "../../billing/pricing.ts";
import {
  cancelSubscription,
  listPlans,
  payWithCxpt,
  payWithFiat,
  subscriptionStatus,
  type PaymentOutcome,
  type PlanOffer,
  type SubscriptionPayment,
  type SubscriptionStatus,
} from "../../subscriptions/service.ts";
import { accountOf, sessionHook } from "../auth.ts";
import { Address, errors, Nullable, Timestamp, TxHash, Wei } from "../schemas.ts";
import type { Api } from "../server.ts";
import { isoOfSeconds } from "../../time.ts";

const UINT32_MAX = 2 ** 32 - 1;
const Tokens = Type.String({ pattern: "^[0-9]+$", description: "tokens, as a decimal string" });
const Usd = Type.String({ pattern: "^[0-9]{1,15}(\\.[0-9]{1,18})?$", description: "US dollars as a decimal string (\"15\", \"69.00\")" });
const PlanId = Type.Integer({ minimum: 1, maximum: UINT32_MAX });

const PlanView = Type.Object({
  id: Type.Integer(),
  name: Nullable(Type.String({ description: "the published name; null for plans added since" })),
  priceWei: Wei,
  priceUsd: Usd,
  periodSeconds: Type.Integer(),
  bucketTokens: Tokens,
  requestsPerMinute: Type.Integer(),
  concurrency: Type.Integer(),
  active: Type.Boolean({ description: "false: retired, cannot be bought" }),
});

const StatusView = Type.Object({
  wallet: Address,
  subscribed: Type.Boolean({ description: "the wallet holds a pass (it may have expired)" }),
  active: Type.Boolean({ description: "in a paid period" }),
  planId: Nullable(Type.Integer()),
  planName: Nullable(Type.String()),
  passId: Nullable(Type.String()),
  periodEnd: Nullable(Timestamp),
  autoRenew: Type.Boolean(),
  cancelled: Type.Boolean({ description: "renewal is off (never turned on, or cancelled): the paid period runs out; always !autoRenew" }),
  bucketRemaining: Type.String({ description: "bucket tokens left: the chain's, less metered use not yet settled on chain" }),
  overageRemaining: Tokens,
  overageUsed: Tokens,
  unsettledBucketTokens: Type.String({ description: "metered bucket use not yet consumed on chain (deducted above)" }),
  usableTokens: Type.String({ description: "what the compute API may draw now: bucket + overage in a paid period" }),
  tranches: Type.Array(Type.Object({ tokens: Tokens, expiresAt: Timestamp })),
});

const PaymentView = Type.Object({
  method: Type.Union([Type.Literal("cxpt"), Type.Literal("fiat")]),
  kind: Type.Union([Type.Literal("activation"), Type.Literal("renewal")]),
  txHash: TxHash,
  amountWei: Wei,
  burnedWei: Nullable(Wei),
  planId: Type.Integer(),
  passId: Type.String(),
  periodEnd: Timestamp,
  booked: Type.Boolean({ description: "false: this payment was recorded before (a repeated request)" }),
  fiat: Type.Optional(
    Type.Object({
      paymentRef: Type.String(),
      usd: Usd,
      depositId: Type.String(),
      depositTxHash: Nullable(TxHash),
      swapTxHash: Nullable(TxHash),
    }),
  ),
});

const CreateBody = Type.Union([
  Type.Object(
    { planId: PlanId, payment: Type.Literal("cxpt"), txHash: TxHash },
    { additionalProperties: false, description: "you sent activatePlan(planId) or renew(passId) from your wallet: the transaction" },
  ),
  Type.Object(
    {
      planId: PlanId,
      payment: Type.Literal("fiat"),
      usd: Type.Optional(Usd),
      paymentRef: Type.String({ pattern: "^[\\w.:-]{1,200}$", description: "the payment processor's id: one subscription per reference" }),
    },
    { additionalProperties: false, description: "a fiat payment, swapped into CXPT by the backend" },
  ),
]);

const CreateResponse = Type.Object({ payment: PaymentView, subscription: StatusView });

const planView = (plan: PlanOffer) => ({
  id: Number(plan.planId),
  name: plan.name,
  priceWei: plan.price.toString(),
  priceUsd: formatDecimal(plan.priceAusd),
  periodSeconds: plan.period,
  bucketTokens: plan.bucket.toString(),
  requestsPerMinute: plan.requestsPerMinute,
  concurrency: plan.concurrency,
  active: plan.active,
});

function statusView({ wallet, pass }: SubscriptionStatus) {
  return {
    wallet,
    subscribed: pass !== null,
    active: pass?.active ?? false,
    planId: pass === null ? null : Number(pass.planId),
    planName: pass?.planName ?? null,
    passId: pass?.passId.toString() ?? null,
    periodEnd: pass === null ? null : isoOfSeconds(pass.periodEnd),
    autoRenew: pass?.autoRenew ?? false,
    cancelled: pass?.cancelled ?? false,
    bucketRemaining: (pass?.bucketRemaining ?? 0n).toString(),
    overageRemaining: (pass?.overageRemaining ?? 0n).toString(),
    overageUsed: (pass?.overageUsed ?? 0n).toString(),
    unsettledBucketTokens: (pass?.unsettledBucketTokens ?? 0n).toString(),
    usableTokens: (pass?.usableTokens ?? 0n).toString(),
    tranches: (pass?.tranches ?? []).map((t) => ({ tokens: t.amount.toString(), expiresAt: isoOfSeconds(t.expiry) })),
  };
}

function paymentView(p: SubscriptionPayment) {
  return {
    method: p.method,
    kind: p.kind,
    txHash: p.txHash,
    amountWei: p.amountWei.toString(),
    burnedWei: p.burnedWei?.toString() ?? null,
    planId: Number(p.planId),
    passId: p.passId.toString(),
    periodEnd: isoOfSeconds(p.periodEnd),
    booked: p.booked,
    ...(p.fiat === undefined
      ? {}
      : {
          fiat: {
            paymentRef: p.fiat.paymentRef,
            usd: formatDecimal(p.fiat.usdAusd),
            depositId: p.fiat.depositId.toString(),
            depositTxHash: p.fiat.depositTxHash,
            swapTxHash: p.fiat.swapTxHash,
          },
        }),
  };
}

const createView = (o: PaymentOutcome) => ({ payment: paymentView(o.payment), subscription: statusView(o.status) });

export function subscriptionRoutes(app: Api, ctx: AppContext): void {
  const tags = ["subscriptions"];
  const security = [{ session: [] }];
  // Who is asking is settled before the body is validated (the plans are public).
  const signedIn = sessionHook(ctx.db);

  app.get(
    "/api/v1/subscriptions/plans",
    {
      schema: {
        tags,
        summary: "The subscription plans, priced in CXPT and in USD at the current rate",
        response: { 200: Type.Object({ cxptUsd: Usd, plans: Type.Array(PlanView) }), ...errors(409) },
      },
    },
    async () => {
      const { plans, cxptUsdAusd } = await listPlans(ctx);
      return { cxptUsd: formatDecimal(cxptUsdAusd), plans: plans.map(planView) };
    },
  );

  const create = {
    tags,
    security,
    body: CreateBody,
    description:
      "CXPT: send activatePlan(planId) (or renew) from your linked wallet, then this with its transaction hash; the same transaction is recorded once. " +
      "Fiat: the backend buys the plan's price in CXPT and activates the plan for your wallet; one subscription per paymentRef, a repeated request answers the first outcome. " +
      "201 when the payment is recorded now, 200 when it had been before.",
    response: { 200: CreateResponse, 201: CreateResponse, ...errors(400, 401, 402, 403, 404, 409, 422, 502, 503) },
  };
  for (const [url, summary] of [
    ["/api/v1/subscriptions/create", "Pay for a plan (CXPT transaction or fiat payment)"],
    ["/api/pay/subscription", "Pay for a plan: the same as POST /api/v1/subscriptions/create (the seeds' dashboard path)"],
  ] as const) {
    app.post(url, { onRequest: signedIn, schema: { ...create, summary } }, async (request, reply) => {
      const account = accountOf(request);
      const body = request.body;
      const planId = BigInt(body.planId);
      const outcome =
        body.payment === "cxpt"
          ? await payWithCxpt(ctx, account, { planId, txHash: body.txHash as `0x${string}` })
          : await payWithFiat(ctx, account, {
              planId,
              paymentRef: body.paymentRef,
              ...(body.usd === undefined ? {} : { usdAusd: parseDecimal(body.usd) }),
            });
      return reply.status(outcome.payment.booked ? 201 : 200).send(createView(outcome));
    });
  }

  app.post(
    "/api/v1/subscriptions/cancel",
    {
      onRequest: signedIn,
      schema: {
        tags,
        security,
        summary: "Stop the renewal: the paid period runs out, then the pass expires",
        response: { 200: Type.Object({ txHash: TxHash, subscription: StatusView }), ...errors(401, 404, 409, 502, 503) },
      },
    },
    async (request) => {
      const { txHash, status } = await cancelSubscription(ctx, accountOf(request));
      return { txHash, subscription: statusView(status) };
    },
  );

  app.get(
    "/api/v1/subscriptions/status",
    {
      onRequest: signedIn,
      schema: { tags, security, summary: "The pass, its period and the tokens left, read from the chain", response: { 200: StatusView, ...errors(401, 409) } },
    },
    async (request) => statusView(await subscriptionStatus(ctx, accountOf(request))),
  );
}
