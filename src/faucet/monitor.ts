// The faucet's test CXPT, watched by the monitor job beside every signer's gas money (the faucet
// key's gas is one of those signers): `low_balance:faucet_cxpt` while it holds fewer than
// FAUCET_LOW_DRIPS requests' worth, critical when it cannot pay one more.
import { erc20Abi, formatEther, type Address } from "viem";
import type { AppContext } from "../app/context.ts";
import type { ChainContext } from "../app/chain.ts";

/** Requests' worth of CXPT below which the faucet is reported low. */
export const FAUCET_LOW_DRIPS = 10n;

export interface FaucetTokens {
  readonly address: Address;
  readonly cxptWei: string;
  readonly low: boolean;
}

/** The faucet key's CXPT, raising or resolving its alert; undefined without a faucet key. */
export async function checkFaucetTokens(ctx: AppContext, chain: ChainContext): Promise<FaucetTokens | undefined> {
  const signer = chain.signers.faucet;
  if (signer === undefined) return undefined;
  const address = signer.account.address;
  const held = await chain.client.readContract({ address: chain.addresses.cxpt, abi: erc20Abi, functionName: "balanceOf", args: [address] });
  const drip = ctx.config.faucet.amountWei;
  const threshold = drip * FAUCET_LOW_DRIPS;
  const low = held < threshold;
  if (!low) await ctx.monitor.resolve("low_balance:faucet_cxpt");
  else {
    await ctx.monitor.alert({
      key: "low_balance:faucet_cxpt",
      kind: "low_balance",
      severity: held < drip ? "critical" : "warning",
      message: `The faucet ${address} holds ${formatEther(held)} CXPT, less than ${FAUCET_LOW_DRIPS} requests' worth (${formatEther(threshold)}): send it test CXPT`,
      details: { role: "faucet", token: "cxpt", address, balanceWei: held.toString(), thresholdWei: threshold.toString(), chainId: chain.chainId },
    });
  }
  return { address, cxptWei: held.toString(), low };
}
