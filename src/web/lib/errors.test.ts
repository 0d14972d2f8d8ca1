import { describe, expect, it } from "vitest";
import { BaseError, ContractFunctionExecutionError, ContractFunctionRevertedError, encodeErrorResult, parseAbi, UserRejectedRequestError } from "viem";
import { ApiError } from "./api.ts";
import { describeError } from "./errors.ts";

const abi = parseAbi([
  "error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)",
  "error SanctionedAddress(address account)",
  "error Mystery(uint256 code)",
  "function deposit(uint256 amount)",
]);
const revert = (errorName: "ERC20InsufficientBalance" | "SanctionedAddress" | "Mystery", args: readonly unknown[]) =>
  new ContractFunctionExecutionError(
    new ContractFunctionRevertedError({ abi, functionName: "deposit", data: encodeErrorResult({ abi, errorName, args } as never) }),
    { abi, functionName: "deposit", args: [1n] },
  );
const wallet = "0x00000000000000000000000000000000000000aa";

describe("describeError", () => {
  it("groups the amounts in a revert's message like every amount (99,750 CXPT, not 99750)", () => {
    const E18 = 10n ** 18n;
    expect(describeError(revert("ERC20InsufficientBalance", [wallet, 99_750n * E18, 100_000n * E18 + 1n]))).toBe(
      "Insufficient CXPT balance: the wallet holds 99,750 CXPT and this needs 100,000.000000000000000001 CXPT.",
    );
  });

  it("says the API's own message", () => {
    expect(describeError(new ApiError(403, "SANCTIONED_ADDRESS", `${wallet} is on the sanctions list`))).toBe(`${wallet} is on the sanctions list`);
  });
  it("recognises a refusal in the wallet, however deep it is wrapped", () => {
    expect(describeError(new BaseError("failed", { cause: new UserRejectedRequestError(new Error("no")) }))).toMatch(/You rejected the request in your wallet/);
  });
  it("names the suite's custom errors in words, with exact amounts", () => {
    expect(describeError(revert("ERC20InsufficientBalance", [wallet, 10n ** 18n, 25n * 10n ** 17n]))).toBe(
      "Insufficient CXPT balance: the wallet holds 1 CXPT and this needs 2.5 CXPT.",
    );
    expect(describeError(revert("SanctionedAddress", [wallet]))).toMatch(/is on the sanctions list/);
    expect(describeError(revert("Mystery", [7n]))).toBe("The contract refused: Mystery(7).");
  });
  it("says a network failure is one", () => {
    expect(describeError(new ApiError(0, "NETWORK_ERROR", "The Cxmpute API could not be reached: check your connection and try again."))).toMatch(/could not be reached/);
    expect(describeError(new TypeError("Failed to fetch"))).toMatch(/network request failed/);
  });
});
