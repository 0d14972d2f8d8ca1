// The chain the dashboards talk to: viem's own definition of peaq (3338) or agung (9990), with their
// native currency and Subscan explorer, and the API's RPC URL; any other id (the local 31337 chain) is
// defined here with the development chain's name.
import { defineChain, type Chain } from "viem";
import { agungTestnet, peaq } from "viem/chains";

const KNOWN: readonly Chain[] = [peaq, agungTestnet];

/** The chain `chainId` reached through `rpcUrl`; `explorerUrl` (when set) overrides the known explorer. */
export function chainFor(chainId: number, rpcUrl: string, explorerUrl: string | null): Chain {
  const known = KNOWN.find((c) => c.id === chainId);
  const explorer = explorerUrl ? { blockExplorers: { default: { name: known?.blockExplorers?.default.name ?? "Explorer", url: explorerUrl } } } : {};
  if (known) return defineChain({ ...known, rpcUrls: { default: { http: [rpcUrl] } }, ...explorer });
  return defineChain({
    id: chainId,
    name: chainId === 31337 ? "Local chain" : `Chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
    ...explorer,
  });
}
