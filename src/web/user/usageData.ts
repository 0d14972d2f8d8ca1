// What the usage view reads (GET /api/v1/usage/…), typed as the API answers it (amounts as decimal
// wei strings, days and months UTC), and the shaping the view needs: days as columns of a chart.
import { formatUnits } from "viem";

export type Grouping = "total" | "key" | "model";

export interface UsageDay {
  readonly day: string;
  readonly group: string | null;
  readonly label: string | null;
  readonly requests: number;
  readonly tokens: string;
  readonly costWei: string;
  readonly bucketTokens: string;
  readonly creditsWei: string;
  readonly paygWei: string;
}

export interface UsageRequest {
  readonly requestId: string;
  readonly recordedAt: string;
  readonly key: { readonly id: string; readonly name: string } | null;
  readonly model: string;
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly costWei: string;
  readonly billedIn: "cxpt" | "legacy";
  readonly bucketTokens: string;
  readonly creditsWei: string;
  readonly paygWei: string;
  readonly legacyAusd: string;
  readonly batchId: string | null;
  readonly settledAt: string | null;
}

export interface StatementEntry {
  readonly at: string;
  readonly amountWei: string;
  readonly txHash: string | null;
  readonly status: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface Statement {
  readonly month: string;
  readonly deposits: readonly StatementEntry[];
  readonly planPayments: readonly StatementEntry[];
  readonly withdrawals: readonly StatementEntry[];
  readonly claims: readonly StatementEntry[];
  readonly usageByDay: readonly UsageDay[];
  readonly settlements: readonly {
    readonly batchId: string;
    readonly chainBatchId: string | null;
    readonly state: string;
    readonly amountWei: string;
    readonly leafStatus: string;
    readonly commitTx: string | null;
    readonly collectTx: string | null;
    readonly at: string;
    readonly proofPath: string;
  }[];
  readonly totals: {
    readonly depositsWei: string;
    readonly planPaymentsWei: string;
    readonly withdrawalsWei: string;
    readonly claimsWei: string;
    readonly requests: number;
    readonly tokens: string;
    readonly usageWei: string;
    readonly settledWei: string;
  };
}

/** How a request's charge was met, in words: "bucket", "credits", "PAYG", "legacy credits", or a mix. */
export function chargedTo(r: Pick<UsageRequest, "billedIn" | "bucketTokens" | "creditsWei" | "paygWei">): string {
  if (r.billedIn === "legacy") return "legacy credits";
  const parts = [BigInt(r.bucketTokens) > 0n && "bucket", BigInt(r.creditsWei) > 0n && "credits", BigInt(r.paygWei) > 0n && "PAYG"].filter(Boolean);
  return parts.length === 0 ? "free" : parts.join(" + ");
}

/** The last `count` months, newest first, as YYYY-MM (UTC). */
export function recentMonths(now: Date, count = 12): string[] {
  return Array.from({ length: count }, (_, i) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1)).toISOString().slice(0, 7));
}

/** A month (YYYY-MM) for people: "December 2026". */
export const monthName = (month: string): string => new Date(`${month}-01T00:00:00Z`).toLocaleDateString(undefined, { month: "long", year: "numeric", timeZone: "UTC" });

/**
 * The daily rows as chart columns: every day with usage, and one series per group (its cost in CXPT,
 * a display number for the chart only; the table shows the exact wei).
 */
export function chartColumns(days: readonly UsageDay[]): { days: string[]; series: { label: string; values: (number | null)[] }[] } {
  const dayList = [...new Set(days.map((d) => d.day))].sort();
  const groups = [...new Map(days.map((d) => [d.group ?? "", d.label ?? (d.group === null ? "Total" : "—")])).entries()];
  const series = groups.map(([group, label]) => ({
    label: label === "Total" ? "Cost (CXPT)" : label,
    values: dayList.map((day) => {
      const row = days.find((d) => d.day === day && (d.group ?? "") === group);
      return row ? Number(formatUnits(BigInt(row.costWei), 18)) : null;
    }),
  }));
  return { days: dayList, series };
}
