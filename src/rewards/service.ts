// An account's rewards from the RewardDistributor: what it can claim now, the EIP-712 request its
// wallet signs to claim without gas, and the claim itself, relayed and booked in the token ledger.
// A provider's "withdraw earnings" is the same claim booked as a withdrawal: the Vault never pays
// out, every CXPT an account receives comes from the distributor.
import { getTypesForEIP712Domain, isAddressEqual, type Address } from "viem";
import type { Account } from "../accounts/store.ts";
import { requireChain, requireChainFeature } from "../app/guards.ts";
import type { ChainContext } from "../app/chain.ts";
import type { AppContext } from "../app/context.ts";
import type { Db } from "../db/db.ts";
import { badRequest, forbidden, unavailable } from "../errors.ts";
import { bookTransaction, type TokenTransaction, type TransactionType } from "../tokens/ledger.ts";
import { requireWallet } from "../tokens/service.ts";
import {
  claimRequestTypedData,
  FORWARD_REQUEST_TYPES,
  parseForwardRequest,
  pendingRewards,
  type ClaimOutcome,
  type ClaimTypedData,
  type ForwardRequestJson,
  type PendingRewards,
} from "./forwarder.ts";
import { httpRelayer, localRelayer, relayClaim, type Relayer } from "./relayers.ts";

/** What the account can claim now and what it has claimed so far. */
export interface AvailableRewards {
  readonly wallet: Address;
  readonly pending: PendingRewards;
  /** Every claim (and withdrawal) booked for the account, all time. */
  readonly totalEarningsWei: bigint;
}

/** The rewards `account`'s wallet can claim now, per pool (409 `CHAIN_OFF` / `WALLET_NOT_LINKED`). */
export async function availableRewards(ctx: AppContext, account: Account): Promise<AvailableRewards> {
  const chain = requireChain(ctx);
  const wallet = requireWallet(account);
  const pending = await pendingRewards(chain.client, chain.addresses.distributor, wallet);
  return { wallet, pending, totalEarningsWei: account.totalEarningsWei };
}

/** How long a claim request stays valid unless the caller picks its deadline. */
export const CLAIM_REQUEST_TTL_SECONDS = 3600;
const MAX_DEADLINE = 2 ** 48 - 1; // uint48

/**
 * The claim typed data in JSON: amounts as decimal strings and the `EIP712Domain` type spelled out,
 * so it is exactly what `eth_signTypedData_v4` takes (and viem's `signTypedData` accepts it as is).
 */
export function claimTypedDataToJson(typed: ClaimTypedData) {
  const { message } = typed;
  const domain = typed.domain!; // claimRequestTypedData fills every field of it
  const jsonDomain = { name: domain.name!, version: domain.version!, chainId: Number(domain.chainId), verifyingContract: domain.verifyingContract! };
  return {
    domain: jsonDomain,
    types: { EIP712Domain: getTypesForEIP712Domain({ domain: jsonDomain }), ForwardRequest: [...FORWARD_REQUEST_TYPES.ForwardRequest] },
    primaryType: "ForwardRequest" as const,
    message: { ...message, value: message.value.toString(), gas: message.gas.toString(), nonce: message.nonce.toString() },
  };
}

export type ClaimTypedDataJson = ReturnType<typeof claimTypedDataToJson>;

/** A claim request to sign, and what claiming would pay right now. */
export interface ClaimRequest {
  readonly typedData: ClaimTypedDataJson;
  readonly pendingWei: bigint;
}

/**
 * The ForwardRequest calling `claim()` on the distributor that the account's wallet signs
 * (eth_signTypedData_v4), valid until `deadline` (unix seconds; chain time + 1 hour by default).
 * The signed request goes back in `POST /rewards/claim` (or `/tokens/withdraw`) as `request` (the
 * message) and `signature`.
 *
 * @throws AppError 409 `FEATURE_DISABLED` / `CHAIN_OFF` / `WALLET_NOT_LINKED`; 400
 * `INVALID_DEADLINE` when the deadline is not after the chain's time or exceeds uint48.
 */
export async function claimRequest(ctx: AppContext, account: Account, deadline?: number): Promise<ClaimRequest> {
  const chain = requireChainFeature(ctx, "claims");
  const from = requireWallet(account);
  // The forwarder compares the deadline with the chain's clock, not with ours.
  const now = Number((await chain.client.getBlock()).timestamp);
  const until = deadline ?? now + CLAIM_REQUEST_TTL_SECONDS;
  if (!Number.isSafeInteger(until) || until <= now || until > MAX_DEADLINE) {
    throw badRequest("INVALID_DEADLINE", `the deadline must be unix seconds after the chain's time ${now} and at most ${MAX_DEADLINE}, got ${until}`);
  }
  const { forwarder, distributor } = chain.addresses;
  const [typed, pending] = await Promise.all([
    claimRequestTypedData(chain.client, { forwarder, distributor, from, deadline: until }),
    pendingRewards(chain.client, distributor, from),
  ]);
  return { typedData: claimTypedDataToJson(typed), pendingWei: pending.total };
}

/** Who relays a claim, and the queue the claim waits in (see `oneAtATime`). */
interface RelayRoute {
  readonly relayer: Relayer;
  readonly queue: string;
}

/**
 * Who pays the gas of `wallet`'s claim: the external relayer when RELAYER_URL is set, else the
 * backend's relayer key (503 `RELAYER_MISSING` without either). The backend's key sends one
 * transaction at a time (its nonce), so all its claims share one queue; an external service takes
 * them in parallel, so only the claims of one wallet queue up.
 */
function relayRoute(ctx: AppContext, chain: ChainContext, wallet: Address): RelayRoute {
  const { forwarder } = chain.addresses;
  const { relayerUrl, relayerApiKey } = ctx.config;
  if (relayerUrl !== undefined) {
    return { relayer: httpRelayer({ url: relayerUrl, apiKey: relayerApiKey ?? "", forwarder }), queue: wallet.toLowerCase() };
  }
  const key = chain.signers.relayer;
  if (key === undefined) throw unavailable("RELAYER_MISSING", "No relayer for gasless claims: set RELAYER_URL or RELAYER_PRIVATE_KEY");
  const counter = ctx.monitor.metrics.chainTransactions;
  return { relayer: localRelayer({ publicClient: chain.client, wallet: key, forwarder, counter }), queue: "relayer-key" };
}

/** How a claim is booked: `claim` (rewards dashboard) or `withdrawal` (a provider's earnings). */
export type ClaimKind = Extract<TransactionType, "claim" | "withdrawal">;

/** A signed claim request as the API receives it: the typed data's message and the signature. */
export interface SignedClaim {
  readonly request: Omit<ForwardRequestJson, "signature">;
  /** 0x-hex; checked with the request (400 `INVALID_FORWARD_REQUEST`). */
  readonly signature: string;
}

export interface ClaimResult {
  readonly outcome: ClaimOutcome;
  readonly transaction: TokenTransaction;
  readonly totalEarningsWei: bigint;
}

// Claims in one queue run one after the other in this backend: a request submitted twice at once
// is relayed once and the copy is refused by the forwarder's nonce check (not reverted on chain),
// and the backend's relayer key never sends two transactions with the same nonce.
const claimQueues = new WeakMap<AppContext, Map<string, Promise<unknown>>>();

function oneAtATime<T>(ctx: AppContext, key: string, work: () => Promise<T>): Promise<T> {
  let queues = claimQueues.get(ctx);
  if (queues === undefined) claimQueues.set(ctx, (queues = new Map()));
  const run = (queues.get(key) ?? Promise.resolve()).then(work);
  const settled = run.catch(() => undefined);
  queues.set(key, settled);
  void settled.then(() => {
    if (queues.get(key) === settled) queues.delete(key);
  });
  return run;
}

/** Books a mined claim once per transaction and adds what it paid to the account's earnings. */
/**
 * Books a mined claim as a `type` transaction, once per transaction hash, and adds what it paid to
 * the account's total earnings; `booked` is false when the hash was booked before. `details` are
 * kept with the row (besides the wallet).
 */
export async function bookClaim(db: Db, accountId: string, type: ClaimKind, outcome: ClaimOutcome, details: Record<string, unknown> = {}) {
  return db.transaction(async (tx) => {
    const { transaction, booked } = await bookTransaction(tx, {
      accountId,
      type,
      status: "confirmed",
      amountWei: outcome.claimed,
      txHash: outcome.txHash,
      blockNumber: outcome.blockNumber,
      details: { wallet: outcome.account, ...details },
    });
    const { rows } = await tx.query<{ total_earnings_wei: string }>(
      "update accounts set total_earnings_wei = total_earnings_wei + $2 where id = $1 returning total_earnings_wei",
      [accountId, booked ? outcome.claimed : 0n],
    );
    return { booked, transaction, totalEarningsWei: BigInt(rows[0]!.total_earnings_wei) };
  });
}

/**
 * Relays the account's signed claim (its wallet must be the request's `from`), waits until it is
 * mined and books what the distributor paid as a `kind` transaction, adding it to the account's
 * total earnings. The same signed request cannot pay twice: the forwarder's nonce has moved on.
 *
 * @throws AppError 409 `FEATURE_DISABLED` / `CHAIN_OFF` / `WALLET_NOT_LINKED`; 400
 * `INVALID_FORWARD_REQUEST`; 403 `NOT_YOUR_REQUEST`; 503 `RELAYER_MISSING`; verifyClaimRequest's
 * (400 `NOT_A_CLAIM` / `REQUEST_EXPIRED` / `INVALID_SIGNATURE`, 409 `NOTHING_TO_CLAIM`, 503
 * `FORWARDER_NOT_TRUSTED`); 502 `RELAY_FAILED`.
 */
export async function claimRewards(ctx: AppContext, account: Account, claim: SignedClaim, kind: ClaimKind): Promise<ClaimResult> {
  const chain = requireChainFeature(ctx, "claims");
  const wallet = requireWallet(account);
  const request = parseForwardRequest({ ...claim.request, signature: claim.signature });
  if (!isAddressEqual(request.from, wallet)) {
    throw forbidden("NOT_YOUR_REQUEST", `the request claims for ${request.from}, not for this account's wallet ${wallet}`);
  }
  const { relayer, queue } = relayRoute(ctx, chain, wallet);
  return oneAtATime(ctx, queue, async () => {
    const { forwarder, distributor } = chain.addresses;
    const outcome = await relayClaim(chain.client, relayer, { forwarder, distributor, request, signature: request.signature });
    const booked = await bookClaim(ctx.db, account.id, kind, outcome);
    ctx.billing.gate.invalidateAccount(account.id); // the wallet's balance (PAYG capacity) grew
    return { outcome, ...booked };
  });
}
