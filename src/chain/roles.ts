import { keccak256, toHex, zeroHash, type Hex } from "viem";

const role = (name: string): Hex => keccak256(toHex(name));

/** AccessControl role ids used across the suite and the CxpProxyAdmin timelock. */
export const ROLES = {
  DEFAULT_ADMIN: zeroHash,
  OPERATOR: role("OPERATOR_ROLE"),
  COLLECTOR: role("COLLECTOR_ROLE"),
  DEPOSIT_CONSUMER: role("DEPOSIT_CONSUMER_ROLE"),
  FUNDER: role("FUNDER_ROLE"),
  REWARDS: role("REWARDS_ROLE"),
  TREASURER: role("TREASURER_ROLE"),
  BILLING: role("BILLING_ROLE"),
  SETTLER: role("SETTLER_ROLE"),
  GUARDIAN: role("GUARDIAN_ROLE"),
  PROPOSER: role("PROPOSER_ROLE"),
  EXECUTOR: role("EXECUTOR_ROLE"),
  CANCELLER: role("CANCELLER_ROLE"),
} as const satisfies Record<string, Hex>;

export type RoleName = keyof typeof ROLES;

/** The role's name for messages ("COLLECTOR_ROLE"), or the id when unknown. */
export function roleName(id: Hex): string {
  const name = Object.entries(ROLES).find(([, value]) => value === id)?.[0];
  return name === undefined ? id : `${name}_ROLE`;
}
