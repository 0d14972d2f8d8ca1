// The chain stage and migration phase as feature gates (the seeds' migration timeline):
//
//   phase 0  contracts deployed; CXPT faucet (testnet only)
//   phase 1  deposits and claims in the dashboards
//   phase 2  PAYG billed in CXPT
//   phase 3  subscriptions (and the burn) on
//
// Phases are cumulative. Legacy off-chain credits stay the billing path until phase 2 is
// complete: they are billed exactly while PAYG in CXPT is off, and always when the chain is off.
// Mainnet walks the same phases as testnet (its timeline column is audit → launch → governance,
// which gates nothing in the backend); only the faucet is testnet-only.
//
// Chain ids: mainnet is peaq (3338); testnet is peaq agung (9990) or a local node (31337).
import { AppError, conflict } from "../errors.ts";

export const STAGES = ["off", "testnet", "mainnet"] as const;
export type Stage = (typeof STAGES)[number];

export const PHASES = [0, 1, 2, 3] as const;
export type Phase = (typeof PHASES)[number];

/** Where the backend stands: `CHAIN_STAGE` and `CHAIN_PHASE`. */
export interface StageSettings {
  readonly stage: Stage;
  /** Meaningless (and ignored) when the stage is "off". */
  readonly phase: Phase;
}

/** Chain ids each stage accepts: peaq mainnet; peaq agung or a local node. */
export const STAGE_CHAIN_IDS: Readonly<Record<Exclude<Stage, "off">, readonly number[]>> = {
  mainnet: [3338],
  testnet: [9990, 31337],
};

type Env = Readonly<Record<string, string | undefined>>;

const invalidConfig = (message: string) => new AppError("INVALID_CONFIG", message, 500);

const isStage = (value: string): value is Stage => (STAGES as readonly string[]).includes(value);

/**
 * `CHAIN_STAGE` (off | testnet | mainnet) and `CHAIN_PHASE` (0–3) from the environment; each one
 * that is unset or empty takes its value from `defaults` (off, phase 0 unless given). Throws
 * AppError 500 `INVALID_CONFIG` on any other value.
 */
export function parseStage(env: Env, defaults: Partial<StageSettings> = {}): StageSettings {
  const stageText = env.CHAIN_STAGE?.trim().toLowerCase();
  const phaseText = env.CHAIN_PHASE?.trim();
  let stage: Stage = defaults.stage ?? "off";
  if (stageText) {
    if (!isStage(stageText)) throw invalidConfig(`CHAIN_STAGE must be one of ${STAGES.join(", ")}, got "${env.CHAIN_STAGE}"`);
    stage = stageText;
  }
  let phase: Phase = defaults.phase ?? 0;
  if (phaseText) {
    const found = PHASES.find((p) => String(p) === phaseText);
    if (found === undefined) throw invalidConfig(`CHAIN_PHASE must be one of ${PHASES.join(", ")}, got "${env.CHAIN_PHASE}"`);
    phase = found;
  }
  return { stage, phase };
}

/**
 * Throws AppError 500 `INVALID_CONFIG` unless `chainId` belongs to `stage` (see STAGE_CHAIN_IDS;
 * any chain is accepted when the stage is off, since none is used).
 */
export function assertStageChain(stage: Stage, chainId: number): void {
  if (stage === "off") return;
  const allowed = STAGE_CHAIN_IDS[stage];
  if (!allowed.includes(chainId)) {
    throw invalidConfig(`CHAIN_STAGE ${stage} needs chain id ${allowed.join(" or ")}, but the chain is ${chainId}`);
  }
}

/** What the backend offers at one stage and phase. */
export interface FeatureFlags {
  /** CXPT deposits into the Vault from the dashboards. */
  readonly deposits: boolean;
  /** Reward claims (direct or relayed) from the dashboards. */
  readonly claims: boolean;
  /** Pay-as-you-go usage billed in CXPT (metered, settled through UsageBilling). */
  readonly paygInCxpt: boolean;
  /** Subscription plans paid in CXPT. */
  readonly subscriptions: boolean;
  /** Test CXPT handed out on request. */
  readonly faucet: boolean;
  /** Usage billed from the legacy off-chain credits. */
  readonly legacyCredits: boolean;
}

export type FeatureName = keyof FeatureFlags;

/** The flags with the stage and phase they were computed for. */
export interface Features extends FeatureFlags, StageSettings {}

/** The first phase each on-chain feature is on (the faucet: from phase 0, testnet only). */
const FIRST_PHASE = { deposits: 1, claims: 1, paygInCxpt: 2, subscriptions: 3, faucet: 0 } as const satisfies Record<
  Exclude<FeatureName, "legacyCredits">,
  Phase
>;

/** The feature table for `stage` at `phase` (see the file comment). */
export function features(stage: Stage, phase: Phase): Features {
  const on = stage !== "off";
  const from = (first: Phase) => on && phase >= first;
  const paygInCxpt = from(FIRST_PHASE.paygInCxpt);
  return {
    stage,
    phase,
    deposits: from(FIRST_PHASE.deposits),
    claims: from(FIRST_PHASE.claims),
    paygInCxpt,
    subscriptions: from(FIRST_PHASE.subscriptions),
    faucet: stage === "testnet" && from(FIRST_PHASE.faucet),
    legacyCredits: !paygInCxpt,
  };
}

/** Where `name` is available, for messages. */
function whereOn(name: FeatureName): string {
  if (name === "legacyCredits") return `CHAIN_STAGE off, or testnet/mainnet before phase ${FIRST_PHASE.paygInCxpt}`;
  if (name === "faucet") return "CHAIN_STAGE testnet (any phase)";
  return `CHAIN_STAGE testnet or mainnet at phase ${FIRST_PHASE[name]} or later`;
}

/**
 * Throws AppError 409 `FEATURE_DISABLED` unless `name` is on in `f`; the message names the
 * current stage and phase and what the feature needs.
 */
export function requireFeature(f: Features, name: FeatureName): void {
  if (f[name]) return;
  const now = f.stage === "off" ? "the chain is off" : `the chain is at ${f.stage} phase ${f.phase}`;
  throw conflict("FEATURE_DISABLED", `${name} is disabled: ${now}; it needs ${whereOn(name)}`, {
    feature: name,
    stage: f.stage,
    phase: f.phase,
  });
}
