// What the subscription card reads from the API, typed as the API answers it (wei and token counts
// as decimal strings), and its React Query keys.
import { useQuery } from "@tanstack/react-query";
import type { Address, Hash } from "viem";
import { useApi, useSession } from "../lib/session.tsx";

/** One plan of GET /api/v1/subscriptions/plans. */
export interface PlanView {
  readonly id: number;
  readonly name: string | null;
  readonly priceWei: string;
  readonly priceUsd: string;
  readonly periodSeconds: number;
  readonly bucketTokens: string;
  readonly requestsPerMinute: number;
  readonly concurrency: number;
  readonly active: boolean;
}

export interface PlansView {
  readonly cxptUsd: string;
  readonly plans: readonly PlanView[];
}

/** GET /api/v1/subscriptions/status */
export interface SubscriptionStatus {
  readonly wallet: Address;
  readonly subscribed: boolean;
  readonly active: boolean;
  readonly planId: number | null;
  readonly planName: string | null;
  readonly passId: string | null;
  readonly periodEnd: string | null;
  readonly autoRenew: boolean;
  readonly cancelled: boolean;
  readonly bucketRemaining: string;
  readonly overageRemaining: string;
  readonly overageUsed: string;
  readonly unsettledBucketTokens: string;
  readonly usableTokens: string;
  readonly tranches: readonly { readonly tokens: string; readonly expiresAt: string }[];
}

/** The answer of POST /api/v1/subscriptions/create and /api/pay/subscription. */
export interface PaymentOutcome {
  readonly payment: { readonly method: "cxpt" | "fiat"; readonly txHash: Hash; readonly amountWei: string; readonly periodEnd: string };
  readonly subscription: SubscriptionStatus;
}

/** A plan's name for people: the published one, else its number. */
export const planTitle = (plan: { readonly id: number; readonly name: string | null }): string => plan.name ?? `Plan ${plan.id}`;

export const subscriptionKeys = {
  plans: ["subscription", "plans"] as const,
  status: (token: string | undefined) => ["subscription", "status", token] as const,
};

/** The plans on sale (public). */
export function usePlans() {
  const api = useApi();
  return useQuery({ queryKey: subscriptionKeys.plans, queryFn: () => api<PlansView>("/api/v1/subscriptions/plans") });
}

/** The signed-in wallet's pass, read from the chain by the API. */
export function useSubscriptionStatus() {
  const api = useApi();
  const token = useSession().session?.token;
  return useQuery({ queryKey: subscriptionKeys.status(token), queryFn: () => api<SubscriptionStatus>("/api/v1/subscriptions/status") });
}
