// Provider statistics for the rewards epoch: the orchestrator reports the requests each provider
// served (per tier and UTC hour) and its daily health, and the admin dashboard reads them back per
// window. Admins only (the orchestrator signs in as an admin account): 401 without a session, 403
// without the admin role, both before the body is looked at. Semantics in src/rewards/stats.ts.
import { Type } from "typebox";
import type { Address as WalletAddress } from "viem";
import type { AppContext } from "../../app/context.ts";
import {
  DEFAULT_STATS_PAGE,
  listProviderStats,
  MAX_REPORT_ROWS,
  MAX_STATS_PAGE,
  MAX_STATS_WINDOW_DAYS,
  recordProviderStats,
  type ServedFigure,
} from "../../rewards/stats.ts";
import { accountOf, adminHook } from "../auth.ts";
import { Address, errors, Nullable, pageQuery, Timestamp } from "../schemas.ts";
import type { Api } from "../server.ts";

/** Room for MAX_REPORT_ROWS rows of each kind (a row is about 130 bytes of JSON). */
const MAX_STATS_BODY = 4 * 1024 * 1024;

// Shapes only: the values (known tier, whole hour, ranges, duplicates) are checked by
// recordProviderStats, which answers each with its own code.
const ServedRow = Type.Object(
  {
    provider: Address,
    tier: Type.String({ minLength: 1, maxLength: 64, description: "a service tier: tide-pool, blue-surge, open-ocean or mariana-depth" }),
    hour: Type.String({ minLength: 1, maxLength: 40, description: "the hour's start, ISO 8601 (2026-03-01T05:00:00Z): a whole UTC hour, not in the future" }),
    requests: Type.String({ pattern: "^[0-9]{1,19}$", description: "requests served, as a decimal string" }),
  },
  { additionalProperties: false },
);
const HealthRow = Type.Object(
  {
    provider: Address,
    day: Type.String({ minLength: 1, maxLength: 10, description: "YYYY-MM-DD (UTC), not in the future" }),
    uptimeBps: Type.Integer({ description: "uptime in basis points of 100 % (9995 = 99.95 %), 0–10000" }),
    p50Ms: Type.Integer({ description: "median latency in milliseconds, ≥ 0" }),
  },
  { additionalProperties: false },
);
const Counts = Type.Object({
  inserted: Type.Integer({ description: "figures stored for the first time" }),
  replaced: Type.Integer({ description: "figures that replaced an earlier one of the same key" }),
});

const servedView = (s: ServedFigure) => ({ ...s, requests: s.requests.toString() });

export function providerStatsRoutes(app: Api, ctx: AppContext): void {
  const security = [{ session: [] }];
  const tags = ["admin"];
  app.addHook("onRequest", adminHook(ctx.db));

  app.put(
    "/api/v1/admin/providers/stats",
    {
      bodyLimit: MAX_STATS_BODY,
      schema: {
        tags,
        security,
        summary: "Record the requests providers served and their health (the orchestrator's report)",
        description:
          `Upserts: a figure for a (provider, tier, hour) or (provider, day) already stored replaces it, so corrected figures can be resent. The whole report is checked before anything is written (one transaction); audited as record_provider_stats. At most ${MAX_REPORT_ROWS} rows of each kind. ` +
          "400 UNKNOWN_PROVIDER (details.wallets), UNKNOWN_TIER, INVALID_HOUR, INVALID_DAY, INVALID_REQUESTS, INVALID_UPTIME, INVALID_LATENCY, INVALID_REPORT (a key twice); details.problems lists every problem. " +
          "Figures count toward rewards only for windows the daily rewards job has not closed yet.",
        body: Type.Object(
          {
            served: Type.Optional(Type.Array(ServedRow, { maxItems: MAX_REPORT_ROWS, description: "requests per provider, tier and UTC hour" })),
            health: Type.Optional(Type.Array(HealthRow, { maxItems: MAX_REPORT_ROWS, description: "uptime and latency per provider and UTC day" })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ served: Counts, health: Counts, providers: Type.Integer() }), ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const { served = [], health = [] } = request.body;
      // The schema checked the addresses' form; the figures' values are recordProviderStats' to check.
      const report = { served: served.map((s) => ({ ...s, provider: s.provider as WalletAddress, requests: BigInt(s.requests) })), health: health.map((h) => ({ ...h, provider: h.provider as WalletAddress })) };
      return recordProviderStats(ctx, accountOf(request).id, report);
    },
  );

  app.get(
    "/api/v1/admin/providers/stats",
    {
      schema: {
        tags,
        security,
        summary: "The stored provider statistics of a window, a page of providers at a time",
        description: `Served hours in [from, to), health of the UTC days that overlap it; at most ${MAX_STATS_WINDOW_DAYS} days. 400 INVALID_WINDOW / INVALID_LIMIT / INVALID_CURSOR.`,
        querystring: Type.Object(
          {
            from: Type.String({ maxLength: 40, description: "ISO 8601 instant" }),
            to: Type.String({ maxLength: 40, description: "ISO 8601 instant (exclusive)" }),
            ...pageQuery("providers", MAX_STATS_PAGE, DEFAULT_STATS_PAGE),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            from: Timestamp,
            to: Timestamp,
            served: Type.Array(Type.Object({ provider: Address, tier: Type.String(), hour: Timestamp, requests: Type.String() })),
            health: Type.Array(Type.Object({ provider: Address, day: Type.String(), uptimeBps: Type.Integer(), p50Ms: Type.Integer() })),
            nextCursor: Nullable(Type.String()),
          }),
          ...errors(400, 401, 403),
        },
      },
    },
    async (request) => {
      const { from, to, limit, cursor } = request.query;
      const page = await listProviderStats(ctx.db, { from, to, ...(limit === undefined ? {} : { limit: Number(limit) }), ...(cursor === undefined ? {} : { cursor }) });
      return {
        from: page.from.toISOString(),
        to: page.to.toISOString(),
        served: page.served.map(servedView),
        health: [...page.health],
        nextCursor: page.nextCursor,
      };
    },
  );
}
