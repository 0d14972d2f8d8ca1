// The connected wallet's CXPT on chain: its balance and what the Vault may take (the allowance
// deposits and PAYG settlement draw on), read again every REFRESH_MS since settlement and other
// devices change them without this page.
import { useConnection, useReadContracts } from "wagmi";
import { cxptAbi } from "../../chain/abis.ts";
import { useContractAddress } from "./appConfig.ts";

/** How often balances are read again. */
export const REFRESH_MS = 15_000;

export interface WalletFunds {
  readonly balance: bigint;
  readonly allowance: bigint;
}

/** The wallet's funds (undefined while loading) and the read's error. */
export function useWalletFunds(): { readonly funds: WalletFunds | undefined; readonly error: Error | null } {
  const { address } = useConnection();
  const cxpt = useContractAddress("cxpt");
  const vault = useContractAddress("vault");
  const wallet = address!; // the dashboards render only with a connected wallet
  const reads = useReadContracts({
    contracts: [
      { address: cxpt, abi: cxptAbi, functionName: "balanceOf", args: [wallet] },
      { address: cxpt, abi: cxptAbi, functionName: "allowance", args: [wallet, vault] },
    ],
    allowFailure: false,
    query: { refetchInterval: REFRESH_MS },
  });
  return { funds: reads.data === undefined ? undefined : { balance: reads.data[0], allowance: reads.data[1] }, error: reads.error };
}
