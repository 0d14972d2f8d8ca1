import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { parseCxptAmount } from "./DepositTokensModal.tsx";
import { AllowanceFacts, paygCapacity } from "./PaygAllowance.tsx";

const CXPT = 10n ** 18n;
const fact = (name: string) => screen.getByText(name).nextElementSibling!.textContent;

describe("paygCapacity", () => {
  it("is what settlement can collect: the smaller of balance and allowance", () => {
    expect(paygCapacity(10n * CXPT, 3n * CXPT)).toBe(3n * CXPT);
    expect(paygCapacity(2n * CXPT, 3n * CXPT)).toBe(2n * CXPT);
    expect(paygCapacity(0n, 3n * CXPT)).toBe(0n);
  });

  it("is bounded by the spending cap left in the period", () => {
    expect(paygCapacity(10n * CXPT, 3n * CXPT, CXPT)).toBe(CXPT);
    expect(paygCapacity(10n * CXPT, 3n * CXPT, 0n)).toBe(0n);
    expect(paygCapacity(10n * CXPT, 3n * CXPT, 5n * CXPT)).toBe(3n * CXPT);
  });
});

describe("AllowanceFacts", () => {
  it("shows the current allowance, the balance and what settlement can collect", () => {
    render(<AllowanceFacts balance={2n * CXPT} allowance={5n * CXPT} />);
    expect(fact("Current PAYG allowance")).toBe("5 CXPT");
    expect(fact("Wallet balance")).toBe("2 CXPT");
    expect(fact("Settlement can collect")).toBe("2 CXPT");
  });

  it("shows the spending cap and what is left of it; no cap is PAYG off", () => {
    const { unmount } = render(<AllowanceFacts balance={20n * CXPT} allowance={5n * CXPT} cap={{ amount: 4n * CXPT, period: 86_400n, left: CXPT }} />);
    expect(fact("Spending cap")).toBe("4 CXPT per day (1 CXPT left)");
    expect(fact("Settlement can collect")).toBe("1 CXPT");
    unmount();
    render(<AllowanceFacts balance={20n * CXPT} allowance={5n * CXPT} cap={{ amount: 0n, period: 0n, left: 0n }} />);
    expect(fact("Spending cap")).toBe("none: PAYG is off");
    expect(fact("Settlement can collect")).toBe("0 CXPT");
  });
});

describe("the allowance input", () => {
  it("accepts zero (revoking PAYG) but not a malformed amount", () => {
    expect(parseCxptAmount("0", { allowZero: true })).toEqual({ wei: 0n });
    expect(parseCxptAmount("2.5", { allowZero: true })).toEqual({ wei: 2n * CXPT + CXPT / 2n });
    expect(parseCxptAmount("two", { allowZero: true }).error).toMatch(/plain number/);
  });
});
