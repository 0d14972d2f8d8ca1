// The suite's deployment library: plain functions over viem clients, no Hardhat import, so the
// backend can run it against any chain. scripts/deploy.ts is the Hardhat entry point.
export { deploySuite, parseTags, proxiesFor, resolveTags, PROXIES, TAGS } from "./suite.ts";
export type { DeployClients, DeployOptions, DeployResult, Tag, Wallet } from "./suite.ts";
export { DAY, DEFAULT_ECONOMICS, DEV_ACCOUNTS, HOUR, LIVE_TIMELOCK_DELAY, devConfig, envConfig, onchainPlan, usdToCxpt } from "./config.ts";
export type { DeployConfig, Economics, OnchainPlan, Operators, PlanConfig, SafeConfig } from "./config.ts";
export { CHAIN_DIR, readDeployment, renderDeployment, renderIndex, writeDeployment } from "./addresses.ts";
export { ARTIFACT_FILES, loadArtifact, REPO_ROOT } from "./artifacts.ts";
export type { Artifact, ArtifactName } from "./artifacts.ts";
