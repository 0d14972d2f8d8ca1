// What a wallet can pay as you go: UsageBilling collects through the Vault from the wallet's
// allowance, so PAYG capacity is whatever is smaller, the CXPT balance or the Vault allowance.
import type { Address, PublicClient } from "viem";
import { cxptAbi } from "../chain/abis.ts";
import { readAll } from "../chain/reads.ts";

/** A wallet's CXPT standing towards the Vault, in wei. */
export interface WalletFunds {
  readonly balance: bigint;
  readonly allowanceToVault: bigint;
  /** min(balance, allowanceToVault): what settlement can collect from the wallet right now. */
  readonly paygCapacity: bigint;
}

export interface FundsQuery {
  readonly cxpt: Address;
  readonly vault: Address;
}

/** The CXPT balance, Vault allowance and PAYG capacity of `wallet`. */
export async function readWalletFunds(client: PublicClient, query: FundsQuery & { readonly wallet: Address }): Promise<WalletFunds> {
  const [funds] = await readWalletsFunds(client, { ...query, wallets: [query.wallet] });
  return funds!;
}

/** `readWalletFunds` for many wallets in one batch (a cache refresh), in the order given. */
export async function readWalletsFunds(
  client: PublicClient,
  { cxpt, vault, wallets }: FundsQuery & { readonly wallets: readonly Address[] },
): Promise<WalletFunds[]> {
  const results = await readAll(
    client,
    wallets.flatMap((wallet) => [
      { address: cxpt, abi: cxptAbi, functionName: "balanceOf", args: [wallet] } as const,
      { address: cxpt, abi: cxptAbi, functionName: "allowance", args: [wallet, vault] } as const,
    ]),
  );
  return wallets.map((_, i) => {
    const balance = results[2 * i] as bigint;
    const allowanceToVault = results[2 * i + 1] as bigint;
    return { balance, allowanceToVault, paygCapacity: balance < allowanceToVault ? balance : allowanceToVault };
  });
}
