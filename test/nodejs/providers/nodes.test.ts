import { randomUUID } from "node:crypto";
// Provider nodes over both backends: registration through the API (checked at once, listed with
// health), the 400s for bad URLs and duplicates, another provider's node is 404, pausing and
// resuming, health checks and reportFailure as the router sees them, routing (least outstanding,
// max concurrency, tiers), the served-work recorder, and the SSRF allow-list.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { addressPolicy, assertNodeAddressAllowed, parseAllowList } from "../../../src/providers/allow.ts";
import { startDemoNode, type DemoNode } from "../../../src/providers/demo-node.ts";
import { nodeGet } from "../../../src/providers/http.ts";
import { insertChecks } from "../../../src/providers/store.ts";
import { auth, BACKENDS, expectReply, signIn, startStack, USERS, type Stack } from "../api/harness.ts";

const MODEL = "llama-3.1-8b-instruct";

describe("the node allow-list", () => {
  const production = addressPolicy(undefined, () => false);
  const development = addressPolicy(undefined, () => true);

  it("production: public addresses only, unless listed", () => {
    for (const ip of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"]) assert.ok(production.allows(ip), ip);
    const special = ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fe80::1", "fd00::1"];
    for (const ip of [...special, "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:7f00:1", "0:0:0:0:0:ffff:7f00:1"]) {
      assert.ok(!production.allows(ip), ip);
    }
    const listed = addressPolicy(parseAllowList("10.0.0.0/8, gpu.internal"), () => false);
    assert.ok(listed.allows("10.9.9.9"));
    assert.ok(listed.allows("192.168.1.1", "gpu.internal"), "a listed host name is allowed whatever it resolves to");
    assert.ok(!listed.allows("192.168.1.1", "other.internal"));
    assert.ok(listed.allows("8.8.8.8"));
  });

  it("development: loopback by default, else only what is listed", () => {
    assert.ok(development.allows("127.0.0.1"));
    assert.ok(development.allows("::1"));
    assert.ok(!development.allows("8.8.8.8"));
    assert.ok(!development.allows("10.0.0.1"));
    const listed = addressPolicy(parseAllowList("10.0.0.0/8"), () => true);
    assert.ok(listed.allows("10.0.0.1"));
    assert.ok(!listed.allows("127.0.0.1"), "a list replaces the loopback default");
  });

  it("refuses bad entries", () => {
    assert.throws(() => parseAllowList("10.0.0.0/33"), /PROVIDER_NODE_ALLOW/);
    assert.throws(() => parseAllowList("not a host!"), /PROVIDER_NODE_ALLOW/);
    assert.equal(parseAllowList(" "), undefined);
  });

  it("checks what a host name resolves to, at registration and on every connection", async () => {
    await assert.rejects(assertNodeAddressAllowed("http://localhost:1/v1", production), { code: "NODE_ADDRESS_NOT_ALLOWED" });
    await assert.rejects(assertNodeAddressAllowed("http://127.0.0.1:1/v1", production), { code: "NODE_ADDRESS_NOT_ALLOWED" });
    await assertNodeAddressAllowed("http://localhost:1/v1", development);
    const node = await startDemoNode({});
    try {
      // A host name that resolves to a disallowed address is refused when connecting, not only when registered.
      const byName = node.baseUrl.replace("127.0.0.1", "localhost");
      await assert.rejects(nodeGet(`${byName}/models`, production, 2000), { code: "NODE_ADDRESS_NOT_ALLOWED" });
      await assert.rejects(nodeGet(`${node.baseUrl}/models`, production, 2000), { code: "NODE_ADDRESS_NOT_ALLOWED" });
      assert.equal((await nodeGet(`${byName}/models`, development, 2000)).status, 200);
    } finally {
      await node.close();
    }
  });
});

for (const backend of BACKENDS) {
  describe(`provider nodes (${backend})`, () => {
    let stack: Stack | undefined;
    const nodes: DemoNode[] = [];
    afterEach(async () => {
      await stack?.close();
      stack = undefined;
      await Promise.all(nodes.splice(0).map((n) => n.close()));
    });
    const demo = async (options: Parameters<typeof startDemoNode>[0] = {}) => {
      const node = await startDemoNode(options);
      nodes.push(node);
      return node;
    };
    const start = async (env: Record<string, string> = {}) => (stack = await startStack(backend, { PROVIDER_HEALTH_EVERY_MS: "0", PROVIDER_REFRESH_MS: "0", ...env }, { nodes: () => [] })); // no test nodes: these tests register their own
    const register = (s: Stack, token: string, payload: Record<string, unknown>) =>
      s.api.inject({ method: "POST", url: "/api/v1/provider/nodes", headers: auth(token), payload });

    it("registers a node, checks it at once and lists it with its health; the router routes to it", async () => {
      const s = await start();
      const node = await demo();
      const provider = await signIn(s.api, USERS.alice, { kind: "provider" });
      const payload = { baseUrl: `${node.baseUrl}/`, models: [MODEL, "nomic-embed-text"], tier: "blue-surge", maxConcurrency: 2 };
      const created = expectReply(await register(s, provider.token, payload), 201);
      assert.equal(created.baseUrl, node.baseUrl, "stored without the trailing slash");
      assert.equal(created.status, "up");
      assert.ok(created.lastCheckAt);
      assert.equal(created.uptimeBps, 10_000);
      assert.ok(created.p50Ms >= 0);
      assert.equal(created.paused, false);

      const { nodes: listed } = expectReply(await s.api.inject({ method: "GET", url: "/api/v1/provider/nodes", headers: auth(provider.token) }), 200);
      assert.deepEqual(listed.map((n: { id: string }) => n.id), [created.id]);

      const { router } = s.app.providers;
      assert.deepEqual(router.models().map((m) => [m.id, m.tiers, m.nodes]), [[MODEL, ["blue-surge"], 1], ["nomic-embed-text", ["blue-surge"], 1]]);
      assert.ok(router.serves(MODEL));
      assert.ok(!router.serves("gpt-4"));
      const lease = router.acquire(MODEL)!;
      assert.equal(lease.node.id, created.id);
      assert.equal(lease.node.providerAccountId, provider.accountId);
      assert.equal(router.acquire(MODEL, { tier: "tide-pool" }), undefined, "no node in that tier");
      const second = router.acquire(MODEL)!;
      assert.equal(router.acquire(MODEL), undefined, "max concurrency 2 reached");
      const busy = expectReply(await s.api.inject({ method: "GET", url: "/api/v1/provider/nodes", headers: auth(provider.token) }), 200);
      assert.equal(busy.nodes[0].outstanding, 2);
      lease.release();
      lease.release(); // a second release does nothing
      assert.ok(router.acquire(MODEL), "a slot freed");
      second.release();
    });

    it("refuses bad URLs, duplicates, unknown tiers and disallowed addresses with 400 and a code; 401 without a session", async () => {
      const s = await start();
      const node = await demo();
      const provider = await signIn(s.api, USERS.alice, { kind: "provider" });
      const base = { models: [MODEL], tier: "tide-pool" };
      for (const baseUrl of ["not a url", "ftp://127.0.0.1/v1", "http://user:pw@127.0.0.1:1/v1", "http://127.0.0.1:1/v1?x=1"]) {
        expectReply(await register(s, provider.token, { ...base, baseUrl }), 400, "INVALID_NODE_URL");
      }
      expectReply(await register(s, provider.token, { ...base, baseUrl: node.baseUrl, models: ["bad model name"] }), 400, "INVALID_MODELS");
      expectReply(await register(s, provider.token, { ...base, baseUrl: node.baseUrl, tier: "gold" }), 400);
      expectReply(await register(s, provider.token, { ...base, baseUrl: "http://10.0.0.1:8000/v1" }), 400, "NODE_ADDRESS_NOT_ALLOWED");
      expectReply(await register(s, provider.token, { ...base, baseUrl: node.baseUrl }), 201);
      expectReply(await register(s, provider.token, { ...base, baseUrl: `${node.baseUrl}/` }), 400, "NODE_EXISTS");
      expectReply(await s.api.inject({ method: "GET", url: "/api/v1/provider/nodes" }), 401, "UNAUTHENTICATED");
    });

    it("an operator list replaces the loopback default", async () => {
      const s = await start({ PROVIDER_NODE_ALLOW: "10.0.0.0/8" });
      const node = await demo();
      const provider = await signIn(s.api, USERS.alice, { kind: "provider" });
      expectReply(await register(s, provider.token, { baseUrl: node.baseUrl, models: [MODEL], tier: "tide-pool" }), 400, "NODE_ADDRESS_NOT_ALLOWED");
    });

    it("another provider's node is not found; pause, resume, edit and remove", async () => {
      const s = await start();
      const node = await demo();
      const alice = await signIn(s.api, USERS.alice, { kind: "provider" });
      const bob = await signIn(s.api, USERS.bob, { kind: "provider" });
      const created = expectReply(await register(s, alice.token, { baseUrl: node.baseUrl, models: [MODEL], tier: "tide-pool" }), 201);
      const url = `/api/v1/provider/nodes/${created.id}`;
      expectReply(await s.api.inject({ method: "PATCH", url, headers: auth(bob.token), payload: { paused: true } }), 404, "NODE_NOT_FOUND");
      expectReply(await s.api.inject({ method: "DELETE", url, headers: auth(bob.token) }), 404, "NODE_NOT_FOUND");
      assert.deepEqual(expectReply(await s.api.inject({ method: "GET", url: "/api/v1/provider/nodes", headers: auth(bob.token) }), 200).nodes, []);
      // Bob may register the same URL: the same server can be listed by two providers' accounts.
      expectReply(await register(s, bob.token, { baseUrl: node.baseUrl, models: [MODEL], tier: "open-ocean" }), 201);

      const { router } = s.app.providers;
      const paused = expectReply(await s.api.inject({ method: "PATCH", url, headers: auth(alice.token), payload: { paused: true } }), 200);
      assert.equal(paused.paused, true);
      assert.equal(router.acquire(MODEL, { tier: "tide-pool" }), undefined, "a paused node gets nothing");
      assert.equal(router.acquire(MODEL)!.node.tier, "open-ocean");
      const edited = expectReply(await s.api.inject({ method: "PATCH", url, headers: auth(alice.token), payload: { paused: false, models: [MODEL, "mistral-7b-instruct"], maxConcurrency: 8 } }), 200);
      assert.deepEqual([edited.paused, edited.models, edited.maxConcurrency, edited.tier], [false, [MODEL, "mistral-7b-instruct"], 8, "tide-pool"]);
      assert.equal(router.acquire(MODEL)!.node.id, created.id, "the cheapest tier first");
      expectReply(await s.api.inject({ method: "PATCH", url, headers: auth(alice.token), payload: {} }), 400);

      assert.equal((await s.api.inject({ method: "DELETE", url, headers: auth(alice.token) })).statusCode, 204);
      expectReply(await s.api.inject({ method: "DELETE", url, headers: auth(alice.token) }), 404, "NODE_NOT_FOUND");
      assert.ok(!router.serves("mistral-7b-instruct"));
    });

    it("never routes to a node that is down; reportFailure marks it down until its next good check; least outstanding first", async () => {
      const s = await start();
      const [one, two] = [await demo(), await demo()];
      const provider = await signIn(s.api, USERS.alice, { kind: "provider" });
      const a = expectReply(await register(s, provider.token, { baseUrl: one.baseUrl, models: [MODEL], tier: "tide-pool", maxConcurrency: 10 }), 201);
      const b = expectReply(await register(s, provider.token, { baseUrl: two.baseUrl, models: [MODEL], tier: "tide-pool", maxConcurrency: 10 }), 201);
      const { router, health } = s.app.providers;

      const first = router.acquire(MODEL)!;
      const second = router.acquire(MODEL)!;
      assert.notEqual(first.node.id, second.node.id, "the less loaded node");
      first.release();
      second.release();

      router.reportFailure(a.id);
      for (let i = 0; i < 4; i++) assert.equal(router.acquire(MODEL)!.node.id, b.id);
      await health.checkNow();
      assert.ok(new Set(Array.from({ length: 4 }, () => router.acquire(MODEL)!.node.id)).has(a.id), "back after a good check");

      await two.close();
      const checks = await health.checkNow();
      assert.deepEqual(checks.map((c) => [c.nodeId, c.up]).sort(), [[a.id, true], [b.id, false]].sort());
      for (let i = 0; i < 4; i++) assert.equal(router.acquire(MODEL)!.node.id, a.id);
      const listed = expectReply(await s.api.inject({ method: "GET", url: "/api/v1/provider/nodes", headers: auth(provider.token) }), 200).nodes;
      const down = listed.find((n: { id: string }) => n.id === b.id);
      assert.equal(down.status, "down");
      assert.equal(down.uptimeBps, 6_666, "two good checks of three (registration, the check after reportFailure, this one)");
      await one.close();
      await health.checkNow();
      assert.equal(router.acquire(MODEL), undefined);
      assert.ok(router.serves(MODEL), "still registered: the gateway answers 503, not 404");
      const metric = async (name: string) =>
        Object.fromEntries(((await s.app.monitor.metrics.registry.getSingleMetric(name)?.get())?.values ?? []).map((v) => [Object.values(v.labels)[0], v.value]));
      assert.deepEqual(await metric("cxpt_provider_nodes"), { up: 0, down: 2, paused: 0 });
      assert.deepEqual(await metric("cxpt_provider_node_checks_total"), { up: 5, down: 3 });
    });

    it("a second API instance sees the nodes and their last check after a refresh", async () => {
      const s = await start();
      const node = await demo();
      const provider = await signIn(s.api, USERS.alice, { kind: "provider" });
      const created = expectReply(await register(s, provider.token, { baseUrl: node.baseUrl, models: [MODEL], tier: "tide-pool" }), 201);
      const { createRegistry } = await import("../../../src/providers/registry.ts");
      const other = createRegistry(s.app.db, { refreshEveryMs: 0 });
      await other.refresh();
      assert.equal(other.status(created.id)?.up, true);
      assert.equal(other.acquire(MODEL)?.node.id, created.id);
      other.close();
    });

    it("records served work per provider, node, tier and hour", async () => {
      const s = await start();
      const provider = await signIn(s.api, USERS.alice, { kind: "provider" });
      const { served } = s.app.providers;
      const nodeId = "00000000-0000-4000-8000-000000000001";
      const hour = Date.UTC(2026, 2, 1, 5);
      served.record({ requestId: randomUUID(), nodeId, providerAccountId: provider.accountId, tier: "tide-pool", at: hour + 60_000, tokens: 10, latencyMs: 20 });
      served.record({ requestId: randomUUID(), nodeId, providerAccountId: provider.accountId, tier: "tide-pool", at: hour + 120_000, tokens: 5, latencyMs: 40 });
      served.record({ requestId: randomUUID(), nodeId, providerAccountId: provider.accountId, tier: "blue-surge", at: hour + 3_600_000, tokens: 7, latencyMs: 10 });
      await served.flush();
      served.record({ requestId: randomUUID(), nodeId, providerAccountId: provider.accountId, tier: "tide-pool", at: hour + 180_000, tokens: 1, latencyMs: 30 });
      await served.flush();
      const { rows } = await s.app.db.query<{ tier: string; period: string; requests: string; tokens: string; latency: string }>(
        `select tier, to_char(period_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI') as period, requests::text, tokens::text, latency_sum_ms::text as latency
           from provider_served order by period_start`,
      );
      assert.deepEqual(rows.map((r) => [r.tier, r.period, r.requests, r.tokens, r.latency]), [
        ["tide-pool", "2026-03-01T05:00", "3", "16", "90"],
        ["blue-surge", "2026-03-01T06:00", "1", "7", "10"],
      ]);
    });

    it("gives a provider its served work and node health per day and node, paged, and nobody else's", async () => {
      const s = await start();
      const node = await demo();
      const provider = await signIn(s.api, USERS.alice, { kind: "provider" });
      const other = await signIn(s.api, USERS.bob, { kind: "provider" });
      const created = expectReply(await register(s, provider.token, { baseUrl: node.baseUrl, models: [MODEL], tier: "blue-surge" }), 201);
      const today = new Date().toISOString().slice(0, 10);
      const day1 = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
      const at = (day: string, hour: number) => Date.parse(`${day}T${String(hour).padStart(2, "0")}:10:00Z`);
      const removed = "ffffffff-ffff-4fff-bfff-ffffffffffff"; // sorts after any other node id
      const { served } = s.app.providers;
      const record = (nodeId: string, when: number, tokens: number, latencyMs: number) =>
        served.record({ requestId: randomUUID(), nodeId, providerAccountId: provider.accountId, tier: "blue-surge", at: when, tokens, latencyMs });
      record(created.id, at(day1, 1), 100, 200);
      record(created.id, at(day1, 3), 50, 400);
      record(removed, at(day1, 2), 7, 70);
      record(created.id, Math.min(Date.now(), at(today, 0)), 9, 10);
      served.record({ requestId: randomUUID(), nodeId: removed, providerAccountId: other.accountId, tier: "tide-pool", at: at(day1, 1), tokens: 1, latencyMs: 1 });
      await served.flush();
      const check = (up: boolean, latencyMs: number, hour: number) => ({ nodeId: created.id, providerAccountId: provider.accountId, at: new Date(at(day1, hour)), up, latencyMs, error: up ? null : "timeout" });
      await insertChecks(s.app.db, [check(true, 30, 1), check(true, 50, 2), check(false, 5000, 3), check(true, 40, 4)]);

      const get = async (token: string, query: string, status = 200, code?: string) =>
        expectReply(await s.api.inject({ method: "GET", url: `/api/v1/provider/nodes/daily${query}`, headers: auth(token) }), status, code);
      const answer = await get(provider.token, `?from=${day1}&to=${today}`);
      assert.equal(answer.nextCursor, null);
      const todays = answer.days.find((d: { day: string }) => d.day === today);
      assert.deepEqual(answer.days.filter((d: { day: string }) => d.day === day1), [
        { day: day1, nodeId: created.id, baseUrl: node.baseUrl, tier: "blue-surge", requests: 2, tokens: "150", avgLatencyMs: 300, checks: 4, uptimeBps: 7500, p50Ms: 40 },
        { day: day1, nodeId: removed, baseUrl: null, tier: null, requests: 1, tokens: "7", avgLatencyMs: 70, checks: 0, uptimeBps: null, p50Ms: null },
      ]);
      assert.equal(todays.nodeId, created.id);
      assert.equal(todays.requests, 1);
      assert.equal(todays.tokens, "9");
      assert.ok(todays.checks >= 1, "the check at registration counts");
      assert.equal(todays.uptimeBps, 10_000);

      const pages = [];
      for (let cursor: string | null = ""; cursor !== null; ) {
        const page = await get(provider.token, `?from=${day1}&to=${today}&limit=1${cursor ? `&cursor=${cursor}` : ""}`);
        pages.push(...page.days);
        cursor = page.nextCursor;
      }
      assert.deepEqual(pages, answer.days, "one row per page, in order, nothing lost or repeated");

      const others = await get(other.token, `?from=${day1}&to=${today}`);
      assert.deepEqual(others.days.map((d: { nodeId: string; tokens: string }) => [d.nodeId, d.tokens]), [[removed, "1"]], "only bob's own work");
      await get(provider.token, "?cursor=nope", 400, "INVALID_CURSOR");
      await get(provider.token, "?limit=0", 400, "INVALID_LIMIT");
      await get(provider.token, "?to=2026-02-31", 400, "INVALID_DATE");
      expectReply(await s.api.inject({ method: "GET", url: "/api/v1/provider/nodes/daily" }), 401);
    });
  });
}
