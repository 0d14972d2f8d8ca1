// Gasless reward claims through the CxpForwarder (OpenZeppelin ERC2771Forwarder): the account
// signs an EIP-712 ForwardRequest to call `claim()` on the RewardDistributor, a relayer submits it
// with `execute` and pays the gas, and the distributor pays the signer (`_msgSender()`).
// The backend only relays requests that are exactly a claim: a relayer key must never pay for
// arbitrary calls signed by anyone.
import {
  BaseError,
  encodeFunctionData,
  isAddress,
  isAddressEqual,
  isHex,
  parseEventLogs,
  type Address,
  type Hex,
  type PublicClient,
  type TypedDataDefinition,
} from "viem";
import { distributorAbi, forwarderAbi } from "../chain/abis.ts";
import { AppError, badRequest, conflict, forbidden, unavailable } from "../errors.ts";
import { readAll } from "../chain/reads.ts";
import { emittedBy } from "../chain/receipts.ts";

/** The EIP-712 types of ERC2771Forwarder's ForwardRequest. */
export const FORWARD_REQUEST_TYPES = {
  ForwardRequest: [
    { name: "from", type: "address" },
    { name: "to", type: "address" },
    { name: "value", type: "uint256" },
    { name: "gas", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint48" },
    { name: "data", type: "bytes" },
  ],
} as const;

/** Calldata of `RewardDistributor.claim()`: the only call the backend relays. */
export const CLAIM_CALLDATA: Hex = encodeFunctionData({ abi: distributorAbi, functionName: "claim" });

/** RewardDistributor.screenOf's verdicts (Sanctions.Verdict): whether the distributor would pay an account. */
export const SCREEN = { clear: 0, sanctioned: 1, unanswered: 2 } as const;

/** Gas forwarded to `claim()` by default: a claim costs at most ~80,000 (bench:gas), with headroom. */
export const DEFAULT_CLAIM_GAS = 150_000n;

/** A ForwardRequest as signed. The forwarder checks `nonce` against its own counter. */
export interface ForwardRequest {
  readonly from: Address;
  readonly to: Address;
  readonly value: bigint;
  readonly gas: bigint;
  readonly nonce: bigint;
  /** Unix seconds (uint48). */
  readonly deadline: number;
  readonly data: Hex;
}

/** What `execute` takes (ERC2771Forwarder.ForwardRequestData): the request without nonce, with signature. */
export interface SignedForwardRequest extends Omit<ForwardRequest, "nonce"> {
  readonly signature: Hex;
}

export type ClaimTypedData = TypedDataDefinition<typeof FORWARD_REQUEST_TYPES, "ForwardRequest"> & {
  readonly message: ForwardRequest;
};

/**
 * The EIP-712 typed data `from` signs (eth_signTypedData_v4) to claim its rewards gaslessly: a
 * ForwardRequest to `distributor` with calldata `claim()`, the forwarder's domain and `from`'s
 * current nonce, valid until `deadline` (unix seconds).
 */
export async function claimRequestTypedData(
  client: PublicClient,
  options: { forwarder: Address; distributor: Address; from: Address; deadline: number; gas?: bigint },
): Promise<ClaimTypedData> {
  const { forwarder, distributor, from, deadline } = options;
  const [[, name, version, chainId, verifyingContract], nonce] = await readAll(client, [
    { address: forwarder, abi: forwarderAbi, functionName: "eip712Domain" },
    { address: forwarder, abi: forwarderAbi, functionName: "nonces", args: [from] },
  ]);
  return {
    domain: { name, version, chainId: Number(chainId), verifyingContract },
    types: FORWARD_REQUEST_TYPES,
    primaryType: "ForwardRequest",
    message: { from, to: distributor, value: 0n, gas: options.gas ?? DEFAULT_CLAIM_GAS, nonce, deadline, data: CLAIM_CALLDATA },
  };
}

/** A verified claim request, ready for a relayer, and what it will pay out now. */
export interface VerifiedClaim {
  readonly request: SignedForwardRequest;
  readonly pending: bigint;
}

/**
 * Checks a signed claim request before a relayer spends gas on it. `request` may carry the signed
 * `nonce`; it is not needed, the forwarder verifies the signature against its current nonce (a
 * request already executed fails as INVALID_SIGNATURE).
 *
 * @throws AppError 400 `NOT_A_CLAIM` (target is not the distributor, calldata is not exactly
 * `claim()`, or value is non-zero), 400 `REQUEST_EXPIRED` (deadline before the latest block),
 * 503 `FORWARDER_NOT_TRUSTED` (the distributor does not trust `forwarder`: configuration),
 * 400 `INVALID_SIGNATURE`, 403 `SANCTIONED_ADDRESS` (the distributor's sanctions oracle flags the
 * signer), 503 `SANCTIONS_ORACLE_UNAVAILABLE` (the oracle reverts: the claim would too), 409
 * `NOTHING_TO_CLAIM`.
 */
export async function verifyClaimRequest(
  client: PublicClient,
  options: { forwarder: Address; distributor: Address; request: Omit<ForwardRequest, "nonce">; signature: Hex },
): Promise<VerifiedClaim> {
  const { forwarder, distributor, request, signature } = options;
  if (!isAddressEqual(request.to, distributor) || request.data.toLowerCase() !== CLAIM_CALLDATA || request.value !== 0n) {
    throw badRequest("NOT_A_CLAIM", "only a call of claim() on the RewardDistributor, without value, is relayed");
  }
  const signed: SignedForwardRequest = {
    from: request.from,
    to: request.to,
    value: request.value,
    gas: request.gas,
    deadline: request.deadline,
    data: request.data,
    signature,
  };
  // A malformed signature would fail the ABI encoding of `verify` below, not return false.
  if (!isHex(signature, { strict: true }) || signature.length % 2 !== 0) {
    throw badRequest("INVALID_SIGNATURE", "the signature is not hex bytes");
  }
  const [{ timestamp }, [trusted, valid, verdict, pending]] = await Promise.all([
    client.getBlock(),
    readAll(client, [
      { address: distributor, abi: distributorAbi, functionName: "isTrustedForwarder", args: [forwarder] },
      { address: forwarder, abi: forwarderAbi, functionName: "verify", args: [signed] },
      { address: distributor, abi: distributorAbi, functionName: "screenOf", args: [request.from] },
      { address: distributor, abi: distributorAbi, functionName: "pendingOf", args: [request.from] },
    ]),
  ]);
  if (BigInt(request.deadline) < timestamp) {
    throw badRequest("REQUEST_EXPIRED", `the request expired at ${request.deadline} (chain time ${timestamp})`);
  }
  if (!trusted) throw new AppError("FORWARDER_NOT_TRUSTED", `the distributor does not trust forwarder ${forwarder}`, 503);
  if (!valid) throw badRequest("INVALID_SIGNATURE", `the signature is not ${request.from}'s over this request and its current nonce`);
  // The distributor screens the signer as it pays: a claim it would refuse is not relayed.
  if (verdict === SCREEN.sanctioned) throw forbidden("SANCTIONED_ADDRESS", `${request.from} is on the sanctions list: its rewards cannot be claimed`);
  if (verdict === SCREEN.unanswered) {
    throw unavailable("SANCTIONS_ORACLE_UNAVAILABLE", "the sanctions oracle does not answer, so claims wait for it: try again later");
  }
  if (pending === 0n) throw conflict("NOTHING_TO_CLAIM", `${request.from} has no rewards to claim`);
  return { request: signed, pending };
}

/** Rewards `account` can claim now, per pool, in wei. */
export interface PendingRewards {
  readonly providers: bigint;
  readonly users: bigint;
  readonly total: bigint;
}

/** The distributor's `pendingOf(account, pool)` for both pools. */
export async function pendingRewards(client: PublicClient, distributor: Address, account: Address): Promise<PendingRewards> {
  const [providers, users] = await readAll(client, [
    { address: distributor, abi: distributorAbi, functionName: "pendingOf", args: [account, 0] },
    { address: distributor, abi: distributorAbi, functionName: "pendingOf", args: [account, 1] },
  ]);
  return { providers, users, total: providers + users };
}

/** A relayed claim as mined. */
export interface ClaimOutcome {
  readonly txHash: Hex;
  readonly blockNumber: bigint;
  readonly account: Address;
  /** CXPT paid to the account, in wei, over both pools. */
  readonly claimed: bigint;
}

/**
 * Waits for the claim transaction `txHash` (from any relayer) and reads what `account` received
 * from the distributor's `Claimed` events.
 *
 * @throws AppError 502 `RELAY_FAILED` when it is not mined (viem's receipt timeout), reverted or paid
 * `account` nothing (not a claim).
 */
export async function claimOutcome(
  client: PublicClient,
  options: { distributor: Address; txHash: Hex; account: Address; /** ms; viem's default (3 min) otherwise. */ timeout?: number },
): Promise<ClaimOutcome> {
  const { distributor, txHash, account, timeout } = options;
  const fail = (reason: string, details: Record<string, unknown>) =>
    new AppError("RELAY_FAILED", `claim transaction ${txHash} ${reason}`, 502, { txHash, ...details });
  const receipt = await client.waitForTransactionReceipt({ hash: txHash, timeout }).catch((error: unknown) => {
    // An external relayer's hash that never gets mined (dropped, wrong chain) times out here.
    throw fail("was not mined", { cause: error instanceof BaseError ? error.shortMessage : String(error) });
  });
  const claims = parseEventLogs({
    abi: distributorAbi,
    eventName: "Claimed",
    logs: emittedBy(receipt.logs, distributor),
    args: { account },
  });
  const claimed = claims.reduce((sum, log) => sum + log.args.amount, 0n);
  if (receipt.status !== "success" || claimed === 0n) throw fail(`paid ${account} no rewards`, { status: receipt.status });
  return { txHash: receipt.transactionHash, blockNumber: receipt.blockNumber, account, claimed };
}

// ───────────────────────────── JSON ─────────────────────────────

/** A (signed) ForwardRequest in JSON: amounts as decimal strings. */
export interface ForwardRequestJson {
  readonly from: string;
  readonly to: string;
  readonly value: string;
  readonly gas: string;
  readonly deadline: number;
  readonly data: string;
  readonly nonce?: string;
  readonly signature?: string;
}

/** `request` as JSON (what a wallet front end or an HTTP relayer exchanges). */
export function forwardRequestToJson(request: SignedForwardRequest): ForwardRequestJson {
  return { ...request, value: request.value.toString(), gas: request.gas.toString() };
}

const DECIMAL = /^[0-9]{1,78}$/;

/**
 * Parses a signed ForwardRequest from JSON (`nonce` is accepted and dropped).
 * @throws AppError 400 `INVALID_FORWARD_REQUEST` naming the first bad field.
 */
export function parseForwardRequest(json: unknown): SignedForwardRequest {
  const o = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
  const bad = (field: string) => badRequest("INVALID_FORWARD_REQUEST", `forward request field "${field}" is missing or malformed`);
  const address = (field: string): Address => {
    const v = o[field];
    if (typeof v !== "string" || !isAddress(v)) throw bad(field);
    return v;
  };
  const decimal = (field: string): bigint => {
    const v = o[field];
    if (typeof v !== "string" || !DECIMAL.test(v)) throw bad(field);
    return BigInt(v);
  };
  const hex = (field: string): Hex => {
    const v = o[field];
    if (typeof v !== "string" || !isHex(v, { strict: true })) throw bad(field);
    return v;
  };
  const deadline = o.deadline;
  if (typeof deadline !== "number" || !Number.isSafeInteger(deadline) || deadline < 0 || deadline >= 2 ** 48) throw bad("deadline");
  return {
    from: address("from"),
    to: address("to"),
    value: decimal("value"),
    gas: decimal("gas"),
    deadline,
    data: hex("data"),
    signature: hex("signature"),
  };
}
