// A viem chain description for whichever chain an RPC serves: the backend learns the chain id from
// the node and needs no built-in list. peaq (3338) and agung (9990) get viem's own definitions (native
// currency PEAQ or AGNG, the Subscan explorer); any other id (the local 31337 chain) a plain one.
// The dashboards use the same descriptions.
import { defineChain, type Chain } from "viem";
import { agungTestnet, peaq } from "viem/chains";

/** The development chain's id (Hardhat / EDR). */
export const LOCAL_CHAIN_ID = 31337;

const KNOWN: readonly Chain[] = [peaq, agungTestnet];

/** The chain `id` served at `rpcUrl`; `explorerUrl` (when set) replaces the known explorer. */
export function chainAt(id: number, rpcUrl: string, explorerUrl: string | null = null): Chain {
  const known = KNOWN.find((c) => c.id === id);
  const explorer = explorerUrl
    ? { blockExplorers: { default: { name: known?.blockExplorers?.default.name ?? "Explorer", url: explorerUrl } } }
    : {};
  const rpcUrls = { default: { http: [rpcUrl] } };
  if (known) return defineChain({ ...known, rpcUrls, ...explorer });
  return defineChain({
    id,
    name: id === LOCAL_CHAIN_ID ? "Local chain" : `Chain ${id}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls,
    ...explorer,
  });
}
