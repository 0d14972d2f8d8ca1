// Several contract reads at once: one Multicall3 call where the chain has Multicall3 (peaq does),
// parallel eth_calls where it does not (the local EDR chain has none deployed).
import type { Address, ContractFunctionParameters, MulticallParameters, MulticallReturnType, PublicClient } from "viem";

const multicalls = new WeakMap<PublicClient, Promise<Address | undefined>>();

/**
 * The Multicall3 address of `client`'s chain when the chain definition declares one and code is
 * there, else undefined. Checked once per client: a declared but undeployed Multicall3 (a fork, a
 * fresh devnet) would make every batched read fail.
 */
export function multicallOf(client: PublicClient): Promise<Address | undefined> {
  let found = multicalls.get(client);
  if (found === undefined) {
    const address = client.chain?.contracts?.multicall3?.address;
    found =
      address === undefined
        ? Promise.resolve(undefined)
        : client.getCode({ address }).then((code) => (code !== undefined && code !== "0x" ? address : undefined));
    // A failed lookup (node down) is not remembered.
    found.catch(() => multicalls.delete(client));
    multicalls.set(client, found);
  }
  return found;
}

/**
 * Reads `contracts` (viem multicall entries) and returns their results in order; any failing read
 * throws. Batched through Multicall3 when available (one request, one block), else in parallel.
 */
export async function readAll<const contracts extends readonly unknown[]>(
  client: PublicClient,
  contracts: MulticallParameters<contracts, false>["contracts"],
): Promise<MulticallReturnType<contracts, false>> {
  const multicallAddress = await multicallOf(client);
  if (multicallAddress !== undefined) {
    return client.multicall({ contracts, allowFailure: false, multicallAddress } as MulticallParameters<contracts, false>);
  }
  const reads = (contracts as readonly ContractFunctionParameters[]).map((contract) => client.readContract(contract));
  return (await Promise.all(reads)) as MulticallReturnType<contracts, false>;
}
