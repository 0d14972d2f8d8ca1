// Subscriptions on chain (SubscriptionManager). Two ways to pay a plan:
//  - CXPT path: the user sends `activatePlan(planId)` (or `renew(passId)`) from their wallet; the
//    manager pulls the price through the Vault. The backend verifies the transaction afterwards
//    (`verifyActivation`).
//  - fiat path: the backend swapped the user's fiat into CXPT held by the operator key, which pays
//    `Vault.depositFor(user, price, ref)` and spends that deposit on
//    `activatePlanFor(user, planId, depositId)` (`activateForFiat`). Both need OPERATOR_ROLE, on the
//    Vault and on the manager.
// `cancel` may be sent by the pass owner or an operator, so the backend cancels for users itself
// (`cancelFor`). `consumeTokens` belongs to the settlement job.
import {
  isAddressEqual,
  numberToHex,
  parseEventLogs,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { cxptAbi, subscriptionsAbi, vaultAbi } from "../chain/abis.ts";
import { confirmedReceipt, emittedBy } from "../chain/receipts.ts";
import { send, succeeded, type SendChain, type Signer, type TransactionCounter } from "../chain/send.ts";
import { AppError, conflict, forbidden, notFound } from "../errors.ts";
import { readAll } from "../chain/reads.ts";
import type { OnchainPlan } from "../../deploy/config.ts";

/** A plan as the admin defined it on chain. Price in CXPT wei, period in seconds, bucket in tokens. */
export interface Plan extends OnchainPlan {
  readonly planId: bigint;
}

/** Every plan, ids 1…lastPlanId, inactive ones included (`active` says which can be bought). */
export async function readPlans(client: PublicClient, subscriptions: Address): Promise<Plan[]> {
  const last = await client.readContract({ address: subscriptions, abi: subscriptionsAbi, functionName: "lastPlanId" });
  const ids = Array.from({ length: Number(last) }, (_, i) => BigInt(i + 1));
  const plans = await readAll(
    client,
    ids.map((planId) => ({ address: subscriptions, abi: subscriptionsAbi, functionName: "planOf", args: [planId] }) as const),
  );
  return plans.map((plan, i) => ({ planId: ids[i]!, ...(plan as OnchainPlan) }));
}

/** A bucket tranche: tokens granted by one paid period, usable until `expiry` (period end + rollover). */
export interface Tranche {
  readonly amount: bigint;
  readonly expiry: bigint;
}

/** A user's pass as the contract sees it now. */
export interface PassState {
  readonly passId: bigint;
  readonly planId: bigint;
  /** End of the paid period (unix seconds). */
  readonly periodEnd: bigint;
  /** In a paid period. */
  readonly active: boolean;
  /** Renewal on: keepers may renew it around `periodEnd`. */
  readonly autoRenew: boolean;
  /** Renewal off (opt-in: never turned on, or cancelled): the paid period runs out, then the pass expires. */
  readonly cancelled: boolean;
  /** Unexpired tokens over all tranches, rolled-over ones included. */
  readonly bucketRemaining: bigint;
  /** Overage still allowed this period (the plan's bucket × overageBps, less what was used). */
  readonly overageRemaining: bigint;
  readonly overageUsed: bigint;
  /** Unexpired, non-empty tranches, oldest (drawn first) first. */
  readonly tranches: readonly Tranche[];
}

/** The pass of `user`, or null when they never subscribed. */
export async function readPass(client: PublicClient, subscriptions: Address, user: Address): Promise<PassState | null> {
  const passId = await client.readContract({ address: subscriptions, abi: subscriptionsAbi, functionName: "passOf", args: [user] });
  if (passId === 0n) return null;
  const at = { address: subscriptions, abi: subscriptionsAbi } as const;
  const [{ timestamp }, [info, active, bucketRemaining, overageRemaining, tranches]] = await Promise.all([
    client.getBlock(),
    readAll(client, [
      { ...at, functionName: "passInfo", args: [passId] },
      { ...at, functionName: "isActive", args: [passId] },
      { ...at, functionName: "bucketRemaining", args: [passId] },
      { ...at, functionName: "overageRemaining", args: [passId] },
      { ...at, functionName: "tranchesOf", args: [passId] },
    ]),
  ]);
  const [planId, periodEnd, autoRenew, overageUsed] = info;
  return {
    passId,
    planId,
    periodEnd,
    active,
    autoRenew,
    cancelled: !autoRenew,
    bucketRemaining,
    overageRemaining,
    overageUsed,
    tranches: tranches
      .filter((t) => t.amount > 0n && BigInt(t.expiry) > timestamp)
      .map((t) => ({ amount: t.amount, expiry: BigInt(t.expiry) })),
  };
}

// ───────────────────────────── fiat path ─────────────────────────────

/** The contracts the fiat path touches. */
export interface SubscriptionContracts {
  readonly cxpt: Address;
  readonly vault: Address;
  readonly subscriptions: Address;
}

/** A plan activated for a user against an operator deposit. */
export interface FiatActivation {
  readonly user: Address;
  readonly planId: bigint;
  readonly passId: bigint;
  readonly periodEnd: bigint;
  readonly depositId: bigint;
  /** The plan price the deposit paid, in wei (`burned` of it destroyed; undefined when resumed). */
  readonly price: bigint;
  readonly burned: bigint | undefined;
  /** Undefined when an earlier deposit was resumed. */
  readonly depositTxHash: Hex | undefined;
  readonly activationTxHash: Hex;
}

export interface ActivateForFiatOptions {
  readonly publicClient: PublicClient;
  /** The operator key: OPERATOR_ROLE on the Vault and the manager, holding the swapped CXPT. */
  readonly operator: Signer;
  readonly contracts: SubscriptionContracts;
  readonly user: Address;
  readonly planId: bigint;
  /** Vault reference of the deposit, e.g. the fiat payment id (bytes32). */
  readonly ref: Hex;
  /**
   * An operator deposit already made for this user and not yet spent: retry the activation with it
   * (after ACTIVATION_FAILED) instead of paying again.
   */
  readonly depositId?: bigint;
  /** Where the operator's transactions are counted. */
  readonly counter?: TransactionCounter;
}

/**
 * Operator path: pays the plan price into the Vault for `user` (`depositFor`, approving the Vault
 * first when the operator's allowance is short), then activates the plan with that deposit.
 *
 * @throws AppError 404 `PLAN_NOT_FOUND`, 409 `PLAN_INACTIVE`, 409 `PASS_ACTIVE` (the user is in a
 * paid period), 403 `SANCTIONED_ADDRESS`, 409 `DEPOSIT_UNUSABLE` (a resumed deposit that is not the
 * user's, too small or spent), 503 `OPERATOR_UNDERFUNDED` (the operator holds less CXPT than the
 * price), 502 `DEPOSIT_FAILED`, 502 `ACTIVATION_FAILED` (the deposit went through: `details.depositId`
 * lets the caller retry with it).
 */
export async function activateForFiat(options: ActivateForFiatOptions): Promise<FiatActivation> {
  const { publicClient, operator, contracts, user, planId, ref, counter } = options;
  const { cxpt, vault, subscriptions } = contracts;
  const chain = { client: publicClient, signer: operator };
  const operatorAddress = operator.account.address;
  const [plan, passId, sanctioned, balance, allowance] = await readAll(publicClient, [
    { address: subscriptions, abi: subscriptionsAbi, functionName: "planOf", args: [planId] },
    { address: subscriptions, abi: subscriptionsAbi, functionName: "passOf", args: [user] },
    { address: vault, abi: vaultAbi, functionName: "isSanctioned", args: [user] },
    { address: cxpt, abi: cxptAbi, functionName: "balanceOf", args: [operatorAddress] },
    { address: cxpt, abi: cxptAbi, functionName: "allowance", args: [operatorAddress, vault] },
  ]);
  if (plan.period === 0) throw notFound("PLAN_NOT_FOUND", `plan ${planId} does not exist`);
  if (!plan.active) throw conflict("PLAN_INACTIVE", `plan ${planId} can no longer be bought`);
  if (sanctioned) throw forbidden("SANCTIONED_ADDRESS", `${user} is on the sanctions list`);
  if (passId !== 0n) {
    const [periodEnd, { timestamp }] = await Promise.all([
      publicClient.readContract({ address: subscriptions, abi: subscriptionsAbi, functionName: "expiryOf", args: [passId] }),
      publicClient.getBlock(),
    ]);
    if (periodEnd > timestamp) {
      const details = { passId: passId.toString(), periodEnd: periodEnd.toString() };
      throw conflict("PASS_ACTIVE", `${user}'s pass ${passId} is paid until ${periodEnd}`, details);
    }
  }

  let deposit: { depositId: bigint; burned: bigint | undefined; txHash: Hex | undefined };
  if (options.depositId !== undefined) {
    deposit = { depositId: options.depositId, burned: undefined, txHash: undefined };
    await requireUsableDeposit(publicClient, vault, options.depositId, user, plan.price);
  } else {
    if (balance < plan.price) {
      throw new AppError("OPERATOR_UNDERFUNDED", `the operator holds ${balance} wei CXPT, the plan costs ${plan.price}`, 503);
    }
    deposit = await depositFor(chain, counter, { cxpt, vault, user, amount: plan.price, ref, allowance });
  }

  const activate = {
    address: subscriptions,
    abi: subscriptionsAbi,
    functionName: "activatePlanFor",
    args: [user, planId, deposit.depositId],
  } as const;
  const { receipt } = await succeeded(send(chain, activate, { counter }), {
    code: "ACTIVATION_FAILED",
    message: `activating plan ${planId} for ${user} failed`,
    details: { depositId: deposit.depositId.toString(), depositTxHash: deposit.txHash },
  });
  const [activated] = parseEventLogs({ abi: subscriptionsAbi, eventName: "PlanActivated", logs: emittedBy(receipt.logs, subscriptions) });
  return {
    user,
    planId,
    passId: activated!.args.passId,
    periodEnd: activated!.args.periodEnd,
    depositId: deposit.depositId,
    price: plan.price,
    burned: deposit.burned,
    depositTxHash: deposit.txHash,
    activationTxHash: receipt.transactionHash,
  };
}

/** `Vault.depositFor`, approving the Vault for `amount` first when `allowance` is short. */
async function depositFor(
  chain: SendChain,
  counter: TransactionCounter | undefined,
  p: { cxpt: Address; vault: Address; user: Address; amount: bigint; ref: Hex; allowance: bigint },
) {
  const failure = { code: "DEPOSIT_FAILED", message: `depositing ${p.amount} wei for ${p.user} failed` };
  if (p.allowance < p.amount) {
    const approve = { address: p.cxpt, abi: cxptAbi, functionName: "approve", args: [p.vault, p.amount] } as const;
    await succeeded(send(chain, approve, { counter }), failure);
  }
  const deposit = { address: p.vault, abi: vaultAbi, functionName: "depositFor", args: [p.user, p.amount, p.ref] } as const;
  const { receipt } = await succeeded(send(chain, deposit, { counter }), failure);
  const [paid] = parseEventLogs({ abi: vaultAbi, eventName: "Paid", logs: emittedBy(receipt.logs, p.vault) });
  return { depositId: paid!.args.depositId, burned: paid!.args.burned, txHash: receipt.transactionHash };
}

async function requireUsableDeposit(client: PublicClient, vault: Address, depositId: bigint, user: Address, price: bigint) {
  const [[owner, amount], consumed] = await readAll(client, [
    { address: vault, abi: vaultAbi, functionName: "depositOf", args: [depositId] },
    { address: vault, abi: vaultAbi, functionName: "isDepositConsumed", args: [depositId] },
  ]);
  const problem = !isAddressEqual(owner, user)
    ? `was made for ${owner}`
    : amount < price
      ? `holds ${amount} wei, the plan costs ${price}`
      : consumed
        ? "is already spent"
        : undefined;
  if (problem !== undefined) throw conflict("DEPOSIT_UNUSABLE", `deposit ${depositId} ${problem}`, { depositId: depositId.toString() });
}

// ───────────────────────────── CXPT path ─────────────────────────────

/** A period paid for a user's pass, as a transaction shows it. */
export interface VerifiedActivation {
  readonly txHash: Hex;
  readonly blockNumber: bigint;
  /** Position of the PlanActivated / PassRenewed event in the block. */
  readonly logIndex: number;
  /** `activation`: activatePlan / activatePlanFor; `renewal`: renew / renewFor. */
  readonly kind: "activation" | "renewal";
  readonly user: Address;
  readonly passId: bigint;
  readonly planId: bigint;
  readonly periodEnd: bigint;
  /** Non-zero when an operator deposit paid. */
  readonly depositId: bigint;
  /** Gross CXPT the period cost, in wei. */
  readonly paid: bigint;
  /** Burned in this transaction; null when an operator deposit paid (burned in the deposit's own transaction). */
  readonly burned: bigint | null;
}

/**
 * The period that transaction `txHash` paid for `user`'s pass: an activation (PlanActivated) or a
 * renewal (PassRenewed) by the manager at `subscriptions`, with the price it took (the Vault's
 * `Paid` for the pass, or the operator deposit it consumed). Events of other contracts are ignored.
 *
 * @throws AppError from `confirmedReceipt` (TX_NOT_FOUND 404, TX_PENDING 409, TX_REVERTED 422);
 * 422 `NOT_AN_ACTIVATION` when no pass was activated or renewed; 403 `ACTIVATION_NOT_YOURS` when
 * only other users' passes were.
 */
export async function verifyActivation(
  client: PublicClient,
  options: { subscriptions: Address; txHash: Hex; user: Address; minConfirmations?: number },
): Promise<VerifiedActivation> {
  const { subscriptions, txHash, user } = options;
  const receipt = await confirmedReceipt(client, txHash, options.minConfirmations);
  const events = parseEventLogs({
    abi: subscriptionsAbi,
    eventName: ["PlanActivated", "PassRenewed"],
    logs: emittedBy(receipt.logs, subscriptions),
  });
  if (events.length === 0) throw new AppError("NOT_AN_ACTIVATION", `transaction ${txHash} activated or renewed no pass`, 422);

  // Passes are soulbound and one per user, so the user's pass id identifies their events.
  const [passId, [vault]] = await readAll(client, [
    { address: subscriptions, abi: subscriptionsAbi, functionName: "passOf", args: [user] },
    { address: subscriptions, abi: subscriptionsAbi, functionName: "settings" },
  ]);
  const event = events.find((e) => passId !== 0n && e.args.passId === passId);
  if (event === undefined) throw forbidden("ACTIVATION_NOT_YOURS", `transaction ${txHash} paid for another user's pass`);

  const depositId = event.args.depositId;
  const vaultLogs = emittedBy(receipt.logs, vault);
  let paid: bigint;
  let burned: bigint | null;
  if (depositId === 0n) {
    // The manager collects right after emitting the pass event, with ref = bytes32(passId).
    const [payment] = parseEventLogs({ abi: vaultAbi, eventName: "Paid", logs: vaultLogs, args: { ref: numberToHex(passId, { size: 32 }) } })
      .filter((log) => log.logIndex > event.logIndex);
    ({ amount: paid, burned } = payment!.args);
  } else {
    const [consumed] = parseEventLogs({ abi: vaultAbi, eventName: "DepositConsumed", logs: vaultLogs, args: { depositId } });
    paid = consumed!.args.amount;
    burned = null;
  }
  const planId =
    event.eventName === "PlanActivated"
      ? event.args.planId
      : (await client.readContract({ address: subscriptions, abi: subscriptionsAbi, functionName: "passInfo", args: [passId] }))[0];
  return {
    txHash: receipt.transactionHash,
    blockNumber: receipt.blockNumber,
    logIndex: event.logIndex,
    kind: event.eventName === "PlanActivated" ? "activation" : "renewal",
    user,
    passId,
    planId,
    periodEnd: event.args.periodEnd,
    depositId,
    paid,
    burned,
  };
}

// ───────────────────────────── cancel ─────────────────────────────

/**
 * Turns renewal off for `user`'s pass, sent by the operator on the user's request (the contract
 * lets the owner or an operator cancel). The paid period runs out, then the pass expires.
 *
 * @throws AppError 404 `NO_PASS`, 409 `ALREADY_CANCELLED`, 502 `CANCEL_FAILED`.
 */
export async function cancelFor(options: {
  publicClient: PublicClient;
  operator: Signer;
  subscriptions: Address;
  user: Address;
  counter?: TransactionCounter;
}): Promise<{ passId: bigint; txHash: Hex }> {
  const { publicClient, operator, subscriptions, user, counter } = options;
  const passId = await publicClient.readContract({ address: subscriptions, abi: subscriptionsAbi, functionName: "passOf", args: [user] });
  if (passId === 0n) throw notFound("NO_PASS", `${user} has no subscription pass`);
  const [, , autoRenew] = await publicClient.readContract({
    address: subscriptions,
    abi: subscriptionsAbi,
    functionName: "passInfo",
    args: [passId],
  });
  if (!autoRenew) throw conflict("ALREADY_CANCELLED", `renewal of pass ${passId} is already off`);
  const cancel = { address: subscriptions, abi: subscriptionsAbi, functionName: "cancel", args: [passId] } as const;
  const sending = send({ client: publicClient, signer: operator }, cancel, { counter });
  const { hash } = await succeeded(sending, { code: "CANCEL_FAILED", message: `cancelling pass ${passId} failed` });
  return { passId, txHash: hash };
}
