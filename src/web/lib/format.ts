// Display formatting. Amounts stay integer wei (bigint, or decimal strings from the API) until here.
import { formatUnits } from "viem";

/** `wei` as CXPT for people: thousands grouped, at most `decimals` fraction digits, never rounded up. */
export function formatCxpt(wei: bigint | string, decimals = 4): string {
  const value = typeof wei === "bigint" ? wei : BigInt(wei);
  const [whole, fraction = ""] = formatUnits(value < 0n ? -value : value, 18).split(".");
  const grouped = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const cut = fraction.slice(0, decimals).replace(/0+$/, "");
  return `${value < 0n ? "−" : ""}${grouped}${cut ? `.${cut}` : ""} CXPT`;
}

/** 0x1234…abcd */
export const shortHex = (hex: string, chars = 4): string => (hex.length <= 2 + chars * 2 ? hex : `${hex.slice(0, 2 + chars)}…${hex.slice(-chars)}`);

/** An ISO time or unix seconds as a short local date and time. */
export function formatTime(at: string | number | bigint): string {
  const date = typeof at === "string" ? new Date(at) : new Date(Number(at) * 1000);
  return Number.isNaN(date.getTime()) ? "—" : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Basis points as a percentage ("12.5 %"). */
export const formatBps = (bps: bigint | number): string => `${(Number(bps) / 100).toLocaleString(undefined, { maximumFractionDigits: 2 })} %`;
