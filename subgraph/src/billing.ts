// UsageBilling: committed batches, and each leaf's outcome. A leaf the Vault could not collect
// is short until a later chunk collects it; the running sums follow the contract's bookkeeping
// (shortfall is what is short now, not what ever was).
import { Address, BigInt, ethereum } from "@graphprotocol/graph-ts";
import { BatchCommitted, LeafCollected, LeafShortfall, SpendingCapSet } from "../generated/UsageBilling/UsageBilling";
import { Batch, Leaf, LeafOutcome, SpendingCap } from "../generated/schema";
import { eventId, loadAccount, loadProtocol } from "./common";

export function handleBatchCommitted(event: BatchCommitted): void {
  let batch = new Batch(event.params.batchId.toString());
  batch.batchId = event.params.batchId;
  batch.root = event.params.root;
  batch.total = event.params.total;
  batch.count = event.params.count;
  batch.committedAt = event.block.timestamp;
  batch.transactionHash = event.transaction.hash;
  batch.collected = BigInt.zero();
  batch.shortfall = BigInt.zero();
  batch.leavesCollected = BigInt.zero();
  batch.leavesShort = BigInt.zero();
  batch.save();

  let protocol = loadProtocol();
  protocol.committed = protocol.committed.plus(event.params.total);
  protocol.save();
}

/** Books one leaf outcome on the leaf, its batch, its user and the protocol totals. */
function recordLeaf(event: ethereum.Event, batchId: BigInt, index: BigInt, user: Address, amount: BigInt, collected: boolean): void {
  let batch = Batch.load(batchId.toString());
  // Leaves are only collected for committed batches.
  if (batch == null) return;
  let account = loadAccount(user);
  let protocol = loadProtocol();

  let id = batch.id + "-" + index.toString();
  let leaf = Leaf.load(id);
  let wasShort = leaf != null && leaf.status == "Short";
  if (leaf == null) {
    leaf = new Leaf(id);
    leaf.batch = batch.id;
    leaf.index = index;
    leaf.user = account.id;
    leaf.amount = amount;
  }
  leaf.status = collected ? "Collected" : "Short";
  leaf.updatedAt = event.block.timestamp;
  leaf.save();

  if (collected) {
    batch.collected = batch.collected.plus(amount);
    batch.leavesCollected = batch.leavesCollected.plus(BigInt.fromI32(1));
    account.collected = account.collected.plus(amount);
    protocol.collected = protocol.collected.plus(amount);
  }
  // Short now and not before: the shortfall grows; collected after being short: it shrinks.
  if (collected && wasShort) {
    batch.shortfall = batch.shortfall.minus(amount);
    batch.leavesShort = batch.leavesShort.minus(BigInt.fromI32(1));
    account.shortfall = account.shortfall.minus(amount);
    protocol.shortfall = protocol.shortfall.minus(amount);
  } else if (!collected && !wasShort) {
    batch.shortfall = batch.shortfall.plus(amount);
    batch.leavesShort = batch.leavesShort.plus(BigInt.fromI32(1));
    account.shortfall = account.shortfall.plus(amount);
    protocol.shortfall = protocol.shortfall.plus(amount);
  }
  batch.save();
  account.save();
  protocol.save();

  let outcome = new LeafOutcome(eventId(event));
  outcome.leaf = leaf.id;
  outcome.batch = batch.id;
  outcome.user = account.id;
  outcome.amount = amount;
  outcome.collected = collected;
  outcome.blockNumber = event.block.number;
  outcome.timestamp = event.block.timestamp;
  outcome.transactionHash = event.transaction.hash;
  outcome.save();
}

export function handleLeafCollected(event: LeafCollected): void {
  let p = event.params;
  recordLeaf(event, p.batchId, p.index, p.user, p.amount, true);
}

export function handleLeafShortfall(event: LeafShortfall): void {
  let p = event.params;
  recordLeaf(event, p.batchId, p.index, p.user, p.amount, false);
}

export function handleSpendingCapSet(event: SpendingCapSet): void {
  let account = loadAccount(event.params.user);
  account.save();
  let cap = new SpendingCap(event.params.user);
  cap.account = account.id;
  cap.amount = event.params.amount;
  cap.period = event.params.period;
  cap.updatedAt = event.block.timestamp;
  cap.save();
}
