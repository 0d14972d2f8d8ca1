// The local EVM node `npm start` runs: Hardhat's in-process EDR chain served over HTTP, with its state
// kept across restarts. EDR cannot dump or load state, so every state-changing request is journaled
// (journal.ts) and replayed on start, each block pinned to its original timestamp: the same blocks,
// hashes, balances and storage come back. The node clock keeps its lead over the wall clock (what
// evm_increaseTime added), and EDR keeps block timestamps increasing whatever the wall clock says.
import { network } from "hardhat";
import type { EthereumProvider } from "hardhat/types/providers";
import { getAddress, numberToHex, type Address, type Hash, type Hex } from "viem";
import { AppError } from "../errors.ts";
import { openJournal, type Journal, type JournalEntry } from "./journal.ts";
import { METHOD_NOT_SUPPORTED, serveJsonRpc, type RpcHandler } from "./server.ts";

export interface DevChainOptions {
  /** Folder of the journal (created if missing); undefined runs an ephemeral chain. */
  readonly dataDir?: string;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 8545; 0 picks a free port. */
  readonly port?: number;
  /** Default 31337. A journal only replays onto the chain id it was written with. */
  readonly chainId?: number;
  /**
   * The only accounts funded at genesis, instead of the 20 development accounts: a stand-in for a
   * live network, where nothing but what the operator funds holds gas (the agung rehearsal).
   */
  readonly accounts?: readonly { readonly privateKey: Hex; readonly balance: bigint }[];
  readonly log?: (line: string) => void;
  /**
   * Mines an empty block whenever the head is this old (ms), so what reads the latest block's time
   * (rewards accruing, expiries) moves on without other transactions. Off by default. Each block is
   * journaled like any other: an idle day at 15 s adds about 5,800 short entries to replay.
   */
  readonly mineEveryMs?: number;
}

export interface DevChain {
  /** The JSON-RPC endpoint, e.g. http://127.0.0.1:8545. */
  readonly url: string;
  readonly chainId: number;
  /** The funded development accounts (mnemonic "test test … junk"), unlocked for eth_sendTransaction. */
  readonly accounts: readonly Address[];
  /** Journal entries replayed at start. */
  readonly replayed: number;
  /** Stops serving, lets pending requests finish and closes the journal. */
  close(): Promise<void>;
}

/** Requests that change the chain: journaled when they go through, replayed in order on start. */
const JOURNALED = new Set([
  "eth_sendTransaction",
  "eth_sendRawTransaction",
  "evm_mine",
  "hardhat_mine",
  "evm_increaseTime",
  "evm_setNextBlockTimestamp",
  "evm_snapshot",
  "evm_revert",
  "evm_setBlockGasLimit",
  "hardhat_setBalance",
  "hardhat_setCode",
  "hardhat_setNonce",
  "hardhat_setStorageAt",
  "hardhat_setCoinbase",
  "hardhat_setNextBlockBaseFeePerGas",
  "hardhat_setPrevRandao",
  "hardhat_setMinGasPrice",
  "hardhat_impersonateAccount",
  "hardhat_stopImpersonatingAccount",
]);

/** The evm_ / hardhat_ methods that only read. Any other one (evm_setAutomine, evm_setIntervalMining,
 * hardhat_reset, hardhat_dropTransaction…) is refused: the journal could not reproduce its effect. */
const READ_ONLY = new Set(["hardhat_metadata", "hardhat_getAutomine", "hardhat_getStackTraceFailuresCount"]);

const DEFAULT_CHAIN_ID = 31337;

interface Head {
  readonly number: number;
  readonly hash: Hash;
  readonly timestamp: number;
}

type Provider = Pick<EthereumProvider, "request">;

const call = (provider: Provider, method: string, params: readonly unknown[] = []) =>
  provider.request({ method, params: [...params] });

async function blockAt(provider: Provider, tag: Hex | "latest"): Promise<Head> {
  const block = (await call(provider, "eth_getBlockByNumber", [tag, false])) as { number: Hex; hash: Hash; timestamp: Hex };
  return { number: Number(block.number), hash: block.hash, timestamp: Number(block.timestamp) };
}

/** The node clock minus the wall clock, in seconds (evm_increaseTime answers the total). */
const clockOffset = async (provider: Provider) => Number(await call(provider, "evm_increaseTime", [0]));

/** Re-runs the journal, each mined block pinned to its timestamp; stops at the first divergence. */
async function replay(provider: Provider, entries: readonly JournalEntry[]): Promise<void> {
  for (const [i, entry] of entries.entries()) {
    if (entry.timestamp !== undefined) await call(provider, "evm_setNextBlockTimestamp", [entry.timestamp]);
    const failed = await call(provider, entry.method, entry.params).then(
      () => false,
      () => true,
    );
    const head = await blockAt(provider, "latest");
    if (failed !== (entry.failed === true) || head.hash !== entry.head) {
      throw new AppError(
        "DEVCHAIN_REPLAY_DIVERGED",
        `journal entry ${i + 1} (${entry.method}) did not reproduce the recorded chain; was the journal written by another Hardhat/chain configuration?`,
        500,
        { entry: i + 1, method: entry.method, expected: entry.head, got: head.hash },
      );
    }
  }
}

/**
 * hardhat_mine with interval 0 (what viem's testClient.mine sends) cannot give blocks the same
 * timestamp here, so EDR spaces them 1 s apart but leaves its clock behind, and the next block goes
 * back in time: no replay could pin that. Interval 1 mines the same blocks and moves the clock along.
 */
function withMineInterval(params: readonly unknown[]): readonly unknown[] {
  const [blocks, interval] = params;
  return (typeof interval === "string" || typeof interval === "number") && Number(interval) === 0 ? [blocks, "0x1"] : params;
}

/** Serves `provider`, journaling what changes the chain; `head` is the latest block so far.
 * `drain` resolves once every request taken so far is answered (and journaled). */
function handler(provider: Provider, journal: Journal | undefined, head: Head): RpcHandler & { drain(): Promise<unknown> } {
  // One request at a time: a change is journaled before anything else observes it.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work);
    queue = run.catch(() => undefined);
    return run;
  };

  async function change(journal: Journal, method: string, params: readonly unknown[]): Promise<unknown> {
    const outcome = await call(provider, method, params).then(
      (result) => ({ ok: true as const, result }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    const after = await blockAt(provider, "latest");
    // A failed request that left the head alone changed nothing. One that mined (e.g. a reverted
    // transaction on a node that throws on failures) must still be journaled.
    if (outcome.ok || after.hash !== head.hash) {
      const mined = after.number > head.number;
      const first = !mined || after.number === head.number + 1 ? after : await blockAt(provider, numberToHex(head.number + 1));
      journal.append({
        method,
        params,
        timestamp: mined ? first.timestamp : undefined,
        head: after.hash,
        offset: await clockOffset(provider),
        ...(outcome.ok ? {} : { failed: true as const }),
      });
      head = after;
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.result;
  }

  const handle: RpcHandler = (method, params) =>
    serial(async () => {
      if (method === "hardhat_mine") params = withMineInterval(params);
      if (JOURNALED.has(method)) return journal === undefined ? call(provider, method, params) : change(journal, method, params);
      if (/^(evm|hardhat)_/.test(method) && !READ_ONLY.has(method)) {
        const message = `${method} is not supported by the devchain: its effect would not survive a restart`;
        throw Object.assign(new Error(message), { code: METHOD_NOT_SUPPORTED });
      }
      return call(provider, method, params);
    });
  return Object.assign(handle, { drain: () => queue });
}

/** Mines one block (through `handle`, so it is journaled) when the head is `ageMs` old by the node's clock. */
async function mineIfIdle(provider: Provider, handle: RpcHandler, ageMs: number): Promise<void> {
  const [head, offset] = [await blockAt(provider, "latest"), await clockOffset(provider)];
  const nodeNow = Date.now() / 1000 + offset;
  if ((nodeNow - head.timestamp) * 1000 >= ageMs) await handle("evm_mine", []);
}

/**
 * Starts the local chain: Hardhat's `hardhat` network (EDR, 20 funded development accounts) on
 * http://host:port. With `dataDir`, replays `<dataDir>/journal.ndjson` first and journals every
 * state change from then on (fsynced before the response); without it, nothing is kept.
 */
export async function startDevChain(options: DevChainOptions = {}): Promise<DevChain> {
  const { dataDir, host = "127.0.0.1", port = 8545, chainId = DEFAULT_CHAIN_ID, accounts: funded, log = () => {}, mineEveryMs } = options;
  const journal = dataDir === undefined ? undefined : openJournal(dataDir);
  const cleanup: (() => Promise<void> | void)[] = [() => journal?.close()];
  const shutdown = async () => {
    for (const step of cleanup.reverse()) await step();
  };
  try {
    if (journal !== undefined && journal.dropped > 0) log(`journal: dropped a torn last line (${journal.dropped} bytes)`);
    const header = journal?.header;
    if (header !== undefined && header.chainId !== chainId) {
      throw new AppError("DEVCHAIN_CHAIN_MISMATCH", `the journal in ${dataDir} is for chain ${header.chainId}, not ${chainId}`, 500);
    }
    // The genesis timestamp is the one thing EDR draws from the clock: pin it to recreate the same genesis.
    const genesisTime = header?.genesis.timestamp ?? Math.floor(Date.now() / 1000);
    const connection = await network.create({
      network: "hardhat",
      override: {
        chainId,
        initialDate: new Date(genesisTime * 1000),
        // Like a real node: a reverted transaction is mined and answered with its hash (receipt status 0).
        throwOnTransactionFailures: false,
        ...(funded ? { accounts: funded.map(({ privateKey, balance }) => ({ privateKey, balance: balance.toString() })) } : {}),
      },
    });
    cleanup.push(() => connection.close());
    const { provider } = connection;

    const genesis = await blockAt(provider, "0x0");
    if (header === undefined) {
      journal?.start({ version: 1, chainId, genesis: { timestamp: genesis.timestamp, hash: genesis.hash }, offset: await clockOffset(provider) });
    } else if (genesis.hash !== header.genesis.hash) {
      throw new AppError("DEVCHAIN_CHAIN_MISMATCH", `the journal in ${dataDir} was written for another genesis block (accounts or hardfork changed?)`, 500);
    }
    const entries = journal?.entries ?? [];
    await replay(provider, entries);
    // Replay left the clock at the last replayed block; give it back its lead over the wall clock
    // (evm_increaseTime cannot go backwards: if the wall clock did, EDR still keeps timestamps increasing).
    const target = (entries.at(-1) ?? header)?.offset;
    const offset = await clockOffset(provider);
    if (target !== undefined && target > offset) await call(provider, "evm_increaseTime", [target - offset]);

    const head = await blockAt(provider, "latest");
    if (journal !== undefined) log(`journal: replayed ${entries.length} entries, at block ${head.number}`);
    const handle = handler(provider, journal, head);
    const server = await serveJsonRpc(handle, host, port);
    // Stop serving first, then let queued requests (and their journal writes) finish.
    cleanup.push(async () => {
      await server.close();
      await handle.drain();
    });
    if (mineEveryMs !== undefined && mineEveryMs > 0) {
      const timer = setInterval(() => void mineIfIdle(provider, handle, mineEveryMs).catch(() => undefined), mineEveryMs);
      timer.unref();
      cleanup.push(() => clearInterval(timer));
    }
    const accounts = ((await call(provider, "eth_accounts")) as Address[]).map((a) => getAddress(a));
    let closing: Promise<void> | undefined;
    return { url: server.url, chainId, accounts, replayed: entries.length, close: () => (closing ??= shutdown()) };
  } catch (error) {
    await shutdown();
    throw error;
  }
}
