// Display formatting. Amounts stay integer wei (bigint, or decimal strings from the API) until here.
import { formatUnits } from "viem";

/** The browser locale's way of writing numbers (Intl.NumberFormat: exact for bigint) and its decimal separator. */
const numbers = new Intl.NumberFormat();
const DECIMAL = numbers.formatToParts(1.5).find((p) => p.type === "decimal")?.value ?? ".";

/**
 * `wei` as CXPT for people, in the browser's locale ("99,750.5 CXPT", "99.750,5 CXPT"): the whole part
 * grouped by Intl.NumberFormat (exact: bigint), at most `decimals` fraction digits, never rounded up.
 */
export function formatCxpt(wei: bigint | string, decimals = 4): string {
  return formatToken(typeof wei === "bigint" ? wei : BigInt(wei), "CXPT", decimals);
}

/** `value` (in units of 10^-`unitDecimals`) as an amount of `symbol`, written as formatCxpt writes CXPT. */
export function formatToken(value: bigint, symbol: string, decimals = 4, unitDecimals = 18): string {
  const [whole, fraction = ""] = formatUnits(value < 0n ? -value : value, unitDecimals).split(".");
  const cut = fraction.slice(0, decimals).replace(/0+$/, "");
  return `${value < 0n ? "−" : ""}${numbers.format(BigInt(whole!))}${cut ? `${DECIMAL}${cut}` : ""} ${symbol}`;
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
