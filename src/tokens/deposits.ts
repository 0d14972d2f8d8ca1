// Verifies that a transaction a user reports is a deposit into the Vault that can be credited.
//
// Every Vault payment emits the same `Paid` event: `deposit` / `depositWithPermit` (the user pays
// for themselves), `depositFor` (the operator after a fiat swap; non-zero depositId) and `collect`
// (the SubscriptionManager's activatePlan and renew pull the plan price; ref = passId). A collect's
// event is indistinguishable from a deposit's, so the event alone cannot say "deposit". What can:
// the transaction itself. A creditable deposit is a transaction sent straight to the Vault calling
// `deposit` or `depositWithPermit`; such a call emits exactly one `Paid`. Anything else (an
// activatePlan, a renewal, a call through another contract, which could bundle a collect) is
// refused with NOT_A_DEPOSIT. Operator deposits (`depositFor`) are refused too unless the caller
// opts in, because their depositId can also pay a subscription activation: crediting it as well
// would pay twice with the same CXPT.
import {
  getAbiItem,
  isAddressEqual,
  parseEventLogs,
  sliceHex,
  toFunctionSelector,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { vaultAbi } from "../chain/abis.ts";
import { AppError, forbidden } from "../errors.ts";
import { confirmedReceipt, emittedBy } from "../chain/receipts.ts";

/** `deposit`: the user paid from their own wallet; `operator`: an operator `depositFor` on their behalf. */
export type DepositKind = "deposit" | "operator";

/** A confirmed Vault deposit. Amounts in wei; `amount` is gross, `burned` of it was destroyed. */
export interface VerifiedDeposit {
  readonly txHash: Hex;
  readonly blockNumber: bigint;
  /** Position of the `Paid` event in its block: with txHash, the deposit's unique key. */
  readonly logIndex: number;
  readonly kind: DepositKind;
  /** Who is credited. */
  readonly user: Address;
  /** Whose CXPT paid (the user, or the operator for `depositFor`). */
  readonly payer: Address;
  readonly amount: bigint;
  readonly burned: bigint;
  /** The opaque reference passed to the Vault (e.g. an invoice id). */
  readonly ref: Hex;
  /** Non-zero for operator deposits only. */
  readonly depositId: bigint;
}

export interface VerifyDepositOptions {
  readonly vault: Address;
  readonly txHash: Hex;
  /** The wallet the deposit must credit (the caller's linked wallet). */
  readonly expectedUser?: Address;
  /** Blocks on top, own block included (default 1). */
  readonly minConfirmations?: number;
  /** Accept operator `depositFor` transactions (default false, see the module comment). */
  readonly allowOperator?: boolean;
}

const selectorOf = (name: "deposit" | "depositWithPermit" | "depositFor"): Hex =>
  toFunctionSelector(getAbiItem({ abi: vaultAbi, name }));

/** Vault functions whose direct call is a deposit, by selector. */
const DEPOSIT_CALLS: ReadonlyMap<Hex, DepositKind> = new Map([
  [selectorOf("deposit"), "deposit"],
  [selectorOf("depositWithPermit"), "deposit"],
  [selectorOf("depositFor"), "operator"],
]);

/**
 * The deposit made by `txHash`, once confirmed.
 *
 * @throws AppError from `confirmedReceipt` (TX_NOT_FOUND 404, TX_PENDING 409, TX_REVERTED 422,
 * INVALID_TX_HASH 400); 422 `NOT_A_VAULT_DEPOSIT` when the Vault emitted no `Paid` (events of
 * look-alike contracts are ignored); 422 `NOT_A_DEPOSIT` when the Vault was paid but not by a
 * direct deposit call (a subscription activation or renewal, a contract call, an operator deposit
 * without `allowOperator`); 403 `DEPOSIT_NOT_YOURS` when it credits another wallet than `expectedUser`.
 */
export async function verifyDeposit(client: PublicClient, options: VerifyDepositOptions): Promise<VerifiedDeposit> {
  const { vault, txHash, expectedUser } = options;
  const receipt = await confirmedReceipt(client, txHash, options.minConfirmations);
  const payments = parseEventLogs({
    abi: vaultAbi,
    eventName: "Paid",
    logs: emittedBy(receipt.logs, vault),
  });
  if (payments.length === 0) {
    throw new AppError("NOT_A_VAULT_DEPOSIT", `transaction ${txHash} paid nothing into the Vault ${vault}`, 422);
  }

  const tx = await client.getTransaction({ hash: txHash });
  const direct = tx.to != null && isAddressEqual(tx.to, vault);
  const kind = direct ? DEPOSIT_CALLS.get(sliceHex(tx.input, 0, 4)) : undefined;
  if (kind === undefined || (kind === "operator" && !options.allowOperator) || payments.length !== 1) {
    const how = kind === "operator" ? "is an operator depositFor" : `is not a Vault deposit call (it calls ${tx.to})`;
    throw new AppError("NOT_A_DEPOSIT", `transaction ${txHash} paid the Vault but ${how}`, 422, { to: tx.to, kind: kind ?? null });
  }

  const [paid] = payments;
  const { user, payer, amount, burned, ref, depositId } = paid!.args;
  if (expectedUser !== undefined && !isAddressEqual(user, expectedUser)) {
    throw forbidden("DEPOSIT_NOT_YOURS", `the deposit in ${txHash} credits ${user}, not ${expectedUser}`);
  }
  const { transactionHash, blockNumber } = receipt;
  return { txHash: transactionHash, blockNumber, logIndex: paid!.logIndex, kind, user, payer, amount, burned, ref, depositId };
}
