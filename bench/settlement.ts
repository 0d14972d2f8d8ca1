// Settlement benchmark: `npm run bench:settlement`. 10,000 users end to end on an ephemeral devchain
// with the suite deployed (CHAIN_STAGE=testnet, phase 3: PAYG billed in CXPT), the app built by
// createApp over the machine's PostgreSQL and Redis (BENCH_BACKEND=embedded: PGlite and the embedded
// metering store). Per chunk size (BENCH_CHUNKS), one full day's cycle, each stage timed:
//   meter      app.billing.meter.recordUsage for every event (all concurrent, micro-batched by the meter)
//   drain      the drain's step (drainOnce: store → PostgreSQL, charge split) until the store is empty;
//              the app's own drain loop is parked (DRAIN_INTERVAL_MS=1 h) so the stages do not overlap
//   close      closeBatch: the due PAYG usage into one batch, a leaf per wallet
//   build      settleStep on the open batch: the Merkle tree, root and total frozen
//   commit     settleStep on the built batch: UsageBilling.commitBatch, receipt awaited
//   collect    settleStep until the batch is idle: collectChunk per chunk, outcomes booked
// The settlement stages are the calls runSettlement makes (closeBatch, then settleStep until idle),
// made one by one to time each; a runSettlement afterwards must find nothing due and nothing unfinished.
// Gas per user = (commit + every collectChunk) gas ÷ users, from the receipts of the transactions the
// batch recorded. Setup is not measured: the accounts are inserted with SQL, and each user's CXPT
// balance and Vault allowance are written into CXPT's storage (hardhat_setStorageAt on the ERC-7201
// ERC20 slots; the distribution account pays the balances, so the total supply still adds up), then
// read back with balanceOf / allowance. Verified per run (the bench exits non-zero otherwise): Σ
// metered = Σ PAYG drained = batch total = collected on chain (UsageBilling.batchOf) = Σ the users'
// balance drops, every leaf collected, every usage event settled.
// Prints a table, writes bench/results/settlement.json.
//
// Settings (environment): BENCH_USERS (10000), BENCH_EVENTS_PER_USER (3), BENCH_CHUNKS (64,500,600:
// leaves per collectChunk, 64 being settle.ts's default; EDR caps a transaction at 16,777,216 gas, and
// with 10,000 users a chunk of 600 takes ≈ 16.5 M, about the most that fits), BENCH_BACKEND
// (servers | embedded), BENCH_DATABASE_URL / BENCH_REDIS_URL (the local servers).
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { encodeAbiParameters, getAddress, keccak256, maxUint256, numberToHex, stringToHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createApp, type App } from "../src/app/create.ts";
import { drainOnce } from "../src/billing/drain.ts";
import { billingAbi, cxptAbi } from "../src/chain/abis.ts";
import type { ContractKey } from "../src/chain/types.ts";
import { addressEnvName, loadConfig } from "../src/config/config.ts";
import { DEV_BACKEND_ENV, DEV_KEYS, devKey } from "../src/devstack/keys.ts";
import { deleteRedisPrefix, scratchDatabase, scratchPrefix } from "../src/devstack/scratch.ts";
import { runSettlement, settleStep, type StepResult } from "../src/settlement/settle.ts";
import { closeBatch, getBatch, leafCounts } from "../src/settlement/store.ts";
import { benchChain, cleanUp, machine, setting, shortError, writeResults, type CleanupStep } from "./harness.ts";


const USERS = setting("BENCH_USERS", 10_000);
const EVENTS_PER_USER = setting("BENCH_EVENTS_PER_USER", 3);
const CHUNKS = (process.env.BENCH_CHUNKS || "64,500,600").split(",").map((raw) => {
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`BENCH_CHUNKS must list positive integers, got "${process.env.BENCH_CHUNKS}"`);
  return value;
});
const BACKEND = process.env.BENCH_BACKEND || "servers";
if (BACKEND !== "servers" && BACKEND !== "embedded") throw new Error(`BENCH_BACKEND must be servers or embedded, got "${BACKEND}"`);
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";

/** Each user's CXPT: far more than the bench charges, so nobody falls short. */
const USER_BALANCE = 1_000n * 10n ** 18n;
/** Reads and storage writes in flight at once during setup and checks. */
const PARALLEL = 200;
/** CXPT is OpenZeppelin's ERC20Upgradeable: its ERC20Storage struct (balances, allowances, …) at this ERC-7201 slot. */
const ERC20_STORAGE = 0x52c63247e1f47db19d5ce0460030c497f067ca4cebf71ba98eeadabe20bace00n;
const log = (line: string) => console.log(line);
const fmt = (value: number, digits = 2) => value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const seconds = (since: number) => (performance.now() - since) / 1000;

/** The storage slot of `mapping(key => …)` at `slot` (Solidity: keccak256(abi.encode(key, slot))). */
const mappingSlot = (key: Address, slot: bigint): Hex => keccak256(encodeAbiParameters([{ type: "address" }, { type: "uint256" }], [key, slot]));
const balanceSlot = (owner: Address): Hex => mappingSlot(owner, ERC20_STORAGE);
const allowanceSlot = (owner: Address, spender: Address): Hex => mappingSlot(spender, BigInt(mappingSlot(owner, ERC20_STORAGE + 1n)));

/** `work` for every item, at most PARALLEL at a time, results in order. */
async function inParallel<T, R>(items: readonly T[], work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(PARALLEL, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) results[i] = await work(items[i]!, i);
    }),
  );
  return results;
}

interface BenchUser {
  readonly accountId: string;
  readonly wallet: Address;
}

interface RunResult {
  readonly chunkSize: number;
  readonly users: number;
  readonly events: number;
  readonly chunks: number;
  /** Wall time per stage, seconds. */
  readonly seconds: { meter: number; drain: number; close: number; build: number; commit: number; collect: number; settlement: number; total: number };
  readonly gas: { commit: number; collect: number; maxChunk: number; perUser: number };
  readonly meteredWei: string;
  readonly collectedWei: string;
  readonly checks: Record<string, boolean>;
}

const started = new Date();
const loadAtStart = loadavg()[0];
const workDir = mkdtempSync(join(tmpdir(), "cxpt-bench-settlement-"));
const redisPrefix = scratchPrefix("cxpt:bench");
const cleanup: CleanupStep[] = [() => rmSync(workDir, { recursive: true, force: true })];
let failed = true;

try {
  log(`settlement benchmark — ${USERS.toLocaleString("en-US")} users, ${EVENTS_PER_USER} events each, chunks ${CHUNKS.join(", ")}, ${BACKEND} backend`);
  log(`${cpus().length} CPUs (${cpus()[0]?.model.trim()}), node ${process.version}, load average ${fmt(loadAtStart, 2)}`);
  const database = BACKEND === "servers" ? await scratchDatabase(DATABASE_URL, "cxpt_bench") : undefined;
  if (database) {
    cleanup.push(() => database.drop());
    cleanup.push(() => deleteRedisPrefix(REDIS_URL, redisPrefix));
    log(`database ${database.name}, Redis prefix ${redisPrefix}`);
  }

  const { chain, deployment } = await benchChain(workDir, cleanup);
  const contracts = deployment.contracts as Readonly<Record<ContractKey, Address>>;
  log(`devchain ${chain.url} (chain ${chain.chainId}), suite deployed`);

  const addresses: Record<string, string> = {};
  for (const [contract, address] of Object.entries(deployment.contracts)) addresses[addressEnvName(contract as ContractKey)] = address!;
  const config = loadConfig({
    CHAIN_STAGE: "testnet",
    CHAIN_PHASE: "3",
    RPC_URL: chain.url,
    CHAIN_ID: String(chain.chainId),
    ...(database ? { DATABASE_URL: database.url, REDIS_URL, REDIS_PREFIX: redisPrefix } : { DATABASE_URL: "memory" }),
    CXPT_DATA_DIR: join(workDir, "data"),
    // The bench drains stage by stage with drainOnce; the app's loop would otherwise drain meanwhile.
    DRAIN_INTERVAL_MS: "3600000",
    LOG_LEVEL: "error",
    ...DEV_BACKEND_ENV,
    ...addresses,
  });
  const app: App = await createApp(config);
  cleanup.push(() => app.close());
  if (app.billing.billedIn() !== "cxpt") throw new Error("usage is not billed in CXPT at this stage and phase");
  const client = app.chain!.client;

  // ── setup (not measured): accounts with wallets, CXPT balances and Vault allowances ──
  const setupAt = performance.now();
  const wallets = Array.from({ length: USERS }, (_, i) => getAddress(`0x${keccak256(stringToHex(`cxpt bench user ${i}`)).slice(26)}`));
  const { rows } = await app.db.query<{ id: string; wallet: string }>(
    `insert into accounts (kind, display_name, wallet)
     select 'user', 'bench user ' || t.i, t.wallet from unnest($1::text[]) with ordinality as t(wallet, i)
     returning id, wallet`,
    [wallets.map((w) => w.toLowerCase())],
  );
  const idOf = new Map(rows.map((r) => [r.wallet, r.id]));
  const users: BenchUser[] = wallets.map((wallet) => ({ wallet, accountId: idOf.get(wallet.toLowerCase())! }));

  const cxpt = { address: contracts.cxpt, abi: cxptAbi } as const;
  const distribution = privateKeyToAccount(devKey(DEV_KEYS.distribution)).address;
  const setStorage = (slot: Hex, value: bigint) =>
    client.request({ method: "hardhat_setStorageAt", params: [contracts.cxpt, slot, numberToHex(value, { size: 32 })] } as never);
  const balanceOf = (who: Address) => client.readContract({ ...cxpt, functionName: "balanceOf", args: [who] });
  const distributionBefore = await balanceOf(distribution);
  await setStorage(balanceSlot(distribution), distributionBefore - USER_BALANCE * BigInt(USERS));
  await inParallel(users, async ({ wallet }) => {
    await setStorage(balanceSlot(wallet), USER_BALANCE);
    await setStorage(allowanceSlot(wallet, contracts.vault), maxUint256);
  });
  const funded = await inParallel(users, async ({ wallet }) => ({
    balance: await balanceOf(wallet),
    allowance: await client.readContract({ ...cxpt, functionName: "allowance", args: [wallet, contracts.vault] }),
  }));
  const badFunding = funded.findIndex((f) => f.balance !== USER_BALANCE || f.allowance !== maxUint256);
  if (badFunding >= 0) throw new Error(`user ${badFunding} was not funded through storage: ${JSON.stringify(funded[badFunding], (_, v) => String(v))}`);
  if ((await balanceOf(distribution)) + USER_BALANCE * BigInt(USERS) !== distributionBefore) throw new Error("the distribution balance did not pay for the users");
  log(`setup: ${USERS.toLocaleString("en-US")} accounts, balances and Vault allowances written and read back in ${fmt(seconds(setupAt), 1)} s\n`);

  const billing = { address: contracts.billing, abi: billingAbi } as const;
  const gasOf = async (hash: Hex) => {
    const receipt = await client.getTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
    return receipt.gasUsed;
  };

  async function run(round: number, chunkSize: number): Promise<RunResult> {
    log(`chunk ${chunkSize}:`);
    const events = USERS * EVENTS_PER_USER;
    const wallBefore = await inParallel(users, ({ wallet }) => balanceOf(wallet));

    // meter
    const meterAt = performance.now();
    const results = await Promise.all(
      Array.from({ length: events }, (_, n) => {
        const i = n % USERS;
        const e = Math.floor(n / USERS);
        return app.billing.meter.recordUsage({
          requestId: `bench-${round}-${i}-${e}`,
          accountId: users[i]!.accountId,
          endpoint: "/api/v1/chat/completions",
          service: "chat",
          tier: "tide-pool",
          unitsIn: 100 + (i % 97),
          unitsOut: 200 + ((i * 7 + e * 13) % 301),
          billedIn: "cxpt",
        });
      }),
    );
    await app.billing.meter.flush();
    const meterSeconds = seconds(meterAt);
    const meteredWei = results.reduce((sum, r) => sum + (r.recorded ? r.costWei : 0n), 0n);
    const recorded = results.filter((r) => r.recorded).length;
    log(`  meter    ${fmt(meterSeconds, 2).padStart(8)} s  ${recorded.toLocaleString("en-US")} events, ${fmt(recorded / meterSeconds, 0)} events/s`);

    // drain
    const drainAt = performance.now();
    let drained = 0;
    for (;;) {
      const step = await drainOnce({ store: app.billing.store, db: app.db });
      drained += step.drained;
      if (step.drained + step.duplicates + step.orphaned === 0) break;
    }
    const drainSeconds = seconds(drainAt);
    log(`  drain    ${fmt(drainSeconds, 2).padStart(8)} s  ${drained.toLocaleString("en-US")} events into PostgreSQL, ${fmt(drained / drainSeconds, 0)} events/s`);
    const { rows: [drainedRow] } = await app.db.query<{ n: string; payg: string }>(
      "select count(*) as n, coalesce(sum(payg_wei), 0) as payg from usage_events where request_id like $1",
      [`bench-${round}-%`],
    );

    // close, build, commit, collect: runSettlement's own calls, one by one
    const stage = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
      const at = performance.now();
      const result = await work();
      return [result, seconds(at)];
    };
    const [batchId, closeSeconds] = await stage(() => closeBatch(app.db));
    if (batchId === null) throw new Error("closeBatch found no due usage");
    const [built, buildSeconds] = await stage(() => settleStep(app, batchId, { chunkSize }));
    if (built.state !== "built") throw new Error(`batch ${batchId} is ${built.state} after building`);
    const [committed, commitSeconds] = await stage(() => settleStep(app, batchId, { chunkSize }));
    if (committed.state !== "committed") throw new Error(`batch ${batchId} is ${committed.state} after committing`);
    const collectAt = performance.now();
    let result: StepResult = committed;
    while (!result.idle) result = await settleStep(app, batchId, { chunkSize });
    const collectSeconds = seconds(collectAt);
    for (const [name, value] of [["close", closeSeconds], ["build", buildSeconds], ["commit", commitSeconds], ["collect", collectSeconds]] as const) {
      log(`  ${name.padEnd(8)} ${fmt(value, 2).padStart(8)} s`);
    }
    const again = await runSettlement(app, { chunkSize });

    // gas, from the transactions the batch recorded
    const batch = await getBatch(app.db, batchId);
    const { rows: chunkRows } = await app.db.query<{ tx_hash: Hex }>(
      "select distinct tx_hash from settlement_leaves where batch_id = $1 and tx_hash is not null",
      [batchId],
    );
    const commitGas = await gasOf(batch.commitTx!);
    const chunkGas = await inParallel(chunkRows, ({ tx_hash }) => gasOf(tx_hash));
    const collectGas = chunkGas.reduce((a, b) => a + b, 0n);
    const perUser = Number(commitGas + collectGas) / USERS;

    // Σ metered = Σ drained PAYG = batch total = collected on chain = Σ balance drops
    const onChain = await client.readContract({ ...billing, functionName: "batchOf", args: [batch.chainBatchId!] });
    const wallAfter = await inParallel(users, ({ wallet }) => balanceOf(wallet));
    const dropped = wallBefore.reduce((sum, before, i) => sum + before - wallAfter[i]!, 0n);
    const counts = await leafCounts(app.db, batchId);
    const { rows: [unsettled] } = await app.db.query<{ n: string }>(
      "select count(*) as n from usage_events where request_id like $1 and settled_at is null",
      [`bench-${round}-%`],
    );
    const checks = {
      "every event recorded and drained": recorded === events && drained === events && Number(drainedRow!.n) === events,
      "Σ PAYG drained = Σ metered": BigInt(drainedRow!.payg) === meteredWei,
      "batch total = Σ metered": batch.totalWei === meteredWei && batch.count === USERS,
      "collected on chain = Σ metered, no shortfall": onChain.collected === meteredWei && onChain.shortfall === 0n && onChain.root === batch.root,
      "Σ users' balance drops = Σ metered": dropped === meteredWei,
      "every leaf collected, batch settled": counts.collected === USERS && counts.pending === 0 && counts.shortfall === 0 && result.state === "settled",
      "every usage event settled": Number(unsettled!.n) === 0,
      "runSettlement afterwards: nothing due or unfinished": again.closed === null && again.batches.length === 0,
    };
    for (const [name, ok] of Object.entries(checks)) if (!ok) log(`  FAILED: ${name}`);
    const settlement = closeSeconds + buildSeconds + commitSeconds + collectSeconds;
    return {
      chunkSize,
      users: USERS,
      events,
      chunks: chunkRows.length,
      seconds: { meter: meterSeconds, drain: drainSeconds, close: closeSeconds, build: buildSeconds, commit: commitSeconds, collect: collectSeconds, settlement, total: meterSeconds + drainSeconds + settlement },
      gas: { commit: Number(commitGas), collect: Number(collectGas), maxChunk: Number(chunkGas.reduce((a, b) => (a > b ? a : b), 0n)), perUser },
      meteredWei: meteredWei.toString(),
      collectedWei: onChain.collected.toString(),
      checks,
    };
  }

  const runs: RunResult[] = [];
  for (const [round, chunkSize] of CHUNKS.entries()) runs.push(await run(round, chunkSize));
  failed = runs.some((r) => !Object.values(r.checks).every(Boolean));

  // ── report ──
  const table: string[][] = [
    ["", ...runs.map((r) => `chunk ${r.chunkSize}`)],
    ...(["meter", "drain", "close", "build", "commit", "collect", "settlement", "total"] as const).map((name) => [
      `${name === "settlement" ? "close → settled" : name === "total" ? "end to end" : name} (s)`,
      ...runs.map((r) => fmt(r.seconds[name], 2)),
    ]),
    ["collectChunk transactions", ...runs.map((r) => String(r.chunks))],
    ["gas: commit", ...runs.map((r) => r.gas.commit.toLocaleString("en-US"))],
    ["gas: all chunks", ...runs.map((r) => r.gas.collect.toLocaleString("en-US"))],
    ["gas: largest chunk", ...runs.map((r) => r.gas.maxChunk.toLocaleString("en-US"))],
    ["gas per user", ...runs.map((r) => fmt(r.gas.perUser, 0))],
    ["Σ collected = Σ metered", ...runs.map((r) => (Object.values(r.checks).every(Boolean) ? "yes" : "NO"))],
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  log(`\n${USERS.toLocaleString("en-US")} users, ${(USERS * EVENTS_PER_USER).toLocaleString("en-US")} usage events per run (${BACKEND} backend, devchain over HTTP):`);
  for (const row of table) log("  " + row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("   "));
  log(`\n${failed ? "FAIL" : "PASS"}  Σ collected on chain = Σ metered, every user charged once`);

  const results = {
    measuredAt: started.toISOString(),
    machine: machine(loadAtStart),
    settings: { users: USERS, eventsPerUser: EVENTS_PER_USER, chunks: CHUNKS, backend: BACKEND, chain: "devchain (EDR) over HTTP", txGasCap: 16_777_216 },
    pass: !failed,
    runs,
  };
  log(`\nwrote ${writeResults("settlement", results)}`);
} catch (error) {
  console.error(`bench failed: ${shortError(error)}`);
} finally {
  await cleanUp(cleanup);
}
process.exit(failed ? 1 : 0);
