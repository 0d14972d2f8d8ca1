// The signed-in account's usage and statements (src/usage/service.ts): usage per day (in total, per API
// key or per model), the recent metered requests with how each was charged and settled, and the monthly
// statement as JSON or CSV. Days and months are UTC; amounts are wei as decimal strings.
import { Type } from "typebox";
import type { AppContext } from "../../app/context.ts";
import {
  DEFAULT_REQUESTS_PAGE,
  MAX_RANGE_DAYS,
  MAX_REQUESTS_PAGE,
  dayRange,
  monthlyStatement,
  rangeDays,
  recentRequests,
  statementCsv,
  usageByDay,
  type StatementEntry,
  type UsageDay,
} from "../../usage/service.ts";
import { providerDays } from "../../usage/provider.ts";
import { accountOf, sessionHook } from "../auth.ts";
import { Day, errors, Nullable, pageQuery, Timestamp, TxHash, Wei } from "../schemas.ts";
import type { Api } from "../server.ts";

const Tokens = Type.String({ pattern: "^[0-9]{1,78}$", description: "tokens, as a decimal string" });

const UsageDayView = Type.Object({
  day: Day,
  group: Nullable(Type.String({ description: "the API key's id (by=key) or the model (by=model); null in total" })),
  label: Nullable(Type.String({ description: "the key's name or the model" })),
  requests: Type.Integer(),
  tokens: Tokens,
  costWei: Wei,
  bucketTokens: Tokens,
  creditsWei: Wei,
  paygWei: Wei,
});

const usageDayView = (d: UsageDay) => ({
  ...d,
  tokens: d.tokens.toString(),
  costWei: d.costWei.toString(),
  bucketTokens: d.bucketTokens.toString(),
  creditsWei: d.creditsWei.toString(),
  paygWei: d.paygWei.toString(),
});

const RequestView = Type.Object({
  requestId: Type.String(),
  recordedAt: Timestamp,
  // null for requests metered before keys were recorded.
  key: Nullable(Type.Object({ id: Type.String(), name: Type.String() })),
  model: Type.String(),
  endpoint: Type.String(),
  tokensIn: Type.Integer(),
  tokensOut: Type.Integer(),
  costWei: Wei,
  billedIn: Type.Union([Type.Literal("cxpt"), Type.Literal("legacy")]),
  bucketTokens: Tokens,
  creditsWei: Wei,
  paygWei: Wei,
  legacyAusd: Type.String({ pattern: "^[0-9]{1,78}$", description: "legacy credits drawn, atto-USD" }),
  batchId: Nullable(Type.String({ description: "the settlement batch of its PAYG part (GET /api/v1/billing/batches/:id/proof)" })),
  settledAt: Nullable(Timestamp),
});

const EntryView = Type.Object({ at: Timestamp, amountWei: Wei, txHash: Nullable(TxHash), status: Type.String(), details: Type.Record(Type.String(), Type.Unknown()) });
const entryView = (e: StatementEntry) => ({ ...e, at: e.at.toISOString(), amountWei: e.amountWei.toString(), details: { ...e.details } });

const StatementView = Type.Object({
  month: Type.String(),
  deposits: Type.Array(EntryView),
  planPayments: Type.Array(EntryView),
  withdrawals: Type.Array(EntryView),
  claims: Type.Array(EntryView),
  usageByDay: Type.Array(UsageDayView),
  settlements: Type.Array(
    Type.Object({
      batchId: Type.String(),
      chainBatchId: Nullable(Type.String()),
      state: Type.String(),
      amountWei: Wei,
      leafStatus: Type.String({ description: "pending, collected or shortfall" }),
      commitTx: Nullable(Type.String()),
      collectTx: Nullable(Type.String()),
      at: Timestamp,
      proofPath: Type.String(),
    }),
  ),
  totals: Type.Object({
    depositsWei: Wei,
    planPaymentsWei: Wei,
    withdrawalsWei: Wei,
    claimsWei: Wei,
    requests: Type.Integer(),
    tokens: Tokens,
    usageWei: Wei,
    settledWei: Wei,
  }),
});

export function usageRoutes(app: Api, ctx: AppContext): void {
  const security = [{ session: [] }];
  const tags = ["usage"];
  // Every route here: who is asking is settled before the query is validated.
  app.addHook("onRequest", sessionHook(ctx.db));

  app.get(
    "/api/v1/usage/daily",
    {
      schema: {
        tags,
        security,
        summary: "Requests, tokens and cost per UTC day, in total, per API key or per model",
        description: `from and to are included; the last 30 days when omitted, at most ${MAX_RANGE_DAYS} days. Only days with usage are listed. 400 INVALID_DATE, INVALID_RANGE.`,
        querystring: Type.Object(
          {
            from: Type.Optional(Day),
            to: Type.Optional(Day),
            by: Type.Optional(Type.Union([Type.Literal("total"), Type.Literal("key"), Type.Literal("model")], { description: "grouping (total)" })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ from: Day, to: Day, by: Type.String(), days: Type.Array(UsageDayView) }), ...errors(400, 401) },
      },
    },
    async (request) => {
      const { from, to, by = "total" } = request.query;
      const range = dayRange(from, to);
      const days = await usageByDay(ctx.db, accountOf(request).id, range, by);
      return { ...rangeDays(range), by, days: days.map(usageDayView) };
    },
  );

  app.get(
    "/api/v1/usage/provider/daily",
    {
      schema: {
        tags,
        security,
        summary: "The signed-in provider's requests served and health per UTC day",
        description: `Requests served (in total and per tier) and the day's uptime and p50 latency, for the days that have either; from and to ` +
          `are included, the last 30 days when omitted, at most ${MAX_RANGE_DAYS} days. Empty for an account that served nothing. ` +
          `400 INVALID_DATE, INVALID_RANGE.`,
        querystring: Type.Object({ from: Type.Optional(Day), to: Type.Optional(Day) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            from: Day,
            to: Day,
            days: Type.Array(
              Type.Object({
                day: Day,
                requests: Type.Integer(),
                byTier: Type.Record(Type.String(), Type.Integer()),
                uptimeBps: Nullable(Type.Integer({ description: "basis points of 100 %" })),
                p50Ms: Nullable(Type.Integer()),
              }),
            ),
          }),
          ...errors(400, 401),
        },
      },
    },
    async (request) => {
      const range = dayRange(request.query.from, request.query.to);
      const days = await providerDays(ctx.db, accountOf(request).id, range);
      return { ...rangeDays(range), days };
    },
  );

  app.get(
    "/api/v1/usage/requests",
    {
      schema: {
        tags,
        security,
        summary: "The account's metered requests, newest first",
        description: "Each with how it was charged (bucket tokens, credits, PAYG, legacy credits) and, once settled, its batch. 400 INVALID_LIMIT, INVALID_CURSOR.",
        querystring: Type.Object(pageQuery("requests", MAX_REQUESTS_PAGE, DEFAULT_REQUESTS_PAGE), { additionalProperties: false }),
        response: { 200: Type.Object({ requests: Type.Array(RequestView), nextCursor: Nullable(Type.String()) }), ...errors(400, 401) },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const page = await recentRequests(ctx.db, accountOf(request).id, { ...(limit === undefined ? {} : { limit: Number(limit) }), ...(cursor === undefined ? {} : { cursor }) });
      return {
        requests: page.requests.map((r) => ({
          ...r,
          recordedAt: r.recordedAt.toISOString(),
          costWei: r.costWei.toString(),
          bucketTokens: r.bucketTokens.toString(),
          creditsWei: r.creditsWei.toString(),
          paygWei: r.paygWei.toString(),
          legacyAusd: r.legacyAusd.toString(),
          settledAt: r.settledAt?.toISOString() ?? null,
        })),
        nextCursor: page.nextCursor,
      };
    },
  );

  app.get(
    "/api/v1/usage/statements/:month",
    {
      schema: {
        tags,
        security,
        summary: "The monthly statement (UTC month YYYY-MM), as JSON or CSV",
        description:
          "Deposits, plan payments, usage by day, settlements with their transactions and proof, withdrawals and claims, with " +
            "totals. `format=csv` answers text/csv (amounts in wei and exact CXPT). 400 INVALID_MONTH.",
        params: Type.Object({ month: Type.String({ maxLength: 7 }) }),
        querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal("json"), Type.Literal("csv")])) }, { additionalProperties: false }),
        response: { 200: StatementView, ...errors(400, 401) },
      },
    },
    async (request, reply) => {
      const statement = await monthlyStatement(ctx.db, accountOf(request).id, request.params.month);
      if (request.query.format === "csv") {
        return reply
          .type("text/csv; charset=utf-8")
          .header("content-disposition", `attachment; filename="cxpt-statement-${statement.month}.csv"`)
          .serializer((body: unknown) => body as string)
          // The CSV replaces the JSON answer the schema describes for the default format.
          .send(statementCsv(statement) as never);
      }
      const t = statement.totals;
      return {
        month: statement.month,
        deposits: statement.deposits.map(entryView),
        planPayments: statement.planPayments.map(entryView),
        withdrawals: statement.withdrawals.map(entryView),
        claims: statement.claims.map(entryView),
        usageByDay: statement.usageByDay.map(usageDayView),
        settlements: statement.settlements.map((s) => ({ ...s, amountWei: s.amountWei.toString(), at: s.at.toISOString() })),
        totals: {
          depositsWei: t.depositsWei.toString(),
          planPaymentsWei: t.planPaymentsWei.toString(),
          withdrawalsWei: t.withdrawalsWei.toString(),
          claimsWei: t.claimsWei.toString(),
          requests: t.requests,
          tokens: t.tokens.toString(),
          usageWei: t.usageWei.toString(),
          settledWei: t.settledWei.toString(),
        },
      };
    },
  );
}
