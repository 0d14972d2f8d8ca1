import { describe, expect, it } from "vitest";
import { formatBps, formatCxpt, shortHex } from "./format.ts";

describe("formatCxpt", () => {
  it("groups thousands and cuts (never rounds up) the fraction, in exact integer math", () => {
    expect(formatCxpt(1_234_567n * 10n ** 18n + 999_999_999_999_999_999n)).toBe("1,234,567.9999 CXPT");
    expect(formatCxpt("50000000000000000")).toBe("0.05 CXPT");
    expect(formatCxpt(0n)).toBe("0 CXPT");
    expect(formatCxpt(1n, 18)).toBe("0.000000000000000001 CXPT");
    expect(formatCxpt(-5n * 10n ** 17n)).toBe("−0.5 CXPT");
  });
  it("handles amounts far above 2^53 wei without losing digits", () => {
    expect(formatCxpt(2n ** 96n, 18)).toBe("79,228,162,514.264337593543950336 CXPT");
  });
});

describe("shortHex and formatBps", () => {
  it("shortens long hex only", () => {
    expect(shortHex("0x1234567890abcdef1234567890abcdef12345678")).toBe("0x1234…5678");
    expect(shortHex("0x1234")).toBe("0x1234");
  });
  it("shows basis points as a percentage", () => {
    expect(formatBps(500)).toMatch(/^5 %$/);
    expect(formatBps(1250n)).toMatch(/^12\.5 %$/);
  });
});
