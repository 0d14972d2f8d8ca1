import { getAddress, sliceHex, type Address, type PublicClient } from "viem";

/** ERC-1967 implementation slot: bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1). */
export const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";

/** The implementation an ERC1967 proxy currently delegates to. */
export async function implementationOf(publicClient: PublicClient, proxy: Address): Promise<Address> {
  const word = await publicClient.getStorageAt({ address: proxy, slot: IMPLEMENTATION_SLOT });
  return getAddress(sliceHex(word ?? "0x", 12, 32));
}
