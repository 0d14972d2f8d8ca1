// A viem chain description for whichever chain an RPC serves: the backend learns the chain id from
// the node and needs no built-in list (peaq, agung and local nodes all work the same way).
import { defineChain, type Chain } from "viem";

/** The development chain's id (Hardhat / EDR). */
export const LOCAL_CHAIN_ID = 31337;

/** The chain `id` served at `rpcUrl`. */
export function chainAt(id: number, rpcUrl: string): Chain {
  return defineChain({ id, name: `chain-${id}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } });
}
