// The admin actions on the suite's economics (reward split, plans, burn rate) and the admin
// dashboard's read of them. Each change is a timelock call run through the Safe (./governance.ts):
// executed where the backend holds the owners' keys and the delay is zero, else proposed to the
// Safe owners. Every change is audited, and changes run one at a time per backend since they share
// the Safe's nonce and the backend keys' nonces.
import { parseEventLogs, type Address } from "viem";
import type { ChainContext } from "../app/chain.ts";
import { exclusive, requireChain } from "../app/guards.ts";
import type { AppContext } from "../app/context.ts";
import { distributorAbi, subscriptionsAbi, vaultAbi } from "../chain/abis.ts";
import { notFound } from "../errors.ts";
import { readNextEpochReview, type NextEpochReview } from "../rewards/review.ts";
import { features, type FeatureFlags, type Phase, type Stage } from "../stage/stage.ts";
import { readPlans, type Plan as ChainPlan } from "../subscriptions/chain.ts";
import { audited, type AuditOutcome } from "../audit/log.ts";
import {
  createPlanCall,
  setBurnRateCall,
  setSplitCall,
  submitAdminCall,
  updatePlanCall,
  type AdminCall,
  type AdminContext,
  type AdminResult,
  type Plan,
  type Split,
} from "./governance.ts";

/** The Safe, the timelock and the owner keys the backend holds (none in production). */
export function adminContextOf(chain: ChainContext): AdminContext {
  return { publicClient: chain.client, safe: chain.addresses.safe, timelock: chain.addresses.timelock, keys: chain.signers.safeOwners };
}

/** What an admin change did: AdminResult, and for a plan created now, its id. */
export type ChangeResult = AdminResult & { readonly planId?: bigint };

function outcomeOf(result: ChangeResult): AuditOutcome {
  if (result.status === "executed") {
    const { status, label, operationId, txHashes, planId } = result;
    return { status, label, operationId, txHashes, ...(planId === undefined ? {} : { planId }) };
  }
  return { status: result.status, label: result.proposal.label, operationId: result.proposal.id, reason: result.reason, proposal: result.text };
}

interface Change {
  readonly actorId: string | null;
  readonly action: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** The timelock call, built once the chain is known (it may read the chain). */
  readonly call: (chain: ChainContext) => AdminCall | Promise<AdminCall>;
  /** Reads what the executed change produced (a new plan's id). */
  readonly produced?: (chain: ChainContext, result: Extract<AdminResult, { status: "executed" }>) => Promise<{ planId: bigint }>;
}

/** Submits one change through the Safe and the timelock, audited; see the file comment. */
function change(ctx: AppContext, c: Change): Promise<ChangeResult> {
  return exclusive(ctx, () =>
    audited(ctx.db, c, async () => {
      const chain = requireChain(ctx);
      const submitted = await submitAdminCall(adminContextOf(chain), await c.call(chain));
      const result: ChangeResult = submitted.status === "executed" && c.produced ? { ...submitted, ...(await c.produced(chain, submitted)) } : submitted;
      return { result, outcome: outcomeOf(result) };
    }),
  );
}

/** Sets the reward split (basis points summing to 10,000; 400 `INVALID_SPLIT` otherwise). */
export function changeSplit(ctx: AppContext, actorId: string | null, split: Split): Promise<ChangeResult> {
  return change(ctx, { actorId, action: "set_split", params: { ...split }, call: (chain) => setSplitCall(chain.addresses.distributor, split) });
}

/** Sets the Vault's burn rate (0 to MAX_BURN_BPS; 400 `INVALID_BURN_RATE` otherwise). */
export function changeBurnRate(ctx: AppContext, actorId: string | null, burnBps: bigint): Promise<ChangeResult> {
  return change(ctx, { actorId, action: "set_burn_rate", params: { burnBps }, call: (chain) => setBurnRateCall(chain.addresses.vault, burnBps) });
}

/** Creates a plan (400 `INVALID_PLAN` naming every bad field); executed, the result carries its id. */
export function createPlan(ctx: AppContext, actorId: string | null, plan: Plan): Promise<ChangeResult> {
  return change(ctx, {
    actorId,
    action: "create_plan",
    params: { ...plan },
    call: (chain) => createPlanCall(chain.addresses.subscriptions, plan),
    async produced(chain, result) {
      // The execute transaction emitted PlanSet for the new plan.
      const receipt = await chain.client.getTransactionReceipt({ hash: result.txHashes[1] });
      const [event] = parseEventLogs({ abi: subscriptionsAbi, eventName: "PlanSet", logs: receipt.logs });
      return { planId: event!.args.planId };
    },
  });
}

/** The plan `planId` on chain, or 404 `PLAN_NOT_FOUND`. */
async function readPlan(chain: ChainContext, planId: bigint): Promise<Plan> {
  const at = { address: chain.addresses.subscriptions, abi: subscriptionsAbi } as const;
  const last = await chain.client.readContract({ ...at, functionName: "lastPlanId" });
  if (planId < 1n || planId > last) throw notFound("PLAN_NOT_FOUND", `there is no plan ${planId} (plans are 1 to ${last})`);
  return chain.client.readContract({ ...at, functionName: "planOf", args: [planId] });
}

/**
 * Changes the fields of plan `planId` given in `changes`, keeping the others as they are on chain
 * (404 `PLAN_NOT_FOUND`, 400 `INVALID_PLAN` for the resulting plan).
 */
export function updatePlan(ctx: AppContext, actorId: string | null, planId: bigint, changes: Partial<Plan>): Promise<ChangeResult> {
  return change(ctx, {
    actorId,
    action: "update_plan",
    params: { planId, ...changes },
    call: async (chain) => updatePlanCall(chain.addresses.subscriptions, planId, { ...(await readPlan(chain, planId)), ...changes }),
  });
}

/** The suite's economics as they are on chain now. */
export interface ChainSettings {
  readonly chainId: number;
  readonly split: Split;
  readonly burnBps: bigint;
  /** Every plan, inactive ones included. */
  readonly plans: readonly ChainPlan[];
  /** The protocol's share of the rewards, withdrawable by the treasurer (the Safe). */
  readonly protocolBalance: bigint;
  /** Points go to the epoch after this one. */
  readonly currentEpoch: bigint;
  /** The next epoch's shares upload: its review delay and when it can start. */
  readonly nextEpoch: NextEpochReview;
  readonly safe: Address;
  readonly timelock: Address;
}

/** What the admin dashboard shows: the stage, its features and, with the chain on, the economics. */
export interface AdminSettings {
  readonly stage: Stage;
  readonly phase: Phase;
  readonly features: FeatureFlags;
  /** Null while the chain is off. */
  readonly chain: ChainSettings | null;
}

async function readChainSettings(chain: ChainContext): Promise<ChainSettings> {
  const { client, addresses } = chain;
  const distributor = { address: addresses.distributor, abi: distributorAbi } as const;
  const [[protocol, providers, users], burnBps, plans, protocolBalance, nextEpoch] = await Promise.all([
    client.readContract({ ...distributor, functionName: "split" }),
    client.readContract({ address: addresses.vault, abi: vaultAbi, functionName: "burnBps" }),
    readPlans(client, addresses.subscriptions),
    client.readContract({ ...distributor, functionName: "protocolBalance" }),
    readNextEpochReview(client, addresses.distributor),
  ]);
  return {
    chainId: chain.chainId,
    split: { protocol, providers, users },
    burnBps,
    plans,
    protocolBalance,
    currentEpoch: nextEpoch.epoch - 1n,
    nextEpoch,
    safe: addresses.safe,
    timelock: addresses.timelock,
  };
}

/** The admin dashboard's settings (see AdminSettings). */
export async function readAdminSettings(ctx: AppContext): Promise<AdminSettings> {
  const { stage, phase } = ctx.stage;
  const { stage: _stage, phase: _phase, ...flags } = features(stage, phase);
  return { stage, phase, features: flags, chain: ctx.chain ? await readChainSettings(ctx.chain) : null };
}
