// Redis killed (SIGKILL) in the middle of a day and restarted, with usage metered before, during and
// after: no acknowledged usage is lost and none is charged twice. The design under test: Redis with
// an append-only file fsynced on every write (what the README requires in production) holds the
// usage stream, its consumer group and the request-id dedupe keys across the restart; a request
// the meter cannot record fails loudly instead of being served for free. The test runs its own
// redis-server on a free port and data directory: the machine's shared Redis is never touched.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { createApiKey } from "../../../src/accounts/store.ts";
import { drainOnce } from "../../../src/billing/drain.ts";
import { openRedisMeterStore } from "../../../src/billing/meter-store-redis.ts";
import { auth, signIn, startStack, USERS, type Stack } from "../api/harness.ts";

const CXPT = 10n ** 18n;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

/** A redis-server of the test's own, durable: every write is fsynced to its append-only file first. */
class OwnRedis {
  readonly port: number;
  readonly dir: string;
  private child: ChildProcess | undefined;
  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort(), await mkdtemp(join(tmpdir(), "cxpt-redis-")));
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null;
  }

  /** Starts the server on the same port and directory (replaying its append-only file); resolves once it answers. */
  async restart(): Promise<void> {
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--appendonly", "yes", "--appendfsync", "always", "--save", ""];
    const child = (this.child = spawn("redis-server", args, { stdio: "ignore" }));
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} (port ${this.port} taken?)`);
      const probe = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on("error", () => {});
      try {
        await probe.connect();
        if ((await probe.ping()) === "PONG") return; // PING answers LOADING until the file is replayed
      } catch {
        await sleep(50);
      } finally {
        probe.disconnect();
      }
    }
  }

  /** SIGKILL: no shutdown, no final save; only what was fsynced survives. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    child.kill("SIGKILL");
    await once(child, "exit");
  }

  /** A command on a connection of its own. */
  async command<T>(run: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = new Redis(this.url);
    try {
      return await run(redis);
    } finally {
      redis.disconnect();
    }
  }

  async remove(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}

describe("metering across a Redis restart (servers)", () => {
  let redis: OwnRedis | undefined;
  let stack: Stack | undefined;
  after(async () => {
    // The app drains on close, which needs its Redis up; the server goes whatever happened.
    try {
      if (redis && !redis.running) await redis.restart();
      await stack?.close();
    } finally {
      await redis?.remove();
    }
  });

  it("loses no acknowledged usage when Redis is killed mid-day: PostgreSQL ends with exactly the 2xx request ids, each charged once", async () => {
    redis = await OwnRedis.start();
    // No drain round during the day: every event stays only in Redis until the drain at the end.
    stack = await startStack("servers", { REDIS_URL: redis.url, DRAIN_INTERVAL_MS: String(3_600_000) });
    const { db, config } = stack.app;
    const alice = await signIn(stack.api, USERS.alice);
    await db.query("update accounts set credits_wei = $2 where id = $1", [alice.accountId, 1_000n * CXPT]);
    const { key } = await createApiKey(db, alice.accountId, "test");
    const chat = (requestId: string) =>
      stack!.api.inject({
        method: "POST",
        url: "/api/v1/chat/completions",
        headers: { ...auth(key), "x-request-id": requestId },
        payload: { model: "demo", messages: [{ role: "user", content: `request ${requestId}` }] },
      });
    /** Acknowledged request id → what it was charged (wei). */
    const acknowledged = new Map<string, bigint>();
    async function meter(requestId: string) {
      const response = await chat(requestId);
      assert.equal(response.statusCode, 200, response.body);
      const { cxpt } = response.json();
      assert.equal(cxpt.charged, true, requestId);
      acknowledged.set(requestId, BigInt(cxpt.costWei));
    }
    const stream = `${config.redisPrefix}usage`;

    for (let i = 0; i < 5; i++) await meter(`morning-${i}`);
    assert.equal(await redis.command((r) => r.xlen(stream)), 5, "the morning's usage is only in Redis");
    assert.equal((await db.query("select 1 from usage_events")).rows.length, 0);

    await redis.kill();
    // While Redis is down a request cannot be authorized: it fails at once (no command waits for a
    // reconnection), it is not served for free. The bound only catches a hang (it used to take 6–14 s).
    const asked = Date.now();
    const down = await chat("while-down");
    assert.equal(down.statusCode, 503, down.body);
    assert.equal(down.json().error.code, "METERING_UNAVAILABLE");
    assert.ok(Date.now() - asked < 2_000, `the 503 took ${Date.now() - asked} ms`);

    await redis.restart();
    assert.equal(await redis.command((r) => r.xlen(stream)), 5, "the append-only file brought the morning back");
    // Until the app has reconnected it keeps refusing (503, nothing charged, not acknowledged); then it meters again.
    for (let attempt = 0; ; attempt++) {
      const probe = await chat(`reconnect-${attempt}`);
      if (probe.statusCode === 200) {
        acknowledged.set(`reconnect-${attempt}`, BigInt(probe.json().cxpt.costWei));
        break;
      }
      assert.equal(probe.json().error.code, "METERING_UNAVAILABLE", probe.body);
      assert.ok(attempt < 200, "the app never reconnected to Redis");
      await sleep(50);
    }
    for (let i = 0; i < 5; i++) await meter(`afternoon-${i}`);
    // A retry of a morning request is recognised after the restart: not served again, not charged.
    const retry = await chat("morning-0");
    assert.equal(retry.statusCode, 409, retry.body);
    assert.equal(retry.json().error.code, "REQUEST_ID_REUSED");

    // The drain, the app's own code over its prefix, until the stream is empty.
    const store = await openRedisMeterStore({ url: redis.url, prefix: config.redisPrefix });
    try {
      while ((await drainOnce({ store, db })).drained > 0);
    } finally {
      await store.close();
    }
    const { rows } = await db.query<{ request_id: string; cost_wei: string; credits_wei: string }>(
      "select request_id, cost_wei, credits_wei from usage_events where account_id = $1 order by request_id",
      [alice.accountId],
    );
    const scoped = (id: string) => `${alice.accountId}:${id}`; // request ids are stored scoped to their account
    assert.deepEqual(rows.map((r) => r.request_id), [...acknowledged.keys()].map(scoped).sort());
    for (const row of rows) assert.equal(BigInt(row.cost_wei), acknowledged.get(row.request_id.slice(alice.accountId.length + 1)), row.request_id);
    const charged = [...acknowledged.values()].reduce((a, b) => a + b, 0n);
    assert.equal(rows.reduce((sum, r) => sum + BigInt(r.credits_wei), 0n), charged, "credits paid for all of it");
    const { rows: [account] } = await db.query<{ credits_wei: string }>("select credits_wei from accounts where id = $1", [alice.accountId]);
    assert.equal(BigInt(account!.credits_wei), 1_000n * CXPT - charged, "each request charged once");
  });
});
