// The admin's list of alerts (src/monitoring/alerts.ts): what the checks and jobs raised, newest
// first, and resolving one by hand once it was dealt with (audited). Admins only: 401 without a
// session, 403 without the admin role.
import { Type } from "typebox";
import { audited } from "../../audit/log.ts";
import type { AppContext } from "../../app/context.ts";
import { badRequest } from "../../errors.ts";
import { ALERT_KINDS, listAlerts, resolveAlertById } from "../../monitoring/alerts.ts";
import { accountOf, adminHook } from "../auth.ts";
import { errors, Nullable, Timestamp } from "../schemas.ts";
import type { Api } from "../server.ts";

export const MAX_ALERT_PAGE = 200;
export const DEFAULT_ALERT_PAGE = 50;

const AlertView = Type.Object({
  id: Type.String({ description: "the alert's id, a decimal string" }),
  key: Type.String({ description: "the condition, e.g. low_balance:settler; one open alert per key" }),
  kind: Type.Enum(ALERT_KINDS),
  severity: Type.Union([Type.Literal("warning"), Type.Literal("critical")]),
  message: Type.String(),
  details: Type.Record(Type.String(), Type.Unknown()),
  count: Type.Integer({ description: "how often it was raised while open" }),
  firstAt: Timestamp,
  lastAt: Timestamp,
  resolvedAt: Nullable(Timestamp),
});

export function alertRoutes(app: Api, ctx: AppContext): void {
  const security = [{ session: [] }];
  const tags = ["admin"];
  app.addHook("onRequest", adminHook(ctx.db));

  app.get(
    "/api/v1/admin/alerts",
    {
      schema: {
        tags,
        security,
        summary: "Alerts, most recently raised first",
        querystring: Type.Object(
          {
            open: Type.Optional(Type.Union([Type.Literal("true"), Type.Literal("false")], { description: "true: only alerts not resolved yet" })),
            limit: Type.Optional(Type.String({ pattern: "^[0-9]{1,4}$", description: `alerts per page, 1–${MAX_ALERT_PAGE} (${DEFAULT_ALERT_PAGE})` })),
            offset: Type.Optional(Type.String({ pattern: "^[0-9]{1,9}$", description: "alerts to skip (0)" })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ alerts: Type.Array(AlertView), nextOffset: Nullable(Type.Integer()) }), ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const limit = request.query.limit === undefined ? DEFAULT_ALERT_PAGE : Number(request.query.limit);
      if (limit < 1 || limit > MAX_ALERT_PAGE) throw badRequest("INVALID_LIMIT", `limit must be from 1 to ${MAX_ALERT_PAGE}, got ${limit}`);
      const offset = Number(request.query.offset ?? 0);
      // One more than asked: whether there is a next page without a count.
      const alerts = await listAlerts(ctx.db, { open: request.query.open === "true", limit: limit + 1, offset });
      return { alerts: alerts.slice(0, limit), nextOffset: alerts.length > limit ? offset + limit : null };
    },
  );

  app.post(
    "/api/v1/admin/alerts/:id/resolve",
    {
      schema: {
        tags,
        security,
        summary: "Resolve an alert by hand",
        description: "A condition that still holds is raised again, as a new alert, by the next check that sees it.",
        params: Type.Object({ id: Type.String({ pattern: "^[1-9][0-9]{0,17}$" }) }),
        response: { 200: AlertView, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { id } = request.params;
      return audited(ctx.db, { actorId: accountOf(request).id, action: "resolve_alert", params: { id } }, async () => {
        const resolved = await resolveAlertById(ctx.db, ctx.monitor.log, id);
        return { result: resolved, outcome: { status: "executed", key: resolved.key, kind: resolved.kind } };
      });
    },
  );
}
