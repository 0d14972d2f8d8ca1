import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getAddress, parseEther, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { drainOnce } from "../../../src/billing/index.ts";
import { auth, BACKENDS, signIn, startStack, USERS, type Stack } from "./harness.ts";
import { expectReply as expect } from "./harness.ts";

type Method = "GET" | "POST";

const USD = 10n ** 18n; // atto-USD per US dollar
const CHAT = { model: "llama-3-8b", messages: [{ role: "user", content: "What is CXPT?" }], max_tokens: 64, tier: "open-ocean" };
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";


/** The stack's helpers over one API: signing in, API keys, compute calls, admin calls, the drain. */
function client(stack: () => Stack) {
  const admin = (method: Method, url: string, token?: string, payload?: object) =>
    stack().api.inject({ method, url: `/api/v1/admin/${url}`, headers: token ? auth(token) : {}, ...(payload ? { payload } : {}) });
  return {
    admin,
    /** Signs the demo admin in and gives its account the admin role; returns its session token. */
    async adminToken(): Promise<string> {
      const { token, accountId } = await signIn(stack().api, USERS.admin);
      await stack().app.db.query("update accounts set role = 'admin' where id = $1", [accountId]);
      return token;
    },
    /** Signs `privateKey`'s wallet in and issues an API key. */
    async user(privateKey: Hex) {
      const { token, accountId } = await signIn(stack().api, privateKey);
      const created = await stack().api.inject({ method: "POST", url: "/api/v1/keys", headers: auth(token), payload: { name: "legacy" } });
      return { token, accountId, key: expect(created, 201).key as string };
    },
    chat: (key: string, requestId: string) =>
      stack().api.inject({ method: "POST", url: "/api/v1/chat/completions", payload: CHAT, headers: { ...auth(key), "x-request-id": requestId } }),
    grant: (token: string, accountId: string, usd: string, reason = "support top-up") =>
      admin("POST", `accounts/${accountId}/legacy-credits`, token, { usd, reason }),
    /** Everything metered, drained into PostgreSQL; the gate reloads the accounts charged. */
    async drainAll() {
      const { billing, db } = stack().app;
      await billing.meter.flush();
      while ((await drainOnce({ store: billing.store, db })).drained > 0);
    },
    async legacy(accountId: string) {
      const { rows } = await stack().app.db.query<{ legacy_credits_ausd: string; legacy_debt_ausd: string; credits_wei: string }>(
        "select legacy_credits_ausd, legacy_debt_ausd, credits_wei from accounts where id = $1",
        [accountId],
      );
      return { credits: BigInt(rows[0]!.legacy_credits_ausd), debt: BigInt(rows[0]!.legacy_debt_ausd), creditsWei: BigInt(rows[0]!.credits_wei) };
    },
    /** The newest audit entries, newest first. */
    async auditLog(token: string, limit = 10) {
      return expect(await admin("GET", `audit?limit=${limit}`, token), 200).entries as {
        actorId: string | null;
        actorWallet: string | null;
        action: string;
        params: Record<string, unknown>;
        outcome: Record<string, unknown>;
      }[];
    },
  };
}

for (const backend of BACKENDS) {
  describe(`legacy credits with the chain off (${backend})`, () => {
    let stack: Stack;
    let token: string;
    const api = client(() => stack);
    before(async () => {
      stack = await startStack(backend, { CHAIN_STAGE: "off" });
      token = await api.adminToken();
    });
    after(async () => stack.close());

    it("answers 402 without legacy credits, then bills the admin's USD grant (billedIn legacy, costWei 0) exactly", async () => {
      const { key, accountId, token: userToken } = await api.user(USERS.alice);
      const refused = expect(await api.chat(key, "alice-0"), 402, "INSUFFICIENT_FUNDS");
      assert.deepEqual([refused.error.details.unit, refused.error.details.available], ["ausd", "0"]);

      const grant = expect(await api.grant(token, accountId, "12.50"), 200);
      assert.deepEqual(grant, {
        accountId,
        grantedAusd: (125n * USD / 10n).toString(),
        paidDebtAusd: "0",
        creditedAusd: (125n * USD / 10n).toString(),
        legacyCreditsAusd: (125n * USD / 10n).toString(),
        legacyDebtAusd: "0",
      });

      let billed = 0n;
      for (let i = 1; i <= 5; i++) {
        const bill = expect(await api.chat(key, `alice-${i}`), 200).cxpt;
        assert.deepEqual([bill.billedIn, bill.costWei, bill.charged], ["legacy", "0", true]);
        assert.ok(BigInt(bill.costAusd) > 0n);
        billed += BigInt(bill.costAusd);
      }
      await api.drainAll();

      const { rows } = await stack.app.db.query<{ billed_in: string; cost_ausd: string; cost_wei: string; legacy_ausd: string; legacy_debt_ausd: string; credits_wei: string; payg_wei: string }>(
        "select billed_in, cost_ausd, cost_wei, legacy_ausd, legacy_debt_ausd, credits_wei, payg_wei from usage_events where account_id = $1",
        [accountId],
      );
      assert.equal(rows.length, 5);
      for (const row of rows) {
        assert.deepEqual([row.billed_in, row.cost_wei, row.credits_wei, row.payg_wei, row.legacy_debt_ausd], ["legacy", "0", "0", "0", "0"]);
        assert.equal(row.legacy_ausd, row.cost_ausd);
      }
      const charged = rows.reduce((sum, row) => sum + BigInt(row.cost_ausd), 0n);
      assert.equal(charged, billed);
      assert.deepEqual(await api.legacy(accountId), { credits: 125n * USD / 10n - charged, debt: 0n, creditsWei: 0n });

      const detail = expect(await api.admin("GET", `accounts/${accountId}`, token), 200);
      assert.equal(detail.legacyCreditsAusd, (125n * USD / 10n - charged).toString());
      assert.deepEqual(detail.usage, { events: 5, costAusd: charged.toString(), costWei: "0", unsettledPaygWei: "0" });

      // The dashboard's balance says how usage is billed now.
      const balance = expect(await stack.api.inject({ method: "GET", url: "/api/v1/tokens/balance", headers: auth(userToken) }), 200);
      assert.deepEqual([balance.billedIn, balance.onchain, balance.legacyCreditsAusd], ["legacy", null, (125n * USD / 10n - charged).toString()]);
    });

    it("turns usage beyond the legacy credits into legacy debt, which the next grants pay first", async () => {
      const { key, accountId } = await api.user(USERS.bob);
      expect(await api.grant(token, accountId, "0.01"), 200);
      // Usage admitted against a balance the drain has not caught up with yet (concurrent requests):
      // recorded as a request would be, for 0.07 USD, more than the 0.01 USD of credits.
      const usage = await stack.app.billing.meter.recordUsage({
        requestId: "bob-burst",
        accountId,
        endpoint: "/api/v1/chat/completions",
        service: "chat",
        tier: "mariana-depth",
        unitsIn: 0,
        unitsOut: 10_000,
        billedIn: "legacy",
      });
      assert.equal(usage.costAusd, 7n * USD / 100n);
      await api.drainAll();
      const { rows } = await stack.app.db.query<{ legacy_ausd: string; legacy_debt_ausd: string }>(
        "select legacy_ausd, legacy_debt_ausd from usage_events where request_id = 'bob-burst'",
      );
      assert.deepEqual(rows, [{ legacy_ausd: (USD / 100n).toString(), legacy_debt_ausd: (6n * USD / 100n).toString() }]);
      assert.deepEqual(await api.legacy(accountId), { credits: 0n, debt: 6n * USD / 100n, creditsWei: 0n });
      expect(await api.chat(key, "bob-1"), 402, "INSUFFICIENT_FUNDS");

      // Less than the debt: all of it pays debt, nothing is credited, the gate still refuses.
      const partial = expect(await api.grant(token, accountId, "0.02"), 200);
      assert.deepEqual([partial.paidDebtAusd, partial.creditedAusd, partial.legacyCreditsAusd, partial.legacyDebtAusd], [
        (2n * USD / 100n).toString(),
        "0",
        "0",
        (4n * USD / 100n).toString(),
      ]);
      expect(await api.chat(key, "bob-2"), 402, "INSUFFICIENT_FUNDS");

      const rest = expect(await api.grant(token, accountId, "1"), 200);
      assert.deepEqual([rest.paidDebtAusd, rest.creditedAusd, rest.legacyCreditsAusd, rest.legacyDebtAusd], [
        (4n * USD / 100n).toString(),
        (96n * USD / 100n).toString(),
        (96n * USD / 100n).toString(),
        "0",
      ]);
      assert.deepEqual(await api.legacy(accountId), { credits: 96n * USD / 100n, debt: 0n, creditsWei: 0n });
      assert.equal(expect(await api.chat(key, "bob-3"), 200).cxpt.billedIn, "legacy");
    });

    it("answers 409 on the chain's features (deposits, claims, subscriptions) while the chain is off", async () => {
      const { token: userToken } = await signIn(stack.api, USERS.carol);
      const wallet = privateKeyToAccount(USERS.carol).address;
      const txHash = `0x${"ab".repeat(32)}`;
      const claim = {
        request: { from: wallet, to: wallet, value: "0", gas: "200000", nonce: "0", deadline: 4_000_000_000, data: "0x4e71d92d" },
        signature: `0x${"11".repeat(65)}`,
      };
      const routes: [Method, string, object?][] = [
        ["POST", "/api/v1/tokens/deposit", { txHash }],
        ["POST", "/api/v1/tokens/withdraw", claim],
        ["GET", "/api/v1/rewards/available"],
        ["GET", "/api/v1/rewards/claim-request"],
        ["POST", "/api/v1/rewards/claim", claim],
        ["GET", "/api/v1/subscriptions/plans"],
        ["GET", "/api/v1/subscriptions/status"],
        ["POST", "/api/v1/subscriptions/create", { planId: 1, payment: "cxpt", txHash }],
        ["POST", "/api/v1/subscriptions/create", { planId: 1, payment: "fiat", paymentRef: "legacy-test-1" }],
        ["POST", "/api/pay/subscription", { planId: 1, payment: "cxpt", txHash }],
        ["POST", "/api/v1/subscriptions/cancel"],
      ];
      const { paths } = expect(await stack.api.inject({ method: "GET", url: "/api/docs/json" }), 200) as { paths: Record<string, Record<string, unknown>> };
      for (const [method, url, payload] of routes) {
        assert.ok(paths[url]?.[method.toLowerCase()], `${method} ${url} is documented`);
        const response = await stack.api.inject({ method, url, headers: auth(userToken), ...(payload ? { payload } : {}) });
        assert.equal(response.statusCode, 409, `${method} ${url}: ${response.body}`);
        assert.match(response.json().error.code, /^(CHAIN_OFF|FEATURE_DISABLED)$/, `${method} ${url}`);
      }
    });

    it("refuses bad grants with 400 and a code and unknown accounts with 404, changing nothing and auditing the refusals", async () => {
      const { accountId } = await signIn(stack.api, USERS.carol);
      const before = await api.legacy(accountId);
      for (const usd of ["0", "0.000", "-1", "1.0000000000000000001", "abc", "1,50", "0x10", "1000000000.000000000000000001"]) {
        expect(await api.grant(token, accountId, usd), 400, "INVALID_AMOUNT");
      }
      const [refusal] = await api.auditLog(token, 1);
      assert.deepEqual([refusal!.action, refusal!.outcome.status, refusal!.outcome.code], ["grant_legacy_credits", "failed", "INVALID_AMOUNT"]);
      expect(await api.grant(token, accountId, "1", "   "), 400, "INVALID_REASON");
      for (const [url, payload] of [
        [`accounts/${accountId}/legacy-credits`, { usd: 12.5, reason: "number" }],
        [`accounts/${accountId}/legacy-credits`, { usd: "1" }],
        [`accounts/${accountId}/legacy-credits`, { usd: "1", reason: "" }],
        [`accounts/${accountId}/legacy-credits`, { usd: "", reason: "empty" }],
        [`accounts/${accountId}/legacy-credits`, { usd: "1", reason: "extra", wei: "1" }],
        ["accounts/not-a-uuid/legacy-credits", { usd: "1", reason: "bad id" }],
      ] as [string, object][]) {
        expect(await api.admin("POST", url, token, payload), 400, "VALIDATION_FAILED");
      }
      expect(await api.grant(token, UNKNOWN_ID, "1"), 404, "ACCOUNT_NOT_FOUND");
      const [missing] = await api.auditLog(token, 1);
      assert.deepEqual([missing!.action, missing!.outcome.status, missing!.outcome.code, missing!.params.accountId], ["grant_legacy_credits", "failed", "ACCOUNT_NOT_FOUND", UNKNOWN_ID]);
      assert.deepEqual(await api.legacy(accountId), before);
    });

    it("records each grant in the audit log: the admin, the amount, the reason and the balances after", async () => {
      const { accountId } = await signIn(stack.api, USERS.carol);
      const grant = expect(await api.grant(token, accountId, "0.000000000000000001", "smallest grant"), 200);
      assert.equal(grant.grantedAusd, "1");
      const [entry] = await api.auditLog(token, 1);
      const adminAccount = (await stack.app.db.query<{ id: string }>("select id from accounts where role = 'admin'")).rows[0]!.id;
      assert.equal(entry!.action, "grant_legacy_credits");
      assert.equal(entry!.actorId, adminAccount);
      assert.equal(entry!.actorWallet, privateKeyToAccount(USERS.admin).address);
      assert.deepEqual(entry!.params, { accountId, usd: "0.000000000000000001", reason: "smallest grant" });
      assert.deepEqual(entry!.outcome, {
        status: "executed",
        usd: "0.000000000000000001",
        grantedAusd: "1",
        paidDebtAusd: "0",
        creditedAusd: "1",
        legacyCreditsAusd: grant.legacyCreditsAusd,
        legacyDebtAusd: "0",
      });
    });

    it("answers 401 without a session and 403 to a member on the accounts routes, before reading the input", async () => {
      const member = (await signIn(stack.api, USERS.alice)).token;
      const entries = (await api.auditLog(token, 200)).length;
      for (const [method, url, payload] of [
        ["GET", "accounts?limit=abc"],
        ["GET", `accounts/${UNKNOWN_ID}`],
        ["POST", "accounts/not-a-uuid/legacy-credits", { usd: "-1" }],
      ] as [Method, string, object?][]) {
        expect(await api.admin(method, url, undefined, payload), 401, "UNAUTHENTICATED");
        expect(await api.admin(method, url, "cxs_unknown", payload), 401, "SESSION_EXPIRED");
        expect(await api.admin(method, url, member, payload), 403, "ADMIN_ONLY");
      }
      assert.equal((await api.auditLog(token, 200)).length, entries, "refused requests are not actions");
    });

    it("lists the accounts newest first with their balances, a page at a time, and finds one by wallet", async () => {
      const { rows } = await stack.app.db.query<{ id: string }>("select id from accounts order by created_at desc, id desc");
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = expect(await api.admin("GET", `accounts?limit=2${cursor ? `&cursor=${cursor}` : ""}`, token), 200);
        assert.ok(page.accounts.length <= 2);
        seen.push(...page.accounts.map((a: { id: string }) => a.id));
        cursor = page.nextCursor;
      } while (cursor !== null);
      assert.deepEqual(seen, rows.map((r) => r.id));

      await api.drainAll();
      const bob = privateKeyToAccount(USERS.bob).address;
      const found = expect(await api.admin("GET", `accounts?wallet=${bob.toLowerCase()}`, token), 200);
      assert.equal(found.nextCursor, null);
      assert.equal(found.accounts.length, 1);
      const [account] = found.accounts;
      const balances = await api.legacy(account.id);
      assert.equal(account.wallet, getAddress(bob));
      assert.deepEqual([account.legacyCreditsAusd, account.legacyDebtAusd, account.creditsWei, account.kind, account.role], [balances.credits.toString(), "0", "0", "user", "member"]);
      const one = expect(await api.admin("GET", `accounts/${account.id}`, token), 200);
      const { usage, ...rest } = one;
      assert.deepEqual(rest, account);
      const { rows: used } = await stack.app.db.query<{ cost_ausd: string }>("select cost_ausd from usage_events where account_id = $1", [account.id]);
      assert.equal(used.length, 2, "the burst and the request after the grants");
      assert.deepEqual(usage, { events: 2, costAusd: used.reduce((sum, r) => sum + BigInt(r.cost_ausd), 0n).toString(), costWei: "0", unsettledPaygWei: "0" });

      const nobody = privateKeyToAccount(`0x${"42".repeat(32)}`).address;
      assert.deepEqual(expect(await api.admin("GET", `accounts?wallet=${nobody}`, token), 200), { accounts: [], nextCursor: null });
      expect(await api.admin("GET", "accounts?limit=0", token), 400, "INVALID_LIMIT");
      expect(await api.admin("GET", "accounts?limit=201", token), 400, "INVALID_LIMIT");
      expect(await api.admin("GET", `accounts?cursor=${UNKNOWN_ID}`, token), 400, "INVALID_CURSOR");
      expect(await api.admin("GET", "accounts?cursor=abc", token), 400, "INVALID_CURSOR");
      expect(await api.admin("GET", "accounts?wallet=0x12", token), 400, "VALIDATION_FAILED");
      expect(await api.admin("GET", `accounts/${UNKNOWN_ID}`, token), 404, "ACCOUNT_NOT_FOUND");
      expect(await api.admin("GET", "accounts/abc", token), 400, "VALIDATION_FAILED");
    });

    it("documents the accounts routes in the OpenAPI document", async () => {
      const { paths } = expect(await stack.api.inject({ method: "GET", url: "/api/docs/json" }), 200);
      assert.ok(paths["/api/v1/admin/accounts"].get);
      assert.ok(paths["/api/v1/admin/accounts/{id}"].get);
      assert.ok(paths["/api/v1/admin/accounts/{id}/legacy-credits"].post.responses["400"]);
    });
  });

  describe(`legacy credits before phase 2 on testnet (${backend})`, () => {
    let stack: Stack;
    const api = client(() => stack);
    before(async () => {
      stack = await startStack(backend, { CHAIN_STAGE: "testnet", CHAIN_PHASE: "1" });
    });
    after(async () => stack.close());

    it("bills usage in legacy credits at phase 1, leaving CXPT credits alone", async () => {
      const token = await api.adminToken();
      const { key, accountId } = await api.user(USERS.alice);
      await stack.app.db.query("update accounts set credits_wei = $2 where id = $1", [accountId, parseEther("100")]);
      stack.app.billing.gate.invalidateAccount(accountId);
      expect(await api.chat(key, "phase1-0"), 402, "INSUFFICIENT_FUNDS"); // CXPT credits do not pay before phase 2

      expect(await api.grant(token, accountId, "2"), 200);
      const bill = expect(await api.chat(key, "phase1-1"), 200).cxpt;
      assert.deepEqual([bill.billedIn, bill.costWei], ["legacy", "0"]);
      await api.drainAll();
      assert.deepEqual(await api.legacy(accountId), { credits: 2n * USD - BigInt(bill.costAusd), debt: 0n, creditsWei: parseEther("100") });
    });
  });
}
