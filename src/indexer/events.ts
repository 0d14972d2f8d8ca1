// What the indexer follows: the suite's business events per contract, decoded into plain JSON
// (bigints as decimal strings, addresses lower-case) so they can be stored and queried as jsonb.
import { decodeAbiParameters, toEventSelector, type Abi, type AbiEvent, type AbiParameter, type Address, type Hex, type Log } from "viem";
import { billingAbi, cxptAbi, distributorAbi, subscriptionsAbi, vaultAbi } from "../chain/abis.ts";

/** The contracts whose events are indexed (keys of the suite's addresses). */
export type IndexedContract = "cxpt" | "vault" | "distributor" | "subscriptions" | "billing";

/** Per contract, its ABI and the events kept (the rest, role and upgrade bookkeeping, are skipped). */
export const TRACKED: Readonly<Record<IndexedContract, { readonly abi: Abi; readonly events: readonly string[] }>> = {
  cxpt: { abi: cxptAbi, events: ["Transfer", "Approval"] },
  vault: { abi: vaultAbi, events: ["Paid", "Swept", "BatchCollected", "DepositConsumed"] },
  distributor: { abi: distributorAbi, events: ["Funded", "EpochStarted", "SharesUpdated", "Claimed", "ProtocolWithdrawn"] },
  subscriptions: {
    abi: subscriptionsAbi,
    events: ["PlanSet", "PlanActivated", "PassRenewed", "TokensConsumed", "BucketGranted", "RenewalCancelled", "RenewalResumed", "Transfer"],
  },
  billing: { abi: billingAbi, events: ["BatchCommitted", "LeafCollected", "LeafShortfall", "SpendingCapSet"] },
};

export const INDEXED_CONTRACTS = Object.keys(TRACKED) as IndexedContract[];

export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };

/** One indexed event; `args` as stored (JSON form). */
export interface IndexedEvent {
  readonly chainId: number;
  readonly blockNumber: bigint;
  readonly blockHash: Hex;
  readonly txHash: Hex;
  readonly logIndex: number;
  readonly contract: IndexedContract;
  /** The emitting contract, lower-case. */
  readonly address: Address;
  readonly event: string;
  readonly args: Readonly<Record<string, Json>>;
}

/** JSON form of a decoded value: bigints as strings, addresses lower-case, arrays and tuples kept. */
export function toJson(value: unknown): Json {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return /^0x[0-9a-fA-F]{40}$/.test(value) ? value.toLowerCase() : value;
  if (typeof value === "number" || typeof value === "boolean" || value === null) return value;
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, toJson(v)]));
  }
  return null;
}

/** A tracked event's decoder: its name and its inputs split into topics and data, prepared once. */
interface EventDecoder {
  readonly name: string;
  readonly indexed: readonly AbiParameter[];
  readonly data: readonly AbiParameter[];
}

/** topic0 → the event's decoder, per contract; only tracked events. */
const SELECTORS = new Map(
  INDEXED_CONTRACTS.map((contract) => {
    const { abi, events } = TRACKED[contract];
    const items = abi.filter((item): item is AbiEvent => item.type === "event" && events.includes(item.name));
    const decoders = items.map((item): [Hex, EventDecoder] => [
      toEventSelector(item),
      { name: item.name, indexed: item.inputs.filter((input) => input.indexed), data: item.inputs.filter((input) => !input.indexed) },
    ]);
    return [contract, new Map(decoders)] as const;
  }),
);

/** A dynamic type's indexed topic holds its hash, not its value (as viem reports it). */
const isDynamic = (param: AbiParameter) => param.type === "string" || param.type === "bytes" || param.type.endsWith("]") || param.type === "tuple";

/**
 * Decodes `log` of `contract`; undefined when it is not a tracked event. The selector lookup and
 * the split of inputs are prepared once per event (decodeEventLog would redo them per log), which
 * matters when catching up over many thousands of events.
 */
export function decodeLog(chainId: number, contract: IndexedContract, log: Log<bigint, number, false>): IndexedEvent | undefined {
  const decoder = log.topics[0] === undefined ? undefined : SELECTORS.get(contract)!.get(log.topics[0]);
  if (!decoder) return undefined;
  if (log.topics.length !== decoder.indexed.length + 1) return undefined; // same selector, other indexing: not ours
  const args: Record<string, unknown> = {};
  decoder.indexed.forEach((param, i) => {
    const topic = log.topics[i + 1]!;
    args[param.name!] = isDynamic(param) ? topic : decodeAbiParameters([param], topic)[0];
  });
  const values = decodeAbiParameters(decoder.data, log.data);
  decoder.data.forEach((param, i) => (args[param.name!] = values[i]));
  return {
    chainId,
    blockNumber: log.blockNumber,
    blockHash: log.blockHash,
    txHash: log.transactionHash,
    logIndex: log.logIndex,
    contract,
    address: log.address.toLowerCase() as Address,
    event: decoder.name,
    args: toJson(args) as Record<string, Json>,
  };
}

/**
 * The wallets (lower-case) whose CXPT balance, Vault allowance, spending cap or subscription an event changes:
 * the ones the billing gate must reload. Pass holders change hands with the pass NFT.
 */
export function walletsTouched(events: readonly IndexedEvent[]): Set<string> {
  const wallets = new Set<string>();
  const add = (value: Json | undefined) => {
    if (typeof value === "string") wallets.add(value);
  };
  for (const { contract, event, args } of events) {
    if (event === "Transfer") {
      add(args.from);
      add(args.to);
    } else if (contract === "cxpt" && event === "Approval") add(args.owner);
    else if (contract === "vault" && (event === "Paid" || event === "DepositConsumed")) add(args.user);
    else if (contract === "subscriptions" && event === "PlanActivated") add(args.user);
    else if (contract === "billing" && (event === "LeafCollected" || event === "LeafShortfall" || event === "SpendingCapSet")) add(args.user);
    else if (contract === "distributor" && event === "Claimed") add(args.account);
  }
  wallets.delete("0x0000000000000000000000000000000000000000");
  return wallets;
}
