import { encodeEventTopics, encodeAbiParameters, encodeFunctionData, getAddress, zeroAddress, type Hex } from "viem";
import { describe, expect, it } from "vitest";
import { cxptAbi } from "../../chain/abis.ts";
import { contractAt, cxptTransfers, decodeCall, decodeEvents, formatArg } from "./receipt.ts";

const cxpt = "0x5fbdb2315678afecb367f032d93f642f64180aa3" as const;
const vault = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512" as const;
const user = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8" as const;
const addresses = { cxpt: getAddress(cxpt), vault: getAddress(vault) };

const transferLog = (from: Hex, to: Hex, value: bigint, logIndex: number) => ({
  address: cxpt,
  topics: encodeEventTopics({ abi: cxptAbi, eventName: "Transfer", args: { from, to } }) as [Hex, ...Hex[]],
  data: encodeAbiParameters([{ type: "uint256" }], [value]),
  logIndex,
});

describe("the receipt's decoding", () => {
  it("names the suite's contracts by address, in any case", () => {
    expect(contractAt(addresses, vault)?.label).toBe("Vault");
    expect(contractAt(addresses, user)).toBeUndefined();
  });

  it("decodes the method called with the contract's ABI, and gives the selector of an unknown one", () => {
    const input = encodeFunctionData({ abi: cxptAbi, functionName: "transfer", args: [user, 5n] });
    expect(decodeCall(addresses, cxpt, input)).toEqual({ name: "transfer", args: [{ name: "to", value: getAddress(user) }, { name: "value", value: 5n }] });
    expect(decodeCall(addresses, cxpt, "0xdeadbeef00")).toEqual({ selector: "0xdeadbeef" });
    expect(decodeCall(addresses, user, "0x")).toBeNull();
  });

  it("decodes events and picks the CXPT transfers, burns included", () => {
    const events = decodeEvents(addresses, [transferLog(user, vault, 10n ** 18n, 0), transferLog(vault, zeroAddress, 5n, 1), { address: user, topics: ["0x01"], data: "0x", logIndex: 2 }]);
    expect(events.map((e) => [e.contract, e.name])).toEqual([["CXPT token", "Transfer"], ["CXPT token", "Transfer"], [undefined, undefined]]);
    expect(cxptTransfers(addresses, events)).toEqual([
      { from: getAddress(user), to: getAddress(vault), valueWei: 10n ** 18n },
      { from: getAddress(vault), to: zeroAddress, valueWei: 5n },
    ]);
  });

  it("formats arguments exactly, addresses checksummed", () => {
    expect(formatArg(123456789012345678901234567890n)).toBe("123456789012345678901234567890");
    expect(formatArg([user, { a: 1n }])).toBe(`[${getAddress(user)}, { a: 1 }]`);
  });
});
