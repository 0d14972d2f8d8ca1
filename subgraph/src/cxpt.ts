// CXPT: transfers move account balances (from/to the zero address: mint and burn); approvals
// record the current allowance per owner and spender.
import { Address } from "@graphprotocol/graph-ts";
import { Approval, Transfer } from "../generated/CXPT/CXPT";
import { Allowance, TokenTransfer } from "../generated/schema";
import { eventId, loadAccount, loadProtocol, touchAccount } from "./common";

export function handleTransfer(event: Transfer): void {
  let from = event.params.from;
  let to = event.params.to;
  let value = event.params.value;

  let transfer = new TokenTransfer(eventId(event));
  transfer.from = from;
  transfer.to = to;
  transfer.value = value;
  transfer.blockNumber = event.block.number;
  transfer.timestamp = event.block.timestamp;
  transfer.transactionHash = event.transaction.hash;
  transfer.save();

  if (from != Address.zero()) {
    let sender = loadAccount(from);
    sender.balance = sender.balance.minus(value);
    sender.save();
  }
  if (to != Address.zero()) {
    let receiver = loadAccount(to);
    receiver.balance = receiver.balance.plus(value);
    receiver.save();
  } else {
    let protocol = loadProtocol();
    protocol.supplyBurned = protocol.supplyBurned.plus(value);
    protocol.save();
  }
}

export function handleApproval(event: Approval): void {
  let owner = event.params.owner;
  let spender = event.params.spender;
  let id = owner.concat(spender);
  let allowance = Allowance.load(id);
  if (allowance == null) {
    allowance = new Allowance(id);
    allowance.owner = touchAccount(owner);
    allowance.spender = spender;
  }
  allowance.value = event.params.value;
  allowance.updatedAt = event.block.timestamp;
  allowance.save();
}
