// Helpers shared by the CXPT and Vault unit tests: EIP-2612 permit signing against a token's own
// eip712Domain, and the implementation behind an ERC-1967 proxy.
import { getAddress, parseSignature, slice, type Address, type Hex, type WalletClient } from "viem";
import { networkHelpers, viem } from "../helpers/fixture.ts";

/** The ERC-1967 implementation slot: bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1). */
const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";

/** The implementation address an ERC-1967 proxy points at. */
export async function implementationOf(proxy: Address): Promise<Address> {
  const publicClient = await viem.getPublicClient();
  const word = await publicClient.getStorageAt({ address: proxy, slot: IMPLEMENTATION_SLOT });
  return getAddress(slice(word!, 12));
}

/** What `signPermit` needs from a token: its EIP-712 domain and the owner's nonce. */
export interface PermitToken {
  read: {
    eip712Domain: () => Promise<readonly [Hex, string, string, bigint, Address, Hex, readonly bigint[]]>;
    nonces: (args: readonly [Address]) => Promise<bigint>;
  };
}

export interface Permit {
  owner: Address;
  spender: Address;
  value: bigint;
  deadline: bigint;
  v: number;
  r: Hex;
  s: Hex;
}

const PERMIT_TYPES = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

/** A deadline `seconds` after the latest block (negative: already expired). */
export async function deadlineIn(seconds: bigint): Promise<bigint> {
  return BigInt(await networkHelpers.time.latest()) + seconds;
}

/** `owner` signs a permit for `spender` to spend `value` until `deadline`, with `owner`'s current nonce. */
export async function signPermit(
  token: PermitToken,
  owner: WalletClient,
  spender: Address,
  value: bigint,
  deadline: bigint,
): Promise<Permit> {
  const account = owner.account!;
  const [, name, version, chainId, verifyingContract] = await token.read.eip712Domain();
  const nonce = await token.read.nonces([account.address]);
  const signature = await owner.signTypedData({
    account,
    domain: { name, version, chainId, verifyingContract },
    types: PERMIT_TYPES,
    primaryType: "Permit",
    message: { owner: account.address, spender, value, nonce, deadline },
  });
  const { r, s, v, yParity } = parseSignature(signature);
  return { owner: account.address, spender, value, deadline, v: Number(v ?? BigInt(yParity + 27)), r, s };
}

/** The arguments of `permit(owner, spender, value, deadline, v, r, s)`. */
export const permitArgs = (p: Permit) => [p.owner, p.spender, p.value, p.deadline, p.v, p.r, p.s] as const;
