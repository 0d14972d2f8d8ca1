// The signed-in account's reward earnings and claim history, for the provider and user dashboards,
// and the booking of a claim its wallet sent itself. Every route needs a session, checked before
// the input is looked at.
import { Type } from "typebox";
import type { Hex } from "viem";
import type { AppContext } from "../../app/context.ts";
import { EARNINGS_EPOCHS, readEarnings, type Earnings, type Performance, type PointsBreakdown } from "../../rewards/earnings.ts";
import { bookDirectClaim } from "../../rewards/direct-claims.ts";
import { claimHistory } from "../../rewards/history.ts";
import { HISTORY_PAGE } from "../../tokens/service.ts";
import { accountOf, sessionHook } from "../auth.ts";
import { Address, errors, Nullable, Timestamp, TxHash, Wei } from "../schemas.ts";
import type { Api } from "../server.ts";
import { TransactionView, transactionView } from "./views.ts";

const Points = Type.String({ pattern: "^[0-9]{1,78}$", description: "points × 10^4 (POINTS_SCALE), as a decimal string" });
const Bps = Type.String({ pattern: "^[0-9]{1,20}$", description: "basis points (10000 = ×1.00), as a decimal string" });

const EpochView = Type.Object({
  epoch: Type.Integer(),
  start: Timestamp,
  end: Timestamp,
  points: Points,
  totalPoints: Points,
  budgetWei: Wei,
  entitlementWei: Wei,
  releasedWei: Wei,
  folded: Type.Boolean({ description: "the chain folded the entry into the balance: points from the backend's upload record" }),
});

const BreakdownView = Type.Object(
  {
    epoch: Type.Integer(),
    from: Timestamp,
    to: Timestamp,
    tiers: Type.Array(Type.Object({ tier: Type.String(), requests: Type.String(), basePoints: Points })),
    basePoints: Points,
    steps: Type.Array(Type.Object({ multiplier: Type.Union([Type.Literal("uptime"), Type.Literal("latency"), Type.Literal("demand")]), bps: Bps, points: Points })),
    points: Points,
    uploadedPoints: Points,
  },
  { description: "the latest computed epoch: base points per tier, then each multiplier (weighted mean over the epoch) applied in turn" },
);

const PerformanceView = Type.Object({
  from: Timestamp,
  to: Timestamp,
  uptimeBps: Nullable(Type.Integer({ description: "mean daily uptime, bps of 100 %" })),
  p50LatencyMs: Nullable(Type.Integer()),
  servedRequests: Type.String(),
});

const EarningsView = Type.Object({
  wallet: Address,
  pool: Type.Union([Type.Literal("providers"), Type.Literal("users")]),
  pendingWei: Wei,
  poolPendingWei: Wei,
  claimedWei: Wei,
  currentEpoch: Type.Integer(),
  epochs: Type.Array(EpochView, { description: "oldest first" }),
  pointsBreakdown: Nullable(BreakdownView),
  performance: Nullable(PerformanceView),
});

const breakdownView = (b: PointsBreakdown) => ({
  epoch: Number(b.epoch),
  from: b.from.toISOString(),
  to: b.to.toISOString(),
  tiers: b.tiers.map((t) => ({ tier: t.tier, requests: t.requests.toString(), basePoints: t.basePoints.toString() })),
  basePoints: b.basePoints.toString(),
  steps: b.steps.map((s) => ({ multiplier: s.multiplier, bps: s.bps.toString(), points: s.points.toString() })),
  points: b.points.toString(),
  uploadedPoints: b.uploadedPoints.toString(),
});

const performanceView = (p: Performance) => ({
  from: p.from.toISOString(),
  to: p.to.toISOString(),
  uptimeBps: p.uptimeBps,
  p50LatencyMs: p.p50LatencyMs,
  servedRequests: p.servedRequests.toString(),
});

const earningsView = (e: Earnings) => ({
  wallet: e.wallet,
  pool: e.pool,
  pendingWei: e.pendingWei.toString(),
  poolPendingWei: e.poolPendingWei.toString(),
  claimedWei: e.claimedWei.toString(),
  currentEpoch: Number(e.currentEpoch),
  epochs: e.epochs.map((x) => ({
    epoch: Number(x.epoch),
    start: x.start.toISOString(),
    end: x.end.toISOString(),
    points: x.points.toString(),
    totalPoints: x.totalPoints.toString(),
    budgetWei: x.budgetWei.toString(),
    entitlementWei: x.entitlementWei.toString(),
    releasedWei: x.releasedWei.toString(),
    folded: x.folded,
  })),
  pointsBreakdown: e.pointsBreakdown === null ? null : breakdownView(e.pointsBreakdown),
  performance: e.performance === null ? null : performanceView(e.performance),
});

export function earningsRoutes(app: Api, ctx: AppContext): void {
  const security = [{ session: [] }];
  const tags = ["rewards"];
  app.addHook("onRequest", sessionHook(ctx.db));

  app.get(
    "/api/v1/rewards/earnings",
    {
      schema: {
        tags,
        security,
        summary: "The account's reward earnings: pending and claimed, per epoch, and (providers) how the points came about",
        description:
          "The account's pool is `providers` for a provider account, else `users`. `pendingWei` is what a claim pays now (both pools), `claimedWei` the sum of its booked claims and withdrawals. `epochs` are the last `limit` started epochs as the RewardDistributor holds them. For a provider, `pointsBreakdown` recomputes the latest epoch the rewards job computed with the job's own functions, and `performance` covers that epoch's window (else the last UTC day). 409 CHAIN_OFF with the chain off, WALLET_NOT_LINKED without a wallet.",
        querystring: Type.Object(
          { limit: Type.Optional(Type.String({ pattern: "^(5[0-2]|[1-4][0-9]|[1-9])$", description: `epochs, 1–${EARNINGS_EPOCHS.max} (${EARNINGS_EPOCHS.default})` })) },
          { additionalProperties: false },
        ),
        response: { 200: EarningsView, ...errors(400, 401, 409) },
      },
    },
    async (request) => {
      const { limit } = request.query;
      return earningsView(await readEarnings(ctx, accountOf(request), limit === undefined ? EARNINGS_EPOCHS.default : Number(limit)));
    },
  );

  app.get(
    "/api/v1/rewards/history",
    {
      schema: {
        tags,
        security,
        summary: "The account's reward claims (booked as claim or withdrawal), newest first",
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.String({ pattern: "^(100|[1-9][0-9]?)$", description: `claims per page, 1–${HISTORY_PAGE.max} (${HISTORY_PAGE.default})` })),
            cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 400, description: "nextCursor of the previous page" })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ claims: Type.Array(TransactionView), nextCursor: Nullable(Type.String()) }), ...errors(400, 401) },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const page = await claimHistory(ctx, accountOf(request), { limit: limit === undefined ? HISTORY_PAGE.default : Number(limit), ...(cursor === undefined ? {} : { cursor }) });
      return { claims: page.items.map(transactionView), nextCursor: page.nextCursor };
    },
  );

  app.post(
    "/api/v1/rewards/claims",
    {
      schema: {
        tags,
        security,
        summary: "Book a claim the account's wallet sent itself (RewardDistributor.claim())",
        description:
          "Send the hash of a mined transaction whose Claimed events paid the account's wallet: it is booked once as a claim (answering booked=false after that) and added to the account's total earnings, so it shows in /rewards/history and /rewards/earnings claimedWei. Claims relayed by the backend are booked already. 404 TX_NOT_FOUND, 409 TX_PENDING (not mined yet) / TX_ALREADY_BOOKED (booked as something else), 422 TX_REVERTED / NOT_A_CLAIM (paid the wallet nothing).",
        body: Type.Object({ txHash: TxHash }, { additionalProperties: false }),
        response: {
          200: Type.Object({ booked: Type.Boolean({ description: "false: booked before" }), transaction: TransactionView, totalEarningsWei: Wei }),
          ...errors(400, 401, 404, 409, 422),
        },
      },
    },
    async (request) => {
      const result = await bookDirectClaim(ctx, accountOf(request), request.body.txHash as Hex);
      return { booked: result.booked, transaction: transactionView(result.transaction), totalEarningsWei: result.totalEarningsWei.toString() };
    },
  );
}
