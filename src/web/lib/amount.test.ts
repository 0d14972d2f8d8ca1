import { describe, expect, it } from "vitest";
import { localeDecimal, normalizeDecimal, parseCxptAmount } from "./amount.ts";

describe("amounts typed in the person's locale", () => {
  it("knows the locale's decimal separator", () => {
    expect(localeDecimal("en-US")).toBe(".");
    expect(localeDecimal("de-DE")).toBe(",");
    expect(localeDecimal("fr-FR")).toBe(",");
  });

  it("accepts the decimal comma where the locale writes one, with its grouping", () => {
    expect(normalizeDecimal("12,5", ",")).toBe("12.5");
    expect(normalizeDecimal("1.234,56", ",")).toBe("1234.56");
    expect(normalizeDecimal("1 234,5", ",")).toBe("1234.5");
    expect(normalizeDecimal("0.5", ",")).toBe("0.5");
    expect(parseCxptAmount("99.750,25", { decimal: "," })).toEqual({ wei: 99_750_250_000_000_000_000_000n });
  });

  it("accepts unambiguous grouping with a decimal point, and refuses a comma there", () => {
    expect(normalizeDecimal("99,750", ".")).toBe("99750");
    expect(normalizeDecimal("1,234.5", ".")).toBe("1234.5");
    expect(normalizeDecimal("1,5", ".")).toBeUndefined();
    expect(parseCxptAmount("1,5", { decimal: "." }).error).toMatch(/plain number/);
  });
});
