// Subscriptions as the dashboards use them: the plans on sale, paying for a plan, cancelling the
// renewal and the pass's status. The SubscriptionManager is canonical; the account row mirrors the
// user's pass (plan, pass id, period end, tokens left) for the billing gate and the drain, which
// draw the bucket first. Every answer that reads the pass refreshes that mirror.
//
// Two ways to pay:
//  - CXPT: the user sends `activatePlan` (or `renew`) from their wallet and reports the transaction;
//    it is verified on chain and booked once per hash as a `subscription_payment`.
//  - fiat: the backend buys the plan's price in CXPT for the operator (0x when ZEROEX_API_KEY is
//    set, else the local swap, see `fiatSwapOf`), which pays `Vault.depositFor` and activates the
//    plan for the user. Each processor payment reference is stored with every step's outcome
//    (fiat_payments, migration 0004), so a retried payment never buys twice.
//
// Tokens left: the chain's bucket plus the overage still allowed this period (what
// `consumeTokens` accepts), minus the bucket tokens the drain has charged to metered usage that
// the reconcile job has not yet consumed on chain (./reconcile.ts checkpoints them with
// `consumeTokens`, see ./bucket-usage.ts for where that usage is read and marked).
// Nothing is usable outside a paid period: `consumeTokens` refuses an expired pass, rolled-over
// tranches included.
import { createWalletClient, http, keccak256, stringToHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { DEFAULT_ECONOMICS } from "../../deploy/config.ts";
import type { Account } from "../accounts/store.ts";
import { exclusive, requireChainFeature } from "../app/guards.ts";
import type { ChainContext, Signer } from "../app/chain.ts";
import type { AppContext } from "../app/context.ts";
import { ceilDiv, formatDecimal, ONE_E18 } from "../billing/pricing.ts";
import { cxptAbi, subscriptionsAbi, vaultAbi } from "../chain/abis.ts";
import type { Queryable } from "../db/db.ts";
import { DEV_KEYS, devKey } from "../devstack/keys.ts";
import { AppError, conflict, forbidden, notFound, paymentRequired } from "../errors.ts";
import { bookTransaction } from "../tokens/ledger.ts";
import { readAll } from "../chain/reads.ts";
import { requireWallet } from "../tokens/service.ts";
import { activateForFiat, cancelFor, readPass, readPlans, verifyActivation, type PassState, type Plan, type Tranche } from "./chain.ts";
import { localSwap, zeroExSwap, type SwapProvider } from "./swap.ts";
import { uncheckpointedBucketTokens } from "./reconcile.ts";

// ───────────────────────────── plans ─────────────────────────────

/** The published name of plan `planId` (deploy/config.ts economics), null for plans added since. */
export function planName(planId: bigint): string | null {
  return DEFAULT_ECONOMICS.plans[Number(planId) - 1]?.name ?? null;
}

/** `wei` CXPT in atto-USD at `cxptUsd` atto-USD per CXPT, rounded up (what buying it costs). */
const usdOf = (wei: bigint, cxptUsd: bigint): bigint => ceilDiv(wei * cxptUsd, ONE_E18);

/** A plan on chain with its name and its USD price now. */
export interface PlanOffer extends Plan {
  readonly name: string | null;
  readonly priceAusd: bigint;
}

/**
 * Every plan on chain, inactive ones included, priced in USD at the current CXPT/USD rate.
 * @throws AppError 409 `FEATURE_DISABLED` / `CHAIN_OFF`.
 */
export async function listPlans(ctx: AppContext): Promise<{ plans: PlanOffer[]; cxptUsdAusd: bigint }> {
  const chain = requireChainFeature(ctx, "subscriptions");
  const cxptUsdAusd = ctx.billing.priceSource.cxptUsd();
  const plans = await readPlans(chain.client, chain.addresses.subscriptions);
  return { cxptUsdAusd, plans: plans.map((plan) => ({ ...plan, name: planName(plan.planId), priceAusd: usdOf(plan.price, cxptUsdAusd) })) };
}

// ───────────────────────────── status and the account mirror ─────────────────────────────

/**
 * A pass as the user sees it: the chain's state less the metered use not yet consumed on chain
 * (`bucketRemaining`, `overageRemaining` and `overageUsed` already account for it).
 */
export interface PassStatus extends PassState {
  readonly planName: string | null;
  /** Bucket tokens charged to metered usage and not yet consumed on chain (already deducted). */
  readonly unsettledBucketTokens: bigint;
  /** What the billing gate lets the account draw now: bucket + overage in a paid period, else 0. */
  readonly usableTokens: bigint;
}

export interface SubscriptionStatus {
  readonly wallet: Address;
  /** Null when the wallet never subscribed. */
  readonly pass: PassStatus | null;
}

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** Deducts `unsettled` tokens the way `consumeTokens` will draw them: bucket first, then overage. */
function passStatus(pass: PassState, unsettled: bigint): PassStatus {
  const bucketRemaining = max(0n, pass.bucketRemaining - unsettled);
  const intoOverage = min(pass.overageRemaining, max(0n, unsettled - pass.bucketRemaining));
  const overageRemaining = pass.overageRemaining - intoOverage;
  return {
    ...pass,
    planName: planName(pass.planId),
    bucketRemaining,
    overageRemaining,
    overageUsed: pass.overageUsed + intoOverage,
    unsettledBucketTokens: unsettled,
    usableTokens: pass.active ? bucketRemaining + overageRemaining : 0n,
  };
}

/**
 * Reads the wallet's pass and writes it into the account row, then drops the gate's cached view of
 * the account. The row is locked while the unsettled use is summed and the mirror written, so a
 * drain charging the account meanwhile is counted exactly once. A wallet without a pass leaves the
 * row as it is.
 */
export async function refreshMirror(ctx: AppContext, chain: ChainContext, accountId: string, wallet: Address): Promise<SubscriptionStatus> {
  const pass = await readPass(chain.client, chain.addresses.subscriptions, wallet);
  if (pass === null) return { wallet, pass: null };
  const status = await ctx.db.transaction(async (tx) => {
    await tx.query("select id from accounts where id = $1 for update", [accountId]);
    const status = passStatus(pass, await uncheckpointedBucketTokens(ctx, tx, accountId));
    await tx.query(
      `update accounts set subscription_type = $2, subscription_plan_id = $3, subscription_pass_id = $4,
              subscription_end = $5, bucket_remaining = $6 where id = $1`,
      [
        accountId,
        status.planName?.toLowerCase() ?? `plan-${status.planId}`,
        Number(status.planId),
        status.passId,
        new Date(Number(status.periodEnd) * 1000),
        status.usableTokens,
      ],
    );
    return status;
  });
  ctx.billing.gate.invalidateAccount(accountId);
  return { wallet, pass: status };
}

/**
 * The signed-in user's pass from the chain (refreshing the account's mirror).
 * @throws AppError 409 `FEATURE_DISABLED` / `CHAIN_OFF` / `WALLET_NOT_LINKED`.
 */
export async function subscriptionStatus(ctx: AppContext, account: Account): Promise<SubscriptionStatus> {
  const chain = requireChainFeature(ctx, "subscriptions");
  return refreshMirror(ctx, chain, account.id, requireWallet(account));
}

// ───────────────────────────── paying ─────────────────────────────

/** A paid period, as the ledger booked it. */
export interface SubscriptionPayment {
  readonly method: "cxpt" | "fiat";
  readonly kind: "activation" | "renewal";
  /** The transaction that paid the period (activatePlan, renew, activatePlanFor): the ledger's key. */
  readonly txHash: Hex;
  /** CXPT wei paid, gross; `burnedWei` of it destroyed (null when not known from this transaction). */
  readonly amountWei: bigint;
  readonly burnedWei: bigint | null;
  readonly planId: bigint;
  readonly passId: bigint;
  readonly periodEnd: bigint;
  /** False when this payment had been recorded before (a repeated submission). */
  readonly booked: boolean;
  readonly fiat?: FiatDetails;
}

export interface FiatDetails {
  readonly paymentRef: string;
  /** What the user paid, in atto-USD. */
  readonly usdAusd: bigint;
  readonly depositId: bigint;
  readonly depositTxHash: Hex | null;
  /** The swap's transaction; null when no CXPT had to move (the treasury was the operator). */
  readonly swapTxHash: Hex | null;
}

export interface PaymentOutcome {
  readonly payment: SubscriptionPayment;
  readonly status: SubscriptionStatus;
}

/**
 * Records the period that the user's transaction `txHash` paid (activatePlan or renew from their
 * wallet, with DEPOSIT_CONFIRMATIONS blocks on top): booked once per hash, then mirrored.
 *
 * @throws AppError 409 `FEATURE_DISABLED` / `CHAIN_OFF` / `WALLET_NOT_LINKED`; verifyActivation's
 * (400 `INVALID_TX_HASH`, 404 `TX_NOT_FOUND`, 409 `TX_PENDING`, 422 `TX_REVERTED` /
 * `NOT_AN_ACTIVATION`, 403 `ACTIVATION_NOT_YOURS`); 422 `PLAN_MISMATCH` when the transaction paid
 * another plan than `planId`.
 */
export async function payWithCxpt(ctx: AppContext, account: Account, input: { planId: bigint; txHash: Hex }): Promise<PaymentOutcome> {
  const chain = requireChainFeature(ctx, "subscriptions");
  const wallet = requireWallet(account);
  const paid = await verifyActivation(chain.client, {
    subscriptions: chain.addresses.subscriptions,
    txHash: input.txHash,
    user: wallet,
    minConfirmations: ctx.config.chain.confirmations + 1,
  });
  if (paid.planId !== input.planId) {
    throw new AppError("PLAN_MISMATCH", `transaction ${input.txHash} paid for plan ${paid.planId}, not plan ${input.planId}`, 422, {
      planId: paid.planId.toString(),
    });
  }
  const { booked } = await bookTransaction(ctx.db, {
    accountId: account.id,
    type: "subscription_payment",
    status: "confirmed",
    amountWei: paid.paid,
    txHash: paid.txHash,
    blockNumber: paid.blockNumber,
    ref: `pass:${paid.passId}`,
    details: { method: "cxpt", kind: paid.kind, planId: paid.planId, passId: paid.passId, periodEnd: paid.periodEnd, depositId: paid.depositId, burnedWei: paid.burned },
  });
  const { txHash, kind, planId, passId, periodEnd } = paid;
  const payment: SubscriptionPayment = { method: "cxpt", kind, txHash, amountWei: paid.paid, burnedWei: paid.burned, planId, passId, periodEnd, booked };
  return { payment, status: await refreshMirror(ctx, chain, account.id, wallet) };
}

// ───────────────────────────── the fiat path ─────────────────────────────

/** The chain id of a local development node: the only chain taking unverified fiat payments. */
const LOCAL_CHAIN_ID = 31337;

/**
 * Nothing here can confirm that a fiat payment happened: no payment processor is integrated yet,
 * so `paymentRef` is the caller's word. Taking it on a live network would hand out subscriptions
 * paid from the operator's CXPT to anyone signed in; only the local development chain (test CXPT
 * from the public development keys) accepts it.
 */
function requireTrustedFiat(chain: ChainContext): void {
  if (chain.chainId !== LOCAL_CHAIN_ID) {
    throw new AppError(
      "FIAT_NOT_AVAILABLE",
      `fiat payments need a payment processor to confirm them and none is configured; chain ${chain.chainId} takes CXPT payments only`,
      503,
    );
  }
}

function requireOperator(chain: ChainContext): Signer {
  const { operator } = chain.signers;
  if (operator === undefined) throw new AppError("OPERATOR_KEY_MISSING", "the backend has no operator key (OPERATOR_PRIVATE_KEY)", 503);
  return operator;
}

/** How fiat becomes the operator's CXPT, and what a sell amount is worth in atto-USD. */
interface FiatSwap {
  readonly provider: SwapProvider;
  toAusd(sellAmount: bigint): Promise<bigint>;
}

/**
 * 0x (ZEROEX_API_KEY), selling the configured USD stablecoin the operator holds (1 unit = 1 USD);
 * else the local swap: the distribution account (the genesis supply, a public development key) sells
 * CXPT to the operator at the current CXPT/USD rate, for atto-USD.
 */
async function fiatSwapOf(ctx: AppContext, chain: ChainContext, operator: Signer): Promise<FiatSwap> {
  const zeroEx = ctx.config.zeroEx;
  if (zeroEx !== undefined) {
    const { sellToken } = zeroEx;
    const decimals = await chain.client.readContract({ address: sellToken, abi: cxptAbi, functionName: "decimals" });
    const { client: publicClient, chainId } = chain;
    const counter = ctx.monitor.metrics.chainTransactions;
    const provider = zeroExSwap({ ...zeroEx, chainId, publicClient, taker: operator, sellToken, buyToken: chain.addresses.cxpt, counter });
    return { provider, toAusd: async (units) => units * 10n ** BigInt(18 - decimals) };
  }
  const treasury = createWalletClient({
    chain: operator.chain,
    transport: ctx.connectOptions.transport ?? http(ctx.config.chain.rpcUrl),
    account: privateKeyToAccount(devKey(DEV_KEYS.distribution)),
  });
  const cxptUsd = formatDecimal(ctx.billing.priceSource.cxptUsd());
  const taker = operator.account.address;
  const counter = ctx.monitor.metrics.chainTransactions;
  const provider = localSwap({ publicClient: chain.client, treasury, taker, cxpt: chain.addresses.cxpt, cxptUsd, counter });
  return { provider, toAusd: async (ausd) => ausd };
}

type FiatStatus = "pending" | "swapped" | "activated" | "unresolved";

type FiatRow = {
  ref: string;
  account_id: string;
  plan_id: number;
  usd_ausd: string | null;
  status: FiatStatus;
  in_flight: "swap" | "activate" | null;
  cxpt_wei: string | null;
  swap_tx_hash: Hex | null;
  deposit_id: string | null;
  deposit_tx_hash: Hex | null;
  activation_tx_hash: Hex | null;
  pass_id: string | null;
  paid_wei: string | null;
  burned_wei: string | null;
  period_end: string | null;
};

type FiatFields = Partial<Omit<FiatRow, "ref" | "account_id" | "plan_id"> & { last_error: string | null }>;

/** How long a request may work on a payment before another may take it over. */
const CLAIM_SECONDS = 300;

async function setPayment(db: Queryable, ref: string, fields: FiatFields): Promise<FiatRow> {
  const columns = Object.keys(fields);
  const { rows } = await db.query<FiatRow>(
    `update fiat_payments set ${columns.map((c, i) => `${c} = $${i + 2}`).join(", ")}, updated_at = now() where ref = $1 returning *`,
    [ref, ...Object.values(fields)],
  );
  return rows[0]!;
}

/** Hashes are stored lower-case. */
const lower = (hash: Hex | undefined): Hex | null => (hash === undefined ? null : (hash.toLowerCase() as Hex));

const errorJson = (error: AppError): string => JSON.stringify({ code: error.code, message: error.message, details: error.details ?? {} });

/**
 * Takes the payment `ref` for this request (recording it first if new). Returns the row when this
 * request may work on it; otherwise the row as it is (done, unresolved or being worked on).
 * @throws AppError 409 `PAYMENT_REF_REUSED` when the reference belongs to another account or plan.
 */
async function claimPayment(
  db: Queryable,
  p: { ref: string; accountId: string; planId: bigint; usdAusd: bigint | undefined },
): Promise<{ claimed: boolean; row: FiatRow }> {
  await db.query("insert into fiat_payments (ref, account_id, plan_id, usd_ausd) values ($1, $2, $3, $4) on conflict (ref) do nothing", [
    p.ref,
    p.accountId,
    Number(p.planId),
    p.usdAusd ?? null,
  ]);
  const { rows } = await db.query<FiatRow>(
    `update fiat_payments set claimed_until = now() + interval '${CLAIM_SECONDS} seconds', updated_at = now()
      where ref = $1 and account_id = $2 and plan_id = $3 and status in ('pending', 'swapped')
        and (claimed_until is null or claimed_until < now())
      returning *`,
    [p.ref, p.accountId, Number(p.planId)],
  );
  if (rows[0]) return { claimed: true, row: rows[0] };
  const row = (await db.query<FiatRow>("select * from fiat_payments where ref = $1", [p.ref])).rows[0]!;
  if (row.account_id !== p.accountId || row.plan_id !== Number(p.planId)) {
    throw conflict("PAYMENT_REF_REUSED", `payment reference ${p.ref} was used for another subscription`);
  }
  return { claimed: false, row };
}

/**
 * Runs one step of a fiat payment with `in_flight` set. An AppError means the step did not happen
 * (`recover` may still record what it left behind, e.g. a deposit); anything else leaves the flag
 * set: its outcome is unknown, and the next request will not guess.
 */
async function step<T>(db: Queryable, ref: string, name: "swap" | "activate", work: () => Promise<T>, recover?: (error: AppError) => FiatFields): Promise<T> {
  await setPayment(db, ref, { in_flight: name });
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError) await setPayment(db, ref, { in_flight: null, last_error: errorJson(error), ...recover?.(error) });
    throw error;
  }
}

function fiatPayment(row: FiatRow, booked: boolean): SubscriptionPayment {
  return {
    method: "fiat",
    kind: "activation",
    txHash: row.activation_tx_hash!,
    amountWei: BigInt(row.paid_wei!),
    burnedWei: row.burned_wei === null ? null : BigInt(row.burned_wei),
    planId: BigInt(row.plan_id),
    passId: BigInt(row.pass_id!),
    periodEnd: BigInt(row.period_end!),
    booked,
    fiat: {
      paymentRef: row.ref,
      usdAusd: BigInt(row.usd_ausd!),
      depositId: BigInt(row.deposit_id!),
      depositTxHash: row.deposit_tx_hash,
      swapTxHash: row.swap_tx_hash,
    },
  };
}

/**
 * Before any money moves: the plan can be bought, the user is not in a paid period and not
 * sanctioned (activateForFiat checks the same again, after the swap).
 */
async function requireBuyable(chain: ChainContext, wallet: Address, planId: bigint): Promise<Plan> {
  const [plan, sanctioned] = await readAll(chain.client, [
    { address: chain.addresses.subscriptions, abi: subscriptionsAbi, functionName: "planOf", args: [planId] },
    { address: chain.addresses.vault, abi: vaultAbi, functionName: "isSanctioned", args: [wallet] },
  ]);
  if (plan.period === 0) throw notFound("PLAN_NOT_FOUND", `plan ${planId} does not exist`);
  if (!plan.active) throw conflict("PLAN_INACTIVE", `plan ${planId} can no longer be bought`);
  if (sanctioned) throw forbidden("SANCTIONED_ADDRESS", `${wallet} is on the sanctions list`);
  const pass = await readPass(chain.client, chain.addresses.subscriptions, wallet);
  if (pass?.active) {
    throw conflict("PASS_ACTIVE", `${wallet}'s pass ${pass.passId} is paid until ${pass.periodEnd}`, {
      passId: pass.passId.toString(),
      periodEnd: pass.periodEnd.toString(),
    });
  }
  return { planId, ...plan };
}

/** pending → swapped: buys the plan's price in CXPT for the operator, if what the user paid covers it. */
async function buyPlanCxpt(ctx: AppContext, chain: ChainContext, operator: Signer, wallet: Address, row: FiatRow): Promise<FiatRow> {
  const plan = await requireBuyable(chain, wallet, BigInt(row.plan_id));
  const swap = await fiatSwapOf(ctx, chain, operator);
  const cost = await swap.toAusd((await swap.provider.quote({ buyAmount: plan.price })).sellAmount);
  const paid = row.usd_ausd === null ? cost : BigInt(row.usd_ausd);
  if (paid < cost) {
    throw paymentRequired("FIAT_PAYMENT_SHORT", `the payment of ${formatDecimal(paid)} USD does not cover plan ${plan.planId} at ${formatDecimal(cost)} USD`, {
      requiredUsd: formatDecimal(cost),
      paidUsd: formatDecimal(paid),
    });
  }
  const bought = await step(ctx.db, row.ref, "swap", () => exclusive(ctx, () => swap.provider.swap({ buyAmount: plan.price })));
  return setPayment(ctx.db, row.ref, {
    status: "swapped",
    in_flight: null,
    usd_ausd: paid.toString(),
    cxpt_wei: bought.cxptAmount.toString(),
    swap_tx_hash: lower(bought.txHash),
    last_error: null,
  });
}

/** The Vault reference of a fiat payment's deposit. */
const vaultRef = (paymentRef: string): Hex => keccak256(stringToHex(`fiat:${paymentRef}`));

/** swapped → activated: the operator deposits for the user and activates; booked with the payment. */
async function activateBought(ctx: AppContext, chain: ChainContext, operator: Signer, accountId: string, wallet: Address, row: FiatRow): Promise<FiatRow> {
  const { cxpt, vault, subscriptions } = chain.addresses;
  const activation = await step(
    ctx.db,
    row.ref,
    "activate",
    () =>
      exclusive(ctx, () =>
        activateForFiat({
          publicClient: chain.client,
          operator,
          contracts: { cxpt, vault, subscriptions },
          user: wallet,
          planId: BigInt(row.plan_id),
          ref: vaultRef(row.ref),
          ...(row.deposit_id === null ? {} : { depositId: BigInt(row.deposit_id) }),
          counter: ctx.monitor.metrics.chainTransactions,
        }),
      ),
    // The deposit went through, the activation did not: the next attempt spends this deposit.
    (error) =>
      error.code === "ACTIVATION_FAILED"
        ? { deposit_id: String(error.details!.depositId), deposit_tx_hash: lower(error.details!.depositTxHash as Hex | undefined) ?? row.deposit_tx_hash }
        : {},
  );
  return ctx.db.transaction(async (tx) => {
    const done = await setPayment(tx, row.ref, {
      status: "activated",
      in_flight: null,
      deposit_id: activation.depositId.toString(),
      deposit_tx_hash: lower(activation.depositTxHash) ?? row.deposit_tx_hash,
      activation_tx_hash: lower(activation.activationTxHash),
      pass_id: activation.passId.toString(),
      paid_wei: activation.price.toString(),
      burned_wei: activation.burned?.toString() ?? null,
      period_end: activation.periodEnd.toString(),
      last_error: null,
    });
    const payment = fiatPayment(done, true);
    await bookTransaction(tx, {
      accountId,
      type: "subscription_payment",
      status: "confirmed",
      amountWei: payment.amountWei,
      txHash: payment.txHash,
      ref: `pass:${payment.passId}`,
      details: { method: "fiat", kind: "activation", planId: payment.planId, passId: payment.passId, periodEnd: payment.periodEnd, burnedWei: payment.burnedWei, ...payment.fiat },
    });
    return done;
  });
}

/**
 * Activates `planId` for the user against fiat payment `paymentRef`: the plan's price is bought in
 * CXPT for the operator, deposited for the user in the Vault and spent on the plan; the activation
 * is booked and mirrored. Once per reference: a repeated request answers the recorded outcome
 * (`booked: false`), resumes a payment stopped after its swap without buying again (and with the
 * Vault deposit an earlier failed activation left), and is refused while another request works on
 * it. `usdAusd` is what the user paid; it must cover the plan's price (the quote when omitted).
 *
 * @throws AppError 409 `FEATURE_DISABLED` / `CHAIN_OFF` / `WALLET_NOT_LINKED`; 503
 * `FIAT_NOT_AVAILABLE` (see `requireTrustedFiat`), `OPERATOR_KEY_MISSING`;
 * 409 `PAYMENT_REF_REUSED`, `PAYMENT_IN_PROGRESS`, `PAYMENT_UNRESOLVED` (a step's outcome is
 * unknown: an operator reconciles it); 404 `PLAN_NOT_FOUND`, 409 `PLAN_INACTIVE`, 409
 * `PASS_ACTIVE`, 403 `SANCTIONED_ADDRESS`; 402 `FIAT_PAYMENT_SHORT`; the swap's (503
 * `SWAP_NO_LIQUIDITY`, 502 `SWAP_API_ERROR` / `SWAP_FAILED`) and activateForFiat's (502
 * `DEPOSIT_FAILED`, 502 `ACTIVATION_FAILED` with `details.depositId`, 503 `OPERATOR_UNDERFUNDED`,
 * 409 `DEPOSIT_UNUSABLE`).
 */
export async function payWithFiat(
  ctx: AppContext,
  account: Account,
  input: { planId: bigint; paymentRef: string; usdAusd?: bigint },
): Promise<PaymentOutcome> {
  const chain = requireChainFeature(ctx, "subscriptions");
  const wallet = requireWallet(account);
  requireTrustedFiat(chain);
  const operator = requireOperator(chain);
  const { claimed, row } = await claimPayment(ctx.db, { ref: input.paymentRef, accountId: account.id, planId: input.planId, usdAusd: input.usdAusd });
  if (!claimed) {
    if (row.status === "activated") return { payment: fiatPayment(row, false), status: await refreshMirror(ctx, chain, account.id, wallet) };
    throw paymentStuck(row);
  }
  try {
    if (row.in_flight !== null) {
      // The request that ran this step stopped without telling how it ended.
      throw paymentStuck(await setPayment(ctx.db, row.ref, { status: "unresolved" }));
    }
    const swapped = row.status === "pending" ? await buyPlanCxpt(ctx, chain, operator, wallet, row) : row;
    const done = await activateBought(ctx, chain, operator, account.id, wallet, swapped);
    return { payment: fiatPayment(done, true), status: await refreshMirror(ctx, chain, account.id, wallet) };
  } finally {
    await ctx.db.query("update fiat_payments set claimed_until = null where ref = $1", [row.ref]);
  }
}

/** 409 for a payment this request cannot work on. */
function paymentStuck(row: FiatRow): AppError {
  const details = { status: row.status, inFlight: row.in_flight, depositId: row.deposit_id, swapTxHash: row.swap_tx_hash };
  return row.status === "unresolved"
    ? conflict("PAYMENT_UNRESOLVED", `payment ${row.ref} stopped during its ${row.in_flight ?? "last"} step with an unknown outcome; an operator must reconcile it`, details)
    : conflict("PAYMENT_IN_PROGRESS", `payment ${row.ref} is being processed by another request; try again shortly`, details);
}

// ───────────────────────────── cancel ─────────────────────────────

/**
 * Turns renewal off for the user's pass (sent by the operator); the paid period runs out.
 * @throws AppError 409 `FEATURE_DISABLED` / `CHAIN_OFF` / `WALLET_NOT_LINKED`, 503
 * `OPERATOR_KEY_MISSING`, cancelFor's (404 `NO_PASS`, 409 `ALREADY_CANCELLED`, 502 `CANCEL_FAILED`).
 */
export async function cancelSubscription(ctx: AppContext, account: Account): Promise<{ txHash: Hex; status: SubscriptionStatus }> {
  const chain = requireChainFeature(ctx, "subscriptions");
  const wallet = requireWallet(account);
  const operator = requireOperator(chain);
  const { client: publicClient, addresses } = chain;
  const cancel = { publicClient, operator, subscriptions: addresses.subscriptions, user: wallet, counter: ctx.monitor.metrics.chainTransactions };
  const { txHash } = await exclusive(ctx, () => cancelFor(cancel));
  return { txHash, status: await refreshMirror(ctx, chain, account.id, wallet) };
}
