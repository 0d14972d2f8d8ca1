// The protocol's share of the rewards (RewardDistributor.protocolBalance) leaves only through the
// Safe, which holds TREASURER_ROLE. A withdrawal is therefore a Safe transaction proposal: the
// exact SafeTx (withdrawProtocol(to, amount) at the Safe's current nonce) is stored with its
// EIP-712 hash, owners confirm it by signing that hash (from their own wallets in production; on
// a local chain the backend may add confirmations with the owner keys it holds, one at a time, so
// the flow stays visible), and once `threshold` owners have confirmed, one submission executes
// it. A proposal is bound to its nonce: once another Safe transaction used that nonce, it is
// stale and can only be proposed again. Every state change is audited.
import { encodeFunctionData, getAddress, isAddress, isAddressEqual, recoverTypedDataAddress, zeroAddress, type Address, type Hash, type Hex } from "viem";
import type { ChainContext, Signer } from "../app/chain.ts";
import { exclusive, requireChain } from "../app/guards.ts";
import type { AppContext } from "../app/context.ts";
import { distributorAbi, safeAbi } from "../chain/abis.ts";
import { execTransactionArgs, safeTxHash, safeTypedData, signSafeTransaction, type SafeTransaction } from "../chain/safe.ts";
import { send } from "../chain/send.ts";
import type { Queryable } from "../db/db.ts";
import { AppError, badRequest, conflict, forbidden, notFound, unavailable } from "../errors.ts";
import { audited } from "../audit/log.ts";
import { revertReason } from "./governance.ts";

/** `stale`: another Safe transaction used the proposal's nonce first; it can never execute. */
export type WithdrawalStatus = "proposed" | "executed" | "stale";

export interface WithdrawalConfirmation {
  readonly owner: Address;
  readonly at: Date;
}

/** A withdrawal proposal and how far it got. */
export interface ProtocolWithdrawal {
  readonly id: string;
  readonly chainId: number;
  readonly safe: Address;
  readonly to: Address;
  readonly amount: bigint;
  /** The Safe transaction: withdrawProtocol on the distributor, at `safeNonce`. */
  readonly tx: Required<Pick<SafeTransaction, "to" | "data">>;
  readonly safeNonce: bigint;
  readonly safeTxHash: Hash;
  readonly status: WithdrawalStatus;
  readonly confirmations: readonly WithdrawalConfirmation[];
  /** The execTransaction that executed it. */
  readonly txHash: Hash | null;
  readonly proposedBy: string | null;
  readonly createdAt: Date;
  readonly executedAt: Date | null;
}

/** The Safe as a withdrawal needs it. */
export interface SafeState {
  readonly address: Address;
  readonly owners: readonly Address[];
  readonly threshold: number;
  readonly nonce: bigint;
  /** Owners whose keys the backend holds (SAFE_OWNER_KEYS; none in production). */
  readonly heldOwners: readonly Address[];
}

export interface Treasury {
  readonly safe: SafeState;
  readonly protocolBalance: bigint;
  /** Newest first. */
  readonly withdrawals: readonly ProtocolWithdrawal[];
}

/** The newest proposals listed. */
export const WITHDRAWALS_LISTED = 50;

/** The owner keys the backend holds, one per owner. */
function heldOwnerKeys(chain: ChainContext, owners: readonly Address[]): Signer[] {
  return chain.signers.safeOwners.filter(
    (key, i, all) =>
      owners.some((owner) => isAddressEqual(owner, key.account.address)) &&
      all.findIndex((other) => isAddressEqual(other.account.address, key.account.address)) === i,
  );
}

async function readSafe(chain: ChainContext): Promise<SafeState> {
  const safe = { address: chain.addresses.safe, abi: safeAbi } as const;
  const [owners, threshold, nonce] = await Promise.all([
    chain.client.readContract({ ...safe, functionName: "getOwners" }),
    chain.client.readContract({ ...safe, functionName: "getThreshold" }),
    chain.client.readContract({ ...safe, functionName: "nonce" }),
  ]);
  const heldOwners = heldOwnerKeys(chain, owners).map((key) => getAddress(key.account.address));
  return { address: chain.addresses.safe, owners: owners.map((o) => getAddress(o)), threshold: Number(threshold), nonce, heldOwners };
}

const readProtocolBalance = (chain: ChainContext) =>
  chain.client.readContract({ address: chain.addresses.distributor, abi: distributorAbi, functionName: "protocolBalance" });

/** The EIP-712 typed data an owner signs to confirm `w`. */
export const withdrawalTypedData = (w: ProtocolWithdrawal) => safeTypedData(w.safe, w.chainId, w.tx, w.safeNonce);

// ───────────────────────────── storage ─────────────────────────────

interface WithdrawalRow {
  [column: string]: unknown;
  id: string | number;
  chain_id: number;
  safe: string;
  target: string;
  recipient: string;
  amount_wei: string;
  data: string;
  safe_nonce: string;
  safe_tx_hash: string;
  status: "proposed" | "executed";
  tx_hash: string | null;
  proposed_by: string | null;
  created_at: Date;
  executed_at: Date | null;
}

const COLUMNS = "id, chain_id, safe, target, recipient, amount_wei::text, data, safe_nonce::text, safe_tx_hash, status, tx_hash, proposed_by, created_at, executed_at";

/** The rows with their confirmations; `safeNonce` (the Safe's now) tells stale proposals apart. */
async function withConfirmations(db: Queryable, rows: readonly WithdrawalRow[], safeNonce: bigint): Promise<ProtocolWithdrawal[]> {
  if (rows.length === 0) return [];
  const { rows: confirmations } = await db.query<{ withdrawal_id: string | number; owner: string; confirmed_at: Date }>(
    "select withdrawal_id, owner, confirmed_at from protocol_withdrawal_confirmations where withdrawal_id = any($1::int8[]) order by confirmed_at, owner",
    [rows.map((r) => String(r.id))],
  );
  return rows.map((row) => {
    const nonce = BigInt(row.safe_nonce);
    return {
      id: String(row.id),
      chainId: Number(row.chain_id),
      safe: getAddress(row.safe),
      to: getAddress(row.recipient),
      amount: BigInt(row.amount_wei),
      tx: { to: getAddress(row.target), data: row.data as Hex },
      safeNonce: nonce,
      safeTxHash: row.safe_tx_hash as Hash,
      status: row.status === "proposed" && nonce < safeNonce ? "stale" : row.status,
      confirmations: confirmations
        .filter((c) => String(c.withdrawal_id) === String(row.id))
        .map((c) => ({ owner: getAddress(c.owner), at: new Date(c.confirmed_at) })),
      txHash: row.tx_hash as Hash | null,
      proposedBy: row.proposed_by,
      createdAt: new Date(row.created_at),
      executedAt: row.executed_at === null ? null : new Date(row.executed_at),
    };
  });
}

/**
 * Settles proposals whose execution was broadcast (tx_hash on record) but not booked, as after a
 * crash between the broadcast and the update: mined and successful → executed; reverted → the
 * hash is dropped; not found → left as it is (still pending, or dropped: the Safe nonce tells).
 */
async function settleSubmitted(db: Queryable, chain: ChainContext, rows: WithdrawalRow[]): Promise<void> {
  for (const row of rows) {
    if (row.status !== "proposed" || row.tx_hash === null) continue;
    const receipt = await chain.client.getTransactionReceipt({ hash: row.tx_hash as Hash }).catch(() => undefined);
    if (receipt === undefined) continue;
    const executed = receipt.status === "success";
    const { rows: [updated] } = await db.query<WithdrawalRow>(
      executed
        ? `update protocol_withdrawals set status = 'executed', executed_at = now() where id = $1 and status = 'proposed' returning ${COLUMNS}`
        : `update protocol_withdrawals set tx_hash = null where id = $1 and status = 'proposed' returning ${COLUMNS}`,
      [row.id],
    );
    if (updated !== undefined) Object.assign(row, updated);
  }
}

/** Withdrawal `id` on this chain's Safe, or 404 `WITHDRAWAL_NOT_FOUND`. */
async function loadWithdrawal(db: Queryable, chain: ChainContext, id: string, safeNonce: bigint): Promise<ProtocolWithdrawal> {
  const { rows } = /^[1-9][0-9]{0,17}$/.test(id)
    ? await db.query<WithdrawalRow>(`select ${COLUMNS} from protocol_withdrawals where id = $1 and chain_id = $2 and safe = $3`, [
        id,
        chain.chainId,
        chain.addresses.safe.toLowerCase(),
      ])
    : { rows: [] };
  if (rows.length === 0) throw notFound("WITHDRAWAL_NOT_FOUND", `there is no protocol withdrawal ${id}`);
  await settleSubmitted(db, chain, rows);
  return (await withConfirmations(db, rows, safeNonce))[0]!;
}

/** The Safe, the protocol balance and the newest withdrawals of this chain's Safe. */
export async function readTreasury(ctx: AppContext): Promise<Treasury> {
  const chain = requireChain(ctx);
  const [safe, protocolBalance] = await Promise.all([readSafe(chain), readProtocolBalance(chain)]);
  const { rows } = await ctx.db.query<WithdrawalRow>(
    `select ${COLUMNS} from protocol_withdrawals where chain_id = $1 and safe = $2 order by id desc limit $3`,
    [chain.chainId, safe.address.toLowerCase(), WITHDRAWALS_LISTED],
  );
  await settleSubmitted(ctx.db, chain, rows);
  return { safe, protocolBalance, withdrawals: await withConfirmations(ctx.db, rows, safe.nonce) };
}

// ───────────────────────────── actions ─────────────────────────────

/** Result of each action: the withdrawal as it is now, with the Safe it belongs to. */
export interface WithdrawalResult {
  readonly safe: SafeState;
  readonly withdrawal: ProtocolWithdrawal;
}

/** Throws 422 `WITHDRAWAL_REVERTS` naming the revert unless the Safe could make `tx` now. */
async function simulateAsSafe(chain: ChainContext, tx: { to: Address; data: Hex }, what: string): Promise<void> {
  await chain.client.call({ account: chain.addresses.safe, to: tx.to, data: tx.data }).catch((error: unknown) => {
    throw new AppError("WITHDRAWAL_REVERTS", `${what} reverts when the Safe makes it: ${revertReason(error)}`, 422);
  });
}

const outcomeOf = ({ withdrawal: w }: WithdrawalResult) => ({
  status: w.status === "executed" ? ("executed" as const) : ("proposed" as const),
  withdrawalId: w.id,
  safeTxHash: w.safeTxHash,
  safeNonce: w.safeNonce,
  confirmations: w.confirmations.map((c) => c.owner),
  ...(w.txHash === null ? {} : { txHash: w.txHash }),
});

export interface WithdrawalRequest {
  readonly to: string;
  readonly amount: bigint;
}

/**
 * Proposes withdrawing `amount` wei of the protocol balance to `to`, audited: checked (400
 * `INVALID_RECIPIENT` for the zero address, 400 `INVALID_AMOUNT` for 0, 422
 * `INSUFFICIENT_PROTOCOL_BALANCE` above the balance, 422 `WITHDRAWAL_REVERTS` when the call would
 * revert as the Safe makes it) and stored at the Safe's current nonce with no confirmation
 * (409 `WITHDRAWAL_EXISTS` when the same one is already proposed there). Sends nothing.
 */
export function proposeWithdrawal(ctx: AppContext, actorId: string | null, request: WithdrawalRequest): Promise<WithdrawalResult> {
  const params = { to: request.to, amount: request.amount };
  return audited(ctx.db, { actorId, action: "propose_protocol_withdrawal", params }, async () => {
    const chain = requireChain(ctx);
    if (!isAddress(request.to, { strict: false }) || isAddressEqual(request.to, zeroAddress)) {
      throw badRequest("INVALID_RECIPIENT", `the recipient must be a non-zero address, got "${request.to}"`);
    }
    if (request.amount <= 0n) throw badRequest("INVALID_AMOUNT", "the amount must be more than 0 wei");
    const to = getAddress(request.to);
    const [safe, balance] = await Promise.all([readSafe(chain), readProtocolBalance(chain)]);
    if (request.amount > balance) {
      throw new AppError("INSUFFICIENT_PROTOCOL_BALANCE", `the protocol balance is ${balance} wei, less than the ${request.amount} wei asked`, 422, {
        availableWei: balance.toString(),
      });
    }
    const tx = {
      to: chain.addresses.distributor,
      data: encodeFunctionData({ abi: distributorAbi, functionName: "withdrawProtocol", args: [to, request.amount] }),
    };
    await simulateAsSafe(chain, tx, `withdrawProtocol(${to}, ${request.amount})`);
    const hash = safeTxHash(safe.address, chain.chainId, tx, safe.nonce);
    const { rows } = await ctx.db.query<WithdrawalRow>(
      `insert into protocol_withdrawals (chain_id, safe, target, recipient, amount_wei, data, safe_nonce, safe_tx_hash, proposed_by)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       on conflict (safe_tx_hash) do nothing
       returning ${COLUMNS}`,
      [chain.chainId, safe.address.toLowerCase(), tx.to.toLowerCase(), to.toLowerCase(), request.amount, tx.data, safe.nonce, hash, actorId],
    );
    if (rows.length === 0) {
      throw conflict("WITHDRAWAL_EXISTS", `the same withdrawal is already proposed at Safe nonce ${safe.nonce} (safeTxHash ${hash})`, { safeTxHash: hash });
    }
    const result = { safe, withdrawal: (await withConfirmations(ctx.db, rows, safe.nonce))[0]! };
    return { result, outcome: outcomeOf(result) };
  });
}

/** Throws 409 unless `w` can still take confirmations and execute. */
function assertOpen(w: ProtocolWithdrawal): void {
  if (w.status === "executed") throw conflict("WITHDRAWAL_EXECUTED", `withdrawal ${w.id} was already executed in ${w.txHash}`);
  if (w.status === "stale") {
    throw conflict(
      "SAFE_NONCE_STALE",
      `withdrawal ${w.id} was signed for Safe nonce ${w.safeNonce}, which another Safe transaction has used meanwhile: propose it again`,
    );
  }
}

/** Normalizes v to 27/28 (some wallets return 0/1), the form the Safe reads as an EIP-712 signature. */
function normalizedSignature(signature: Hex): Hex {
  const v = parseInt(signature.slice(130, 132), 16);
  return v < 27 ? (`${signature.slice(0, 130)}${(v + 27).toString(16)}` as Hex) : signature;
}

/** Stores `owner`'s confirmation of `w` (409 `ALREADY_CONFIRMED` when it confirmed before). */
async function addConfirmation(ctx: AppContext, safe: SafeState, w: ProtocolWithdrawal, owner: Address, signature: Hex): Promise<WithdrawalResult> {
  const { rows } = await ctx.db.query(
    `insert into protocol_withdrawal_confirmations (withdrawal_id, owner, signature) values ($1, $2, $3)
     on conflict (withdrawal_id, owner) do nothing returning owner`,
    [w.id, owner.toLowerCase(), signature],
  );
  if (rows.length === 0) throw conflict("ALREADY_CONFIRMED", `Safe owner ${owner} has already confirmed withdrawal ${w.id}`);
  const chain = requireChain(ctx);
  return { safe, withdrawal: await loadWithdrawal(ctx.db, chain, w.id, safe.nonce) };
}

/**
 * Adds a Safe owner's confirmation of withdrawal `id`: `signature` is the owner's EIP-712
 * signature of the withdrawal's typed data (withdrawalTypedData), made in the owner's wallet.
 * Audited. 400 `INVALID_SIGNATURE` when it is not a signature; 403 `NOT_SAFE_OWNER` when its
 * signer is not an owner; 409 `ALREADY_CONFIRMED`, `WITHDRAWAL_EXECUTED`, `SAFE_NONCE_STALE`;
 * 404 `WITHDRAWAL_NOT_FOUND`.
 */
export function confirmWithdrawal(ctx: AppContext, actorId: string | null, id: string, signature: Hex): Promise<WithdrawalResult> {
  return audited(ctx.db, { actorId, action: "confirm_protocol_withdrawal", params: { withdrawalId: id, signature } }, async () => {
    const chain = requireChain(ctx);
    const safe = await readSafe(chain);
    const w = await loadWithdrawal(ctx.db, chain, id, safe.nonce);
    assertOpen(w);
    if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) throw badRequest("INVALID_SIGNATURE", "the signature must be 65 bytes of hex (r, s, v)");
    const normalized = normalizedSignature(signature);
    const signer = await recoverTypedDataAddress({ ...withdrawalTypedData(w), signature: normalized }).catch(() => {
      throw badRequest("INVALID_SIGNATURE", "the signature cannot be recovered: it is not an EIP-712 signature of this withdrawal");
    });
    if (!safe.owners.some((owner) => isAddressEqual(owner, signer))) {
      throw forbidden(
        "NOT_SAFE_OWNER",
        `the signature is by ${signer}, who is not an owner of the Safe ${safe.address} (or it signed something else than withdrawal ${id}'s SafeTx ${w.safeTxHash})`,
      );
    }
    const result = await addConfirmation(ctx, safe, w, getAddress(signer), normalized);
    return { result, outcome: { ...outcomeOf(result), owner: signer } };
  });
}

/**
 * Adds ONE confirmation of withdrawal `id` with the next Safe owner key the backend holds that has
 * not confirmed yet (a local chain's development keys), audited. 503 `NO_OWNER_KEYS` when the
 * backend holds no owner key; 409 `NO_OWNER_KEY_LEFT` when every key it holds has confirmed; the
 * 404/409 of confirmWithdrawal.
 */
export function confirmWithHeldKey(ctx: AppContext, actorId: string | null, id: string): Promise<WithdrawalResult> {
  return audited(ctx.db, { actorId, action: "confirm_protocol_withdrawal", params: { withdrawalId: id, with: "backend owner key" } }, async () => {
    const chain = requireChain(ctx);
    const safe = await readSafe(chain);
    const w = await loadWithdrawal(ctx.db, chain, id, safe.nonce);
    assertOpen(w);
    const keys = heldOwnerKeys(chain, safe.owners);
    if (keys.length === 0) throw unavailable("NO_OWNER_KEYS", "the backend holds no Safe owner key (SAFE_OWNER_KEYS): owners confirm from their own wallets");
    const key = keys.find((k) => !w.confirmations.some((c) => isAddressEqual(c.owner, k.account.address)));
    if (key === undefined) {
      throw conflict("NO_OWNER_KEY_LEFT", `every Safe owner key the backend holds (${keys.length}) has already confirmed withdrawal ${id}`);
    }
    const signature = await signSafeTransaction(key, w.safe, w.chainId, w.tx, w.safeNonce);
    const result = await addConfirmation(ctx, safe, w, getAddress(key.account.address), signature);
    return { result, outcome: { ...outcomeOf(result), owner: key.account.address } };
  });
}

/**
 * Executes withdrawal `id` through the Safe once at least `threshold` current owners confirmed
 * it, audited; the submission is paid by an owner key the backend holds, else by the operator key.
 * 409 `BELOW_THRESHOLD`, `SAFE_NONCE_STALE`, `WITHDRAWAL_EXECUTED`; 422 `WITHDRAWAL_REVERTS`
 * when the call would revert now (the balance fell meanwhile); 503 `NO_EXECUTOR_KEY`; 502
 * `WITHDRAWAL_FAILED` when the submission reverts.
 */
export function executeWithdrawal(ctx: AppContext, actorId: string | null, id: string): Promise<WithdrawalResult> {
  return exclusive(ctx, () =>
    audited(ctx.db, { actorId, action: "execute_protocol_withdrawal", params: { withdrawalId: id } }, async () => {
      const chain = requireChain(ctx);
      const safe = await readSafe(chain);
      const w = await loadWithdrawal(ctx.db, chain, id, safe.nonce);
      assertOpen(w);
      const confirmed = w.confirmations.filter((c) => safe.owners.some((owner) => isAddressEqual(owner, c.owner)));
      if (confirmed.length < safe.threshold) {
        throw conflict("BELOW_THRESHOLD", `withdrawal ${id} has ${confirmed.length} of the ${safe.threshold} owner confirmations the Safe needs`, {
          confirmations: confirmed.length,
          threshold: safe.threshold,
        });
      }
      await simulateAsSafe(chain, w.tx, `withdrawProtocol(${w.to}, ${w.amount})`);
      const executor = heldOwnerKeys(chain, safe.owners)[0] ?? chain.signers.operator;
      if (executor === undefined) throw unavailable("NO_EXECUTOR_KEY", "the backend holds no key to submit the Safe transaction with (an owner key or OPERATOR_PRIVATE_KEY)");
      const { rows: signatures } = await ctx.db.query<{ owner: string; signature: Hex }>(
        "select owner, signature from protocol_withdrawal_confirmations where withdrawal_id = $1",
        [w.id],
      );
      const confirmations = signatures
        .filter((s) => confirmed.some((c) => isAddressEqual(c.owner, s.owner as Address)))
        .slice(0, safe.threshold)
        .map((s) => ({ owner: getAddress(s.owner), signature: s.signature }));
      let txHash: Hash;
      try {
        const sent = await send(
          { client: chain.client, signer: executor },
          { address: safe.address, abi: safeAbi, functionName: "execTransaction", args: execTransactionArgs(w.tx, w.safeNonce, confirmations) },
          {
            purpose: "protocol withdrawal",
            counter: ctx.monitor.metrics.chainTransactions,
            // On record before it is out: a process that dies after the broadcast finds it (settleSubmitted).
            beforeBroadcast: (hash) => ctx.db.query("update protocol_withdrawals set tx_hash = $2 where id = $1", [w.id, hash]),
          },
        );
        if (sent.receipt.status !== "success") throw new Error(`the Safe transaction ${sent.hash} reverted`);
        txHash = sent.hash;
      } catch (error) {
        // The recorded hash stays: settleSubmitted books it if it is mined after all, drops it if it reverted.
        throw new AppError("WITHDRAWAL_FAILED", `the Safe transaction of withdrawal ${id} failed: ${error instanceof AppError ? error.message : revertReason(error)}`, 502);
      }
      await ctx.db.query("update protocol_withdrawals set status = 'executed', tx_hash = $2, executed_at = now() where id = $1", [w.id, txHash]);
      const after = { ...safe, nonce: safe.nonce + 1n };
      const result = { safe: after, withdrawal: await loadWithdrawal(ctx.db, chain, w.id, after.nonce) };
      return { result, outcome: outcomeOf(result) };
    }),
  );
}
