import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen } from "@testing-library/react";
import { useState, type ReactNode } from "react";
import { encodeAbiParameters, encodeEventTopics, getAddress, parseAbiParameters, zeroHash, type Address, type TransactionReceipt } from "viem";
import { describe, expect, it, vi } from "vitest";
import { vaultAbi } from "../../chain/abis.ts";
import { ApiError } from "../lib/api.ts";
import { AppConfigContext, type AppConfig } from "../lib/appConfig.ts";
import { describeError } from "../lib/errors.ts";
import { Modal } from "../components/Modal.tsx";
import { allowanceForDeposit, BurnPreview, burnSplit, DepositReceipt, depositOutcome, parseCxptAmount, refusal } from "./DepositTokensModal.tsx";

const CXPT = 10n ** 18n;
const WALLET: Address = "0x00000000000000000000000000000000000000a1";
const VAULT: Address = "0x00000000000000000000000000000000000000b2";
const HASH = `0x${"ab".repeat(32)}` as const;
const config: AppConfig = { stage: "testnet", phase: 3, features: {}, chain: { chainId: 31337, rpcUrl: "http://127.0.0.1:9/rpc", explorerUrl: null, addresses: {} }, walletConnectProjectId: null, devWallets: [] };
const show = (ui: ReactNode) =>
  render(
    <AppConfigContext.Provider value={config}>
      <QueryClientProvider client={new QueryClient()}>{ui}</QueryClientProvider>
    </AppConfigContext.Provider>,
  );

describe("parseCxptAmount", () => {
  it("turns decimal CXPT into wei exactly", () => {
    expect(parseCxptAmount("12.5")).toEqual({ wei: 12n * CXPT + CXPT / 2n });
    expect(parseCxptAmount(" 3 ")).toEqual({ wei: 3n * CXPT });
    expect(parseCxptAmount(".5")).toEqual({ wei: CXPT / 2n });
    expect(parseCxptAmount("0.000000000000000001")).toEqual({ wei: 1n });
    expect(parseCxptAmount("123456789012345678901234567890")).toEqual({ wei: 123456789012345678901234567890n * CXPT });
  });

  it("refuses what is not an amount, with a message", () => {
    expect(parseCxptAmount("").error).toMatch(/enter an amount/i);
    for (const bad of ["abc", "-1", "1e3", "1,5", "0x10", "1.2.3"]) expect(parseCxptAmount(bad).error, bad).toMatch(/plain number/);
    expect(parseCxptAmount("1.0000000000000000001").error).toMatch(/18 digits/);
    expect(parseCxptAmount("0").error).toMatch(/above zero/);
    expect(parseCxptAmount("0", { allowZero: true })).toEqual({ wei: 0n });
  });
});

describe("burnSplit", () => {
  it("burns burnBps of the amount, rounded down as the Vault does, and keeps the rest", () => {
    expect(burnSplit(100n * CXPT, 500n)).toEqual({ burned: 5n * CXPT, kept: 95n * CXPT });
    expect(burnSplit(12_345n, 500n)).toEqual({ burned: 617n, kept: 11_728n });
    expect(burnSplit(19n, 500n)).toEqual({ burned: 0n, kept: 19n });
    expect(burnSplit(10n * CXPT, 0n)).toEqual({ burned: 0n, kept: 10n * CXPT });
  });
});

describe("allowanceForDeposit", () => {
  it("raises the standing (PAYG) allowance by the amount, so the deposit spends only what it added", () => {
    expect(allowanceForDeposit(0n, 5n * CXPT)).toBe(5n * CXPT);
    expect(allowanceForDeposit(50n * CXPT, 5n * CXPT)).toBe(55n * CXPT);
    expect(allowanceForDeposit(2n ** 256n - 1n, 5n * CXPT)).toBe(2n ** 256n - 1n);
    expect(allowanceForDeposit(2n ** 256n - 3n, 5n)).toBe(2n ** 256n - 1n);
  });
});

describe("refusal", () => {
  it("says the contracts' own revert messages before anything is signed", () => {
    expect(describeError(refusal("ERC20InsufficientBalance", [WALLET, CXPT, 2n * CXPT]))).toBe("Insufficient CXPT balance: the wallet holds 1 CXPT and this needs 2 CXPT.");
    expect(describeError(refusal("SanctionedAddress", [WALLET]))).toBe(`Blocked: ${getAddress(WALLET)} is on the sanctions list, so CXPT cannot move to or from it.`);
  });
});

describe("depositOutcome", () => {
  const paidLog = (address: Address, amount: bigint, burned: bigint) => ({
    address,
    topics: encodeEventTopics({ abi: vaultAbi, eventName: "Paid", args: { user: WALLET, payer: WALLET, ref: zeroHash } }),
    data: encodeAbiParameters(parseAbiParameters("uint256, uint256, uint256"), [amount, burned, 0n]),
  });
  const receipt = (logs: unknown[]) => ({ transactionHash: HASH, logs }) as unknown as TransactionReceipt;

  it("reads the amount and the burn from the Vault's Paid event", () => {
    expect(depositOutcome(receipt([paidLog("0x00000000000000000000000000000000000000c3", 1n, 1n), paidLog(VAULT, 10n * CXPT, CXPT / 2n)]), VAULT)).toEqual({
      hash: HASH,
      amount: 10n * CXPT,
      burned: CXPT / 2n,
    });
  });

  it("refuses a receipt that paid nothing into the Vault", () => {
    expect(() => depositOutcome(receipt([]), VAULT)).toThrow(/paid nothing into the Vault/);
  });
});

describe("BurnPreview and DepositReceipt", () => {
  it("shows the burn before signing", () => {
    show(<BurnPreview amount={10n * CXPT} burnBps={500n} />);
    const facts = screen.getByLabelText("What the deposit does");
    expect(facts.textContent).toContain("0.5 CXPT burned (5 %)");
    expect(facts.textContent).toContain("9.5 CXPT");
    expect(facts.textContent).toContain("10 CXPT");
  });

  it("shows the confirmed receipt, then the credits or why crediting failed", () => {
    const outcome = { hash: HASH, amount: 10n * CXPT, burned: CXPT / 2n };
    const { rerender } = show(<DepositReceipt outcome={outcome} />);
    expect(screen.getByRole("status").textContent).toMatch(/Deposit confirmed: 10 CXPT paid, 0.5 CXPT burned/);
    expect(screen.getByRole("link").getAttribute("href")).toBe(`/tx/${HASH}`);
    expect(screen.getByText(/Loading your credits/)).toBeTruthy();
    rerender(
      <AppConfigContext.Provider value={config}>
        <DepositReceipt outcome={outcome} credited={{ credited: true, creditsWei: (10n * CXPT).toString() }} />
      </AppConfigContext.Provider>,
    );
    expect(screen.getByRole("status").textContent).toMatch(/Your credits are now 10 CXPT/);
    rerender(
      <AppConfigContext.Provider value={config}>
        <DepositReceipt outcome={outcome} creditError={new ApiError(403, "DEPOSIT_NOT_YOURS", "This deposit credits another wallet.")} />
      </AppConfigContext.Provider>,
    );
    expect(screen.getByRole("alert").textContent).toBe("This deposit credits another wallet.");
  });
});

describe("Modal", () => {
  function Opener({ onClose }: { readonly onClose: () => void }) {
    const [open, setOpen] = useState(false);
    return (
      <>
        <button type="button" onClick={() => setOpen(true)}>
          Deposit
        </button>
        <Modal
          open={open}
          title="Deposit CXPT"
          onClose={() => {
            onClose();
            setOpen(false);
          }}
        >
          <label>
            Amount <input />
          </label>
        </Modal>
      </>
    );
  }

  it("opens as a named dialog, closes on Esc and gives focus back to its opener", () => {
    const onClose = vi.fn();
    show(<Opener onClose={onClose} />);
    const opener = screen.getByRole("button", { name: "Deposit" });
    opener.focus();
    fireEvent.click(opener);
    const dialog = screen.getByRole("dialog", { name: "Deposit CXPT" });
    expect(dialog.hasAttribute("open")).toBe(true);
    fireEvent.keyDown(screen.getByLabelText("Amount"), { key: "Escape" });
    expect(onClose).toHaveBeenCalled();
    expect(screen.queryByLabelText("Amount")).toBeNull();
    expect(document.activeElement).toBe(opener);
  });

  it("closes with its Close button", () => {
    const onClose = vi.fn();
    show(<Opener onClose={onClose} />);
    fireEvent.click(screen.getByRole("button", { name: "Deposit" }));
    fireEvent.click(screen.getByRole("button", { name: "Close" }));
    expect(onClose).toHaveBeenCalledOnce();
  });
});
