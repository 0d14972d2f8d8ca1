// What the provider dashboard reads from the API, typed as the API answers it (amounts as decimal
// wei strings, points × 10^4), and the React Query keys its pieces share, so a claim refreshes them all.
import { useQuery } from "@tanstack/react-query";
import type { Address } from "viem";
import { useApi, useSession } from "../lib/session.tsx";

export interface EpochEarnings {
  readonly epoch: number;
  readonly start: string;
  readonly end: string;
  readonly points: string;
  readonly totalPoints: string;
  readonly budgetWei: string;
  readonly entitlementWei: string;
  readonly releasedWei: string;
  readonly folded: boolean;
}

export type Multiplier = "uptime" | "latency" | "demand";

export interface PointsBreakdown {
  readonly epoch: number;
  readonly from: string;
  readonly to: string;
  readonly tiers: readonly { readonly tier: string; readonly requests: string; readonly basePoints: string }[];
  readonly basePoints: string;
  readonly steps: readonly { readonly multiplier: Multiplier; readonly bps: string; readonly points: string }[];
  readonly points: string;
  readonly uploadedPoints: string;
}

export interface Performance {
  readonly from: string;
  readonly to: string;
  readonly uptimeBps: number | null;
  readonly p50LatencyMs: number | null;
  readonly servedRequests: string;
}

/** GET /api/v1/rewards/earnings */
export interface Earnings {
  readonly wallet: Address;
  readonly pool: "providers" | "users";
  readonly pendingWei: string;
  readonly poolPendingWei: string;
  readonly claimedWei: string;
  readonly currentEpoch: number;
  readonly epochs: readonly EpochEarnings[];
  readonly pointsBreakdown: PointsBreakdown | null;
  readonly performance: Performance | null;
}

/** GET /api/v1/tokens/balance */
export interface TokenBalance {
  readonly wallet: Address | null;
  readonly onchain: { readonly balanceWei: string; readonly allowanceToVaultWei: string; readonly paygCapacityWei: string } | null;
  readonly creditsWei: string;
}

/** Query keys of the provider dashboard; all start with "provider" so a claim can refresh them at once. */
export const providerKeys = {
  all: ["provider"] as const,
  earnings: (token: string | undefined) => ["provider", "earnings", token] as const,
  balance: (token: string | undefined) => ["provider", "balance", token] as const,
  history: (token: string | undefined, path: string) => ["provider", "history", token, path] as const,
};

/** The signed-in account's earnings (the last 12 epochs). */
export function useEarnings() {
  const api = useApi();
  const token = useSession().session?.token;
  return useQuery({ queryKey: providerKeys.earnings(token), queryFn: () => api<Earnings>("/api/v1/rewards/earnings") });
}

/** The signed-in account's balances. */
export function useTokenBalance() {
  const api = useApi();
  const token = useSession().session?.token;
  return useQuery({ queryKey: providerKeys.balance(token), queryFn: () => api<TokenBalance>("/api/v1/tokens/balance") });
}
