import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getAddress, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { buildServer, type Api } from "../../../../src/api/server.ts";
import { devKey } from "../../../../src/devstack/keys.ts";
import { computeEpochPoints } from "../../../../src/rewards/epoch.ts";
import { BPS, DEFAULT_MULTIPLIERS, demandBps, latencyBps, uptimeBps } from "../../../../src/rewards/multipliers.ts";
import { auth, BACKENDS, expectReply as expect, signIn, startStack, USERS, type Stack } from "../../api/harness.ts";

const T = DEFAULT_MULTIPLIERS;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const URL = "/api/v1/admin/providers/stats";

const todayStart = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS);
/** The start of the UTC hour `hour` of the day `daysAgo` days before today. */
const hourOf = (daysAgo: number, hour: number) => new Date(todayStart.getTime() - daysAgo * DAY_MS + hour * HOUR_MS).toISOString();
const dayOf = (daysAgo: number) => hourOf(daysAgo, 0).slice(0, 10);

interface Served {
  provider: string;
  tier: string;
  hour: string;
  requests: string;
}
interface Health {
  provider: string;
  day: string;
  uptimeBps: number;
  p50Ms: number;
}

for (const backend of BACKENDS) {
  describe(`provider statistics (${backend})`, () => {
    let stack: Stack;
    let api: Api;
    let admin: { token: string; accountId: string };
    const providers: Address[] = [];

    before(async () => {
      stack = await startStack(backend);
      api = await buildServer(stack.app, { silent: true });
      admin = await signIn(api, USERS.admin);
      await stack.app.db.query("update accounts set role = 'admin' where id = $1", [admin.accountId]);
      for (const index of [20, 21, 22, 23]) providers.push((await signIn(api, devKey(index), { kind: "provider" })).wallet);
    });
    after(async () => {
      await api?.close();
      await stack?.close();
    });

    const put = (payload: object, token = admin.token) => api.inject({ method: "PUT", url: URL, headers: auth(token), payload });
    const get = (query: string, token = admin.token) => api.inject({ method: "GET", url: `${URL}?${query}`, headers: auth(token) });

    /** Every stored figure, in a stable order, to compare before and after. */
    async function stored() {
      const db = stack.app.db;
      const { rows: served } = await db.query<{ wallet: string; tier: string; hour_ms: string | number; requests: string }>(
        `select a.wallet, r.tier, (extract(epoch from r.hour) * 1000)::int8 as hour_ms, r.requests::text as requests
           from provider_requests r join accounts a on a.id = r.provider_account_id order by 1, 3, 2`,
      );
      const { rows: health } = await db.query<{ wallet: string; day: string; uptime_bps: number; p50_ms: number }>(
        `select a.wallet, to_char(h.day, 'YYYY-MM-DD') as day, h.uptime_bps, h.p50_ms
           from provider_health h join accounts a on a.id = h.provider_account_id order by 1, 2`,
      );
      return {
        served: served.map((r) => ({ provider: getAddress(r.wallet), tier: r.tier, hour: new Date(Number(r.hour_ms)).toISOString(), requests: r.requests })),
        health: health.map((h) => ({ provider: getAddress(h.wallet), day: h.day, uptimeBps: Number(h.uptime_bps), p50Ms: Number(h.p50_ms) })),
      };
    }

    async function lastAudit() {
      const { rows } = await stack.app.db.query<{ actor_id: string | null; action: string; params: Record<string, unknown>; outcome: Record<string, unknown> }>(
        "select actor_id, action, params, outcome from audit_log order by id desc limit 1",
      );
      return rows[0];
    }

    it("answers 401 without a session and 403 to a member, before reading the body or query", async () => {
      const member = (await signIn(api, USERS.bob)).token;
      const provider = (await signIn(api, devKey(20))).token; // a provider is no admin either
      const snapshot = await stored();
      for (const token of [undefined, "cxs_unknown", member, provider]) {
        const status = token === undefined || token === "cxs_unknown" ? 401 : 403;
        const code = token === undefined ? "UNAUTHENTICATED" : token === "cxs_unknown" ? "SESSION_EXPIRED" : "ADMIN_ONLY";
        const headers = token === undefined ? {} : auth(token);
        expect(await api.inject({ method: "PUT", url: URL, headers, payload: { served: "x" } }), status, code);
        expect(await api.inject({ method: "GET", url: `${URL}?from=x`, headers }), status, code);
      }
      assert.deepEqual(await stored(), snapshot);
    });

    it("stores a report, reads it back per window, and a re-report replaces the figures instead of adding", async () => {
      const [p1, p2] = providers as [Address, Address];
      const h0 = hourOf(3, 4);
      const h1 = hourOf(3, 5);
      const first = {
        served: [
          { provider: p1, tier: "tide-pool", hour: h0, requests: "5" },
          { provider: p1, tier: "open-ocean", hour: h0, requests: "7" },
          { provider: p2.toLowerCase(), tier: "tide-pool", hour: h1, requests: "3" },
        ],
        health: [{ provider: p1, day: dayOf(3), uptimeBps: 9990, p50Ms: 250 }],
      };
      assert.deepEqual(expect(await put(first), 200), { served: { inserted: 3, replaced: 0 }, health: { inserted: 1, replaced: 0 }, providers: 2 });
      const want = { served: first.served.map((s) => ({ ...s, provider: getAddress(s.provider) })), health: first.health };
      const audit = await lastAudit();
      assert.equal(audit?.action, "record_provider_stats");
      assert.equal(audit?.actor_id, admin.accountId);
      assert.deepEqual(audit?.params.served, 3);
      assert.equal(audit?.outcome.status, "executed");

      // The same hour written with another zone is the same key.
      const h0Offset = new Date(Date.parse(h0) + 2 * HOUR_MS).toISOString().replace(".000Z", "+02:00");
      const second = {
        served: [{ provider: p1, tier: "tide-pool", hour: h0Offset, requests: "9" }],
        health: [{ provider: p1, day: dayOf(3), uptimeBps: 9995, p50Ms: 180 }],
      };
      assert.deepEqual(expect(await put(second), 200), { served: { inserted: 0, replaced: 1 }, health: { inserted: 0, replaced: 1 }, providers: 1 });
      const replaced = {
        served: want.served.map((s) => (s.provider === p1 && s.tier === "tide-pool" ? { ...s, requests: "9" } : s)),
        health: [{ ...want.health[0]!, uptimeBps: 9995, p50Ms: 180 }],
      };
      const byKey = (a: Served, b: Served) => `${a.provider}${a.hour}${a.tier}`.localeCompare(`${b.provider}${b.hour}${b.tier}`);
      const now = await stored();
      assert.deepEqual(now.served.sort(byKey), [...replaced.served].sort(byKey));
      assert.deepEqual(now.health, replaced.health);

      // Read back: the whole day, one provider a page in wallet order.
      const window = `from=${encodeURIComponent(hourOf(3, 0))}&to=${encodeURIComponent(hourOf(2, 0))}`;
      const all = expect(await get(window), 200);
      assert.equal(all.nextCursor, null);
      assert.deepEqual([...all.served].sort(byKey), [...replaced.served].sort(byKey));
      assert.deepEqual(all.health, replaced.health);
      const [low, high] = [p1, p2].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)) as [Address, Address];
      const page1 = expect(await get(`${window}&limit=1`), 200);
      assert.equal(page1.nextCursor, low);
      assert.deepEqual(new Set(page1.served.map((s: Served) => s.provider)), new Set([low]));
      const page2 = expect(await get(`${window}&limit=1&cursor=${page1.nextCursor}`), 200);
      assert.equal(page2.nextCursor, null);
      assert.deepEqual(new Set(page2.served.map((s: Served) => s.provider)), new Set([high]));
      // Only h1 (5:00) of the served hours lies in [5:00, 6:00); the day overlaps, so its health is there.
      const narrow = expect(await get(`from=${encodeURIComponent(h1)}&to=${encodeURIComponent(hourOf(3, 6))}`), 200);
      assert.deepEqual(narrow.served, [{ provider: p2, tier: "tide-pool", hour: h1, requests: "3" }]);
      assert.deepEqual(narrow.health, replaced.health);

      for (const query of [`from=${hourOf(2, 0)}&to=${hourOf(3, 0)}`, `from=${hourOf(10, 0)}&to=${hourOf(2, 0)}`, `from=yesterday&to=${hourOf(2, 0)}`]) {
        expect(await get(query), 400, "INVALID_WINDOW");
      }
      expect(await get(`${window}&limit=0`), 400, "INVALID_LIMIT");
      expect(await get(`${window}&cursor=nope`), 400, "INVALID_CURSOR");
    });

    it("refuses each invalid report with its code, writes nothing and audits the failure", async () => {
      const [p1, p2] = providers as [Address, Address];
      const alice = (await signIn(api, USERS.alice)).wallet; // a user, not a provider
      const stranger = privateKeyToAccount(devKey(30)).address; // no account at all
      const hour = hourOf(4, 7);
      const ok: Served = { provider: p1, tier: "blue-surge", hour, requests: "4" };
      const okHealth: Health = { provider: p1, day: dayOf(4), uptimeBps: 9900, p50Ms: 400 };
      const future = new Date(Math.ceil(Date.now() / HOUR_MS) * HOUR_MS + HOUR_MS).toISOString();
      const cases: [string, { served?: Served[]; health?: Health[] }, string][] = [
        ["a user's wallet", { served: [ok, { ...ok, provider: alice }] }, "UNKNOWN_PROVIDER"],
        ["a wallet without an account", { health: [okHealth, { ...okHealth, provider: stranger }] }, "UNKNOWN_PROVIDER"],
        ["an unknown tier", { served: [ok, { ...ok, tier: "puddle" }] }, "UNKNOWN_TIER"],
        ["a tier named like an object's property", { served: [{ ...ok, tier: "constructor" }] }, "UNKNOWN_TIER"],
        ["an hour not whole", { served: [ok, { ...ok, provider: p2, hour: hour.replace(":00:00", ":30:00") }] }, "INVALID_HOUR"],
        ["an hour whole only in its own zone", { served: [{ ...ok, hour: hour.replace(":00:00.000Z", ":00:00+05:30") }] }, "INVALID_HOUR"],
        ["a date that does not exist", { served: [{ ...ok, hour: "2026-02-30T00:00:00Z" }] }, "INVALID_HOUR"],
        ["an hour without a zone", { served: [{ ...ok, hour: hour.replace(".000Z", "") }] }, "INVALID_HOUR"],
        ["an hour not started", { served: [{ ...ok, hour: future }] }, "INVALID_HOUR"],
        ["requests past int8", { served: [{ ...ok, requests: "9999999999999999999" }] }, "INVALID_REQUESTS"],
        ["a day that does not exist", { health: [{ ...okHealth, day: "2026-02-30" }] }, "INVALID_DAY"],
        ["a day not started", { health: [{ ...okHealth, day: dayOf(-1) }] }, "INVALID_DAY"],
        ["uptime past 100 %", { served: [ok], health: [{ ...okHealth, uptimeBps: 10_001 }] }, "INVALID_UPTIME"],
        ["negative uptime", { health: [{ ...okHealth, uptimeBps: -1 }] }, "INVALID_UPTIME"],
        ["negative latency", { health: [{ ...okHealth, p50Ms: -1 }] }, "INVALID_LATENCY"],
        ["a served key twice", { served: [ok, { ...ok, provider: p1.toLowerCase(), requests: "5" }] }, "INVALID_REPORT"],
        ["a health key twice", { health: [okHealth, { ...okHealth, uptimeBps: 9000 }] }, "INVALID_REPORT"],
      ];
      const snapshot = await stored();
      for (const [name, body, code] of cases) {
        const error = expect(await put(body), 400, code).error;
        if (code === "UNKNOWN_PROVIDER") assert.deepEqual(error.details.wallets, [body.served ? alice : stranger], name);
        else assert.equal(error.details.problems[0].code, code, name);
        const audit = await lastAudit();
        assert.equal(audit?.action, "record_provider_stats", name);
        assert.deepEqual(audit?.outcome, { status: "failed", code, message: error.message, details: error.details }, name);
      }
      // Every problem is listed, not only the first.
      const several = expect(await put({ served: [{ ...ok, tier: "puddle" }, { ...ok, hour: future }] }), 400, "UNKNOWN_TIER").error;
      assert.deepEqual(several.details.problems.map((p: { at: string; code: string }) => [p.at, p.code]), [["served[0].tier", "UNKNOWN_TIER"], ["served[1].hour", "INVALID_HOUR"]]);
      // Shapes are the schema's: unknown fields, numbers for requests, too many rows.
      expect(await put({ served: [{ ...ok, extra: 1 }] }), 400, "VALIDATION_FAILED");
      expect(await put({ served: [{ ...ok, requests: 4 }] }), 400, "VALIDATION_FAILED");
      expect(await put({ served: [{ ...ok, requests: "-4" }] }), 400, "VALIDATION_FAILED");
      expect(await put({ health: [{ ...okHealth, uptimeBps: 99.5 }] }), 400, "VALIDATION_FAILED");
      expect(await put({ served: Array.from({ length: 10_001 }, (_, i) => ({ ...ok, requests: String(i) })) }), 400, "VALIDATION_FAILED");
      assert.deepEqual(await stored(), snapshot);
    });

    it("after a report of yesterday's hours the epoch gives the providers points, more to the better uptime and latency", async () => {
      const [, , good, poor] = providers as [Address, Address, Address, Address];
      const tier = "blue-surge";
      const hours = [hourOf(1, 5), hourOf(1, 6)] as const;
      const requests = [30n, 10n] as const;
      const health = { [good]: { uptimeBps: 9995, p50Ms: 200 }, [poor]: { uptimeBps: 9800, p50Ms: 1500 } };
      expect(
        await put({
          served: [good, poor].flatMap((provider) => hours.map((hour, i) => ({ provider, tier, hour, requests: requests[i]!.toString() }))),
          health: [good, poor].map((provider) => ({ provider, day: dayOf(1), ...health[provider]! })),
        }),
        200,
      );

      const window = { from: new Date(todayStart.getTime() - DAY_MS), to: todayStart };
      const points = await computeEpochPoints(stack.app.db, window);
      // Both serve the same hours, so each hour's network demand is twice a provider's requests.
      const total = 2n * (requests[0] + requests[1]);
      const demandWeighted = requests.reduce((sum, r) => sum + r * demandBps(T, 2n * r, total, 24n), 0n);
      const expected = (provider: Address) =>
        (demandWeighted * T.basePoints[tier]! * uptimeBps(T, health[provider]!.uptimeBps) * latencyBps(T, health[provider]!.p50Ms)) / (BPS * BPS * BPS);
      assert.deepEqual(new Map(points.providers.map((p) => [p.wallet, p.points])), new Map([[good, expected(good)], [poor, expected(poor)]]));
      assert.ok(expected(poor) > 0n);
      assert.ok(expected(good) > expected(poor));
    });
  });
}
