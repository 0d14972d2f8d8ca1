// Vault: payments (with the burned part), operator deposits and their one-time consumption,
// collected settlement chunks, and sweeps to the RewardDistributor.
import { BatchCollected, DepositConsumed, Paid, Swept } from "../generated/Vault/Vault";
import { Batch, Collection, Deposit, Payment, Sweep } from "../generated/schema";
import { eventId, loadAccount, loadProtocol, uint256FromBytes32 } from "./common";

export function handlePaid(event: Paid): void {
  let amount = event.params.amount;
  let burned = event.params.burned;
  let depositId = event.params.depositId;

  let user = loadAccount(event.params.user);
  user.paid = user.paid.plus(amount);
  user.save();

  let payment = new Payment(eventId(event));
  payment.user = user.id;
  payment.payer = event.params.payer;
  payment.amount = amount;
  payment.burned = burned;
  payment.ref = event.params.ref;
  payment.blockNumber = event.block.number;
  payment.timestamp = event.block.timestamp;
  payment.transactionHash = event.transaction.hash;

  if (!depositId.isZero()) {
    let deposit = new Deposit(depositId.toString());
    deposit.depositId = depositId;
    deposit.user = user.id;
    deposit.amount = amount;
    deposit.payment = payment.id;
    deposit.consumed = false;
    deposit.save();
    payment.deposit = deposit.id;
  }
  payment.save();

  let protocol = loadProtocol();
  protocol.received = protocol.received.plus(amount);
  protocol.burned = protocol.burned.plus(burned);
  protocol.save();
}

export function handleDepositConsumed(event: DepositConsumed): void {
  let deposit = Deposit.load(event.params.depositId.toString());
  // The Vault only consumes deposits it made, which the Paid handler recorded.
  if (deposit == null) return;
  deposit.consumed = true;
  deposit.consumer = event.params.consumer;
  deposit.consumedAt = event.block.timestamp;
  deposit.save();
}

export function handleBatchCollected(event: BatchCollected): void {
  let collection = new Collection(eventId(event));
  collection.ref = event.params.ref;
  // UsageBilling collects batch `id` with ref bytes32(id).
  let batchId = uint256FromBytes32(event.params.ref).toString();
  if (Batch.load(batchId) != null) collection.batch = batchId;
  collection.payers = event.params.payers;
  collection.amount = event.params.amount;
  collection.burned = event.params.burned;
  collection.blockNumber = event.block.number;
  collection.timestamp = event.block.timestamp;
  collection.transactionHash = event.transaction.hash;
  collection.save();

  let protocol = loadProtocol();
  protocol.received = protocol.received.plus(event.params.amount);
  protocol.burned = protocol.burned.plus(event.params.burned);
  protocol.save();
}

export function handleSwept(event: Swept): void {
  let sweep = new Sweep(eventId(event));
  sweep.distributor = event.params.distributor;
  sweep.amount = event.params.amount;
  sweep.blockNumber = event.block.number;
  sweep.timestamp = event.block.timestamp;
  sweep.transactionHash = event.transaction.hash;
  sweep.save();

  let protocol = loadProtocol();
  protocol.swept = protocol.swept.plus(event.params.amount);
  protocol.save();
}
