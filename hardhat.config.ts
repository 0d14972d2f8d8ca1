import { createRequire } from "node:module";
import { configVariable, defineConfig } from "hardhat/config";
import hardhatToolboxViem from "@nomicfoundation/hardhat-toolbox-viem";
import hardhatUpgrades from "@openzeppelin/hardhat-upgrades/viem";
import hardhatContractSizer from "@solidstate/hardhat-contract-sizer";

const require = createRequire(import.meta.url);

// Compile offline with the npm solc build: no compiler download at build time.
const solc = {
  version: "0.8.30",
  path: require.resolve("solc/soljson.js"),
  settings: { optimizer: { enabled: true, runs: 10_000 }, evmVersion: "cancun" },
};

export default defineConfig({
  plugins: [hardhatToolboxViem, hardhatUpgrades, hardhatContractSizer],
  // `npm run size` (part of `npm test`): fails when a deployed contract passes the 24 KiB limit (EIP-170).
  contractSizer: { strict: true, flat: true, only: [/^contracts\/(?!mocks\/)/] },
  solidity: {
    profiles: {
      default: solc,
      production: solc,
    },
    npmFilesToBuild: ["@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol"],
  },
  // Test doubles and the tests themselves are not what coverage measures.
  coverage: { skipFiles: ["contracts/mocks/**", "test/**"] },
  paths: { tests: { nodejs: "test/nodejs", solidity: "test/solidity" } },
  test: {
    solidity: {
      fuzz: { runs: 256 },
      invariant: { runs: 64, depth: 32, failOnRevert: false },
    },
  },
  networks: {
    // The 24 KiB limit (EIP-170) applies: EDR enforces it by default. Leave `allowUnlimitedContractSize`
    // unset: under `--coverage`, Hardhat lifts the limit (and the gas caps) only when the key is unset,
    // and the instrumented contracts pass 24 KiB. `npm run size` checks the compiled artifacts.
    hardhat: { type: "edr-simulated", chainType: "l1" },
    localhost: { type: "http", chainType: "l1", url: "http://127.0.0.1:8545" },
    agung: {
      type: "http",
      chainType: "l1",
      chainId: 9990,
      url: configVariable("AGUNG_RPC_URL"),
      accounts: [configVariable("DEPLOYER_PRIVATE_KEY")],
    },
    peaq: {
      type: "http",
      chainType: "l1",
      chainId: 3338,
      url: configVariable("PEAQ_RPC_URL"),
      accounts: [configVariable("DEPLOYER_PRIVATE_KEY")],
    },
  },
});
