import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { auth, BACKENDS, signIn, startStack, USERS, type Stack } from "./harness.ts";

for (const backend of BACKENDS) {
  describe(`auth and API keys (${backend})`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack(backend);
    });
    after(async () => stack.close());

    const nonce = async () => (await stack.api.inject({ method: "POST", url: "/api/v1/auth/nonce" })).json() as { nonce: string; domain: string; uri: string; chainId: number };
    const message = (address: `0x${string}`, n: { nonce: string; domain: string; uri: string; chainId: number }, over: Partial<Parameters<typeof createSiweMessage>[0]> = {}) =>
      createSiweMessage({ address, chainId: n.chainId, domain: n.domain, nonce: n.nonce, uri: n.uri, version: "1", ...over });
    const siwe = (payload: unknown, token?: string) =>
      stack.api.inject({ method: "POST", url: "/api/v1/auth/siwe", payload: payload as object, headers: token ? auth(token) : {} });

    it("signs a new wallet in, opening an account of the requested kind, and back into the same account", async () => {
      const first = await signIn(stack.api, USERS.alice, { kind: "provider" });
      const me = (await stack.api.inject({ method: "GET", url: "/api/v1/accounts/me", headers: auth(first.token) })).json();
      assert.equal(me.kind, "provider");
      assert.equal(me.wallet, first.wallet);
      assert.equal(me.creditsWei, "0");
      const second = await signIn(stack.api, USERS.alice);
      assert.equal(second.accountId, first.accountId);
      assert.notEqual(second.token, first.token);
    });

    it("refuses a replayed SIWE message: each nonce signs in once", async () => {
      const account = privateKeyToAccount(USERS.bob);
      const text = message(account.address, await nonce());
      const signature = await account.signMessage({ message: text });
      assert.equal((await siwe({ message: text, signature })).statusCode, 200);
      const replay = await siwe({ message: text, signature });
      assert.equal(replay.statusCode, 401);
      assert.equal(replay.json().error.code, "SIWE_NONCE_INVALID");
    });

    it("refuses an expired nonce, and forgets expired nonces as new ones are issued", async () => {
      const account = privateKeyToAccount(USERS.carol);
      const n = await nonce();
      await stack.app.db.query("update siwe_nonces set expires_at = now() - interval '1 second' where nonce = $1", [n.nonce]);
      const text = message(account.address, n);
      const response = await siwe({ message: text, signature: await account.signMessage({ message: text }) });
      assert.equal(response.statusCode, 401);
      assert.equal(response.json().error.code, "SIWE_NONCE_INVALID");
      await nonce();
      const { rows } = await stack.app.db.query("select 1 from siwe_nonces where nonce = $1", [n.nonce]);
      assert.equal(rows.length, 0);
    });

    it("refuses a nonce the server never issued, a foreign domain, the wrong chain and a forged signature", async () => {
      const account = privateKeyToAccount(USERS.carol);
      const n = await nonce();
      const cases: [string, string, string?][] = [
        ["SIWE_NONCE_INVALID", message(account.address, { ...n, nonce: "abcdefgh12345678" })],
        ["SIWE_INVALID", message(account.address, n, { domain: "evil.example" })],
        ["SIWE_WRONG_CHAIN", message(account.address, n, { chainId: 1 })],
      ];
      for (const [code, text] of cases) {
        const response = await siwe({ message: text, signature: await account.signMessage({ message: text }) });
        assert.equal(response.statusCode, 401, code);
        assert.equal(response.json().error.code, code);
      }
      const text = message(account.address, n);
      const forged = await privateKeyToAccount(USERS.bob).signMessage({ message: text });
      const response = await siwe({ message: text, signature: forged });
      assert.equal(response.statusCode, 401);
      assert.equal(response.json().error.code, "SIWE_BAD_SIGNATURE");
      // The nonce was not spent by the failed attempts: the real signature still signs in.
      assert.equal((await siwe({ message: text, signature: await account.signMessage({ message: text }) })).statusCode, 200);
    });

    it("answers 400 with a code for malformed sign-in bodies", async () => {
      for (const payload of [{}, { message: "hello", signature: "0x12" }, { message: "x", signature: "nothex" }, { message: "x", signature: "0x", extra: 1 }, { message: "x", signature: "0x", kind: "admin" }]) {
        const response = await siwe(payload);
        assert.equal(response.statusCode, 400, JSON.stringify(payload));
        assert.match(response.json().error.code, /^(VALIDATION_FAILED|SIWE_MALFORMED)$/);
        assert.ok(response.json().error.message.length > 0);
      }
    });

    it("links a wallet to a signed-in account only when the wallet is free", async () => {
      const carol = await signIn(stack.api, USERS.carol);
      const alice = await signIn(stack.api, USERS.alice);
      // Alice's session tries to link Carol's wallet: taken.
      const account = privateKeyToAccount(USERS.carol);
      const text = message(account.address, await nonce());
      const response = await siwe({ message: text, signature: await account.signMessage({ message: text }) }, alice.token);
      assert.equal(response.statusCode, 409);
      assert.equal(response.json().error.code, "WALLET_TAKEN");
      assert.notEqual(carol.accountId, alice.accountId);
    });

    it("needs a session for account routes (401) and ends it on logout", async () => {
      assert.equal((await stack.api.inject({ method: "GET", url: "/api/v1/accounts/me" })).json().error.code, "UNAUTHENTICATED");
      const bad = await stack.api.inject({ method: "GET", url: "/api/v1/accounts/me", headers: auth("cxs_nope") });
      assert.equal(bad.statusCode, 401);
      assert.equal(bad.json().error.code, "SESSION_EXPIRED");
      const { token } = await signIn(stack.api, USERS.alice);
      assert.equal((await stack.api.inject({ method: "POST", url: "/api/v1/auth/logout", headers: auth(token) })).statusCode, 204);
      assert.equal((await stack.api.inject({ method: "GET", url: "/api/v1/accounts/me", headers: auth(token) })).statusCode, 401);
    });

    it("issues API keys shown once, lists them without the secret and revokes them", async () => {
      const { token } = await signIn(stack.api, USERS.alice);
      const created = await stack.api.inject({ method: "POST", url: "/api/v1/keys", headers: auth(token), payload: { name: "ci" } });
      assert.equal(created.statusCode, 201);
      const { key, apiKey } = created.json();
      assert.match(key, /^cxk_/);
      assert.ok(key.startsWith(apiKey.prefix));
      const listed = (await stack.api.inject({ method: "GET", url: "/api/v1/keys", headers: auth(token) })).json().keys;
      assert.ok(listed.some((k: { id: string }) => k.id === apiKey.id));
      assert.ok(!JSON.stringify(listed).includes(key), "the secret is never listed");
      assert.equal((await stack.api.inject({ method: "DELETE", url: `/api/v1/keys/${apiKey.id}`, headers: auth(token) })).statusCode, 204);
      const again = (await stack.api.inject({ method: "GET", url: "/api/v1/keys", headers: auth(token) })).json().keys;
      assert.ok(again.find((k: { id: string }) => k.id === apiKey.id).revokedAt);
      // Someone else's key id, a bad id, a bad name.
      const bob = await signIn(stack.api, USERS.bob);
      assert.equal((await stack.api.inject({ method: "DELETE", url: `/api/v1/keys/${apiKey.id}`, headers: auth(bob.token) })).statusCode, 404);
      assert.equal((await stack.api.inject({ method: "DELETE", url: "/api/v1/keys/xyz", headers: auth(token) })).statusCode, 400);
      assert.equal((await stack.api.inject({ method: "POST", url: "/api/v1/keys", headers: auth(token), payload: { name: "" } })).statusCode, 400);
      assert.equal((await stack.api.inject({ method: "POST", url: "/api/v1/keys", payload: { name: "x" } })).statusCode, 401);
    });

    it("serves the OpenAPI document and its docs page", async () => {
      const doc = (await stack.api.inject({ method: "GET", url: "/api/docs/json" })).json();
      assert.equal(doc.openapi, "3.0.3");
      assert.ok(doc.paths["/api/v1/auth/siwe"].post);
      const page = await stack.api.inject({ method: "GET", url: "/api/docs/" });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /swagger/i);
    });
  });
}
