// Admin actions on the suite. Every contract's DEFAULT_ADMIN_ROLE is the CxpProxyAdmin timelock,
// which only the Safe drives, so an admin action is a timelock operation: the Safe schedules it,
// waits the delay, then executes it. Where the backend holds enough Safe owner keys and the
// delay is 0 (a local chain: three development keys own a 2-of-3 Safe) it does both now;
// otherwise (production) it returns the exact proposal for the Safe owners and runs nothing.
import {
  BaseError,
  encodeFunctionData,
  isAddressEqual,
  toHex,
  type Address,
  type Hash,
  type Hex,
  type PublicClient,
} from "viem";
import { randomBytes } from "node:crypto";
import type { OnchainPlan } from "../../deploy/config.ts";
import { distributorAbi, safeAbi, subscriptionsAbi, timelockAbi, vaultAbi } from "../chain/abis.ts";
import { revertData, revertOf } from "../chain/errors.ts";
import type { Signer } from "../chain/safe.ts";
import {
  executeViaSafe,
  formatProposal,
  operationId,
  scheduleViaSafe,
  timelockOperation,
  timelockProposal,
  type TimelockProposal,
} from "../chain/timelock.ts";
import { AppError, badRequest } from "../errors.ts";

/** One call the timelock makes on a suite contract. */
export interface AdminCall {
  /** What it does, for people ("RewardDistributor: split 30/55/15"). */
  readonly label: string;
  readonly target: Address;
  readonly data: Hex;
}

/** Reward split in basis points; the three sum to 10,000. */
export interface Split {
  readonly protocol: bigint;
  readonly providers: bigint;
  readonly users: bigint;
}

/** A subscription plan as SubscriptionManager stores it (price in CXPT wei, period in seconds). */
export type Plan = OnchainPlan;

/** Vault.MAX_BURN_BPS: the burn can never exceed 10 %. */
export const MAX_BURN_BPS = 1_000n;
/** SubscriptionManager.RENEWAL_WINDOW: the shortest plan period the contract accepts. */
export const MIN_PLAN_PERIOD = 86_400;
const BPS = 10_000n;
const MAX_UINT32 = 2 ** 32 - 1;
const MAX_UINT96 = 2n ** 96n - 1n;
const MAX_UINT128 = 2n ** 128n - 1n;

const isUint = (value: unknown, max: bigint): value is bigint => typeof value === "bigint" && value >= 0n && value <= max;
const isUint32 = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= MAX_UINT32;

// ───────────────────────────── validation ─────────────────────────────

/** Throws 400 `INVALID_SPLIT` unless the three shares are non-negative integers summing to 10,000 bps. */
export function assertSplit(split: Split): void {
  const parts = [split.protocol, split.providers, split.users];
  if (!parts.every((part) => isUint(part, BPS))) {
    throw badRequest("INVALID_SPLIT", "split shares must be integers between 0 and 10000 basis points");
  }
  const sum = parts.reduce((a, b) => a + b, 0n);
  if (sum !== BPS) throw badRequest("INVALID_SPLIT", `split must sum to 10000 basis points, got ${parts.join(" + ")} = ${sum}`);
}

/** Throws 400 `INVALID_BURN_RATE` unless 0 ≤ `burnBps` ≤ MAX_BURN_BPS. */
export function assertBurnRate(burnBps: bigint): void {
  if (!isUint(burnBps, MAX_BURN_BPS)) {
    throw badRequest("INVALID_BURN_RATE", `burn rate must be an integer between 0 and ${MAX_BURN_BPS} basis points, got ${String(burnBps)}`);
  }
}

/** Throws 400 `INVALID_PLAN` naming every field the contract would refuse or that makes no sense. */
export function assertPlan(plan: Plan): void {
  const errors: string[] = [];
  if (!isUint(plan.price, MAX_UINT128) || plan.price === 0n) errors.push("price must be a positive amount of CXPT wei (uint128)");
  if (!isUint32(plan.period) || plan.period < MIN_PLAN_PERIOD) errors.push(`period must be whole seconds, at least ${MIN_PLAN_PERIOD} (one day)`);
  if (!isUint(plan.bucket, MAX_UINT96) || plan.bucket === 0n) errors.push("bucket must be a positive number of tokens (uint96)");
  if (!isUint32(plan.requestsPerMinute) || plan.requestsPerMinute === 0) errors.push("requestsPerMinute must be a positive integer (uint32)");
  if (!isUint32(plan.concurrency) || plan.concurrency === 0) errors.push("concurrency must be a positive integer (uint32)");
  if (typeof plan.active !== "boolean") errors.push("active must be true or false");
  if (errors.length > 0) throw badRequest("INVALID_PLAN", `invalid plan: ${errors.join("; ")}`, { errors });
}

// ───────────────────────────── calls ─────────────────────────────

/** RewardDistributor.setSplit, validated. */
export function setSplitCall(distributor: Address, split: Split): AdminCall {
  assertSplit(split);
  return {
    label: `RewardDistributor: split protocol/providers/users ${split.protocol}/${split.providers}/${split.users} bps`,
    target: distributor,
    data: encodeFunctionData({ abi: distributorAbi, functionName: "setSplit", args: [split.protocol, split.providers, split.users] }),
  };
}

/** SubscriptionManager.createPlan, validated (the new plan takes id lastPlanId + 1). */
export function createPlanCall(subscriptions: Address, plan: Plan): AdminCall {
  assertPlan(plan);
  return {
    label: `SubscriptionManager: create plan (${describePlan(plan)})`,
    target: subscriptions,
    data: encodeFunctionData({ abi: subscriptionsAbi, functionName: "createPlan", args: [plan] }),
  };
}

/** SubscriptionManager.updatePlan, validated. */
export function updatePlanCall(subscriptions: Address, planId: bigint, plan: Plan): AdminCall {
  if (!isUint(planId, BigInt(MAX_UINT32)) || planId === 0n) throw badRequest("INVALID_PLAN", `plan id must be a positive integer, got ${String(planId)}`);
  assertPlan(plan);
  return {
    label: `SubscriptionManager: update plan ${planId} (${describePlan(plan)})`,
    target: subscriptions,
    data: encodeFunctionData({ abi: subscriptionsAbi, functionName: "updatePlan", args: [planId, plan] }),
  };
}

/** Vault.setBurnRate, validated. */
export function setBurnRateCall(vault: Address, burnBps: bigint): AdminCall {
  assertBurnRate(burnBps);
  return {
    label: `Vault: burn rate ${burnBps} bps`,
    target: vault,
    data: encodeFunctionData({ abi: vaultAbi, functionName: "setBurnRate", args: [burnBps] }),
  };
}

function describePlan(plan: Plan): string {
  const state = plan.active ? "active" : "inactive";
  return `${plan.price} wei per ${plan.period} s, bucket ${plan.bucket}, ${plan.requestsPerMinute} rpm, concurrency ${plan.concurrency}, ${state}`;
}

// ───────────────────────────── submission ─────────────────────────────

/** The governance contracts and the keys the backend holds. */
export interface AdminContext {
  readonly publicClient: PublicClient;
  readonly safe: Address;
  readonly timelock: Address;
  /** Every key the backend holds; those among the Safe's owners sign (none in production). */
  readonly keys: readonly Signer[];
  /** Submits the Safe transactions and pays their gas; the first signing owner by default. */
  readonly executor?: Signer;
}

export type AdminResult =
  | {
      readonly status: "executed";
      readonly label: string;
      readonly operationId: Hex;
      /** The Safe's schedule transaction, then its execute transaction. */
      readonly txHashes: readonly [Hash, Hash];
    }
  | {
      readonly status: "proposed";
      /** Why the backend did not run it. */
      readonly reason: string;
      readonly proposal: TimelockProposal;
      /** `formatProposal(proposal)`: the two Safe transactions, exactly. */
      readonly text: string;
    };

export interface SubmitOptions {
  /** The timelock operation's salt; random by default, so the same change can be made again later. */
  readonly salt?: Hex;
}

/** The revert of a failed call, by error name when the suite's ABIs know it. */
export function revertReason(error: unknown): string {
  if (!(error instanceof BaseError)) return String(error);
  const revert = revertOf(error);
  if (revert !== undefined && revert.name !== "revert") return revert.text;
  const data = revertData(error);
  return data !== undefined && data.length >= 10 ? `revert data ${data}` : (revert?.text ?? error.shortMessage);
}

/**
 * Runs `call` through the Safe and the timelock when the backend can (enough owner keys among
 * `ctx.keys` and a zero delay): schedules, executes and returns both transaction hashes.
 * Otherwise returns the exact proposal for the Safe owners without sending anything. Either way
 * the call is first simulated as the timelock: a call that would revert (the timelock is not
 * admin, an unknown plan, …) throws AppError 422 `ADMIN_CALL_REVERTS` and nothing is proposed.
 */
export async function submitAdminCall(ctx: AdminContext, call: AdminCall, options: SubmitOptions = {}): Promise<AdminResult> {
  const { publicClient, safe, timelock } = ctx;
  const [owners, threshold, delay] = await Promise.all([
    publicClient.readContract({ address: safe, abi: safeAbi, functionName: "getOwners" }),
    publicClient.readContract({ address: safe, abi: safeAbi, functionName: "getThreshold" }),
    publicClient.readContract({ address: timelock, abi: timelockAbi, functionName: "getMinDelay" }),
    publicClient.call({ account: timelock, to: call.target, data: call.data }).catch((error: unknown) => {
      throw new AppError("ADMIN_CALL_REVERTS", `${call.label}: the call reverts when the timelock makes it: ${revertReason(error)}`, 422);
    }),
  ]);

  const op = timelockOperation(call.target, call.data, { salt: options.salt ?? toHex(randomBytes(32)) });
  const signers = ctx.keys.filter((key, i) =>
    owners.some((owner) => isAddressEqual(owner, key.account.address)) &&
    ctx.keys.findIndex((other) => isAddressEqual(other.account.address, key.account.address)) === i,
  );
  const needed = Number(threshold);

  if (signers.length >= needed && delay === 0n) {
    const governance = { publicClient, safe, timelock, owners: signers.slice(0, needed), executor: ctx.executor };
    const scheduled = await scheduleViaSafe(governance, op, delay);
    const executed = await executeViaSafe(governance, op);
    return { status: "executed", label: call.label, operationId: operationId(op), txHashes: [scheduled, executed] };
  }

  const proposal = timelockProposal(call.label, timelock, op, delay);
  const reason = signers.length < needed
    ? `the backend holds ${signers.length} of the ${needed} Safe owner signatures needed`
    : `the timelock delay is ${delay} s: the Safe schedules now and executes once it has passed`;
  return { status: "proposed", reason, proposal, text: formatProposal(proposal) };
}
