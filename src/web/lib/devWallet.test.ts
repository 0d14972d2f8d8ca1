import { describe, expect, it } from "vitest";
import { defineChain, recoverMessageAddress, recoverTypedDataAddress, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { devWalletProvider } from "./devWallet.ts";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as const;
const chain = defineChain({ id: 31337, name: "Local", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: ["http://127.0.0.1:1/rpc"] } } });
const address = privateKeyToAccount(KEY).address;

describe("the development wallet", () => {
  it("answers accounts and chain id, and signs a message only when the person approves", async () => {
    const questions: string[] = [];
    const provider = devWalletProvider(chain, { name: "Test", privateKey: KEY, approve: (q) => (questions.push(q), true) });
    expect(await provider.request({ method: "eth_requestAccounts" } as never)).toEqual([address]);
    expect(await provider.request({ method: "eth_chainId" } as never)).toBe("0x7a69");
    const raw = stringToHex("Sign in to Cxmpute");
    const signature = (await provider.request({ method: "personal_sign", params: [raw, address] } as never)) as `0x${string}`;
    expect(await recoverMessageAddress({ message: { raw }, signature })).toBe(address);
    expect(questions[0]).toMatch(/Sign this message\?\s+Sign in to Cxmpute/);
  });

  it("signs EIP-712 typed data as sent by eth_signTypedData_v4", async () => {
    const provider = devWalletProvider(chain, { name: "Test", privateKey: KEY, approve: () => true });
    const typed = {
      domain: { name: "CXPT", version: "1", chainId: 31337, verifyingContract: "0x0000000000000000000000000000000000000001" },
      types: { Permit: [{ name: "owner", type: "address" }, { name: "value", type: "uint256" }] },
      primaryType: "Permit",
      message: { owner: address, value: "5" },
    } as const;
    const signature = (await provider.request({ method: "eth_signTypedData_v4", params: [address, JSON.stringify(typed)] } as never)) as `0x${string}`;
    expect(await recoverTypedDataAddress({ ...typed, message: { owner: address, value: 5n }, signature })).toBe(address);
  });

  it("a dismissed prompt is a user rejection (EIP-1193 code 4001), and nothing is signed", async () => {
    const provider = devWalletProvider(chain, { name: "Test", privateKey: KEY, approve: () => false });
    await expect(provider.request({ method: "personal_sign", params: [stringToHex("x"), address] } as never)).rejects.toMatchObject({ code: 4001 });
  });
});
