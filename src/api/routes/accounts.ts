// The signed-in account and its API keys for the compute API.
import { Type } from "typebox";
import { createApiKey, listApiKeys, revokeApiKey } from "../../accounts/store.ts";
import type { AppContext } from "../../app/context.ts";
import { accountOf, sessionHook } from "../auth.ts";
import { routeLimit } from "../rate-limit.ts";
import { errors, Uuid } from "../schemas.ts";
import type { Api } from "../server.ts";
import { AccountView, accountView, ApiKeyView, apiKeyView } from "./views.ts";

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
    { schema: { tags: ["accounts"], summary: "The account's API keys", security, response: { 200: Type.Object({ keys: Type.Array(ApiKeyView) }), ...errors(401) } } },
    async (request) => {
      return { keys: (await listApiKeys(ctx.db, accountOf(request).id)).map(apiKeyView) };
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
