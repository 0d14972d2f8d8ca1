// Indexer benchmark: `npm run bench:indexer`. Catching up over 50,000 events: an ephemeral devchain
// (EDR over HTTP, as the indexer reads any RPC) with the suite deployed gets real suite events —
// payers funded and approving the Vault (CXPT Transfer, Approval), then PAYG batches committed to
// UsageBilling and collected in chunks of 500 (BatchCommitted; per leaf a CXPT Transfer and a
// LeafCollected; per chunk the Vault's BatchCollected and the burn's Transfer), with empty blocks
// mined between batches so the events spread over many getLogs ranges. Then, in rounds whose order
// alternates: `indexOnce` (confirmations 0, default batchSize 2000) from the deployment block to the
// head into a fresh scratch PostgreSQL database, and the raw `eth_getLogs` fetches alone over the
// same ranges through the same client. Medians of the rounds; target: indexing ≤ 2 × raw fetch.
// Where indexing time goes is measured around the real indexOnce: the client's transport times each
// RPC method (HTTP and JSON parse included) and the database is wrapped to time its queries and
// transactions (commitEvents: the inserts, parameters included); the rest is decoding and viem's
// log formatting. Each round checks that every tracked log fetched was stored once (the bench exits
// non-zero otherwise); a missed target is reported as MISS, not a failure.
// Prints a table, writes bench/results/indexer.json.
//
// Settings (environment): BENCH_EVENTS (50000), BENCH_ROUNDS (5), BENCH_BATCH_SIZE (the indexer's
// default, 2000), BENCH_GAP_BLOCKS (200 empty blocks after each batch), BENCH_PAYERS (500, also the
// chunk size), BENCH_BACKEND (servers | embedded: PGlite in memory), BENCH_DATABASE_URL.
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createPublicClient, createWalletClient, custom, http, keccak256, maxUint256, numberToHex, parseEther, stringToHex, type Address, type Hex, type Log, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { billingAbi, cxptAbi } from "../src/chain/abis.ts";
import { chainAt } from "../src/chain/chains.ts";
import { openDb, type Db, type Queryable } from "../src/db/db.ts";
import { migrate } from "../src/db/migrate.ts";
import { DEV_KEYS, devKey } from "../src/devstack/keys.ts";
import { scratchDatabase, type ScratchDatabase } from "../src/devstack/scratch.ts";
import { decodeLog, INDEXED_CONTRACTS, type IndexedContract } from "../src/indexer/events.ts";
import { DEFAULT_BATCH_SIZE, indexOnce, type IndexerChain } from "../src/indexer/indexer.ts";
import { buildTree } from "../src/settlement/tree.ts";
import { benchChain, cleanUp, machine, setting, shortError, writeResults, type CleanupStep } from "./harness.ts";


const EVENTS = setting("BENCH_EVENTS", 50_000);
const ROUNDS = setting("BENCH_ROUNDS", 5);
const BATCH_SIZE = setting("BENCH_BATCH_SIZE", DEFAULT_BATCH_SIZE);
const GAP_BLOCKS = setting("BENCH_GAP_BLOCKS", 200);
const PAYERS = setting("BENCH_PAYERS", 500);
const BACKEND = process.env.BENCH_BACKEND || "servers";
if (BACKEND !== "servers" && BACKEND !== "embedded") throw new Error(`BENCH_BACKEND must be servers or embedded, got "${BACKEND}"`);
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const TARGET_RATIO = 2;
/** Gas limit of a generating collectChunk (no estimate: EDR would run the chunk several times). */
const COLLECT_GAS = 16_000_000n;

const log = (line: string) => console.log(line);
const fmt = (value: number, digits = 2) => value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const seconds = (since: number) => (performance.now() - since) / 1000;
const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Seconds spent per RPC method, and calls, since the last reset. */
class Timings {
  readonly seconds = new Map<string, number>();
  readonly calls = new Map<string, number>();
  add(name: string, since: number) {
    this.seconds.set(name, (this.seconds.get(name) ?? 0) + seconds(since));
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
  }
  get(name: string) {
    return this.seconds.get(name) ?? 0;
  }
  reset() {
    this.seconds.clear();
    this.calls.clear();
  }
}

/** A public client over HTTP whose every request is timed per method into `timings`. */
function timedClient(url: string, chainId: number, timings: Timings): PublicClient {
  const inner = createPublicClient({ transport: http(url, { retryCount: 0, timeout: 300_000 }) });
  const chain = chainAt(chainId, url);
  return createPublicClient({
    chain,
    transport: custom({
      async request({ method, params }: { method: string; params?: unknown }) {
        const at = performance.now();
        try {
          return await inner.request({ method, params } as never);
        } finally {
          timings.add(method, at);
        }
      },
    }),
  }) as PublicClient;
}

/** `db` with the time of every query and transaction (what runs inside one included) added to `timings` under "db". */
function timedDb(db: Db, timings: Timings): Db {
  const timed = <T>(work: () => Promise<T>): Promise<T> => {
    const at = performance.now();
    return work().finally(() => timings.add("db", at));
  };
  return {
    engine: db.engine,
    query: (text, params) => timed(() => db.query(text, params)),
    exec: (sql) => timed(() => db.exec(sql)),
    transaction: <T>(work: (tx: Queryable) => Promise<T>) => timed(() => db.transaction(work)),
    close: () => db.close(),
  };
}

interface IndexRound {
  readonly seconds: number;
  readonly events: number;
  /** Of `seconds`: RPC per method, database, and the rest (decoding, viem's log formatting, JS). */
  readonly parts: { getLogs: number; getBlock: number; blockNumber: number; db: number; other: number };
  readonly ranges: number;
}

const started = new Date();
const loadAtStart = loadavg()[0];
const workDir = mkdtempSync(join(tmpdir(), "cxpt-bench-indexer-"));
const cleanup: CleanupStep[] = [() => rmSync(workDir, { recursive: true, force: true })];
let failed = true;

try {
  log(`indexer benchmark — ${EVENTS.toLocaleString("en-US")} events, batchSize ${BATCH_SIZE}, ${ROUNDS} rounds, ${BACKEND} backend`);
  log(`${cpus().length} CPUs (${cpus()[0]?.model.trim()}), node ${process.version}, load average ${fmt(loadAtStart, 2)}`);
  const { chain, deployment } = await benchChain(workDir, cleanup);
  const addresses = deployment.contracts as IndexerChain["addresses"];
  const startBlock = BigInt(deployment.deploymentBlock);
  log(`devchain ${chain.url} (chain ${chain.chainId}), suite deployed at block ${startBlock}`);

  // ── events (not measured) ──
  const generateAt = performance.now();
  // Long timeouts: EDR takes seconds for a 500-leaf chunk on a busy machine.
  const transport = http(chain.url, { timeout: 300_000 });
  const client = createPublicClient({ chain: chainAt(chain.chainId, chain.url), transport, pollingInterval: 10 });
  const walletOf = (key: Hex) => createWalletClient({ chain: client.chain, transport, account: privateKeyToAccount(key) });
  const indexed = new Set(INDEXED_CONTRACTS.map((key) => addresses[key].toLowerCase()));
  let generated = 0;
  const send = async (hash: Promise<Hex>) => {
    const receipt = await client.waitForTransactionReceipt({ hash: await hash });
    if (receipt.status !== "success") throw new Error(`transaction ${receipt.transactionHash} reverted`);
    generated += receipt.logs.filter((l) => indexed.has(l.address.toLowerCase())).length;
  };
  const distribution = walletOf(devKey(DEV_KEYS.distribution));
  const settler = walletOf(devKey(DEV_KEYS.settler));
  const payerKeys = Array.from({ length: PAYERS }, (_, i) => keccak256(stringToHex(`cxpt bench payer ${i}`)));
  const payers = payerKeys.map((key) => privateKeyToAccount(key));
  for (const [i, payer] of payers.entries()) {
    await client.request({ method: "hardhat_setBalance", params: [payer.address, numberToHex(parseEther("1"))] } as never);
    await send(distribution.writeContract({ address: addresses.cxpt, abi: cxptAbi, functionName: "transfer", args: [payer.address, parseEther("1000")] }));
    await send(walletOf(payerKeys[i]!).writeContract({ address: addresses.cxpt, abi: cxptAbi, functionName: "approve", args: [addresses.vault, maxUint256] }));
    await send(walletOf(payerKeys[i]!).writeContract({ address: addresses.billing, abi: billingAbi, functionName: "setSpendingCap", args: [parseEther("1000"), 86_400n] }));
  }
  for (let batchId = 1n; generated < EVENTS; batchId++) {
    const leaves = payers.map((payer, i) => ({ index: BigInt(i), user: payer.address as Address, amount: 10n ** 15n + batchId * 1_000n + BigInt(i) }));
    const tree = buildTree({ chainId: BigInt(chain.chainId), billing: addresses.billing, batchId }, leaves);
    const total = leaves.reduce((sum, leaf) => sum + leaf.amount, 0n);
    await send(settler.writeContract({ address: addresses.billing, abi: billingAbi, functionName: "commitBatch", args: [batchId, tree.root, total, BigInt(leaves.length)] }));
    const { leaves: ordered, proof, proofFlags } = tree.chunk(leaves.map((_, i) => i));
    await send(settler.writeContract({ address: addresses.billing, abi: billingAbi, functionName: "collectChunk", args: [batchId, ordered, proof, proofFlags], gas: COLLECT_GAS }));
    await client.request({ method: "hardhat_mine", params: [numberToHex(GAP_BLOCKS)] } as never);
  }
  const head = await client.getBlockNumber({ cacheTime: 0 });
  log(`generated ${generated.toLocaleString("en-US")} logs of the suite over blocks ${startBlock}–${head} in ${fmt(seconds(generateAt), 1)} s\n`);

  // ── rounds ──
  const timings = new Timings();
  const timed = timedClient(chain.url, chain.chainId, timings);
  const indexerChain: IndexerChain = { client: timed, chainId: chain.chainId, addresses };
  const contractAt = new Map(INDEXED_CONTRACTS.map((key) => [addresses[key].toLowerCase(), key] as [string, IndexedContract]));
  let expectedEvents = -1;

  /** The raw fetches: the indexer's ranges, getLogs alone. Returns the seconds and the logs fetched, all of them. */
  async function rawRound(): Promise<{ seconds: number; logs: Log<bigint, number, false>[] }> {
    const at = performance.now();
    const logs: Log<bigint, number, false>[] = [];
    for (let cursor = startBlock - 1n; cursor < head; ) {
      const toBlock = cursor + BigInt(BATCH_SIZE) < head ? cursor + BigInt(BATCH_SIZE) : head;
      const batch = await timed.getLogs({ address: INDEXED_CONTRACTS.map((key) => addresses[key]), fromBlock: cursor + 1n, toBlock });
      logs.push(...batch);
      cursor = toBlock;
    }
    return { seconds: seconds(at), logs };
  }

  async function indexRound(): Promise<IndexRound> {
    let scratch: ScratchDatabase | undefined;
    const db = BACKEND === "servers" ? await openDb({ url: (scratch = await scratchDatabase(DATABASE_URL, "cxpt_bench")).url }) : await openDb({ dataDir: undefined });
    try {
      await migrate(db);
      timings.reset();
      const at = performance.now();
      const result = await indexOnce({ db: timedDb(db, timings), chain: indexerChain, startBlock, confirmations: 0, batchSize: BATCH_SIZE });
      const elapsed = seconds(at);
      const parts = {
        getLogs: timings.get("eth_getLogs"),
        getBlock: timings.get("eth_getBlockByNumber"),
        blockNumber: timings.get("eth_blockNumber"),
        db: timings.get("db"),
        other: 0,
      };
      parts.other = elapsed - parts.getLogs - parts.getBlock - parts.blockNumber - parts.db;
      const { rows } = await db.query<{ n: string; distinct_keys: string }>(
        "select count(*) as n, count(distinct (block_hash, log_index)) as distinct_keys from chain_events where chain_id = $1",
        [chain.chainId],
      );
      const stored = Number(rows[0]!.n);
      if (result.to !== head || stored !== result.events.length || Number(rows[0]!.distinct_keys) !== stored || (expectedEvents >= 0 && stored !== expectedEvents)) {
        throw new Error(`indexing stopped at ${result.to} of ${head} or stored ${stored} events (returned ${result.events.length}, expected ${expectedEvents})`);
      }
      return { seconds: elapsed, events: stored, parts, ranges: timings.calls.get("eth_getLogs") ?? 0 };
    } finally {
      await db.close();
      await scratch?.drop();
    }
  }

  // Warm-up (JIT, connections), which also fixes how many events each round must store.
  const warm = await rawRound();
  expectedEvents = warm.logs.filter((l) => decodeLog(chain.chainId, contractAt.get(l.address.toLowerCase())!, l) !== undefined).length;
  await indexRound();
  log(`warm-up done: ${warm.logs.length.toLocaleString("en-US")} logs fetched, ${expectedEvents.toLocaleString("en-US")} of them tracked events\n`);

  const indexing: IndexRound[] = [];
  const raw: number[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const order = r % 2 ? (["index", "raw"] as const) : (["raw", "index"] as const);
    for (const kind of order) {
      if (kind === "raw") raw.push((await rawRound()).seconds);
      else indexing.push(await indexRound());
    }
    const x = indexing.at(-1)!;
    log(
      `  round ${r}: indexing ${fmt(x.seconds, 3)} s (${fmt(x.events / x.seconds, 0)} events/s), raw getLogs ${fmt(raw.at(-1)!, 3)} s, ratio ${fmt(x.seconds / raw.at(-1)!, 2)}` +
        `  [getLogs ${fmt(x.parts.getLogs, 3)}, getBlock ${fmt(x.parts.getBlock, 3)}, db ${fmt(x.parts.db, 3)}, decode+other ${fmt(x.parts.other, 3)}]`,
    );
  }
  failed = false;

  const indexSeconds = median(indexing.map((x) => x.seconds));
  const rawSeconds = median(raw);
  const ratio = indexSeconds / rawSeconds;
  const roundRatios = indexing.map((x, i) => x.seconds / raw[i]!);
  const part = (pick: (p: IndexRound["parts"]) => number) => median(indexing.map((x) => pick(x.parts)));
  const parts = { getLogs: part((p) => p.getLogs), getBlock: part((p) => p.getBlock), blockNumber: part((p) => p.blockNumber), db: part((p) => p.db), other: part((p) => p.other) };
  const met = ratio <= TARGET_RATIO;

  const rows: [string, string][] = [
    ["events indexed", expectedEvents.toLocaleString("en-US")],
    ["blocks", `${(head - startBlock + 1n).toLocaleString("en-US")} (${indexing[0]!.ranges} getLogs ranges of ≤ ${BATCH_SIZE})`],
    ["indexing (indexOnce), s", fmt(indexSeconds, 3)],
    ["indexing events/s", fmt(expectedEvents / indexSeconds, 0)],
    ["raw eth_getLogs, s", fmt(rawSeconds, 3)],
    ["raw events/s", fmt(expectedEvents / rawSeconds, 0)],
    ["ratio indexing / raw", `${fmt(ratio, 2)} (rounds: ${roundRatios.map((x) => fmt(x, 2)).join(", ")})`],
    ["  of indexing: eth_getLogs, s", fmt(parts.getLogs, 3)],
    ["  of indexing: eth_getBlockByNumber, s", fmt(parts.getBlock, 3)],
    ["  of indexing: eth_blockNumber, s", fmt(parts.blockNumber, 3)],
    ["  of indexing: database, s", fmt(parts.db, 3)],
    ["  of indexing: decode + formatting, s", fmt(parts.other, 3)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  log(`\nmedians of ${ROUNDS} rounds (${BACKEND === "servers" ? "PostgreSQL" : "PGlite"}, devchain over HTTP, confirmations 0):`);
  for (const [name, value] of rows) log(`  ${name.padEnd(width)}   ${value}`);
  log(`\ntarget:\n  ${met ? "PASS" : "MISS"}  indexing ≤ ${TARGET_RATIO} × raw fetch   ${fmt(ratio, 2)}`);
  if (!met) log(`\nperformance target MISSED on this run (reported, not a failure)`);

  const results = {
    measuredAt: started.toISOString(),
    machine: machine(loadAtStart),
    settings: { events: EVENTS, rounds: ROUNDS, batchSize: BATCH_SIZE, gapBlocks: GAP_BLOCKS, payers: PAYERS, backend: BACKEND, chain: "devchain (EDR) over HTTP", confirmations: 0 },
    chain: { fromBlock: Number(startBlock), toBlock: Number(head), logs: warm.logs.length, events: expectedEvents },
    target: { ratio: TARGET_RATIO, pass: met },
    indexingSeconds: indexSeconds,
    rawFetchSeconds: rawSeconds,
    eventsPerSecond: expectedEvents / indexSeconds,
    rawEventsPerSecond: expectedEvents / rawSeconds,
    ratio,
    roundRatios,
    indexingParts: parts,
    rounds: indexing.map((x, i) => ({ indexingSeconds: x.seconds, rawFetchSeconds: raw[i], parts: x.parts })),
  };
  log(`\nwrote ${writeResults("indexer", results)}`);
} catch (error) {
  console.error(`bench failed: ${shortError(error)}`);
} finally {
  await cleanUp(cleanup);
}
process.exit(failed ? 1 : 0);
