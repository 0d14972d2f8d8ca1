// The signed-in account and its API keys for the compute API.
import { Type } from "typebox";
import { createApiKey, listApiKeys, revokeApiKey } from "../../accounts/store.ts";
import type { AppContext } from "../../app/context.ts";
import { keyUsage, setKeyLimit, type KeyUsage } from "../../usage/keys.ts";
import { accountOf, sessionHook } from "../auth.ts";
import { routeLimit } from "../rate-limit.ts";
import { errors, Nullable, Timestamp, Uuid, Wei } from "../schemas.ts";
import type { Api } from "../server.ts";
import { AccountView, accountView, ApiKeyView, apiKeyView } from "./views.ts";

const KeyWithUsage = Type.Object({
  ...ApiKeyView.properties,
  monthlyLimitWei: Nullable(Wei),
  lastUsedAt: Nullable(Timestamp),
  requestsThisMonth: Type.Integer({ minimum: 0 }),
  spentThisMonthWei: Wei,
});

const usageView = (u: KeyUsage | undefined) => ({
  monthlyLimitWei: u?.monthlyLimitWei?.toString() ?? null,
  lastUsedAt: u?.lastUsedAt?.toISOString() ?? null,
  requestsThisMonth: u?.requestsThisMonth ?? 0,
  spentThisMonthWei: (u?.spentThisMonthWei ?? 0n).toString(),
});

export function accountRoutes(app: Api, ctx: AppContext): void {
  const security = [{ session: [] }];
  // Every route here: who is asking is settled before the body or params are validated.
  app.addHook("onRequest", sessionHook(ctx.db));

  app.get(
    "/api/v1/accounts/me",
    { schema: { tags: ["accounts"], summary: "The signed-in account", security, response: { 200: AccountView, ...errors(401) } } },
    async (request) => accountView(accountOf(request)),
  );

  app.post(
    "/api/v1/keys",
    {
      config: { rateLimit: routeLimit(ctx.config.api, "keyCreation") },
      schema: {
        tags: ["accounts"],
        summary: "Issue an API key for the compute API (shown once)",
        description: "409 API_KEY_LIMIT when the account already has MAX_API_KEYS active keys (revoke one first); 429 past RATE_LIMIT_KEY_CREATION a window.",
        security,
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
        response: { 201: Type.Object({ key: Type.String({ description: "keep it: it is not shown again" }), apiKey: ApiKeyView }), ...errors(400, 401, 409, 429) },
      },
    },
    async (request, reply) => {
      const { key, record } = await createApiKey(ctx.db, accountOf(request).id, request.body.name, ctx.config.api.maxApiKeys);
      return reply.status(201).send({ key, apiKey: apiKeyView(record) });
    },
  );

  app.get(
    "/api/v1/keys",
    {
      schema: {
        tags: ["accounts"],
        summary: "The account's API keys, with each key's use this month",
        description: "This month is the calendar month in UTC. A key's requests count once drained from the meter (seconds after the call).",
        security,
        response: { 200: Type.Object({ keys: Type.Array(KeyWithUsage) }), ...errors(401) },
      },
    },
    async (request) => {
      const accountId = accountOf(request).id;
      const [keys, usage] = await Promise.all([listApiKeys(ctx.db, accountId), keyUsage(ctx.db, accountId)]);
      return { keys: keys.map((k) => ({ ...apiKeyView(k), ...usageView(usage.get(k.id)) })) };
    },
  );

  app.put(
    "/api/v1/keys/:id/limit",
    {
      schema: {
        tags: ["accounts"],
        summary: "Set or remove an API key's monthly spend limit",
        description:
          "Once the key's CXPT spend this calendar month (UTC) reaches the limit, the compute API refuses it with 402 " +
            "`KEY_LIMIT_REACHED` until the month ends or the limit is raised. `monthlyLimitWei: null` removes the limit. 400 " +
            "`INVALID_LIMIT` for 0 or more than 10^36 wei; 404 `API_KEY_NOT_FOUND` for a revoked key or another account's.",
        security,
        params: Type.Object({ id: Uuid }),
        body: Type.Object({ monthlyLimitWei: Nullable(Wei) }, { additionalProperties: false }),
        response: { 200: Type.Object({ id: Uuid, monthlyLimitWei: Nullable(Wei) }), ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { monthlyLimitWei } = request.body;
      await setKeyLimit(ctx.db, accountOf(request).id, request.params.id, monthlyLimitWei === null ? null : BigInt(monthlyLimitWei));
      ctx.billing.gate.invalidateKeyBudget(request.params.id); // the next request is held against the new limit
      return { id: request.params.id, monthlyLimitWei };
    },
  );

  app.delete(
    "/api/v1/keys/:id",
    {
      schema: {
        tags: ["accounts"],
        summary: "Revoke an API key",
        security,
        params: Type.Object({ id: Uuid }),
        response: { 204: Type.Null(), ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const keyHash = await revokeApiKey(ctx.db, accountOf(request).id, request.params.id);
      ctx.billing.gate.invalidateApiKey(keyHash); // the compute API refuses it from the next request on
      return reply.status(204).send(null);
    },
  );
}
