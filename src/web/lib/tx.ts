// A contract write as the dashboards make it: simulated first (so a revert names its custom error
// before the wallet is asked), signed by the connected wallet, then waited for until mined. A
// mined-but-reverted transaction throws too: nothing reports success that did not happen. Each one is
// remembered with its outcome for the wallet modal's recent transactions.
import type { Abi, Address, ContractFunctionArgs, ContractFunctionName, Hash, TransactionReceipt } from "viem";
import type { Config } from "wagmi";
import { getConnection, simulateContract, waitForTransactionReceipt, writeContract } from "wagmi/actions";
import { rememberTx, settleTx } from "./recentTxs.ts";

export interface ContractWrite<abi extends Abi, name extends ContractFunctionName<abi, "nonpayable" | "payable">> {
  readonly address: Address;
  readonly abi: abi;
  readonly functionName: name;
  readonly args: ContractFunctionArgs<abi, "nonpayable" | "payable", name>;
}

/** Sends `write` from the connected wallet and returns its receipt once mined; `onHash` hears the hash at once. */
export async function sendContractWrite<const abi extends Abi, name extends ContractFunctionName<abi, "nonpayable" | "payable">>(
  config: Config,
  write: ContractWrite<abi, name>,
  onHash?: (hash: Hash) => void,
): Promise<TransactionReceipt> {
  const { request } = await simulateContract(config, write as never);
  const hash = await writeContract(config, request as never);
  const { address: wallet, chainId } = getConnection(config);
  if (wallet !== undefined && chainId !== undefined) rememberTx(wallet, chainId, { hash, label: write.functionName });
  onHash?.(hash);
  const receipt = await waitForTransactionReceipt(config, { hash });
  if (wallet !== undefined && chainId !== undefined) settleTx(wallet, chainId, hash, receipt.status === "success" ? "success" : "reverted");
  if (receipt.status !== "success") throw new Error(`The transaction ${hash} was mined but reverted.`);
  return receipt;
}
