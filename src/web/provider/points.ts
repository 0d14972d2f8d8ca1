// How points and multipliers read for people. Points arrive × 10^4 (POINTS_SCALE) and multipliers
// in basis points, both as integer strings: they are divided only here, for display.
import { formatUnits } from "viem";

/** Scaled points (× 10^4) as points: "448.5", thousands grouped. */
export function formatPoints(scaled: string | bigint): string {
  const [whole, fraction] = formatUnits(BigInt(scaled), 4).split(".");
  return `${whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}${fraction ? `.${fraction}` : ""}`;
}

/** Basis points as a factor: 13000 → "×1.30", 13333 → "×1.3333". */
export function formatMultiplier(bps: string | bigint): string {
  const [whole, fraction = ""] = formatUnits(BigInt(bps), 4).split(".");
  return `×${whole}.${fraction.padEnd(2, "0")}`;
}
