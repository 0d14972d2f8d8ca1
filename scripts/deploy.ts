// The one deployment command:
//   npx hardhat run scripts/deploy.ts --network <hardhat|localhost|agung|peaq>
// DEPLOY_TAGS=cxpt,vault selects tags (with what they need); all by default. Local networks use the
// development accounts (deploy/config.ts devConfig); agung and peaq read every address from the
// environment (envConfig) and validate each implementation with the OpenZeppelin upgrades plugin
// first. Addresses go to src/chain/addresses/<network>.ts (not for the throwaway in-process chain),
// or under CXPT_ADDRESSES_DIR (its addresses/<network>.ts and addresses.ts) when set: a rehearsal
// records its throwaway deployment there instead of in the repository.
import hre, { network } from "hardhat";
import { upgrades } from "@openzeppelin/hardhat-upgrades/viem";
import { formatProposal } from "../src/chain/timelock.ts";
import { deploySuite, devConfig, envConfig, parseTags, proxiesFor, readDeployment, writeDeployment } from "../deploy/index.ts";

const LIVE_NETWORKS = new Set(["agung", "peaq"]);

const connection = await network.create();
const { networkName } = connection;
const live = LIVE_NETWORKS.has(networkName);
const inProcess = connection.networkConfig.type === "edr-simulated";
const publicClient = await connection.viem.getPublicClient();
const [deployer, ...others] = await connection.viem.getWalletClients();
const config = live ? envConfig(process.env, networkName) : devConfig([deployer, ...others].map((w) => w.account.address));
const tags = parseTags(process.env.DEPLOY_TAGS);

if (live) {
  const api = await upgrades(hre, connection);
  for (const name of proxiesFor(tags)) {
    await api.validateImplementation(name, { kind: "uups" });
    console.log(`validated ${name} (UUPS, upgrade-safe)`);
  }
}

const addressesDir = process.env.CXPT_ADDRESSES_DIR || undefined;
const existing = await readDeployment(networkName, addressesDir);
const result = await deploySuite({ publicClient, wallet: deployer }, { network: networkName, config, tags, existing, log: console.log });

console.log(JSON.stringify(result.deployment, null, 2));
if (!inProcess) console.log(`wrote ${await writeDeployment(result.deployment, addressesDir)}`);
if (result.proposals.length > 0) {
  console.log(`\n${result.proposals.length} change(s) need the Safe to go through the timelock:`);
  for (const proposal of result.proposals) console.log(formatProposal(proposal));
  process.exitCode = 2;
}
