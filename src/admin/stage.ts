// The admin's stage switch: CHAIN_STAGE and the migration phase at runtime. A switch onto a chain
// first connects to it and validates the deployment there (code, identities, wiring, roles, keys);
// only a valid deployment changes anything: the setting is saved (it survives a restart until the
// configuration itself changes) and the backend's stage and chain are swapped in place.
import { BaseError } from "viem";
import { checkChain, connectChain, type ChainContext } from "../app/chain.ts";
import type { AppContext } from "../app/context.ts";
import { saveStage } from "../app/settings.ts";
import { AppError, badRequest, conflict } from "../errors.ts";
import { features, PHASES, STAGES, type Features, type StageSettings } from "../stage/stage.ts";
import { audited } from "../audit/log.ts";
import { exclusive } from "../app/guards.ts";
import type { Check } from "../stage/validate.ts";

/**
 * The backend as the switch needs it: how createApp reached the chain (the transport and the
 * addresses it was given) so the switch connects the same way; the configuration alone otherwise.
 */
export type SwitchableContext = AppContext;

export interface StageSwitch {
  readonly previous: StageSettings;
  /** The stage and phase now, with their features. */
  readonly current: Features;
  /** The chain connected now; null with the stage off. */
  readonly chainId: number | null;
}

function assertStageSettings(target: StageSettings): void {
  if (!(STAGES as readonly string[]).includes(target.stage)) {
    throw badRequest("INVALID_STAGE", `stage must be one of ${STAGES.join(", ")}, got "${target.stage}"`);
  }
  if (!(PHASES as readonly number[]).includes(target.phase)) {
    throw badRequest("INVALID_PHASE", `phase must be one of ${PHASES.join(", ")}, got ${target.phase}`);
  }
}

/**
 * The chain for `target`: none when off, the connected one when the stage stays, else a new
 * connection, validated. A configuration the switch cannot use answers 422 with the reason
 * (`INVALID_DEPLOYMENT` naming every problem, `INVALID_CONFIG` for a chain id that does not fit);
 * an unreachable RPC 502 `CHAIN_UNREACHABLE`.
 */
async function chainFor(ctx: SwitchableContext, target: StageSettings): Promise<ChainContext | undefined> {
  if (target.stage === "off") return undefined;
  if (target.stage === ctx.stage.stage && ctx.chain !== undefined) return ctx.chain;
  return onChainOf(target, () => connectChain(ctx.config, target.stage, ctx.connectOptions));
}

/** Runs `work` on the chain of `target`, its failures as the switch reports them (see chainFor). */
async function onChainOf<T>(target: StageSettings, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    // connectChain reports a bad configuration as a server error (it stops a start); here the
    // server is fine and only the requested switch is impossible.
    if (error instanceof AppError) throw error.status >= 500 ? new AppError(error.code, error.message, 422, error.details as Record<string, unknown> | undefined) : error;
    const reason = error instanceof BaseError ? error.shortMessage : String(error);
    throw new AppError("CHAIN_UNREACHABLE", `cannot reach the chain for ${target.stage}: ${reason}`, 502);
  }
}

/** The stage check: every check the switch to `target` makes, with its result. */
export interface StageCheck {
  readonly stage: StageSettings["stage"];
  readonly phase: StageSettings["phase"];
  /** Every check passed: the switch would go through (the stage off has nothing to check). */
  readonly ok: boolean;
  /** The chain checked; null for the stage off. */
  readonly chainId: number | null;
  readonly checks: readonly Check[];
}

/**
 * Runs the validation a switch to `target` runs (connecting to its chain, even when it is the
 * current one) and reports every check with its result; changes nothing and is not audited.
 * 400 `INVALID_STAGE` / `INVALID_PHASE`; 409 `STAGE_DOWNGRADE` for mainnet → testnet; 422
 * `INVALID_CONFIG` when the chain cannot be used at all; 502 `CHAIN_UNREACHABLE`.
 */
export async function checkStage(ctx: SwitchableContext, target: StageSettings): Promise<StageCheck> {
  assertStageSettings(target);
  assertNoDowngrade(ctx.stage, target);
  if (target.stage === "off") return { ...target, ok: true, chainId: null, checks: [] };
  const report = await onChainOf(target, () => checkChain(ctx.config, target.stage, ctx.connectOptions));
  return { ...target, ok: report.ok, chainId: report.chainId, checks: report.checks };
}

/** 409 `STAGE_DOWNGRADE` for mainnet → testnet (see switchStage). */
function assertNoDowngrade(current: StageSettings, target: StageSettings): void {
  if (current.stage === "mainnet" && target.stage === "testnet") {
    throw conflict(
      "STAGE_DOWNGRADE",
      "the backend cannot go from mainnet back to testnet: mainnet balances are real and testnet bills in test tokens; switch to off (legacy credits) instead, or change CHAIN_STAGE in the configuration",
    );
  }
}

/**
 * Switches the backend to `target` (stage and phase), audited. Refuses mainnet → testnet (409
 * `STAGE_DOWNGRADE`): mainnet balances are real, and testnet would bill against test tokens; the
 * way back from mainnet is off (legacy credits) or a new configuration. Phases may go back, to
 * roll a feature back. Switching to off drops the chain connection.
 */
export function switchStage(ctx: SwitchableContext, actorId: string | null, target: StageSettings): Promise<StageSwitch> {
  return exclusive(ctx, () =>
    audited(ctx.db, { actorId, action: "switch_stage", params: { from: { ...ctx.stage }, to: target } }, async () => {
      assertStageSettings(target);
      const previous: StageSettings = { ...ctx.stage };
      assertNoDowngrade(previous, target);
      const chain = await chainFor(ctx, target);
      await saveStage(ctx.db, { stage: ctx.config.chain.stage, phase: ctx.config.chain.phase }, target);
      ctx.stage.stage = target.stage;
      ctx.stage.phase = target.phase;
      ctx.chain = chain;
      await ctx.chainChanged();
      const result: StageSwitch = { previous, current: features(target.stage, target.phase), chainId: chain?.chainId ?? null };
      return { result, outcome: { status: "executed", previous, current: target, chainId: result.chainId } };
    }),
  );
}
