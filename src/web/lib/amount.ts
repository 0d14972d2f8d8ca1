// Amounts typed by people: the locale's decimal separator accepted ("12,5" where the locale writes a
// comma), thousands separators allowed where they are unambiguous, then parsed exactly to wei.
import { parseUnits } from "viem";

/** A CXPT amount typed by a person: its wei, or why it is not an amount. */
export type ParsedAmount = { readonly wei: bigint; readonly error?: undefined } | { readonly wei?: undefined; readonly error: string };

/** The decimal separator of `locale` (the browser's by default): "." or ",". */
export function localeDecimal(locale?: string): "." | "," {
  const part = new Intl.NumberFormat(locale).formatToParts(1.5).find((p) => p.type === "decimal")?.value;
  return part === "," ? "," : ".";
}

/**
 * `text` as a plain decimal with a point, or undefined when it is not a number: with `decimal` ",",
 * "1.234,5" and "1 234,5" are 1234.5; with ".", "1,234.5" is 1234.5 and "12,5" is no number (a comma
 * there would be a mistyped grouping or decimal: better refused than guessed).
 */
export function normalizeDecimal(text: string, decimal: "." | "," = localeDecimal()): string | undefined {
  const value = text.trim().replace(/[\s\u00a0\u202f']/g, "");
  if (decimal === ",") {
    if (/^\d{1,3}(\.\d{3})+(,\d*)?$/.test(value)) return value.replaceAll(".", "").replace(",", ".");
    if (/^(\d+(,\d*)?|,\d+)$/.test(value)) return value.replace(",", ".");
    return /^(\d+(\.\d*)?|\.\d+)$/.test(value) ? value : undefined;
  }
  if (/^\d{1,3}(,\d{3})+(\.\d*)?$/.test(value)) return value.replaceAll(",", "");
  return /^(\d+(\.\d*)?|\.\d+)$/.test(value) ? value : undefined;
}

/**
 * Parses a decimal CXPT amount ("12.5", "12,5") into wei with viem's parseUnits, after checking it is a
 * plain decimal with at most 18 fraction digits; zero is refused unless `allowZero`.
 */
export function parseCxptAmount(text: string, { allowZero = false, decimal }: { allowZero?: boolean; decimal?: "." | "," } = {}): ParsedAmount {
  if (text.trim() === "") return { error: "Enter an amount of CXPT." };
  const value = normalizeDecimal(text, decimal);
  if (value === undefined) return { error: "Enter the amount as a plain number of CXPT, like 12.5." };
  if ((value.split(".")[1] ?? "").length > 18) return { error: "CXPT has 18 decimals: use at most 18 digits after the point." };
  const wei = parseUnits(value.endsWith(".") ? value.slice(0, -1) : value, 18);
  if (wei === 0n && !allowZero) return { error: "Enter an amount above zero." };
  return { wei };
}
