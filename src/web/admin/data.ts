// What the admin dashboard reads from the admin API, typed as the API answers it (amounts as
// decimal wei strings), and the React Query keys its pieces share, so one change refreshes the rest.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { Address, Hex } from "viem";
import { useApi, useSession } from "../lib/session.tsx";

export interface Split {
  readonly protocolBps: number;
  readonly providersBps: number;
  readonly usersBps: number;
}

export interface PlanView {
  readonly id: number;
  readonly priceWei: string;
  readonly periodSeconds: number;
  readonly bucketTokens: string;
  readonly requestsPerMinute: number;
  readonly concurrency: number;
  readonly active: boolean;
}

export type StageName = "off" | "testnet" | "mainnet";

/** The next epoch's shares upload, and when it can start (ISO times). */
export interface NextEpochReview {
  readonly epoch: number;
  readonly uploaded: boolean;
  readonly voided: boolean;
  readonly reviewDelaySeconds: number;
  readonly currentEndsAt: string;
  readonly reviewEndsAt: string | null;
  readonly startableAt: string;
}

/** GET /api/v1/admin/settings */
export interface AdminSettings {
  readonly stage: StageName;
  readonly phase: number;
  readonly features: Readonly<Record<string, boolean>>;
  readonly chain: {
    readonly chainId: number;
    readonly split: Split;
    readonly burnBps: number;
    readonly plans: readonly PlanView[];
    readonly protocolBalanceWei: string;
    readonly currentEpoch: number;
    readonly nextEpoch: NextEpochReview;
    readonly safe: Address;
    readonly timelock: Address;
  } | null;
}

/** What an admin change through the Safe and the timelock answered: executed (200) or only proposed (202). */
export type ChangeResult =
  | { readonly status: "executed"; readonly label: string; readonly txHashes: readonly Hex[]; readonly planId?: number }
  | { readonly status: "proposed"; readonly label: string; readonly reason: string };

export interface SafeTypedData {
  readonly domain: { readonly chainId: number; readonly verifyingContract: Address };
  readonly types: Readonly<Record<string, readonly { readonly name: string; readonly type: string }[]>>;
  readonly primaryType: "SafeTx";
  readonly message: {
    readonly to: Address;
    readonly value: string;
    readonly data: Hex;
    readonly operation: number;
    readonly safeTxGas: string;
    readonly baseGas: string;
    readonly gasPrice: string;
    readonly gasToken: Address;
    readonly refundReceiver: Address;
    readonly nonce: string;
  };
}

export interface Withdrawal {
  readonly id: string;
  readonly status: "proposed" | "executed" | "stale";
  readonly to: Address;
  readonly amountWei: string;
  readonly safeNonce: string;
  readonly safeTxHash: Hex;
  readonly confirmations: readonly { readonly owner: Address; readonly at: string }[];
  readonly threshold: number;
  readonly owners: readonly Address[];
  readonly typedData: SafeTypedData;
  readonly txHash: Hex | null;
  readonly proposedAt: string;
}

/** GET /api/v1/admin/protocol/withdrawals */
export interface Treasury {
  readonly safe: { readonly address: Address; readonly owners: readonly Address[]; readonly threshold: number; readonly nonce: string; readonly heldOwners: readonly Address[] };
  readonly protocolBalanceWei: string;
  readonly withdrawals: readonly Withdrawal[];
}

export interface PreviewRow {
  readonly line: number;
  readonly wallet: string;
  readonly pool: string;
  readonly points: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly receivesWei?: string;
}

export interface PoolPreview {
  readonly accounts: number;
  readonly points: string;
  readonly pendingFundingWei: string;
  readonly accruedShareWei: string;
  readonly budgetWei: string;
}

/** POST /api/v1/admin/rewards/points/preview */
export interface PointsPreview {
  readonly epoch: number;
  readonly ok: boolean;
  readonly basis: string;
  readonly problems: readonly { readonly line: number; readonly message: string }[];
  readonly rows: readonly PreviewRow[];
  readonly pools: { readonly providers: PoolPreview; readonly users: PoolPreview };
}

/** GET /api/v1/admin/rewards/points/:epoch/progress */
export interface UploadProgress {
  readonly epoch: number;
  readonly status: string | null;
  readonly rows: number;
  readonly uploaded: number;
  readonly done: boolean;
  readonly txHashes: readonly Hex[];
}

/** POST /api/v1/admin/rewards/points */
export interface UploadResult {
  readonly epoch: number;
  readonly rows: number;
  readonly sent: number;
  readonly unchanged: number;
  readonly txHashes: readonly Hex[];
}

export interface StageCheckItem {
  readonly contract: string;
  readonly check: string;
  readonly ok: boolean;
  readonly message: string;
}

/** POST /api/v1/admin/stage/check */
export interface StageCheck {
  readonly stage: StageName;
  readonly phase: number;
  readonly ok: boolean;
  readonly chainId: number | null;
  readonly checks: readonly StageCheckItem[];
}

export interface Alert {
  readonly id: string;
  readonly key: string;
  readonly kind: string;
  readonly severity: "warning" | "critical";
  readonly message: string;
  readonly count: number;
  readonly firstAt: string;
  readonly lastAt: string;
  readonly resolvedAt: string | null;
}

export type JobOutcome = "ok" | "failed" | "skipped";

/** One run of a job (GET /api/v1/admin/jobs, POST /api/v1/admin/jobs/:name/run) */
export interface JobRun {
  readonly id: string;
  readonly job: string;
  readonly trigger: "schedule" | "manual";
  readonly scheduledFor: string | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly outcome: JobOutcome | null;
  readonly summary: Readonly<Record<string, unknown>> | null;
  readonly error: string | null;
}

export interface Job {
  readonly name: string;
  readonly description: string;
  readonly schedule: string;
  readonly nextRunAt: string | null;
  readonly running: boolean;
  readonly runs: readonly JobRun[];
  readonly nextCursor: string | null;
}

/** GET /api/v1/admin/jobs */
export interface JobsView {
  readonly scheduler: "off" | "embedded" | "bullmq";
  readonly jobs: readonly Job[];
}

/** GET /api/v1/admin/audit entry */
export interface AuditEntry {
  readonly id: string;
  readonly actorId: string | null;
  readonly actorWallet: Address | null;
  readonly action: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly outcome: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
}

/** GET /api/v1/admin/accounts row */
export interface AdminAccount {
  readonly id: string;
  readonly kind: "user" | "provider";
  readonly role: "member" | "admin";
  readonly wallet: Address | null;
  readonly email: string | null;
  readonly creditsWei: string;
  readonly legacyCreditsAusd: string;
  readonly legacyDebtAusd: string;
  readonly keysSuspendedAt: string | null;
  readonly totalEarningsWei: string;
  readonly createdAt: string;
}

export const adminKeys = {
  settings: ["admin", "settings"] as const,
  jobs: ["admin", "jobs"] as const,
  treasury: ["admin", "treasury"] as const,
  alerts: (open: boolean) => ["admin", "alerts", open] as const,
  progress: (epoch: number) => ["admin", "progress", epoch] as const,
};

/** The stage, the features and the suite's economics; shared by every card. */
export function useSettings() {
  const api = useApi();
  const token = useSession().session?.token;
  return useQuery({ queryKey: [...adminKeys.settings, token], queryFn: () => api<AdminSettings>("/api/v1/admin/settings") });
}

/** Refreshes everything the admin dashboard shows (after a change on chain). */
export function useRefreshAdmin(): () => Promise<void> {
  const queries = useQueryClient();
  return () => queries.invalidateQueries({ queryKey: ["admin"] });
}

/** The message for an executed or proposed change. */
export function describeChange(result: ChangeResult): string {
  return result.status === "executed" ? `Done: ${result.label}.` : `Proposed to the Safe owners (${result.reason}): ${result.label}.`;
}
