// The suite's custom errors and the one decoder of a revert: whichever contract raised it (the
// token under the Vault, a target under the timelock), a simulation, a contract write or a raw
// send. Every module that names a revert to people uses revertOf.
import { BaseError, ContractFunctionRevertedError, decodeErrorResult, isHex, type Hex } from "viem";
import { billingAbi, cxptAbi, distributorAbi, forwarderAbi, subscriptionsAbi, vaultAbi } from "./abis.ts";

/** Every custom error of the suite. */
export const SUITE_ERRORS = [cxptAbi, vaultAbi, distributorAbi, subscriptionsAbi, billingAbi, forwarderAbi].flat().filter((item) => item.type === "error");

/** A decoded revert: the custom error's name and arguments, or "revert" with the revert string. */
export interface Revert {
  readonly name: string;
  readonly args: readonly string[];
  /** `Name(arg, …)`, or the revert string. */
  readonly text: string;
}

/** `raw` revert data as one of the suite's custom errors, if it is one. */
export function decodeSuiteError(raw: Hex | undefined): { errorName: string; args: readonly unknown[] } | undefined {
  if (raw === undefined || raw.length < 10) return undefined;
  try {
    const { errorName, args } = decodeErrorResult({ abi: SUITE_ERRORS, data: raw });
    return { errorName, args: args ?? [] };
  } catch {
    return undefined;
  }
}

/** The node's revert data somewhere down the cause chain (as it is, or under `{ data }`). */
export function revertData(error: BaseError): Hex | undefined {
  const node = error.walk((e) => {
    const data = (e as { data?: unknown }).data;
    return isHex(data) || (typeof data === "object" && data !== null && isHex((data as { data?: unknown }).data));
  }) as { data: Hex | { data: Hex } } | null;
  if (node === null) return undefined;
  return typeof node.data === "string" ? node.data : node.data.data;
}

/**
 * What a failed call or send reverted with: the suite's custom error (decoded by viem, or from the
 * node's raw data) or the revert string. Undefined when it did not revert (an RPC failure: a bare
 * -32603 without revert data is the node failing, not the contract).
 */
export function revertOf(error: unknown): Revert | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
  const decoded = reverted?.data ?? decodeSuiteError(reverted?.raw ?? revertData(error));
  if (decoded !== undefined) {
    const args = (decoded.args ?? []).map(String);
    return { name: decoded.errorName, args, text: `${decoded.errorName}(${args.join(", ")})` };
  }
  if (reverted === null) return undefined;
  if (reverted.raw === undefined && reverted.reason === undefined && revertData(error) === undefined) return undefined;
  return { name: "revert", args: [], text: reverted.reason ?? reverted.shortMessage };
}
