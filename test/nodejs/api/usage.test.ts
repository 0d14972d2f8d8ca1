// The usage and statement routes and the API keys' use and monthly limits, over drained usage events
// written as the drain writes them (with the key and model the gateway records).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { privateKeyToAccount } from "viem/accounts";
import { auth, BACKENDS, expectReply as expect, signIn, startStack, USERS, type Stack } from "./harness.ts";

const E18 = 10n ** 18n;
const hash = () => `0x${randomBytes(32).toString("hex")}`;

/** A drained usage event of `accountId` with `keyId` and `model`, `recordedAt` an ISO time. */
async function usage(stack: Stack, accountId: string, keyId: string | null, model: string | null, recordedAt: string, charge: { costWei: bigint; paygWei?: bigint; creditsWei?: bigint; bucketTokens?: bigint }) {
  const requestId = `req-${randomBytes(6).toString("hex")}`;
  await stack.app.db.query(
    `insert into usage_events (request_id, account_id, endpoint, service, units_in, units_out, cost_ausd, cost_wei, billed_in,
                               bucket_tokens, credits_wei, payg_wei, recorded_at, api_key_id, model)
     values ($1, $2, '/v1/chat/completions', 'chat', 10, 5, 1, $3, 'cxpt', $4, $5, $6, $7, $8, $9)`,
    [requestId, accountId, charge.costWei, charge.bucketTokens ?? 0n, charge.creditsWei ?? 0n, charge.paygWei ?? 0n, recordedAt, keyId, model],
  );
  return requestId;
}

for (const backend of BACKENDS) {
  describe(`usage, statements and API key limits (${backend})`, () => {
    let stack: Stack;
    let token: string;
    let accountId: string;
    let keys: { id: string; name: string }[];
    const now = new Date();
    const today = now.toISOString().slice(0, 10);
    const month = today.slice(0, 7);
    const thisMonth = (day: number, hour = 12) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), day, hour)).toISOString();
    const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15)).toISOString();
    const get = async (url: string, status = 200, code?: string) => expect(await stack.api.inject({ method: "GET", url, headers: auth(token) }), status, code);

    before(async () => {
      stack = await startStack(backend);
      ({ token, accountId } = await signIn(stack.api, USERS.alice));
      keys = [];
      for (const name of ["web app", "batch job"]) {
        keys.push(expect(await stack.api.inject({ method: "POST", url: "/api/v1/keys", headers: auth(token), payload: { name } }), 201).apiKey);
      }
      // Day 1 of this month: two requests on the web app key (credits, PAYG); one without a key recorded.
      await usage(stack, accountId, keys[0]!.id, "llama-3-8b", thisMonth(1, 1), { costWei: 2n * E18, creditsWei: 2n * E18 });
      await usage(stack, accountId, keys[0]!.id, "llama-3-8b", thisMonth(1, 2), { costWei: 3n * E18, paygWei: 3n * E18 });
      await usage(stack, accountId, null, null, thisMonth(1, 3), { costWei: 1n, creditsWei: 1n });
      // Day 1 again on the batch key with another model (bucket tokens, no CXPT), and last month's request.
      await usage(stack, accountId, keys[1]!.id, "mistral-7b", thisMonth(1, 4), { costWei: 0n, bucketTokens: 15n });
      await usage(stack, accountId, keys[0]!.id, "llama-3-8b", lastMonth, { costWei: 7n * E18, creditsWei: 7n * E18 });
    });
    after(async () => {
      await stack?.close();
    });

    it("lists each key's last use, requests and spend this month", async () => {
      const listed = (await get("/api/v1/keys")).keys as Record<string, unknown>[];
      const web = listed.find((k) => k.id === keys[0]!.id)!;
      const batch = listed.find((k) => k.id === keys[1]!.id)!;
      assert.deepEqual([web.requestsThisMonth, web.spentThisMonthWei, web.monthlyLimitWei, web.lastUsedAt], [2, (5n * E18).toString(), null, thisMonth(1, 2)]);
      assert.deepEqual([batch.requestsThisMonth, batch.spentThisMonthWei, batch.lastUsedAt], [1, "0", thisMonth(1, 4)]);
    });

    it("sets and removes a key's monthly spend limit, refusing bad limits and keys not the account's", async () => {
      const put = async (id: string, body: unknown, as = token) => stack.api.inject({ method: "PUT", url: `/api/v1/keys/${id}/limit`, headers: auth(as), payload: body as object });
      assert.deepEqual(expect(await put(keys[0]!.id, { monthlyLimitWei: (10n * E18).toString() }), 200), { id: keys[0]!.id, monthlyLimitWei: (10n * E18).toString() });
      const { rows } = await stack.app.db.query<{ monthly_limit_wei: string }>("select monthly_limit_wei from api_keys where id = $1", [keys[0]!.id]);
      assert.equal(rows[0]!.monthly_limit_wei, (10n * E18).toString(), "stored exactly, as the gate reads it");
      assert.equal(((await get("/api/v1/keys")).keys as { id: string; monthlyLimitWei: string }[]).find((k) => k.id === keys[0]!.id)!.monthlyLimitWei, (10n * E18).toString());
      expect(await put(keys[0]!.id, { monthlyLimitWei: null }), 200);
      assert.equal(((await get("/api/v1/keys")).keys as { id: string; monthlyLimitWei: string | null }[]).find((k) => k.id === keys[0]!.id)!.monthlyLimitWei, null);

      expect(await put(keys[0]!.id, { monthlyLimitWei: "0" }), 400, "INVALID_LIMIT");
      expect(await put(keys[0]!.id, { monthlyLimitWei: (10n ** 37n).toString() }), 400, "INVALID_LIMIT");
      expect(await put(keys[0]!.id, { monthlyLimitWei: "1.5" }), 400, "VALIDATION_FAILED");
      expect(await put(keys[0]!.id, { monthlyLimitWei: 5 }), 400, "VALIDATION_FAILED");
      expect(await put(keys[0]!.id, {}), 400, "VALIDATION_FAILED");
      expect(await put("not-a-uuid", { monthlyLimitWei: null }), 400, "VALIDATION_FAILED");
      const bob = await signIn(stack.api, USERS.bob);
      expect(await put(keys[0]!.id, { monthlyLimitWei: "1" }, bob.token), 404, "API_KEY_NOT_FOUND");
      const revoked = expect(await stack.api.inject({ method: "POST", url: "/api/v1/keys", headers: auth(token), payload: { name: "old" } }), 201).apiKey;
      assert.equal((await stack.api.inject({ method: "DELETE", url: `/api/v1/keys/${revoked.id}`, headers: auth(token) })).statusCode, 204);
      expect(await put(revoked.id, { monthlyLimitWei: "1" }), 404, "API_KEY_NOT_FOUND");
      expect(await stack.api.inject({ method: "PUT", url: `/api/v1/keys/${keys[0]!.id}/limit`, payload: { monthlyLimitWei: null } }), 401);
    });

    it("sums usage per day in total, per key and per model", async () => {
      const from = thisMonth(1).slice(0, 10);
      const total = await get(`/api/v1/usage/daily?from=${from}&to=${today}`);
      assert.deepEqual(total.days, [
        { day: from, group: null, label: null, requests: 4, tokens: "60", costWei: (5n * E18 + 1n).toString(), bucketTokens: "15", creditsWei: (2n * E18 + 1n).toString(), paygWei: (3n * E18).toString() },
      ]);
      const byKey = (await get(`/api/v1/usage/daily?from=${from}&to=${today}&by=key`)).days as { group: string | null; label: string | null; requests: number }[];
      assert.deepEqual(byKey.map((d) => [d.label, d.requests]), [[null, 1], ...[["web app", 2], ["batch job", 1]].sort((a, b) => (keys.find((k) => k.name === a[0])!.id < keys.find((k) => k.name === b[0])!.id ? -1 : 1))]);
      const byModel = (await get(`/api/v1/usage/daily?from=${from}&to=${today}&by=model`)).days as { label: string; requests: number }[];
      assert.deepEqual(byModel.map((d) => [d.label, d.requests]), [["chat", 1], ["llama-3-8b", 2], ["mistral-7b", 1]]);
      const defaults = await get("/api/v1/usage/daily");
      assert.equal(defaults.to, today);
      await get("/api/v1/usage/daily?from=2026-02-30", 400, "INVALID_DATE");
      await get(`/api/v1/usage/daily?from=${today}&to=2020-01-01`, 400, "INVALID_RANGE");
      await get("/api/v1/usage/daily?from=2020-01-01&to=2022-01-01", 400, "INVALID_RANGE");
      await get("/api/v1/usage/daily?by=wallet", 400, "VALIDATION_FAILED");
      expect(await stack.api.inject({ method: "GET", url: "/api/v1/usage/daily" }), 401);
    });

    it("pages the recent requests newest first, each with its key, model and how it was charged", async () => {
      const first = await get("/api/v1/usage/requests?limit=2");
      assert.equal(first.requests.length, 2);
      assert.deepEqual([first.requests[0].model, first.requests[0].key.name, first.requests[0].bucketTokens], ["mistral-7b", "batch job", "15"]);
      assert.deepEqual([first.requests[1].key, first.requests[1].model], [null, "chat"]);
      const seen = [...first.requests];
      let cursor = first.nextCursor as string | null;
      while (cursor !== null) {
        const page = await get(`/api/v1/usage/requests?limit=2&cursor=${cursor}`);
        seen.push(...page.requests);
        cursor = page.nextCursor;
      }
      assert.equal(seen.length, 5);
      assert.deepEqual(seen.at(-1).recordedAt, lastMonth);
      assert.equal(new Set(seen.map((r) => r.requestId)).size, 5);
      await get("/api/v1/usage/requests?limit=0", 400, "INVALID_LIMIT");
      await get("/api/v1/usage/requests?cursor=req-of-someone-else", 400, "INVALID_CURSOR");
    });

    it("gives the monthly statement with deposits, plan payments, usage, settlements and claims, as JSON and CSV", async () => {
      const wallet = privateKeyToAccount(USERS.alice).address.toLowerCase();
      const deposit = hash();
      await stack.app.db.query(
        `insert into token_transactions (account_id, type, status, amount_wei, tx_hash, details, created_at) values
           ($1, 'deposit', 'confirmed', $2, $3, '{"burnedWei":"5"}', $5), ($1, 'subscription_payment', 'confirmed', $2, $4, '{}', $5),
           ($1, 'deposit', 'failed', 1, null, '{}', $5), ($1, 'deposit', 'confirmed', 9, null, '{}', $6)`,
        [accountId, (100n * E18).toString(), deposit, hash(), thisMonth(1), lastMonth],
      );
      const { rows } = await stack.app.db.query<{ id: string }>("insert into settlement_batches (state) values ('open') returning id");
      const batch = String(rows[0]!.id);
      const collect = hash();
      await stack.app.db.query("insert into settlement_leaves (batch_id, idx, account_id, wallet, amount_wei) values ($1, 0, $2, $3, $4)", [batch, accountId, wallet, (3n * E18).toString()]);
      await stack.app.db.query("update settlement_batches set state = 'settled', root = $2, commit_tx = $3, committed_at = $4, chain_batch_id = 1 where id = $1", [batch, hash(), hash(), thisMonth(2)]);
      await stack.app.db.query("update settlement_leaves set status = 'collected', tx_hash = $2 where batch_id = $1", [batch, collect]);

      const s = await get(`/api/v1/usage/statements/${month}`);
      assert.deepEqual(s.deposits.map((d: { amountWei: string; txHash: string }) => [d.amountWei, d.txHash]), [[(100n * E18).toString(), deposit]]);
      assert.equal(s.planPayments.length, 1);
      assert.equal(s.usageByDay.length, 1);
      assert.deepEqual(s.settlements.map((b: Record<string, unknown>) => [b.batchId, b.leafStatus, b.collectTx, b.proofPath]), [[batch, "collected", collect, `/api/v1/billing/batches/${batch}/proof`]]);
      assert.deepEqual(s.totals, {
        depositsWei: (100n * E18).toString(),
        planPaymentsWei: (100n * E18).toString(),
        withdrawalsWei: "0",
        claimsWei: "0",
        requests: 4,
        tokens: "60",
        usageWei: (5n * E18 + 1n).toString(),
        settledWei: (3n * E18).toString(),
      });

      const csv = await stack.api.inject({ method: "GET", url: `/api/v1/usage/statements/${month}?format=csv`, headers: auth(token) });
      assert.equal(csv.statusCode, 200);
      assert.match(csv.headers["content-type"] as string, /^text\/csv/);
      assert.match(csv.headers["content-disposition"] as string, new RegExp(`cxpt-statement-${month}\\.csv`));
      const lines = csv.body.trim().split("\r\n");
      assert.equal(lines[0], "section,date,description,amount_wei,amount_cxpt,tx_hash,reference");
      assert.ok(lines.some((l) => l.startsWith("deposit,") && l.includes(",100000000000000000000,100,") && l.includes(deposit)), lines.join("\n"));
      assert.ok(lines.some((l) => l.startsWith("usage,") && l.includes(",5000000000000000001,5.000000000000000001,")), "exact CXPT, no float rounding");
      assert.ok(lines.some((l) => l.startsWith("settlement,") && l.includes(collect)));

      const previous = await get(`/api/v1/usage/statements/${lastMonth.slice(0, 7)}`);
      assert.deepEqual([previous.deposits.length, previous.totals.requests], [1, 1]);
      await get("/api/v1/usage/statements/2026-13", 400, "INVALID_MONTH");
      await get("/api/v1/usage/statements/latest", 400, "INVALID_MONTH");
      await get(`/api/v1/usage/statements/${month}?format=pdf`, 400, "VALIDATION_FAILED");
    });

    it("gives a provider its requests served per day and tier with the day's health", async () => {
      const provider = await signIn(stack.api, USERS.carol, { kind: "provider" });
      const day1 = thisMonth(1).slice(0, 10);
      await stack.app.db.query(
        `insert into provider_requests (provider_account_id, tier, hour, requests) values
           ($1, 'tide-pool', $2, 10), ($1, 'tide-pool', $3, 5), ($1, 'ocean', $3, 7)`,
        [provider.accountId, `${day1}T01:00:00Z`, `${day1}T02:00:00Z`],
      );
      await stack.app.db.query("insert into provider_health (provider_account_id, day, uptime_bps, p50_ms) values ($1, $2, 9_990, 420)".replace("9_990", "9990"), [provider.accountId, day1]);
      const answer = expect(await stack.api.inject({ method: "GET", url: `/api/v1/usage/provider/daily?from=${day1}&to=${today}`, headers: auth(provider.token) }), 200);
      assert.deepEqual(answer.days, [{ day: day1, requests: 22, byTier: { "tide-pool": 15, ocean: 7 }, uptimeBps: 9990, p50Ms: 420 }]);
      assert.deepEqual((await get("/api/v1/usage/provider/daily")).days, [], "a user has served nothing");
      await get("/api/v1/usage/provider/daily?to=2026-02-31", 400, "INVALID_DATE");
    });

    it("shows another account nothing of this one's usage", async () => {
      const bob = await signIn(stack.api, USERS.bob);
      const days = expect(await stack.api.inject({ method: "GET", url: "/api/v1/usage/daily", headers: auth(bob.token) }), 200).days;
      assert.deepEqual(days, []);
      const requests = expect(await stack.api.inject({ method: "GET", url: "/api/v1/usage/requests", headers: auth(bob.token) }), 200).requests;
      assert.deepEqual(requests, []);
    });
  });
}
