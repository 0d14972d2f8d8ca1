// Shared by every mapping: event entity ids and the running-total entities (Protocol, Account).
import { Address, BigInt, Bytes, ethereum } from "@graphprotocol/graph-ts";
import { Account, Protocol } from "../generated/schema";

const PROTOCOL_ID = "cxpt";

/** The id of the entity recording `event`: transaction hash ++ log index (unique per log). */
export function eventId(event: ethereum.Event): Bytes {
  return event.transaction.hash.concatI32(event.logIndex.toI32());
}

/** The suite-wide totals, created at zero on first use. */
export function loadProtocol(): Protocol {
  let protocol = Protocol.load(PROTOCOL_ID);
  if (protocol == null) {
    protocol = new Protocol(PROTOCOL_ID);
    protocol.received = BigInt.zero();
    protocol.burned = BigInt.zero();
    protocol.swept = BigInt.zero();
    protocol.funded = BigInt.zero();
    protocol.claimed = BigInt.zero();
    protocol.protocolWithdrawn = BigInt.zero();
    protocol.committed = BigInt.zero();
    protocol.collected = BigInt.zero();
    protocol.shortfall = BigInt.zero();
    protocol.tokensConsumed = BigInt.zero();
    protocol.supplyBurned = BigInt.zero();
  }
  return protocol;
}

/** The account of `address`, created at zero on first use (not saved: the caller saves it). */
export function loadAccount(address: Address): Account {
  let account = Account.load(address);
  if (account == null) {
    account = new Account(address);
    account.balance = BigInt.zero();
    account.paid = BigInt.zero();
    account.claimed = BigInt.zero();
    account.collected = BigInt.zero();
    account.shortfall = BigInt.zero();
  }
  return account;
}

/** Saves the account of `address` so a relation can point at it; returns its id. */
export function touchAccount(address: Address): Bytes {
  let account = loadAccount(address);
  account.save();
  return account.id;
}

/** The schema's Pool enum value for the contract's Pool (0 providers, 1 users). */
export function poolName(pool: i32): string {
  return pool == 0 ? "Providers" : "Users";
}

/** The uint256 a bytes32 holds (big-endian), as `bytes32(uint256)` made it. */
export function uint256FromBytes32(value: Bytes): BigInt {
  // BigInt reads little-endian bytes: reverse into a copy, never the event's own buffer.
  let littleEndian = new Bytes(value.length);
  for (let i = 0; i < value.length; i++) littleEndian[i] = value[value.length - 1 - i];
  return BigInt.fromUnsignedBytes(littleEndian);
}
