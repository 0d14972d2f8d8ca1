// RewardDistributor: funding splits, epochs with their budgets, the shares staged per epoch,
// pool and account (with the epoch's running sums), claims and protocol withdrawals.
import { BigInt } from "@graphprotocol/graph-ts";
import { Claimed, EpochStarted, Funded, ProtocolWithdrawn, SharesUpdated } from "../generated/RewardDistributor/RewardDistributor";
import { Claim, Epoch, Funding, ProtocolWithdrawal, ShareBalance, ShareUpdate } from "../generated/schema";
import { eventId, loadAccount, loadProtocol, poolName, touchAccount } from "./common";

/** Epoch `epoch`, created on first use: shares can be staged for it before it starts. */
function loadEpoch(epoch: BigInt): Epoch {
  let entity = Epoch.load(epoch.toString());
  if (entity == null) {
    entity = new Epoch(epoch.toString());
    entity.epoch = epoch;
    entity.providerShares = BigInt.zero();
    entity.userShares = BigInt.zero();
  }
  return entity;
}

export function handleFunded(event: Funded): void {
  let funding = new Funding(eventId(event));
  funding.amount = event.params.amount;
  funding.protocolShare = event.params.protocolShare;
  funding.providersShare = event.params.providersShare;
  funding.usersShare = event.params.usersShare;
  funding.blockNumber = event.block.number;
  funding.timestamp = event.block.timestamp;
  funding.transactionHash = event.transaction.hash;
  funding.save();

  let protocol = loadProtocol();
  protocol.funded = protocol.funded.plus(event.params.amount);
  protocol.save();
}

export function handleEpochStarted(event: EpochStarted): void {
  let epoch = loadEpoch(event.params.epoch);
  epoch.start = event.params.start;
  epoch.end = event.params.end;
  epoch.providersBudget = event.params.providersBudget;
  epoch.usersBudget = event.params.usersBudget;
  epoch.save();
}

export function handleSharesUpdated(event: SharesUpdated): void {
  let pool = poolName(event.params.pool);
  let account = touchAccount(event.params.account);
  let shares = event.params.shares;
  let epoch = loadEpoch(event.params.epoch);

  // SharesUpdated sets an account's shares: the epoch's sum moves by the difference.
  let id = epoch.id + "-" + pool + "-" + account.toHexString();
  let balance = ShareBalance.load(id);
  if (balance == null) {
    balance = new ShareBalance(id);
    balance.epoch = epoch.id;
    balance.pool = pool;
    balance.account = account;
    balance.shares = BigInt.zero();
  }
  let previous = balance.shares;
  balance.shares = shares;
  balance.save();

  let delta = shares.minus(previous);
  if (pool == "Providers") epoch.providerShares = epoch.providerShares.plus(delta);
  else epoch.userShares = epoch.userShares.plus(delta);
  epoch.save();

  let update = new ShareUpdate(eventId(event));
  update.epoch = epoch.id;
  update.pool = pool;
  update.account = account;
  update.shares = shares;
  update.previous = previous;
  update.blockNumber = event.block.number;
  update.timestamp = event.block.timestamp;
  update.transactionHash = event.transaction.hash;
  update.save();
}

export function handleClaimed(event: Claimed): void {
  let amount = event.params.amount;
  let account = loadAccount(event.params.account);
  account.claimed = account.claimed.plus(amount);
  account.save();

  let claim = new Claim(eventId(event));
  claim.account = account.id;
  claim.pool = poolName(event.params.pool);
  claim.amount = amount;
  claim.blockNumber = event.block.number;
  claim.timestamp = event.block.timestamp;
  claim.transactionHash = event.transaction.hash;
  claim.save();

  let protocol = loadProtocol();
  protocol.claimed = protocol.claimed.plus(amount);
  protocol.save();
}

export function handleProtocolWithdrawn(event: ProtocolWithdrawn): void {
  let withdrawal = new ProtocolWithdrawal(eventId(event));
  withdrawal.to = event.params.to;
  withdrawal.amount = event.params.amount;
  withdrawal.blockNumber = event.block.number;
  withdrawal.timestamp = event.block.timestamp;
  withdrawal.transactionHash = event.transaction.hash;
  withdrawal.save();

  let protocol = loadProtocol();
  protocol.protocolWithdrawn = protocol.protocolWithdrawn.plus(event.params.amount);
  protocol.save();
}
