// How the backend sends a contract transaction from one of its keys, so that RPC trouble and a
// congested mempool neither lose, duplicate nor wedge it:
//  - simulated first (eth_estimateGas): a revert throws TX_WOULD_REVERT naming the contract's
//    custom error, before any gas is spent or a nonce taken;
//  - one transaction at a time per key (a queue per chain and address), its nonce read from the
//    chain's pending count inside the queue: nonces follow each other with no gap, and two
//    intents share a nonce only when a send replaces the transaction an earlier one gave up on;
//  - signed here, so its hash is known before it is broadcast: a broadcast whose answer was lost
//    (a timeout after the node took it) is recognised by looking the hash up, never sent twice;
//  - not mined within `receiptTimeoutMs` (its fee fell behind the base fee): broadcast again with
//    the same nonce and fees raised by `feeBumpPercent` (nodes take a replacement only ≥ 10 %
//    dearer), up to `attempts` broadcasts; whichever of its hashes is mined is the result.
// RPC requests themselves are retried with backoff by the transport (./transport.ts).
// Every transaction the backend sends goes through here (`send` for a contract call, `sendRaw`
// for calldata built elsewhere or a value transfer), so one key's sends share one queue whichever
// module makes them. `succeeded` turns a failure into the caller's own error code.
import {
  BaseError,
  encodeFunctionData,
  keccak256,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from "viem";
import { revertOf } from "./errors.ts";
import { AppError } from "../errors.ts";

type Mutability = "nonpayable" | "payable";

/** One of the backend's keys: a local account (signed here, never by the node) on a known chain. */
export type Signer = WalletClient<Transport, Chain, Account>;

/** The client that reads the chain and the key that signs, on the same chain. */
export interface SendChain {
  readonly client: PublicClient;
  readonly signer: Signer;
}

/** The contract call to send. */
export interface SendRequest<abi extends Abi, functionName extends ContractFunctionName<abi, Mutability>> {
  readonly address: Address;
  readonly abi: abi;
  readonly functionName: functionName;
  readonly args?: ContractFunctionArgs<abi, Mutability, functionName>;
  readonly value?: bigint;
}

/** A transaction without an ABI: a value transfer, or calldata built elsewhere (a swap API's quote). */
export interface RawSendRequest {
  readonly to: Address;
  readonly data?: Hex;
  readonly value?: bigint;
  /** Gas to give it at least (e.g. what the quote asked for); the estimate when that is higher. */
  readonly gas?: bigint;
}

/** How a send ended, as counted: `replaced` once per fee bump, the others once per send. */
export type TxOutcome = "success" | "reverted" | "refused" | "replaced" | "stuck" | "failed";

/** Where sends are counted; prom-client's Counter<"purpose" | "outcome"> is one. */
export interface TransactionCounter {
  inc(labels: { purpose: string; outcome: TxOutcome }): void;
}

export interface SendOptions {
  /** What the transaction is for, in metrics and errors (the function's name unless given). */
  readonly purpose?: string;
  /** Broadcasts at most, the first one included (default 5). */
  readonly attempts?: number;
  /** How long a broadcast may go unmined before it is replaced, in ms (default 45 s). */
  readonly receiptTimeoutMs?: number;
  /** How much dearer each replacement is, in percent (default 25; nodes refuse a replacement under 10). */
  readonly feeBumpPercent?: number;
  /**
   * Told each hash once the transaction is signed, before it is broadcast, and awaited: callers
   * record it first, so a process that dies after the broadcast always left the hash on record
   * (a recorded hash may also be one the node then refused: look it up, don't assume it landed).
   */
  readonly beforeBroadcast?: (hash: Hex, attempt: number) => unknown;
  readonly counter?: TransactionCounter;
}

export interface Sent {
  /** The hash that was mined (a replacement's, when the first broadcast was replaced). */
  readonly hash: Hex;
  /** Its receipt, reverted or not: a transaction can still revert once mined, if the state moved since the simulation. */
  readonly receipt: TransactionReceipt;
}

interface Fees {
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
}

/** A transaction a send gave up waiting for: the key's next send takes its nonce over. */
interface Unconfirmed extends Fees {
  readonly nonce: number;
}

/** A transaction as it is signed, EIP-1559. */
interface Unsigned extends Fees {
  readonly to: Address;
  readonly data: Hex;
  readonly value: bigint | undefined;
  readonly gas: bigint;
  readonly nonce: number;
}

interface KeyQueue {
  tail: Promise<unknown>;
  unconfirmed: Unconfirmed | undefined;
}

const DEFAULTS = { attempts: 5, receiptTimeoutMs: 45_000, feeBumpPercent: 25 };

const queues = new Map<string, KeyQueue>();

/** Runs `work` once every send of the same key (chain and address) started before has finished. */
function queued<T>(signer: SendChain["signer"], work: (queue: KeyQueue) => Promise<T>): Promise<T> {
  const key = `${signer.chain.id}:${signer.account.address.toLowerCase()}`;
  let queue = queues.get(key);
  if (queue === undefined) queues.set(key, (queue = { tail: Promise.resolve(), unconfirmed: undefined }));
  const current = queue;
  const run = current.tail.then(() => work(current));
  current.tail = run.catch(() => undefined);
  return run;
}

/**
 * Sends `request` from `chain.signer` and waits until it is mined: simulated first, nonce from
 * the chain in a per-key queue, replaced with higher fees while it is not mined (see the module
 * comment). Each outcome is counted in `options.counter` under `options.purpose`.
 *
 * @throws AppError 502 `TX_WOULD_REVERT` (the simulation reverted: `details.reason` names the
 * custom error; nothing sent, no nonce used), 502 `TX_NOT_SENT` (the node did not take it),
 * 502 `TX_DROPPED` (another transaction of the key took its nonce), 504 `TX_STUCK` (none of its
 * broadcasts was mined in time: `details.hashes`; one may still be, unless the key's next send
 * replaces it).
 */
export async function send<const abi extends Abi, functionName extends ContractFunctionName<abi, Mutability>>(
  chain: SendChain,
  request: SendRequest<abi, functionName>,
  options: SendOptions = {},
): Promise<Sent> {
  const { abi, functionName, args } = request;
  const call: Call = {
    to: request.address,
    data: encodeFunctionData({ abi, functionName, args } as Parameters<typeof encodeFunctionData>[0]),
    value: request.value,
    // From the address, not the local account: viem would otherwise prepare a whole transaction
    // (nonce, fees) to estimate. With the ABI, a revert is decoded even when it is the contract's own error.
    estimate: (account) => chain.client.estimateContractGas({ ...request, account } as EstimateContractGas),
  };
  return dispatch(chain, call, options.purpose ?? request.functionName, options);
}

type EstimateContractGas = Parameters<PublicClient["estimateContractGas"]>[0];

/** `send` for a transaction without an ABI (`request.data` as is, or a value transfer): the same queue, errors and counting. */
export async function sendRaw(chain: SendChain, request: RawSendRequest, options: SendOptions & { purpose: string }): Promise<Sent> {
  const { to, data = "0x", value, gas = 0n } = request;
  const estimate = async (account: Address) => max(gas, await chain.client.estimateGas({ account, to, data, value }));
  return dispatch(chain, { to, data, value, estimate }, options.purpose, options);
}

/** A transaction to send, encoded, with how to simulate it from an address. */
interface Call {
  readonly to: Address;
  readonly data: Hex;
  readonly value: bigint | undefined;
  estimate(account: Address): Promise<bigint>;
}

async function dispatch(chain: SendChain, call: Call, purpose: string, options: SendOptions): Promise<Sent> {
  const count = (outcome: TxOutcome) => options.counter?.inc({ purpose, outcome });
  try {
    const settings: Settings = {
      ...options,
      purpose,
      attempts: Math.max(1, options.attempts ?? DEFAULTS.attempts),
      receiptTimeoutMs: options.receiptTimeoutMs ?? DEFAULTS.receiptTimeoutMs,
      feeBumpPercent: options.feeBumpPercent ?? DEFAULTS.feeBumpPercent,
    };
    const sent = await queued(chain.signer, (queue) => sendQueued(chain, call, settings, queue, count));
    count(sent.receipt.status === "success" ? "success" : "reverted");
    return sent;
  } catch (error) {
    const code = error instanceof AppError ? error.code : undefined;
    count(code === "TX_WOULD_REVERT" ? "refused" : code === "TX_STUCK" ? "stuck" : "failed");
    throw error;
  }
}

type Settings = typeof DEFAULTS & SendOptions & { readonly purpose: string };

async function sendQueued(chain: SendChain, call: Call, settings: Settings, queue: KeyQueue, count: (outcome: TxOutcome) => void) {
  const { client, signer } = chain;
  const { purpose } = settings;
  const gas = await simulate(chain, call, purpose);
  const address = signer.account.address;
  const [mined, pending] = await Promise.all([
    client.getTransactionCount({ address, blockTag: "latest" }),
    client.getTransactionCount({ address, blockTag: "pending" }),
  ]).catch((error: unknown) => {
    throw notSent(purpose, "could not read the nonce", error);
  });
  // The transaction an earlier send gave up on, still unmined, is replaced by this one (once it is out).
  if (queue.unconfirmed?.nonce !== mined) queue.unconfirmed = undefined;
  const leftover = queue.unconfirmed;
  const nonce = leftover?.nonce ?? pending;
  const transaction: Omit<Unsigned, keyof Fees> = { to: call.to, data: call.data, value: call.value, gas, nonce };

  const hashes: Hex[] = [];
  let floor: Fees | undefined = leftover && bumped(leftover, settings.feeBumpPercent);
  let fees: Fees | undefined;
  for (let attempt = 0; attempt < settings.attempts; attempt += 1) {
    const estimate = await client.estimateFeesPerGas().catch((error: unknown) => {
      // Once a transaction is out, a failed estimate must not abandon it: the bump alone will do.
      if (hashes.length === 0) throw notSent(purpose, "could not estimate the fees", error);
      return floor!;
    });
    fees = higher(floor, estimate);
    floor = bumped(fees, settings.feeBumpPercent);
    const hash = await broadcast(chain, { ...transaction, ...fees }, (signed) => settings.beforeBroadcast?.(signed, attempt));
    if (hash !== undefined) {
      if (hashes.length > 0) count("replaced");
      hashes.push(hash);
      queue.unconfirmed = undefined;
    } else if (hashes.length === 0) {
      // The first broadcast failed: nothing is sent, and the nonce (or the leftover) is the next send's.
      throw new AppError("TX_NOT_SENT", `${purpose}: the node did not take the transaction`, 502, { purpose, nonce });
    } // else a replacement was refused (underpriced, or the nonce was just mined): the earlier hashes stand.
    const receipt = await minedOf(client, hashes, Date.now() + settings.receiptTimeoutMs);
    if (receipt !== undefined) return { hash: receipt.transactionHash, receipt };
    // The RPC failing here leaves the question open: the next attempt asks again.
    if ((await client.getTransactionCount({ address, blockTag: "latest" }).catch(() => nonce)) > nonce) {
      const late = await minedOf(client, hashes, 0);
      if (late !== undefined) return { hash: late.transactionHash, receipt: late };
      throw new AppError("TX_DROPPED", `${purpose}: another transaction of ${address} took nonce ${nonce}`, 502, { purpose, nonce, hashes });
    }
  }
  queue.unconfirmed = { nonce, ...fees! };
  throw new AppError("TX_STUCK", `${purpose}: not mined after ${hashes.length} broadcast(s) with rising fees`, 504, { purpose, nonce, hashes });
}

/** The gas `call` needs; throws TX_WOULD_REVERT when it reverts, TX_NOT_SENT when the node could not tell. */
async function simulate({ signer }: SendChain, call: Call, purpose: string): Promise<bigint> {
  try {
    return await call.estimate(signer.account.address);
  } catch (error) {
    const reason = revertOf(error);
    if (reason === undefined) throw notSent(purpose, "could not simulate the transaction", error);
    const details = { purpose, reason: reason.name, args: reason.args };
    throw new AppError("TX_WOULD_REVERT", `${purpose} would revert: ${reason.text}`, 502, details, { cause: error });
  }
}

const notSent = (purpose: string, what: string, error: unknown) =>
  new AppError("TX_NOT_SENT", `${purpose}: ${what}: ${error instanceof BaseError ? error.shortMessage : String(error)}`, 502, { purpose });

/**
 * Signs and broadcasts; the hash once the node holds the transaction. When the broadcast fails,
 * the node is asked for the hash (its answer may have been lost after it took the transaction,
 * and a retry of the same bytes refused as known): undefined only when the node does not have it.
 */
async function broadcast({ client, signer }: SendChain, transaction: Unsigned, signed: (hash: Hex) => unknown): Promise<Hex | undefined> {
  const serializedTransaction = await signer.signTransaction({ ...transaction, account: signer.account, chain: signer.chain, type: "eip1559" });
  const hash = keccak256(serializedTransaction);
  await signed(hash);
  try {
    // viem's sendRawTransaction never retries; the same signed bytes are safe to repeat (one hash,
    // one nonce), so the broadcast is retried like any request of the transport.
    await signer.request({ method: "eth_sendRawTransaction", params: [serializedTransaction] }, { retryCount: signer.transport.retryCount });
    return hash;
  } catch {
    const known = await client.getTransaction({ hash }).catch(() => undefined);
    return known === undefined ? undefined : hash;
  }
}

/** The receipt of whichever of `hashes` is mined, polling until `deadline` (ms since the epoch). */
async function minedOf(client: PublicClient, hashes: readonly Hex[], deadline: number): Promise<TransactionReceipt | undefined> {
  for (;;) {
    for (const hash of hashes) {
      const receipt = await client.getTransactionReceipt({ hash }).catch((error: unknown) => {
        // Not mined yet, or the RPC failing past its retries: either way, ask again at the next poll.
        if (error instanceof BaseError) return undefined;
        throw error;
      });
      if (receipt !== undefined) return receipt;
    }
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, client.pollingInterval));
  }
}

/** `fees` raised by `percent` (at least 1 wei each, so a replacement is always dearer). */
function bumped(fees: Fees, percent: number): Fees {
  const raise = (fee: bigint) => fee + max(1n, (fee * BigInt(percent) + 99n) / 100n);
  return { maxFeePerGas: raise(fees.maxFeePerGas), maxPriorityFeePerGas: raise(fees.maxPriorityFeePerGas) };
}

/** Each fee at least what the chain asks now. */
function higher(floor: Fees | undefined, estimate: Fees): Fees {
  if (floor === undefined) return estimate;
  return { maxFeePerGas: max(floor.maxFeePerGas, estimate.maxFeePerGas), maxPriorityFeePerGas: max(floor.maxPriorityFeePerGas, estimate.maxPriorityFeePerGas) };
}

const max = (a: bigint, b: bigint) => (a > b ? a : b);

/** How a caller reports its failed transaction. */
export interface TxFailure {
  /** The AppError code, e.g. `RELAY_FAILED`. */
  readonly code: string;
  /** How the message begins, saying what failed ("relaying the claim failed"); the reason follows. */
  readonly message: string;
  /** Merged into the error's details (e.g. what the caller needs to retry). */
  readonly details?: Record<string, unknown>;
}

/**
 * The sent transaction once it succeeded; any failure of `sending` (refused, not sent, dropped,
 * stuck, or mined as reverted) throws AppError `failure.code` with status 502: the chain, not the
 * caller, failed. `details.cause` is the sender's code, `details.reason` the custom error's name
 * when the simulation decoded one, `details.txHash` the reverted transaction, `details.hashes`
 * those of a stuck one.
 */
export async function succeeded(sending: Promise<Sent>, failure: TxFailure): Promise<Sent> {
  const fail = (reason: string, extra: Record<string, unknown>, cause?: unknown) =>
    new AppError(failure.code, `${failure.message}: ${reason}`, 502, { ...failure.details, ...extra }, { cause });
  let sent: Sent;
  try {
    sent = await sending;
  } catch (error) {
    if (!(error instanceof AppError)) throw fail(error instanceof BaseError ? error.shortMessage : String(error), {}, error);
    const { reason, hashes } = error.details ?? {};
    const named = error.code === "TX_WOULD_REVERT" && reason !== "revert" ? (reason as string) : undefined;
    const extra = { cause: error.code, ...(named && { reason: named }), ...(hashes !== undefined && { hashes }) };
    throw fail(named ?? error.message, extra, error);
  }
  if (sent.receipt.status !== "success") throw fail(`transaction ${sent.hash} reverted`, { cause: "TX_REVERTED", txHash: sent.hash });
  return sent;
}
