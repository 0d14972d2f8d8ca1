// Metering benchmark: `npm run bench:metering`. Drives the compute gateway
// (POST /api/v1/chat/completions: API key, limits, the gate's hold, proxying to a demo provider node,
// capture) and the same demo node called directly (ungated) side by side with autocannon, against the real PostgreSQL and Redis of this
// machine and an ephemeral devchain with the suite deployed (CHAIN_STAGE=testnet, phase 3: billed in
// CXPT). The API runs in a child process (bench/metering-server.ts) so the load generator has its
// own event loop. Ungated and gated runs alternate (A/B, B/A, …, the same number of requests each)
// so machine noise hits both; medians are reported, with where the CPU time goes (from /proc).
// Then it measures raw recordUsage throughput (an in-process meter on the same Redis stream, which
// the API's drain empties too) and checks that every metered event reached PostgreSQL, charged once.
// Prints a table, writes bench/results/metering.json, and exits non-zero if an event was lost (a
// missed performance target is reported as MISS, not a failure).
//
// Settings (environment): BENCH_ROUNDS (5 ungated/gated pairs), BENCH_SECONDS (≈5 s per run, sized
// from the warm-up's ungated rate), BENCH_CONNECTIONS (10), BENCH_ACCOUNTS (100), BENCH_RAW_EVENTS
// (200000), BENCH_RAW_CONCURRENCY (10000), BENCH_DATABASE_URL / BENCH_REDIS_URL (the local servers),
// BENCH_CPU_PROF=<dir> (profile the API process with --cpu-prof). Other variables reach the API
// process as its configuration (e.g. DRAIN_INTERVAL_MS).
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { Redis } from "ioredis";
import { createAccount, createApiKey } from "../src/accounts/store.ts";
import { createMeter, DEFAULT_PRICE_TABLE, fixedPriceSource, openRedisMeterStore } from "../src/billing/index.ts";
import { DRAIN_THREAD_NAME } from "../src/billing/drain-thread.ts";
import type { ContractKey } from "../src/chain/types.ts";
import { addressEnvName } from "../src/config/config.ts";
import { openDb } from "../src/db/db.ts";
import { migrate } from "../src/db/migrate.ts";
import { DEV_BACKEND_ENV } from "../src/devstack/keys.ts";
import { deleteRedisPrefix, scratchDatabase, scratchPrefix } from "../src/devstack/scratch.ts";
import type { ServerCommand, ServerReport } from "./metering-server.ts";
import { benchChain, cleanUp, setting, writeResults, type CleanupStep } from "./harness.ts";


const ROUNDS = setting("BENCH_ROUNDS", 5);
const SECONDS = setting("BENCH_SECONDS", 5);
const CONNECTIONS = setting("BENCH_CONNECTIONS", 10);
const ACCOUNTS = setting("BENCH_ACCOUNTS", 100);
const RAW_EVENTS = setting("BENCH_RAW_EVENTS", 200_000);
const RAW_CONCURRENCY = setting("BENCH_RAW_CONCURRENCY", 10_000);
const WARMUP_REQUESTS = 10_000;
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const CPU_PROF = process.env.BENCH_CPU_PROF;

const TARGETS = { ratio: 0.85, addedP99Ms: 2, rawEventsPerSecond: 50_000 } as const;
/** Credits of each bench account: far more than the bench can spend, so no request is refused. */
const CREDITS_WEI = 10n ** 30n;
const GATED_PATH = "/api/v1/chat/completions";
const UNGATED_PATH = "/v1/chat/completions"; // the demo node itself
const BODY = Buffer.from(
  JSON.stringify({ model: "llama-3.1-8b-instruct", messages: [{ role: "user", content: "Say hello to the benchmark in one sentence." }], max_tokens: 64, tier: "tide-pool" }),
);
const log = (line: string) => console.log(line);

type Kind = "ungated" | "gated";

interface Run {
  readonly kind: Kind;
  readonly label: string;
  readonly responses: number;
  readonly ok: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  /** The API's event-loop stalls during the run (monitorEventLoopDelay): p99 and max, ms. */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  /** Requests per Redis script call (how well the meter batches). */
  readonly eventsPerRedisCall: number;
  /**
   * CPU time (user + system) per request, µs: the API process (its drain thread included), the load
   * generator, Redis, PostgreSQL. A gated run is accounted until its events are drained.
   */
  readonly cpuUs: {
    readonly server: number;
    /** Of the API process: its event loop, its drain thread (the rest: GC and I/O helper threads). */
    readonly serverMain: number;
    readonly serverDrain: number;
    readonly loadgen: number;
    readonly redis: number;
    readonly postgres: number;
  };
  /** CPUs kept busy by everything else on the machine meanwhile (noise: other users of this machine). */
  readonly otherCpus: number;
}

/** What the gated runs saw: every 2xx request id, the costs the API reported, refusals. */
interface GatedLedger {
  readonly ids: string[];
  readonly costs: Map<string, number>;
  notCharged: number;
  readonly refused: Map<number, number>;
  sample: string | undefined;
}

// ───────────────────────────── helpers ─────────────────────────────

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const cpuLine = (cpu: Run["cpuUs"]) => `server ${fmt(cpu.server, 1)}, loadgen ${fmt(cpu.loadgen, 1)}, redis ${fmt(cpu.redis, 1)}, pg ${fmt(cpu.postgres, 1)}`;

const fmt = (value: number, digits = 2) => value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** CPU time (µs) of the other processes on this machine, from /proc (Linux; zeros elsewhere). */
interface MachineCpu {
  readonly redis: number;
  readonly postgres: number;
  /** The API process's threads: the event loop, the drain thread. */
  readonly apiMain: number;
  readonly apiDrain: number;
  /** Every CPU's busy time, whoever used it (other users of the machine included). */
  readonly busy: number;
}

const TICK_US = 10_000; // USER_HZ = 100 on Linux

const usedUs = (stat: string) => {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) * TICK_US; // utime, stime
};

function machineCpu(apiPid?: number): MachineCpu {
  let redis = 0;
  let postgres = 0;
  let busy = 0;
  let apiMain = 0;
  let apiDrain = 0;
  try {
    const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/);
    const ticks = fields.map(Number);
    busy = (ticks.slice(0, 8).reduce((a, b) => a + b, 0) - ticks[3]! - ticks[4]!) * TICK_US; // minus idle, iowait
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      } catch {
        continue; // exited meanwhile
      }
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (comm.startsWith("redis-server")) redis += usedUs(stat);
      else if (comm.startsWith("postgres")) postgres += usedUs(stat);
    }
    if (apiPid !== undefined) {
      for (const tid of readdirSync(`/proc/${apiPid}/task`)) {
        const stat = readFileSync(`/proc/${apiPid}/task/${tid}/stat`, "utf8");
        if (Number(tid) === apiPid) apiMain = usedUs(stat);
        else if (stat.includes(`(${DRAIN_THREAD_NAME})`)) apiDrain += usedUs(stat);
      }
    }
  } catch {
    // no /proc: the breakdown stays at zero
  }
  return { redis, postgres, busy, apiMain, apiDrain };
}

/** Redis's count of script calls (EVALSHA: the meter's record calls) so far; shared with anyone else using this Redis. */
async function redisScriptCalls(redis: Redis): Promise<number> {
  const stats = (await redis.info("commandstats")) as string;
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

// ───────────────────────────── the server child ─────────────────────────────

interface ServerChild {
  readonly port: number;
  /** The demo provider node behind the gateway (the ungated baseline calls it directly). */
  readonly nodePort: number;
  readonly pid: number;
  usage(): Promise<{ cpuMicros: number; loopDelayP99Ms: number; loopDelayMaxMs: number }>;
  stop(): Promise<void>;
  kill(): void;
}

async function startServer(env: Record<string, string>): Promise<ServerChild> {
  const entry = fileURLToPath(new URL("./metering-server.ts", import.meta.url));
  const execArgv = CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${CPU_PROF}`] : [];
  const child: ChildProcess = fork(entry, [], { env: { ...process.env, ...env }, execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const waiting: ((report: ServerReport) => void)[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.on("message", (report: ServerReport) => waiting.shift()?.(report));
  const next = () =>
    new Promise<ServerReport>((resolve, reject) => {
      waiting.push(resolve);
      void exited.then((code) => reject(new Error(`the API process exited (code ${code})`)));
    });
  const ask = (command: ServerCommand) => {
    const reply = next();
    child.send(command);
    return reply;
  };
  const ready = await next();
  if (ready.type !== "ready") throw new Error(`unexpected message from the API process: ${JSON.stringify(ready)}`);
  return {
    port: ready.port,
    nodePort: ready.nodePort,
    pid: child.pid!,
    async usage() {
      const report = await ask({ type: "usage" });
      if (report.type !== "usage") throw new Error(`unexpected message from the API process: ${JSON.stringify(report)}`);
      return report;
    },
    async stop() {
      const report = await ask({ type: "stop" });
      if (report.type !== "stopped") throw new Error(`unexpected message from the API process: ${JSON.stringify(report)}`);
      await exited;
    },
    kill: () => void (child.exitCode === null && child.kill("SIGKILL")),
  };
}

// ───────────────────────────── load ─────────────────────────────

/** Waits until the API's drain has taken every event off the stream (acknowledged ones are deleted). */
async function drained(redis: Redis, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await redis.xlen(`${redisPrefix}usage`)) > 0) {
    if (Date.now() > until) throw new Error("the drain did not empty the stream within a minute");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function loadRunner(server: ServerChild, keys: readonly string[], accountIds: readonly string[], ledger: GatedLedger, redis: Redis) {
  let seq = 0;
  return async function run(kind: Kind, amount: number, label: string): Promise<Run> {
    const path = kind === "gated" ? GATED_PATH : UNGATED_PATH;
    const tag = `${kind === "gated" ? "g" : "u"}-${label}-`;
    const latencies = new Float64Array(amount);
    let n = 0;
    let ok = 0;
    let last = 0;
    type Ctx = { id?: string };
    const request: autocannon.Request = {
      method: "POST",
      path,
      headers: { "content-type": "application/json" },
      body: BODY,
      setupRequest(req, context) {
        const i = seq++;
        const id = `${tag}${i}`;
        (context as Ctx).id = `${accountIds[i % accountIds.length]}:${id}`; // stored scoped to its account
        const headers = req.headers!; // a fresh object per request (autocannon copies the defaults)
        headers.authorization = `Bearer ${keys[i % keys.length]}`;
        headers["x-request-id"] = id;
        return req;
      },
      onResponse(status, body, context) {
        const success = status >= 200 && status < 300;
        if (success) ok++;
        if (kind !== "gated") return;
        if (!success) {
          ledger.refused.set(status, (ledger.refused.get(status) ?? 0) + 1);
          ledger.sample ??= body;
          return;
        }
        ledger.ids.push((context as Ctx).id!);
        const at = body.indexOf('"costWei":"') + 11;
        const cost = body.slice(at, body.indexOf('"', at));
        ledger.costs.set(cost, (ledger.costs.get(cost) ?? 0) + 1);
        if (!body.includes('"charged":true')) ledger.notCharged++;
      },
    };
    const before = { server: await server.usage(), self: process.cpuUsage(), machine: machineCpu(server.pid), scripts: await redisScriptCalls(redis) };
    const started = performance.now();
    const options: autocannon.Options = { url: `http://127.0.0.1:${kind === "gated" ? server.port : server.nodePort}`, connections: CONNECTIONS, pipelining: 1, amount, timeout: 30, requests: [request] };
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon(options, (error, done) => (error ? reject(error) : resolve(done)));
      instance.on("response", (_client, _status, _bytes, ms) => {
        if (n < amount) latencies[n++] = ms;
        last = performance.now();
      });
    });
    if (kind === "gated") await drained(redis);
    const wallUs = (performance.now() - started) * 1000;
    const self = process.cpuUsage(before.self);
    const after = { server: await server.usage(), machine: machineCpu(server.pid), scripts: await redisScriptCalls(redis) };
    if (result.errors > 0) throw new Error(`${kind} run ${label}: ${result.errors} connection errors / ${result.timeouts} timeouts`);
    const sorted = latencies.slice(0, n).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    const seconds = (last - started) / 1000;
    return {
      kind,
      label,
      responses: n,
      ok,
      seconds,
      rps: n / seconds,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      meanMs: sum / n,
      loopDelayP99Ms: after.server.loopDelayP99Ms,
      loopDelayMaxMs: after.server.loopDelayMaxMs,
      eventsPerRedisCall: kind === "gated" ? n / Math.max(1, after.scripts - before.scripts) : 0,
      cpuUs: {
        server: (after.server.cpuMicros - before.server.cpuMicros) / n,
        serverMain: (after.machine.apiMain - before.machine.apiMain) / n,
        serverDrain: (after.machine.apiDrain - before.machine.apiDrain) / n,
        loadgen: (self.user + self.system) / n,
        redis: Math.max(0, after.machine.redis - before.machine.redis) / n,
        postgres: Math.max(0, after.machine.postgres - before.machine.postgres) / n, // a backend that exits takes its time along
      },
      otherCpus:
        Math.max(
          0,
          after.machine.busy - before.machine.busy - (after.server.cpuMicros - before.server.cpuMicros) - (self.user + self.system) -
            (after.machine.redis - before.machine.redis) - (after.machine.postgres - before.machine.postgres),
        ) / wallUs,
    };
  };
}

// ───────────────────────────── main ─────────────────────────────

const started = new Date();
const workDir = mkdtempSync(join(tmpdir(), "cxpt-bench-"));
const redisPrefix = scratchPrefix("cxpt:bench");
const cleanup: CleanupStep[] = [() => rmSync(workDir, { recursive: true, force: true })];
let lost = true;

try {
  log(`metering benchmark — ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), node ${process.version}`);
  const database = await scratchDatabase(DATABASE_URL, "cxpt_bench");
  cleanup.push(() => database.drop());
  cleanup.push(() => deleteRedisPrefix(REDIS_URL, redisPrefix));
  log(`database ${database.name}, Redis prefix ${redisPrefix}`);

  const { chain, deployment } = await benchChain(workDir, cleanup);
  log(`devchain ${chain.url} (chain ${chain.chainId}), suite deployed`);

  // Bench accounts: credits only (no linked wallet): the gate never reads the chain on the hot
  // path anyway, and an all-credit charge keeps the drain's split exact to check.
  const db = await openDb({ url: database.url });
  cleanup.push(() => db.close());
  await migrate(db);
  const keys: string[] = [];
  const accountIds: string[] = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    const account = await createAccount(db, { kind: "user", displayName: `bench ${i}` });
    await db.query("update accounts set credits_wei = $2 where id = $1", [account.id, CREDITS_WEI]);
    keys.push((await createApiKey(db, account.id, "bench")).key);
    accountIds.push(account.id);
  }
  log(`${ACCOUNTS} accounts with ${CREDITS_WEI} wei of credits and an API key each`);

  const addresses: Record<string, string> = {};
  for (const [contract, address] of Object.entries(deployment.contracts)) addresses[addressEnvName(contract as ContractKey)] = address!;
  const server = await startServer({
    NODE_ENV: "production",
    CHAIN_STAGE: "testnet",
    CHAIN_PHASE: "3",
    RPC_URL: chain.url,
    CHAIN_ID: String(chain.chainId),
    DATABASE_URL: database.url,
    REDIS_URL,
    REDIS_PREFIX: redisPrefix,
    CXPT_DATA_DIR: join(workDir, "data"),
    ...DEV_BACKEND_ENV,
    ...addresses,
    // The bench accounts are PAYG accounts: lift their plan limits above anything the bench sends.
    PAYG_REQUESTS_PER_MINUTE: "100000000",
    PAYG_CONCURRENCY: "100000",
  });
  cleanup.push(() => server.kill());
  log(`API process on port ${server.port}; ${CONNECTIONS} connections, pipelining 1, unique x-request-id per request over ${ACCOUNTS} keys`);

  const ledger: GatedLedger = { ids: [], costs: new Map(), notCharged: 0, refused: new Map(), sample: undefined };
  const stats = new Redis(REDIS_URL);
  cleanup.push(() => stats.disconnect());
  const run = loadRunner(server, keys, accountIds, ledger, stats);

  // Warm-up (JIT, caches, the Redis script), then size each run to ≈ SECONDS of the ungated rate.
  let calibration = 0;
  for (const pass of [1, 2]) {
    calibration = (await run("ungated", WARMUP_REQUESTS, `w${pass}`)).rps;
    await run("gated", WARMUP_REQUESTS, `w${pass}`);
  }
  const amount = Math.max(2_000, Math.round(calibration * SECONDS));
  log(`warm-up done; ${ROUNDS} rounds of ${amount.toLocaleString("en-US")} requests per run, order alternating\n`);

  const runs: Run[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const order: Kind[] = r % 2 ? ["ungated", "gated"] : ["gated", "ungated"];
    for (const kind of order) {
      const x = await run(kind, amount, `r${r}`);
      runs.push(x);
      log(
        `  round ${r} ${kind.padEnd(7)} ${fmt(x.rps, 0).padStart(7)} req/s  p50 ${fmt(x.p50Ms, 3)}  p99 ${fmt(x.p99Ms, 3)} ms  ` +
          `CPU µs/req: ${cpuLine(x.cpuUs)}  (others busy: ${fmt(x.otherCpus, 2)} CPUs)`,
      );
    }
  }
  const summary = (kind: Kind) => {
    const of = runs.filter((x) => x.kind === kind);
    const med = (pick: (x: Run) => number) => median(of.map(pick));
    return {
      rps: med((x) => x.rps),
      p50Ms: med((x) => x.p50Ms),
      p99Ms: med((x) => x.p99Ms),
      meanMs: med((x) => x.meanMs),
      loopDelayP99Ms: med((x) => x.loopDelayP99Ms),
      cpuUs: {
        server: med((x) => x.cpuUs.server),
        serverMain: med((x) => x.cpuUs.serverMain),
        serverDrain: med((x) => x.cpuUs.serverDrain),
        loadgen: med((x) => x.cpuUs.loadgen),
        redis: med((x) => x.cpuUs.redis),
        postgres: med((x) => x.cpuUs.postgres),
        total: med((x) => x.cpuUs.server + x.cpuUs.loadgen + x.cpuUs.redis + x.cpuUs.postgres),
      },
      eventsPerRedisCall: med((x) => x.eventsPerRedisCall),
      otherCpus: med((x) => x.otherCpus),
    };
  };
  const ungated = summary("ungated");
  const gated = summary("gated");
  const ratio = gated.rps / ungated.rps;
  const addedP99 = gated.p99Ms - ungated.p99Ms;
  const addedP50 = gated.p50Ms - ungated.p50Ms;
  // Each round's own ratio, as a check on the ratio of medians (drift hits both runs of a round).
  const roundRatios = Array.from({ length: ROUNDS }, (_, i) => {
    const pair = runs.filter((x) => x.label === `r${i + 1}`);
    return pair.find((x) => x.kind === "gated")!.rps / pair.find((x) => x.kind === "ungated")!.rps;
  });

  // Raw recordUsage: an in-process meter on the same Redis stream, many concurrent callers. The
  // API's drain takes these events too: how long until the stream is empty is the drain's rate.
  log(`\nraw recordUsage: ${RAW_EVENTS.toLocaleString("en-US")} events from ${RAW_CONCURRENCY.toLocaleString("en-US")} concurrent callers`);
  // Throughput, not the hot path: commands wait for Redis rather than fail after 500 ms.
  const rawStore = await openRedisMeterStore({ url: REDIS_URL, prefix: redisPrefix, failFast: false });
  const meter = createMeter({ store: rawStore, prices: () => DEFAULT_PRICE_TABLE, priceSource: fixedPriceSource("0.10") });
  let next = 0;
  let rawRecorded = 0;
  let rawCostWei = 0n;
  const rawStarted = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(RAW_CONCURRENCY, RAW_EVENTS) }, async () => {
      for (let i = next++; i < RAW_EVENTS; i = next++) {
        const result = await meter.recordUsage({
          requestId: `raw-${i}`,
          accountId: accountIds[i % accountIds.length]!,
          endpoint: GATED_PATH,
          service: "chat",
          tier: "tide-pool",
          unitsIn: 11,
          unitsOut: 28,
          billedIn: "cxpt",
        });
        if (result.recorded) {
          rawRecorded++;
          rawCostWei += result.costWei;
        }
      }
    }),
  );
  const rawSeconds = (performance.now() - rawStarted) / 1000;
  const rawRate = RAW_EVENTS / rawSeconds;
  await rawStore.close();
  log(`  recorded ${rawRecorded.toLocaleString("en-US")} in ${fmt(rawSeconds, 2)} s: ${fmt(rawRate, 0)} events/s`);
  await drained(stats, 300_000);
  const drainRate = RAW_EVENTS / ((performance.now() - rawStarted) / 1000);
  log(`  drained into PostgreSQL (recording and draining at once): ${fmt(drainRate, 0)} events/s`);

  // Zero lost: stop the API (its close drains whatever is left), then reconcile PostgreSQL with what
  // the clients were told and what the raw meter recorded.
  await server.stop();
  const streamLeft = await stats.xlen(`${redisPrefix}usage`);
  const pendingLeft = Number(((await stats.xpending(`${redisPrefix}usage`, "drain")) as [number])[0]);
  const gatedCostWei = [...ledger.costs].reduce((sum, [cost, count]) => sum + BigInt(cost) * BigInt(count), 0n);
  const expectedIds = new Set(ledger.ids);
  for (let i = 0; i < RAW_EVENTS; i++) expectedIds.add(`raw-${i}`);
  const { rows: idRows } = await db.query<{ request_id: string }>("select request_id from usage_events");
  const stored = new Set(idRows.map((row) => row.request_id));
  const missing = [...expectedIds].filter((id) => !stored.has(id));
  const unexpected = [...stored].filter((id) => !expectedIds.has(id));
  const { rows: sums } = await db.query<{ cost: string; credits: string; payg: string; bucket: string }>(
    "select coalesce(sum(cost_wei), 0) as cost, coalesce(sum(credits_wei), 0) as credits, coalesce(sum(payg_wei), 0) as payg, coalesce(sum(bucket_tokens), 0) as bucket from usage_events",
  );
  const { rows: spentRows } = await db.query<{ spent: string }>("select sum($1::numeric - credits_wei) as spent from accounts where id = any($2::uuid[])", [
    CREDITS_WEI,
    accountIds,
  ]);
  const chargedWei = BigInt(sums[0]!.cost);
  const reportedWei = gatedCostWei + rawCostWei;
  const expectedCount = ledger.ids.length + rawRecorded;
  const checks = {
    "every 2xx and raw event is in PostgreSQL, nothing else": stored.size === expectedCount && missing.length === 0 && unexpected.length === 0,
    "charged = reported costs": chargedWei === reportedWei,
    "credits drawn = charged": BigInt(sums[0]!.credits) === chargedWei && BigInt(spentRows[0]!.spent) === chargedWei && BigInt(sums[0]!.payg) === 0n && BigInt(sums[0]!.bucket) === 0n,
    "every request charged once": ledger.notCharged === 0 && ledger.refused.size === 0 && rawRecorded === RAW_EVENTS,
    "the stream is empty": streamLeft === 0 && pendingLeft === 0,
  };
  lost = !Object.values(checks).every(Boolean);

  // ── report ──
  const signed = (value: number, digits: number) => `${value >= 0 ? "+" : ""}${fmt(value, digits)}`;
  const rows: [string, string, string, string][] = [
    ["", "ungated", "gated", "gated vs ungated"],
    ["throughput (req/s)", fmt(ungated.rps, 0), fmt(gated.rps, 0), `ratio ${fmt(ratio, 3)}`],
    ["latency p50 (ms)", fmt(ungated.p50Ms, 3), fmt(gated.p50Ms, 3), `${signed(addedP50, 3)} ms`],
    ["latency p99 (ms)", fmt(ungated.p99Ms, 3), fmt(gated.p99Ms, 3), `${signed(addedP99, 3)} ms`],
    ["latency mean (ms)", fmt(ungated.meanMs, 3), fmt(gated.meanMs, 3), `${signed(gated.meanMs - ungated.meanMs, 3)} ms`],
    ["API event-loop stall p99 (ms)", fmt(ungated.loopDelayP99Ms, 1), fmt(gated.loopDelayP99Ms, 1), `${signed(gated.loopDelayP99Ms - ungated.loopDelayP99Ms, 1)} ms`],
    ...(
      [
        ["server", "CPU µs/req: API process"],
        ["serverMain", "  of which event loop"],
        ["serverDrain", "  of which drain thread"],
        ["loadgen", "CPU µs/req: load generator"],
        ["redis", "CPU µs/req: Redis"],
        ["postgres", "CPU µs/req: PostgreSQL"],
        ["total", "CPU µs/req: all four"],
      ] as const
    ).map(([part, name]): [string, string, string, string] => [
      name,
      fmt(ungated.cpuUs[part], 1),
      fmt(gated.cpuUs[part], 1),
      `${signed(gated.cpuUs[part] - ungated.cpuUs[part], 1)} µs`,
    ]),
    ["events per Redis call", "", fmt(gated.eventsPerRedisCall, 1), ""],
    ["other processes (CPUs busy)", fmt(ungated.otherCpus, 2), fmt(gated.otherCpus, 2), ""],
  ];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((row) => row[c]!.length)));
  log(`\nmedians of ${ROUNDS} interleaved rounds, ${CONNECTIONS} connections, ${amount.toLocaleString("en-US")} requests per run:`);
  for (const row of rows) log("  " + row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("   "));
  log(`  per-round ratios: ${roundRatios.map((x) => fmt(x, 3)).join(", ")}`);
  log(`  raw recordUsage: ${fmt(rawRate, 0)} events/s; drain into PostgreSQL: ${fmt(drainRate, 0)} events/s`);
  log(
    `  PostgreSQL holds ${stored.size.toLocaleString("en-US")} usage events; expected ${expectedCount.toLocaleString("en-US")} ` +
      `(${ledger.ids.length.toLocaleString("en-US")} gated 2xx + ${rawRecorded.toLocaleString("en-US")} raw); charged ${chargedWei} wei, reported ${reportedWei} wei`,
  );
  if (ledger.refused.size > 0) log(`  refused gated requests: ${JSON.stringify(Object.fromEntries(ledger.refused))}, e.g. ${ledger.sample}`);
  const verdicts = [
    [`gated ÷ ungated throughput ≥ ${TARGETS.ratio}`, ratio >= TARGETS.ratio, fmt(ratio, 3)],
    [`added p99 ≤ ${TARGETS.addedP99Ms} ms`, addedP99 <= TARGETS.addedP99Ms, `${signed(addedP99, 3)} ms`],
    [`recordUsage ≥ ${TARGETS.rawEventsPerSecond.toLocaleString("en-US")} events/s`, rawRate >= TARGETS.rawEventsPerSecond, `${fmt(rawRate, 0)} events/s`],
  ] as const;
  log("\ntargets:");
  for (const [name, ok, figure] of verdicts) log(`  ${ok ? "PASS" : "MISS"}  ${name.padEnd(36)} ${figure}`);
  log(`  ${lost ? "FAIL" : "PASS"}  ${"zero events lost".padEnd(36)} ${missing.length} missing, ${unexpected.length} unexpected, charges ${chargedWei === reportedWei ? "match" : "differ"}`);
  if (lost) for (const [name, ok] of Object.entries(checks)) if (!ok) log(`        failed: ${name} (stream left ${streamLeft}, pending ${pendingLeft})`);
  const misses = verdicts.filter(([, ok]) => !ok).map(([name]) => name);
  if (misses.length > 0) log(`\nperformance targets MISSED on this run (reported, not a failure): ${misses.join("; ")}`);

  const results = {
    measuredAt: started.toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim(),
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      os: `${process.platform} ${release()}`,
      autocannon: "9",
    },
    settings: { rounds: ROUNDS, requestsPerRun: amount, connections: CONNECTIONS, pipelining: 1, accounts: ACCOUNTS, rawEvents: RAW_EVENTS, rawConcurrency: RAW_CONCURRENCY },
    targets: TARGETS,
    ungated,
    gated,
    ratio,
    roundRatios,
    addedP50Ms: addedP50,
    addedP99Ms: addedP99,
    rawRecordUsage: { events: RAW_EVENTS, concurrency: RAW_CONCURRENCY, seconds: rawSeconds, eventsPerSecond: rawRate, drainEventsPerSecond: drainRate },
    zeroLost: {
      pass: !lost,
      expected: expectedCount,
      gated2xx: ledger.ids.length,
      raw: rawRecorded,
      inPostgres: stored.size,
      missing: missing.length,
      unexpected: unexpected.length,
      chargedWei: chargedWei.toString(),
      reportedWei: reportedWei.toString(),
      checks,
    },
    verdicts: Object.fromEntries(verdicts.map(([name, ok, figure]) => [name, { pass: ok, figure }])),
    runs,
  };
  log(`\nwrote ${writeResults("metering", results)}`);
} finally {
  await cleanUp(cleanup);
}
process.exit(lost ? 1 : 0);
