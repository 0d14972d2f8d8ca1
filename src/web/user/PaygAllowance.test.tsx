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
});

describe("AllowanceFacts", () => {
  it("shows the current allowance, the balance and what settlement can collect", () => {
    render(<AllowanceFacts balance={2n * CXPT} allowance={5n * CXPT} />);
    expect(fact("Current PAYG allowance")).toBe("5 CXPT");
    expect(fact("Wallet balance")).toBe("2 CXPT");
    expect(fact("Settlement can collect")).toBe("2 CXPT");
  });
});

describe("the allowance input", () => {
  it("accepts zero (revoking PAYG) but not a malformed amount", () => {
    expect(parseCxptAmount("0", { allowZero: true })).toEqual({ wei: 0n });
    expect(parseCxptAmount("2.5", { allowZero: true })).toEqual({ wei: 2n * CXPT + CXPT / 2n });
    expect(parseCxptAmount("two", { allowZero: true }).error).toMatch(/plain number/);
  });
});
