// Contract artifacts read from disk: the project's Hardhat build and the audited Safe build on npm.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Abi, Hex } from "viem";

export interface Artifact {
  readonly abi: Abi;
  readonly bytecode: Hex;
}

const SAFE_BUILD = "node_modules/@safe-global/safe-smart-account/build/artifacts/contracts";

/** Artifact files relative to the repository root. */
export const ARTIFACT_FILES = {
  CXPT: "artifacts/contracts/token/CXPT.sol/CXPT.json",
  RewardDistributor: "artifacts/contracts/rewards/RewardDistributor.sol/RewardDistributor.json",
  Vault: "artifacts/contracts/vault/Vault.sol/Vault.json",
  SubscriptionManager: "artifacts/contracts/subscriptions/SubscriptionManager.sol/SubscriptionManager.json",
  UsageBilling: "artifacts/contracts/billing/UsageBilling.sol/UsageBilling.json",
  CxpForwarder: "artifacts/contracts/governance/CxpForwarder.sol/CxpForwarder.json",
  CxpProxyAdmin: "artifacts/contracts/governance/CxpProxyAdmin.sol/CxpProxyAdmin.json",
  SanctionsListMock: "artifacts/contracts/mocks/SanctionsListMock.sol/SanctionsListMock.json",
  ERC1967Proxy: "artifacts/@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol/ERC1967Proxy.json",
  Safe: `${SAFE_BUILD}/Safe.sol/Safe.json`,
  SafeProxyFactory: `${SAFE_BUILD}/proxies/SafeProxyFactory.sol/SafeProxyFactory.json`,
} as const;

export type ArtifactName = keyof typeof ARTIFACT_FILES;

/** The repository root (this file lives in deploy/). */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Reads `name`'s ABI and creation bytecode under `root` (run `hardhat build` first). */
export function loadArtifact(name: ArtifactName, root: string = REPO_ROOT): Artifact {
  const file = join(root, ARTIFACT_FILES[name]);
  const { abi, bytecode } = JSON.parse(readFileSync(file, "utf8")) as Artifact;
  if (bytecode === undefined || bytecode === "0x") throw new Error(`${name}: artifact has no bytecode (${file})`);
  return { abi, bytecode };
}
