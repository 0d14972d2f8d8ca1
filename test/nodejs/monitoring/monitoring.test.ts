import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { createPublicClient, http, parseEther, toHex, type Address, type Hash, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { AppContext } from "../../../src/app/context.ts";
import { cxptAbi, vaultAbi } from "../../../src/chain/abis.ts";
import { AppError } from "../../../src/errors.ts";
import { buildServer, type Api } from "../../../src/api/server.ts";
import { listAlerts, raiseAlert } from "../../../src/monitoring/alerts.ts";
import { runChecks, type CheckReport } from "../../../src/monitoring/checks.ts";
import { componentLogger, createLogger } from "../../../src/monitoring/log.ts";
import { auth, BACKENDS, fundCxpt, networkHelpers, signIn, startStack, USERS, viem, walletOf, type Stack } from "../api/harness.ts";
import { expectReply as expect } from "../api/harness.ts";


const wallet = (key: Hex): Address => privateKeyToAccount(key).address;
const randomHash = (): Hash => toHex(randomBytes(32));

/** A stream collecting the JSON lines written to it. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

/** Pino writes synchronously to a plain stream, but Writable delivers on the next tick. */
const flushed = () => new Promise((resolve) => setImmediate(resolve));

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition. */
function parseMetrics(text: string): Sample[] {
  return text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      assert.ok(match, `not a sample line: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

/** The value of the sample `name` with exactly `labels`; undefined when it is not exposed. */
function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === wanted)?.value;
}

async function mined(hash: Hash): Promise<Hash> {
  const receipt = await (await viem.getPublicClient()).waitForTransactionReceipt({ hash });
  assert.equal(receipt.status, "success");
  return hash;
}

const head = async () => (await viem.getPublicClient()).getBlockNumber({ cacheTime: 0 });

/** Signs the demo admin in and gives the account the admin role; returns its session token. */
async function adminToken(stack: Stack, api: Api): Promise<string> {
  const { token, accountId } = await signIn(api, USERS.admin);
  await stack.app.db.query("update accounts set role = 'admin' where id = $1", [accountId]);
  return token;
}

/** A token transaction booked directly (what the services book, without the chain behind it). */
async function insertTransaction(ctx: AppContext, accountId: string, type: string, status: string, details: object = {}): Promise<string> {
  const { rows } = await ctx.db.query<{ id: string }>(
    "insert into token_transactions (account_id, type, status, amount_wei, tx_hash, details) values ($1, $2, $3, $4, $5, $6::jsonb) returning id::text as id",
    [accountId, type, status, parseEther("5"), randomHash(), JSON.stringify(details)],
  );
  return rows[0]!.id;
}

/** Puts the indexer cursor at `block` (no hash: as if the indexer were to start after it). */
const setCursor = (ctx: AppContext, block: bigint) =>
  ctx.db.query(
    `insert into indexer_cursor (chain_id, block_number) values ($1, $2)
     on conflict (chain_id) do update set block_number = excluded.block_number, block_hash = null`,
    [ctx.chain!.chainId, block],
  );

/**
 * Waits for the app's indexer follower to finish its first step (it steps again only after
 * INDEXER_INTERVAL_MS, an hour here), so the tests move the cursor without it.
 */
async function followerSettled(ctx: AppContext): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const { rows } = await ctx.db.query("select 1 from indexer_cursor where block_hash is not null");
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail("the indexer follower never stored a cursor");
}

const ok = <T extends { status: string }>(result: T) => {
  assert.equal(result.status, "ok", JSON.stringify(result));
  return result as Extract<T, { status: "ok" }>;
};

describe("structured logs", () => {
  it("writes one JSON line per event with msg, level name, time, service and component", async () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: "info", destination: stream });
    log.child({ component: "jobs" }).info({ job: "settle", batches: 2 }, "job finished");
    log.debug("not at info");
    await flushed();
    assert.equal(lines.length, 1);
    const [line] = lines;
    assert.equal(line!.msg, "job finished");
    assert.equal(line!.level, "info");
    assert.equal(line!.component, "jobs");
    assert.equal(line!.service, "cxpt");
    assert.equal(line!.job, "settle");
    assert.equal(line!.batches, 2);
    assert.ok(!Number.isNaN(Date.parse(String(line!.time))));
  });

  it("a component logs at its own level but never more than the app's LOG_LEVEL allows", async () => {
    const { lines, stream } = capture();
    const warnApp = createLogger({ level: "warn", destination: stream });
    const api = componentLogger(warnApp, "api", "info");
    api.info("request completed");
    api.warn("slow");
    const quiet = componentLogger(createLogger({ level: "info", destination: stream }), "api", "error");
    quiet.warn("not an error");
    quiet.error("failed");
    componentLogger(createLogger({ level: "silent", destination: stream }), "api", "info").error("silenced");
    await flushed();
    assert.deepEqual(
      lines.map((l) => [l.component, l.level, l.msg]),
      [
        ["api", "warn", "slow"],
        ["api", "error", "failed"],
      ],
    );
  });
});

for (const backend of BACKENDS) {
  describe(`monitoring (${backend})`, () => {
    let stack: Stack;
    let api: Api;
    let ctx: AppContext;
    let admin: string;
    before(async () => {
      stack = await startStack(backend, { INDEXER_INTERVAL_MS: "3600000" });
      ctx = stack.app;
      await followerSettled(ctx);
      api = await buildServer(ctx, { silent: true });
      admin = await adminToken(stack, api);
    });
    after(async () => {
      await api.close();
      await stack.close();
    });

    it("GET /metrics exposes every metric family, with the database's figures after some activity", async () => {
      // A real deposit through the API, then rows as the other services book them.
      const alice = await signIn(api, USERS.alice);
      const bob = await signIn(api, USERS.bob);
      const amount = parseEther("100");
      await fundCxpt(stack.deployment, wallet(USERS.alice), amount);
      const { cxpt, vault } = stack.deployment.contracts;
      const w = await walletOf(USERS.alice);
      await mined(await w.writeContract({ address: cxpt!, abi: cxptAbi, functionName: "approve", args: [vault!, amount] }));
      const deposit = await mined(await w.writeContract({ address: vault!, abi: vaultAbi, functionName: "deposit", args: [amount, toHex(1n, { size: 32 })] }));
      expect(await api.inject({ method: "POST", url: "/api/v1/tokens/deposit", headers: auth(alice.token), payload: { txHash: deposit } }), 200);

      await insertTransaction(ctx, bob.accountId, "claim", "failed");
      await insertTransaction(ctx, alice.accountId, "subscription_payment", "confirmed", { method: "fiat", kind: "activation" });
      await insertTransaction(ctx, bob.accountId, "subscription_payment", "confirmed", { method: "cxpt", kind: "renewal" });
      await ctx.db.query("insert into fiat_payments (ref, account_id, plan_id, status) values ('pay-1', $1, 1, 'activated'), ('pay-2', $1, 1, 'unresolved')", [alice.accountId]);
      await ctx.db.query("insert into reward_epochs (epoch, status) values (1, 'started'), (2, 'uploaded')");
      await ctx.db.query(
        `insert into reward_points (epoch, pool, wallet, points, uploaded) values
           (2, 'providers', '0x${"1".repeat(40)}', 5, true), (2, 'providers', '0x${"2".repeat(40)}', 7, true),
           (2, 'users', '0x${"3".repeat(40)}', 1, false), (1, 'users', '0x${"4".repeat(40)}', 1, true)`,
      );
      for (const [state, leafStatus] of [["settled", "collected"], ["failed", "shortfall"]] as const) {
        const { rows } = await ctx.db.query<{ id: string }>("insert into settlement_batches default values returning id::text as id");
        const batch = rows[0]!.id;
        await ctx.db.query("insert into settlement_leaves (batch_id, idx, account_id, wallet, amount_wei, status) values ($1, 0, $2, $3, 10, $4)", [
          batch,
          alice.accountId,
          alice.wallet.toLowerCase(),
          leafStatus,
        ]);
        await ctx.db.query("update settlement_batches set state = $2 where id = $1", [batch, state]);
      }
      await ctx.monitor.alert({ key: "low_balance:relayer", kind: "low_balance", severity: "warning", message: "low" });
      const chainHead = await head();
      await setCursor(ctx, chainHead - 7n);
      ctx.monitor.metrics.jobRuns.inc({ job: "settle", outcome: "ok" });
      ctx.monitor.metrics.jobDuration.observe({ job: "settle" }, 0.25);
      ctx.monitor.metrics.settlementFailures.inc({ kind: "shortfall" });

      const response = await api.inject({ method: "GET", url: "/metrics" });
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
      const samples = parseMetrics(response.body);
      const at = (name: string, labels: Record<string, string> = {}) => valueOf(samples, name, labels);

      // Token transactions: every (type, status) the database holds, and nothing else.
      const { rows: byType } = await ctx.db.query<{ type: string; status: string; n: unknown }>("select type, status, count(*) as n from token_transactions group by 1, 2");
      assert.equal(byType.length, 3);
      for (const row of byType) assert.equal(at("cxpt_token_transactions", { type: row.type, status: row.status }), Number(row.n));
      assert.equal(samples.filter((s) => s.name === "cxpt_token_transactions").length, byType.length);
      assert.equal(at("cxpt_token_transactions", { type: "deposit", status: "confirmed" }), 1);
      assert.equal(at("cxpt_token_transactions", { type: "claim", status: "failed" }), 1);

      assert.equal(at("cxpt_subscription_conversions", { method: "fiat", kind: "activation" }), 1);
      assert.equal(at("cxpt_subscription_conversions", { method: "cxpt", kind: "renewal" }), 1);
      assert.equal(at("cxpt_fiat_payments", { status: "activated" }), 1);
      assert.equal(at("cxpt_fiat_payments", { status: "unresolved" }), 1);

      assert.equal(at("cxpt_reward_epochs", { status: "started" }), 1);
      assert.equal(at("cxpt_reward_epochs", { status: "uploaded" }), 1);
      assert.equal(at("cxpt_reward_epoch_latest", { status: "uploaded" }), 2);
      assert.equal(at("cxpt_reward_latest_epoch_wallets", { pool: "providers", uploaded: "true" }), 2);
      assert.equal(at("cxpt_reward_latest_epoch_wallets", { pool: "users", uploaded: "false" }), 1);
      assert.equal(at("cxpt_reward_latest_epoch_wallets", { pool: "users", uploaded: "true" }), undefined, "epoch 1 is not the latest");

      assert.equal(at("cxpt_settlement_batches", { state: "settled" }), 1);
      assert.equal(at("cxpt_settlement_batches", { state: "failed" }), 1);
      assert.equal(at("cxpt_settlement_leaves", { status: "collected" }), 1);
      assert.equal(at("cxpt_settlement_leaves", { status: "shortfall" }), 1);
      assert.equal(at("cxpt_settlement_failures_total", { kind: "shortfall" }), 1);

      assert.equal(at("cxpt_alerts_open", { kind: "low_balance", severity: "warning" }), 1);
      assert.equal(at("cxpt_job_runs_total", { job: "settle", outcome: "ok" }), 1);
      assert.equal(at("cxpt_job_duration_seconds_count", { job: "settle" }), 1);
      assert.equal(at("cxpt_job_duration_seconds_bucket", { job: "settle", le: "0.5" }), 1);

      const chainId = String(ctx.chain!.chainId);
      assert.equal(at("cxpt_indexer_cursor_block", { chain_id: chainId }), Number(chainHead - 7n));
      assert.equal(at("cxpt_chain_head_block", { chain_id: chainId }), Number(chainHead));
      assert.equal(at("cxpt_indexer_lag_blocks"), 7);
      assert.ok(samples.some((s) => s.name.startsWith("cxpt_process_")), "process metrics");

      // The next scrape reads the database again: a resolved alert leaves the open count.
      await ctx.monitor.resolve("low_balance:relayer");
      const again = parseMetrics((await api.inject({ method: "GET", url: "/metrics" })).body);
      assert.equal(valueOf(again, "cxpt_alerts_open", { kind: "low_balance", severity: "warning" }), undefined);

      const doc = (await api.inject({ method: "GET", url: "/api/docs/json" })).json() as { paths: Record<string, unknown> };
      assert.equal(doc.paths["/metrics"], undefined, "hidden from the OpenAPI document");
      assert.ok(doc.paths["/api/v1/admin/alerts"]);
    });

    it("an alert is raised once per key while open (its count grows), resolved, then raised anew", async () => {
      const key = `job_failed:test-${backend}`;
      await ctx.monitor.alert({ key, kind: "job_failed", severity: "warning", message: "settle failed", details: { attempt: 1n } });
      await ctx.monitor.alert({ key, kind: "job_failed", severity: "critical", message: "settle failed again", details: { attempt: 2n } });
      const open = (await listAlerts(ctx.db, { open: true, limit: 100, offset: 0 })).filter((a) => a.key === key);
      assert.equal(open.length, 1);
      assert.equal(open[0]!.count, 2);
      assert.equal(open[0]!.severity, "critical");
      assert.equal(open[0]!.message, "settle failed again");
      assert.deepEqual(open[0]!.details, { attempt: "2" });
      assert.equal(open[0]!.resolvedAt, null);

      await ctx.monitor.resolve(key);
      assert.equal((await listAlerts(ctx.db, { open: true, limit: 100, offset: 0 })).filter((a) => a.key === key).length, 0);
      await ctx.monitor.alert({ key, kind: "job_failed", severity: "warning", message: "settle failed once more" });
      const all = (await listAlerts(ctx.db, { limit: 100, offset: 0 })).filter((a) => a.key === key);
      assert.deepEqual(
        all.map((a) => [a.count, a.resolvedAt === null]),
        [
          [1, true],
          [2, false],
        ],
      );
    });

    it("admin alerts API: 401, 403, lists with the open filter and paging, resolves (audited), 404, 409", async () => {
      const member = (await signIn(api, USERS.carol)).token;
      for (const [method, url] of [
        ["GET", "/api/v1/admin/alerts"],
        ["POST", "/api/v1/admin/alerts/1/resolve"],
      ] as const) {
        expect(await api.inject({ method, url }), 401, "UNAUTHENTICATED");
        expect(await api.inject({ method, url, headers: auth(member) }), 403, "ADMIN_ONLY");
      }

      for (const n of [1, 2, 3]) await ctx.monitor.alert({ key: `reconcile_drift:api-${n}`, kind: "reconcile_drift", severity: "warning", message: `drift ${n}` });
      const list = (query: string) => api.inject({ method: "GET", url: `/api/v1/admin/alerts${query}`, headers: auth(admin) });
      type Page = { alerts: { id: string; key: string; resolvedAt: string | null; count: number; kind: string }[]; nextOffset: number | null };
      const open = expect(await list("?open=true"), 200) as Page;
      const mine = open.alerts.filter((a) => a.key.startsWith("reconcile_drift:api-"));
      assert.deepEqual(
        mine.map((a) => a.key),
        ["reconcile_drift:api-3", "reconcile_drift:api-2", "reconcile_drift:api-1"],
      );
      assert.ok(open.alerts.every((a) => a.resolvedAt === null));

      const first = expect(await list("?open=true&limit=2"), 200) as Page;
      assert.equal(first.alerts.length, 2);
      assert.equal(first.nextOffset, 2);
      const rest = expect(await list(`?open=true&limit=2&offset=${first.nextOffset}`), 200) as Page;
      assert.deepEqual([...first.alerts, ...rest.alerts].map((a) => a.id), open.alerts.slice(0, 2 + rest.alerts.length).map((a) => a.id));
      expect(await list("?limit=0"), 400, "INVALID_LIMIT");
      expect(await list("?open=yes"), 400, "VALIDATION_FAILED");

      const target = mine[1]!;
      const resolved = expect(await api.inject({ method: "POST", url: `/api/v1/admin/alerts/${target.id}/resolve`, headers: auth(admin) }), 200);
      assert.equal(resolved.id, target.id);
      assert.equal(resolved.key, "reconcile_drift:api-2");
      assert.ok(!Number.isNaN(Date.parse(resolved.resolvedAt)));
      const stillOpen = (expect(await list("?open=true"), 200) as Page).alerts.map((a) => a.id);
      assert.ok(!stillOpen.includes(target.id));
      assert.ok((expect(await list(""), 200) as Page).alerts.some((a) => a.id === target.id && a.resolvedAt !== null));

      const again = expect(await api.inject({ method: "POST", url: `/api/v1/admin/alerts/${target.id}/resolve`, headers: auth(admin) }), 409, "ALERT_RESOLVED");
      assert.equal(again.error.details.resolvedAt, resolved.resolvedAt);
      expect(await api.inject({ method: "POST", url: "/api/v1/admin/alerts/999999999/resolve", headers: auth(admin) }), 404, "ALERT_NOT_FOUND");
      expect(await api.inject({ method: "POST", url: "/api/v1/admin/alerts/abc/resolve", headers: auth(admin) }), 400, "VALIDATION_FAILED");

      const audit = expect(await api.inject({ method: "GET", url: "/api/v1/admin/audit?limit=3", headers: auth(admin) }), 200).entries as {
        action: string;
        params: { id: string };
        outcome: { status: string; code?: string; key?: string };
      }[];
      assert.deepEqual(
        audit.map((e) => [e.action, e.params.id, e.outcome.status, e.outcome.code ?? e.outcome.key]),
        [
          ["resolve_alert", "999999999", "failed", "ALERT_NOT_FOUND"],
          ["resolve_alert", target.id, "failed", "ALERT_RESOLVED"],
          ["resolve_alert", target.id, "executed", "reconcile_drift:api-2"],
        ],
      );
    });

    it("runChecks raises low_balance for a signer short of gas money and resolves it once funded", async () => {
      const settler = ctx.chain!.signers.settler!.account.address;
      const funded = await (await viem.getPublicClient()).getBalance({ address: settler });
      const lowAlerts = async () => (await listAlerts(ctx.db, { open: true, limit: 100, offset: 0 })).filter((a) => a.kind === "low_balance");
      try {
        await networkHelpers.setBalance(settler, 1_000n);
        const report = await runChecks(ctx);
        const balances = ok(report.balances);
        assert.deepEqual(
          balances.signers.map((s) => [s.role, s.low]),
          [
            ["operator", false],
            ["billing", false],
            ["settler", true],
            ["rewards", false],
            ["relayer", false],
          ],
        );
        assert.equal(balances.signers.find((s) => s.role === "settler")!.balanceWei, "1000");
        const [alert, ...others] = await lowAlerts();
        assert.equal(others.length, 0);
        assert.equal(alert!.key, "low_balance:settler");
        assert.equal(alert!.severity, "critical", "a tenth of the threshold or less");
        assert.equal(alert!.details.address, settler);
        assert.equal(alert!.details.balanceWei, "1000");
        assert.equal(alert!.details.thresholdWei, ctx.config.monitoring.lowBalanceWei.toString());
        assert.deepEqual(JSON.parse(JSON.stringify(report)), report, "the report is plain JSON");

        await runChecks(ctx);
        assert.equal((await lowAlerts())[0]!.count, 2, "still low: the same alert, counted again");

        await networkHelpers.setBalance(settler, ctx.config.monitoring.lowBalanceWei);
        assert.ok(ok((await runChecks(ctx)).balances).signers.every((s) => !s.low));
        assert.deepEqual(await lowAlerts(), []);
      } finally {
        await networkHelpers.setBalance(settler, funded);
      }
    });

    it("runChecks reports an indexer not started, raises indexer_lag when the cursor is far behind and resolves it when caught up", async () => {
      const limit = BigInt(ctx.config.monitoring.indexerLagBlocks);
      const lagAlert = async () => (await listAlerts(ctx.db, { open: true, limit: 100, offset: 0 })).find((a) => a.key === "indexer_lag");
      await ctx.db.query("delete from indexer_cursor");
      const notStarted = ok((await runChecks(ctx)).indexer);
      assert.equal(notStarted.started, false);
      assert.equal(notStarted.cursorBlock, null);
      assert.equal(await lagAlert(), undefined);

      // The cursor where it is now, then the chain moves on by more than the limit.
      const from = await head();
      await setCursor(ctx, from);
      await networkHelpers.mine(limit + 5n);
      const behind = ok((await runChecks(ctx)).indexer);
      assert.equal(behind.started, true);
      assert.equal(behind.behind, true);
      assert.equal(behind.lagBlocks, (limit + 5n).toString());
      const alert = await lagAlert();
      assert.ok(alert);
      assert.equal(alert.kind, "indexer_lag");
      assert.equal(alert.severity, "warning");
      assert.equal(alert.details.lagBlocks, (limit + 5n).toString());

      await setCursor(ctx, await head());
      const caughtUp = ok((await runChecks(ctx)).indexer);
      assert.equal(caughtUp.behind, false);
      assert.equal(caughtUp.lagBlocks, "0");
      assert.equal(await lagAlert(), undefined);
    });

    it("runChecks alerts each failed transaction once, even after an operator resolved it", async () => {
      const carol = await signIn(api, USERS.carol);
      const before = ok((await runChecks(ctx)).failedTransactions); // alerts whatever failed earlier in this file
      assert.ok(Array.isArray(before.alerted));
      const id = await insertTransaction(ctx, carol.accountId, "withdrawal", "failed");
      await insertTransaction(ctx, carol.accountId, "withdrawal", "confirmed");

      assert.deepEqual(ok((await runChecks(ctx)).failedTransactions).alerted, [id]);
      const alert = (await listAlerts(ctx.db, { open: true, limit: 100, offset: 0 })).find((a) => a.key === `tx_failed:${id}`);
      assert.ok(alert);
      assert.equal(alert.kind, "tx_failed");
      assert.equal(alert.details.transactionId, id);
      assert.equal(alert.details.type, "withdrawal");
      assert.equal(alert.details.amountWei, parseEther("5").toString());

      assert.deepEqual(ok((await runChecks(ctx)).failedTransactions).alerted, []);
      expect(await api.inject({ method: "POST", url: `/api/v1/admin/alerts/${alert.id}/resolve`, headers: auth(admin) }), 200);
      assert.deepEqual(ok((await runChecks(ctx)).failedTransactions).alerted, []);
      const all = (await listAlerts(ctx.db, { limit: 200, offset: 0 })).filter((a) => a.key === `tx_failed:${id}`);
      assert.equal(all.length, 1);
      assert.equal(all[0]!.count, 1);
    });

    it("runChecks runs every check when one fails, then throws MONITOR_CHECK_FAILED with the report", async () => {
      const deadRpc = createPublicClient({ transport: http("http://127.0.0.1:9/", { retryCount: 0, timeout: 2_000 }) });
      const broken = { ...ctx, chain: { ...ctx.chain!, client: deadRpc } } as AppContext;
      const id = await insertTransaction(ctx, (await signIn(api, USERS.bob)).accountId, "claim", "failed");
      const error = await runChecks(broken).then(
        () => assert.fail("checks passed against an RPC that does not answer"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof AppError);
      assert.equal(error.code, "MONITOR_CHECK_FAILED");
      const report = error.details!.report as CheckReport;
      assert.equal(report.balances.status, "failed");
      assert.equal(report.indexer.status, "failed");
      assert.deepEqual(ok(report.failedTransactions).alerted, [id], "the database check still ran");
    });

    it("with the chain off, the chain checks are skipped and /metrics still answers", async () => {
      const off = await startStack(backend, { CHAIN_STAGE: "off" });
      const offApi = await buildServer(off.app, { silent: true });
      try {
        const report = await runChecks(off.app);
        assert.deepEqual(report.balances, { status: "skipped", reason: "the chain is off" });
        assert.deepEqual(report.indexer, { status: "skipped", reason: "the chain is off" });
        assert.deepEqual(ok(report.failedTransactions).alerted, []);
        const response = await offApi.inject({ method: "GET", url: "/metrics" });
        assert.equal(response.statusCode, 200);
        const samples = parseMetrics(response.body);
        assert.equal(samples.filter((s) => s.name === "cxpt_chain_head_block").length, 0);
        assert.match(response.body, /# TYPE cxpt_token_transactions gauge/);
      } finally {
        await offApi.close();
        await off.close();
      }
    });

    it("requests and alerts log to the app's one JSON stream", async () => {
      const { lines, stream } = capture();
      const log = createLogger({ level: "info", destination: stream });
      const logged = { ...ctx, monitor: { ...ctx.monitor, log } } as AppContext;
      const verbose = await buildServer(logged, { logRequests: true });
      const quiet = await buildServer(logged, {});
      try {
        expect(await verbose.inject({ method: "GET", url: "/api/v1/admin/alerts" }), 401);
        expect(await quiet.inject({ method: "GET", url: "/api/v1/admin/alerts" }), 401);
        await raiseAlert(ctx.db, log, { key: "job_failed:log-test", kind: "job_failed", severity: "warning", message: "disk almost full" });
        await flushed();
        const requests = lines.filter((l) => l.component === "api");
        assert.deepEqual(
          requests.map((l) => [l.level, l.msg]),
          [
            ["info", "incoming request"],
            ["info", "request completed"],
          ],
          "the quiet server logs no request that did not fail on our side",
        );
        assert.ok(requests.every((l) => l.service === "cxpt" && typeof l.reqId === "string"));
        const alert = lines.find((l) => l.component === "alerts");
        assert.equal(alert?.level, "warn");
        assert.equal(alert?.msg, "disk almost full");
        assert.deepEqual(alert?.alert, { key: "job_failed:log-test", kind: "job_failed", severity: "warning" });
      } finally {
        await verbose.close();
        await quiet.close();
      }
    });
  });
}
