// Operations of the CxpProxyAdmin timelock (an OpenZeppelin TimelockController), proposed and
// executed by the Safe: schedule now, execute once the delay has passed.
import { encodeAbiParameters, encodeFunctionData, keccak256, parseAbiParameters, zeroHash, type Address, type Hash, type Hex, type PublicClient } from "viem";
import { timelockAbi } from "./abis.ts";
import { execSafeTransaction, type SafeTransaction, type Signer } from "./safe.ts";

/** One call the timelock makes, as TimelockController identifies it. */
export interface TimelockOperation {
  readonly target: Address;
  readonly value: bigint;
  readonly data: Hex;
  readonly predecessor: Hex;
  readonly salt: Hex;
}

export function timelockOperation(
  target: Address,
  data: Hex,
  options: { value?: bigint; predecessor?: Hex; salt?: Hex } = {},
): TimelockOperation {
  return { target, data, value: options.value ?? 0n, predecessor: options.predecessor ?? zeroHash, salt: options.salt ?? zeroHash };
}

/** The operation id, as `hashOperation` computes it. */
export function operationId(op: TimelockOperation): Hex {
  return keccak256(
    encodeAbiParameters(parseAbiParameters("address, uint256, bytes, bytes32, bytes32"), [
      op.target,
      op.value,
      op.data,
      op.predecessor,
      op.salt,
    ]),
  );
}

/** The Safe transaction that schedules `op` with `delay` seconds. */
export function scheduleTransaction(timelock: Address, op: TimelockOperation, delay: bigint): SafeTransaction {
  const data = encodeFunctionData({
    abi: timelockAbi,
    functionName: "schedule",
    args: [op.target, op.value, op.data, op.predecessor, op.salt, delay],
  });
  return { to: timelock, data };
}

/** The Safe transaction that executes `op` once ready. */
export function executeTransaction(timelock: Address, op: TimelockOperation): SafeTransaction {
  const data = encodeFunctionData({
    abi: timelockAbi,
    functionName: "execute",
    args: [op.target, op.value, op.data, op.predecessor, op.salt],
  });
  return { to: timelock, data, value: op.value };
}

/** Everything the Safe owners need to carry out one admin change through the timelock. */
export interface TimelockProposal {
  readonly label: string;
  readonly timelock: Address;
  readonly delay: bigint;
  readonly id: Hex;
  readonly operation: TimelockOperation;
  /** Safe transaction 1: schedule. */
  readonly schedule: SafeTransaction;
  /** Safe transaction 2, `delay` seconds later: execute. */
  readonly execute: SafeTransaction;
}

export function timelockProposal(label: string, timelock: Address, op: TimelockOperation, delay: bigint): TimelockProposal {
  return {
    label,
    timelock,
    delay,
    id: operationId(op),
    operation: op,
    schedule: scheduleTransaction(timelock, op, delay),
    execute: executeTransaction(timelock, op),
  };
}

/** A proposal as text for a console or a ticket: the two Safe transactions, exactly. */
export function formatProposal(p: TimelockProposal): string {
  return [
    `timelock proposal: ${p.label}`,
    `  operation id ${p.id}: target ${p.operation.target} value ${p.operation.value} data ${p.operation.data}`,
    `  predecessor ${p.operation.predecessor} salt ${p.operation.salt}`,
    `  Safe tx 1 (schedule): to ${p.schedule.to} value 0 data ${p.schedule.data}`,
    `  Safe tx 2 (execute, ≥ ${p.delay} s later): to ${p.execute.to} value ${p.execute.value ?? 0n} data ${p.execute.data}`,
  ].join("\n");
}

/** The Safe and its owners acting on the timelock. */
export interface Governance {
  readonly publicClient: PublicClient;
  readonly safe: Address;
  readonly timelock: Address;
  readonly owners: readonly Signer[];
  readonly executor?: Signer;
}

function viaSafe(g: Governance, tx: SafeTransaction): Promise<Hash> {
  return execSafeTransaction({ publicClient: g.publicClient, safe: g.safe, tx, owners: g.owners, executor: g.executor });
}

/** Schedules `op` from the Safe, with the timelock's minimum delay unless `delay` is given. */
export async function scheduleViaSafe(g: Governance, op: TimelockOperation, delay?: bigint): Promise<Hash> {
  const minDelay = delay ?? (await g.publicClient.readContract({ address: g.timelock, abi: timelockAbi, functionName: "getMinDelay" }));
  return viaSafe(g, scheduleTransaction(g.timelock, op, minDelay));
}

/** Executes a ready `op` from the Safe. */
export function executeViaSafe(g: Governance, op: TimelockOperation): Promise<Hash> {
  return viaSafe(g, executeTransaction(g.timelock, op));
}
