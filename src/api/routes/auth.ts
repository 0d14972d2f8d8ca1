// Sign-In with Ethereum: a nonce, then the signed message. Signing in with a new wallet opens a new
// account; signing in while already signed in links the wallet to that account.
import { Type } from "typebox";
import { createAccount, createSession, findAccountByWallet, linkWallet, accountForSession, deleteSession } from "../../accounts/store.ts";
import { issueNonce, verifySignIn } from "../../accounts/siwe.ts";
import type { AppContext } from "../../app/context.ts";
import { bearer, requireSession } from "../auth.ts";
import { routeLimit } from "../rate-limit.ts";
import { errors, HexData, Timestamp } from "../schemas.ts";
import type { Api } from "../server.ts";
import { AccountView, accountView } from "./views.ts";

export function authRoutes(app: Api, ctx: AppContext): void {
  app.post(
    "/api/v1/auth/nonce",
    {
      config: { rateLimit: routeLimit(ctx.config.api, "nonce") },
      schema: {
        tags: ["auth"],
        summary: "A single-use nonce for a Sign-In with Ethereum message",
        response: {
          200: Type.Object({ nonce: Type.String(), expiresAt: Timestamp, domain: Type.String(), uri: Type.String(), chainId: Type.Union([Type.Integer(), Type.Null()]) }),
          ...errors(429),
        },
      },
    },
    async () => {
      const { nonce, expiresAt } = await issueNonce(ctx.db);
      return { nonce, expiresAt: expiresAt.toISOString(), domain: ctx.config.siwe.domain, uri: ctx.config.siwe.uri, chainId: ctx.chain?.chainId ?? null };
    },
  );

  app.post(
    "/api/v1/auth/siwe",
    {
      config: { rateLimit: routeLimit(ctx.config.api, "siwe") },
      schema: {
        tags: ["auth"],
        summary: "Sign in (or link a wallet) with a signed EIP-4361 message",
        description:
          "Without a session: signs in to the wallet's account, opening one (of `kind`) if the wallet is new. With a session (Authorization: Bearer cxs_…) of an account without a wallet: links the wallet to it.",
        body: Type.Object(
          {
            message: Type.String({ minLength: 1, maxLength: 4096 }),
            signature: HexData,
            kind: Type.Optional(Type.Union([Type.Literal("user"), Type.Literal("provider")])),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ token: Type.String(), expiresAt: Timestamp, created: Type.Boolean(), linked: Type.Boolean(), account: AccountView }),
          ...errors(400, 401, 409, 429),
        },
      },
    },
    async (request) => {
      const wallet = await verifySignIn(ctx.db, { message: request.body.message, signature: request.body.signature as `0x${string}` }, {
        domain: ctx.config.siwe.domain,
        uri: ctx.config.siwe.uri,
        chainId: ctx.chain?.chainId,
        client: ctx.chain?.client,
      });
      const token = bearer(request);
      const current = token?.startsWith("cxs_") ? await accountForSession(ctx.db, token) : undefined;
      let created = false;
      let linked = false;
      let account = await findAccountByWallet(ctx.db, wallet);
      if (current && current.id !== account?.id) {
        account = await linkWallet(ctx.db, current.id, wallet);
        linked = true;
      } else if (!account) {
        account = await createAccount(ctx.db, { kind: request.body.kind ?? "user", wallet });
        created = true;
      }
      const session = await createSession(ctx.db, account.id, ctx.config.sessionTtlSeconds, ctx.config.api.maxSessions);
      return { token: session.token, expiresAt: session.expiresAt.toISOString(), created, linked, account: accountView(account) };
    },
  );

  app.post(
    "/api/v1/auth/logout",
    { schema: { tags: ["auth"], summary: "End this session", security: [{ session: [] }], response: { 204: Type.Null(), ...errors(401) } } },
    async (request, reply) => {
      await requireSession(ctx.db, request);
      await deleteSession(ctx.db, bearer(request)!);
      return reply.status(204).send(null);
    },
  );
}
