// What the indexer follows: the suite's business events per contract, decoded into plain JSON
// (bigints as decimal strings, addresses lower-case) so they can be stored and queried as jsonb.
import { decodeEventLog, toEventSelector, type Abi, type AbiEvent, type Address, type Hex, type Log } from "viem";
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
  billing: { abi: billingAbi, events: ["BatchCommitted", "LeafCollected", "LeafShortfall"] },
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

/** topic0 → the event's ABI item, per contract; only tracked events. */
const SELECTORS = new Map(
  INDEXED_CONTRACTS.map((contract) => {
    const { abi, events } = TRACKED[contract];
    const items = abi.filter((item): item is AbiEvent => item.type === "event" && events.includes(item.name));
    return [contract, new Map(items.map((item) => [toEventSelector(item), item]))] as const;
  }),
);

/** Decodes `log` of `contract`; undefined when it is not a tracked event. */
export function decodeLog(chainId: number, contract: IndexedContract, log: Log<bigint, number, false>): IndexedEvent | undefined {
  const item = log.topics[0] === undefined ? undefined : SELECTORS.get(contract)!.get(log.topics[0]);
  if (!item) return undefined;
  const decoded = decodeEventLog({ abi: [item], data: log.data, topics: log.topics as [Hex, ...Hex[]], strict: true });
  return {
    chainId,
    blockNumber: log.blockNumber,
    blockHash: log.blockHash,
    txHash: log.transactionHash,
    logIndex: log.logIndex,
    contract,
    address: log.address.toLowerCase() as Address,
    event: decoded.eventName,
    args: toJson(decoded.args ?? {}) as Record<string, Json>,
  };
}

/**
 * The wallets (lower-case) whose CXPT balance, Vault allowance or subscription an event changes:
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
    else if (contract === "billing" && (event === "LeafCollected" || event === "LeafShortfall")) add(args.user);
    else if (contract === "distributor" && event === "Claimed") add(args.account);
  }
  wallets.delete("0x0000000000000000000000000000000000000000");
  return wallets;
}
