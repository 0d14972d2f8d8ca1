// One clear sentence for any failed action: API errors, wallet refusals, contract reverts by their
// custom error, gas and network failures. Components show describeError(error), never raw errors.
import { BaseError, ContractFunctionRevertedError, InsufficientFundsError, UserRejectedRequestError } from "viem";
import { ApiError } from "./api.ts";
import { formatCxpt } from "./format.ts";

/** An amount in an error, exact (all 18 decimals if need be) and grouped like every other amount. */
const cxpt = (wei: unknown) => (typeof wei === "bigint" ? formatCxpt(wei, 18) : "the amount");

/** What a named custom error of the suite means for the person who caused it. */
const REVERTS: Readonly<Record<string, (args: readonly unknown[]) => string>> = {
  ERC20InsufficientBalance: ([, balance, needed]) => `Insufficient CXPT balance: the wallet holds ${cxpt(balance)} and this needs ${cxpt(needed)}.`,
  ERC20InsufficientAllowance: ([, allowance, needed]) => `Insufficient allowance: the Vault may take ${cxpt(allowance)} and this needs ${cxpt(needed)}. Approve more first.`,
  SanctionedAddress: ([account]) => `Blocked: ${String(account)} is on the sanctions list, so CXPT cannot move to or from it.`,
  NothingToClaim: () => "There is nothing to claim yet.",
  SanctionsOracleUnavailable: () => "The sanctions check is not answering right now, so claims wait for it: your rewards stay claimable, try again later.",
  PassActive: ([, periodEnd]) => `Your pass is still in a paid period (until ${new Date(Number(periodEnd) * 1000).toLocaleString()}): a new plan can be bought once it ends.`,
  PlanInactive: ([planId]) => `Plan ${String(planId)} is retired and can no longer be bought.`,
  ERC2612ExpiredSignature: () => "The permit signature expired: try again.",
  ERC2612InvalidSigner: () => "The permit was not signed by this wallet: sign it again with the connected wallet.",
  ZeroAmount: () => "Enter an amount above zero.",
  EnforcedPause: () => "The contract is paused by the operators: try again later.",
};

/** Whether `error` or one of its causes is named `name` (wagmi's errors are not viem's classes). */
function causedBy(error: unknown, name: string): boolean {
  for (let e = error as { name?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 10; e = e.cause as typeof e, depth++) {
    if (e.name === name) return true;
  }
  return false;
}

/** The human message for `error`. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (causedBy(error, "ConnectorNotConnectedError")) return "Connect a wallet first.";
  if (causedBy(error, "ProviderNotFoundError")) return "No browser wallet was found: install one (such as MetaMask) or pick another wallet.";
  if (error instanceof BaseError) {
    if (error.walk((e) => e instanceof UserRejectedRequestError || (e as { code?: unknown }).code === 4001)) {
      return "You rejected the request in your wallet: nothing was signed or sent.";
    }
    const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError) {
      const name = revert.data?.errorName;
      if (name !== undefined) return REVERTS[name]?.(revert.data?.args ?? []) ?? `The contract refused: ${name}(${(revert.data?.args ?? []).map(String).join(", ")}).`;
      return `The contract refused: ${revert.reason ?? revert.shortMessage}.`;
    }
    if (error.walk((e) => e instanceof InsufficientFundsError)) return "The wallet has too little ETH to pay for gas.";
    if (error.walk((e) => (e as { name?: unknown }).name === "HttpRequestError")) return "The chain could not be reached: check your connection and try again.";
    return error.shortMessage;
  }
  if (error instanceof TypeError && /fetch/i.test(error.message)) return "The network request failed: check your connection and try again.";
  if (error instanceof Error) return error.message;
  return String(error);
}
