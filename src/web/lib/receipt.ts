// A transaction read like a block explorer shows it: the called method and the events decoded with the
// suite's ABIs, each contract by its name, and the CXPT transfers. Pure functions over viem's types,
// so the receipt page only renders.
import { decodeEventLog, decodeFunctionData, getAddress, type Abi, type Address, type Hex, type Log } from "viem";
import { billingAbi, cxptAbi, distributorAbi, forwarderAbi, governedAbi, safeAbi, subscriptionsAbi, timelockAbi, vaultAbi } from "../../chain/abis.ts";
import type { ContractName } from "./appConfig.ts";

/** The people's name and ABI of each suite contract. */
export const SUITE: Readonly<Record<ContractName, { readonly label: string; readonly abi: Abi }>> = {
  cxpt: { label: "CXPT token", abi: cxptAbi },
  vault: { label: "Vault", abi: vaultAbi },
  distributor: { label: "Reward distributor", abi: distributorAbi },
  subscriptions: { label: "Subscriptions", abi: subscriptionsAbi },
  billing: { label: "Usage billing", abi: billingAbi },
  forwarder: { label: "Forwarder", abi: forwarderAbi },
  safe: { label: "Protocol Safe", abi: safeAbi },
  timelock: { label: "Timelock", abi: timelockAbi },
  sanctionsOracle: { label: "Sanctions oracle", abi: governedAbi },
};

export type Addresses = Readonly<Partial<Record<ContractName, Address>>>;

/** The suite contract at `address`, if it is one. */
export function contractAt(addresses: Addresses, address: Address | null | undefined): { name: ContractName; label: string; abi: Abi } | undefined {
  if (!address) return undefined;
  const entry = Object.entries(addresses).find(([, a]) => a !== undefined && a.toLowerCase() === address.toLowerCase());
  if (entry === undefined) return undefined;
  const name = entry[0] as ContractName;
  return { name, ...SUITE[name] };
}

export interface DecodedCall {
  readonly name: string;
  readonly args: readonly { readonly name: string; readonly value: unknown }[];
}

/** The method `input` calls on `to`: decoded with the contract's ABI, or its 4-byte selector when unknown. */
export function decodeCall(addresses: Addresses, to: Address | null, input: Hex): DecodedCall | { readonly selector: Hex } | null {
  if (input === "0x" || input.length < 10) return null;
  const contract = contractAt(addresses, to);
  for (const abi of contract ? [contract.abi] : Object.values(SUITE).map((s) => s.abi)) {
    try {
      const decoded = decodeFunctionData({ abi, data: input });
      const inputs = (abi.find((i) => i.type === "function" && i.name === decoded.functionName) as { inputs?: readonly { name?: string }[] } | undefined)?.inputs ?? [];
      return { name: decoded.functionName, args: (decoded.args ?? []).map((value, i) => ({ name: inputs[i]?.name || `arg${i}`, value })) };
    } catch {
      // Not this ABI's: try the next one.
    }
  }
  return { selector: input.slice(0, 10) as Hex };
}

export interface DecodedEvent {
  readonly index: number;
  readonly address: Address;
  /** The suite contract's name ("Vault"), or undefined for another contract. */
  readonly contract: string | undefined;
  /** The event's name, or undefined when no suite ABI knows it. */
  readonly name: string | undefined;
  readonly args: readonly { readonly name: string; readonly value: unknown }[];
}

/** Every log of a receipt, decoded with the emitting contract's ABI (or any suite ABI for a proxy's or unknown address). */
export function decodeEvents(addresses: Addresses, logs: readonly Pick<Log, "address" | "data" | "topics" | "logIndex">[]): DecodedEvent[] {
  return logs.map((log, i) => {
    const contract = contractAt(addresses, log.address);
    const base = { index: log.logIndex ?? i, address: getAddress(log.address), contract: contract?.label };
    for (const abi of contract ? [contract.abi, ...Object.values(SUITE).map((s) => s.abi)] : Object.values(SUITE).map((s) => s.abi)) {
      try {
        const decoded = decodeEventLog({ abi, data: log.data, topics: log.topics as [Hex, ...Hex[]] });
        const args = decoded.args ?? {};
        return { ...base, name: decoded.eventName, args: Array.isArray(args) ? args.map((value, j) => ({ name: `arg${j}`, value })) : Object.entries(args).map(([name, value]) => ({ name, value })) };
      } catch {
        // Not this ABI's event: try the next one.
      }
    }
    return { ...base, name: undefined, args: [] };
  });
}

export interface TokenTransfer {
  readonly from: Address;
  readonly to: Address;
  readonly valueWei: bigint;
}

/** The CXPT Transfer events among `events` (mints from and burns to the zero address included). */
export function cxptTransfers(addresses: Addresses, events: readonly DecodedEvent[]): TokenTransfer[] {
  const cxpt = addresses.cxpt?.toLowerCase();
  return events
    .filter((e) => e.address.toLowerCase() === cxpt && e.name === "Transfer")
    .map((e) => {
      const arg = (name: string) => e.args.find((a) => a.name === name)?.value;
      return { from: getAddress(arg("from") as Address), to: getAddress(arg("to") as Address), valueWei: arg("value") as bigint };
    });
}

/** An event or call argument as text: addresses checksummed, integers exact, arrays and structs spelled out. */
export function formatArg(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return /^0x[0-9a-fA-F]{40}$/.test(value) ? getAddress(value) : value;
  if (Array.isArray(value)) return `[${value.map(formatArg).join(", ")}]`;
  if (value !== null && typeof value === "object") return `{ ${Object.entries(value).map(([k, v]) => `${k}: ${formatArg(v)}`).join(", ")} }`;
  return String(value);
}
