// SubscriptionManager: plans, passes (minted by a Transfer just before their first activation),
// activations, renewals, bucket grants, token consumption and renewal switches.
import { Address, BigInt, ethereum } from "@graphprotocol/graph-ts";
import {
  BucketGranted,
  PassRenewed,
  PlanActivated,
  PlanSet,
  RenewalCancelled,
  RenewalResumed,
  TokensConsumed,
  Transfer,
} from "../generated/SubscriptionManager/SubscriptionManager";
import { BucketGrant, Pass, PassRenewal, Plan, PlanActivation, PassTransfer, RenewalChange, TokenConsumption } from "../generated/schema";
import { eventId, loadProtocol, touchAccount } from "./common";

/** Pass `passId`, created on first use for `owner` (its mint). */
function loadPass(passId: BigInt, owner: Address): Pass {
  let pass = Pass.load(passId.toString());
  if (pass == null) {
    pass = new Pass(passId.toString());
    pass.passId = passId;
    pass.owner = touchAccount(owner);
    pass.periodEnd = BigInt.zero();
    pass.autoRenew = false;
    pass.bucketRemaining = BigInt.zero();
    pass.consumed = BigInt.zero();
    pass.overage = BigInt.zero();
  }
  return pass;
}

export function handlePlanSet(event: PlanSet): void {
  let p = event.params;
  let plan = Plan.load(p.planId.toString());
  if (plan == null) {
    plan = new Plan(p.planId.toString());
    plan.planId = p.planId;
    plan.activations = BigInt.zero();
  }
  plan.price = p.price;
  plan.period = p.period;
  plan.bucket = p.bucket;
  plan.requestsPerMinute = p.requestsPerMinute;
  plan.concurrency = p.concurrency;
  plan.active = p.active;
  plan.save();
}

export function handleTransfer(event: Transfer): void {
  let pass = loadPass(event.params.tokenId, event.params.to);
  pass.owner = touchAccount(event.params.to);
  pass.save();

  let transfer = new PassTransfer(eventId(event));
  transfer.pass = pass.id;
  transfer.from = event.params.from;
  transfer.to = event.params.to;
  transfer.blockNumber = event.block.number;
  transfer.timestamp = event.block.timestamp;
  transfer.transactionHash = event.transaction.hash;
  transfer.save();
}

export function handlePlanActivated(event: PlanActivated): void {
  let p = event.params;
  let pass = loadPass(p.passId, p.user);
  pass.plan = p.planId.toString();
  pass.periodEnd = p.periodEnd;
  pass.autoRenew = true;
  pass.save();

  let plan = Plan.load(p.planId.toString());
  if (plan != null) {
    plan.activations = plan.activations.plus(BigInt.fromI32(1));
    plan.save();
  }

  let activation = new PlanActivation(eventId(event));
  activation.pass = pass.id;
  activation.user = pass.owner;
  activation.plan = p.planId.toString();
  activation.periodEnd = p.periodEnd;
  activation.depositId = p.depositId;
  activation.blockNumber = event.block.number;
  activation.timestamp = event.block.timestamp;
  activation.transactionHash = event.transaction.hash;
  activation.save();
}

export function handlePassRenewed(event: PassRenewed): void {
  let p = event.params;
  let pass = Pass.load(p.passId.toString());
  if (pass == null) return; // only minted passes renew
  pass.periodEnd = p.periodEnd;
  pass.save();

  let renewal = new PassRenewal(eventId(event));
  renewal.pass = pass.id;
  renewal.payer = p.payer;
  renewal.periodEnd = p.periodEnd;
  renewal.depositId = p.depositId;
  renewal.blockNumber = event.block.number;
  renewal.timestamp = event.block.timestamp;
  renewal.transactionHash = event.transaction.hash;
  renewal.save();
}

export function handleBucketGranted(event: BucketGranted): void {
  let p = event.params;
  let pass = Pass.load(p.passId.toString());
  if (pass == null) return;
  pass.bucketRemaining = pass.bucketRemaining.plus(p.amount);
  pass.save();

  let grant = new BucketGrant(eventId(event));
  grant.pass = pass.id;
  grant.amount = p.amount;
  grant.expiry = p.expiry;
  grant.blockNumber = event.block.number;
  grant.timestamp = event.block.timestamp;
  grant.transactionHash = event.transaction.hash;
  grant.save();
}

export function handleTokensConsumed(event: TokensConsumed): void {
  let p = event.params;
  let pass = Pass.load(p.passId.toString());
  if (pass == null) return;
  // The contract reports what is left after dropping expired tranches: take its word.
  pass.bucketRemaining = p.bucketRemaining;
  pass.consumed = pass.consumed.plus(p.amount);
  pass.overage = pass.overage.plus(p.overage);
  pass.save();

  let consumption = new TokenConsumption(eventId(event));
  consumption.pass = pass.id;
  consumption.amount = p.amount;
  consumption.fromBucket = p.fromBucket;
  consumption.overage = p.overage;
  consumption.bucketRemaining = p.bucketRemaining;
  consumption.blockNumber = event.block.number;
  consumption.timestamp = event.block.timestamp;
  consumption.transactionHash = event.transaction.hash;
  consumption.save();

  let protocol = loadProtocol();
  protocol.tokensConsumed = protocol.tokensConsumed.plus(p.amount);
  protocol.save();
}

/** Records a renewal switch of `passId` (`by` is null for a resume, which only the owner does). */
function recordRenewalChange(event: ethereum.Event, passId: BigInt, autoRenew: boolean, by: Address | null): void {
  let pass = Pass.load(passId.toString());
  if (pass == null) return;
  pass.autoRenew = autoRenew;
  pass.save();

  let change = new RenewalChange(eventId(event));
  change.pass = pass.id;
  change.autoRenew = autoRenew;
  if (by !== null) change.by = by;
  change.blockNumber = event.block.number;
  change.timestamp = event.block.timestamp;
  change.transactionHash = event.transaction.hash;
  change.save();
}

export function handleRenewalCancelled(event: RenewalCancelled): void {
  recordRenewalChange(event, event.params.passId, false, event.params.by);
}

export function handleRenewalResumed(event: RenewalResumed): void {
  recordRenewalChange(event, event.params.passId, true, null);
}
