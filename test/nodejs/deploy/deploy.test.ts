import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, it } from "node:test";
import { parseEther, type Address } from "viem";
import { DEFAULT_ECONOMICS, envConfig, parseTags, resolveTags, TAGS, usdToCxpt, writeDeployment, readDeployment } from "../../../deploy/index.ts";
import { governedAbi, safeAbi } from "../../../src/chain/abis.ts";
import { implementationOf } from "../../../src/chain/proxy.ts";
import { ROLES, type RoleName } from "../../../src/chain/roles.ts";
import { executeViaSafe, scheduleViaSafe } from "../../../src/chain/timelock.ts";
import type { ContractKey, SuiteDeployment } from "../../../src/chain/types.ts";
import { accounts, addressOf, contractsOf, deploy, governanceOf, loadDeployment, viem } from "./helpers.ts";

const PROXY_KEYS = ["cxpt", "distributor", "vault", "subscriptions", "billing"] as const;

async function hasRole(d: SuiteDeployment, target: ContractKey, role: RoleName, account: Address): Promise<boolean> {
  const publicClient = await viem.getPublicClient();
  return publicClient.readContract({ address: addressOf(d, target), abi: governedAbi, functionName: "hasRole", args: [ROLES[role], account] });
}

/** Every role the deployment grants: [contract, role, holder, holder's name]. */
async function expectedRoles(d: SuiteDeployment): Promise<[ContractKey, RoleName, Address, string][]> {
  const a = await accounts();
  const at = (key: ContractKey) => addressOf(d, key);
  return [
    ["vault", "OPERATOR", a.operator.account.address, "operator"],
    ["vault", "COLLECTOR", at("subscriptions"), "SubscriptionManager"],
    ["vault", "COLLECTOR", at("billing"), "UsageBilling"],
    ["vault", "DEPOSIT_CONSUMER", at("subscriptions"), "SubscriptionManager"],
    ["distributor", "FUNDER", at("vault"), "Vault"],
    ["distributor", "REWARDS", a.rewards.account.address, "rewards operator"],
    ["distributor", "TREASURER", at("safe"), "Safe"],
    ["subscriptions", "OPERATOR", a.operator.account.address, "operator"],
    ["subscriptions", "BILLING", a.billing.account.address, "billing backend"],
    ["billing", "SETTLER", a.settler.account.address, "settler"],
    ...PROXY_KEYS.map((key): [ContractKey, RoleName, Address, string] => [key, "DEFAULT_ADMIN", at("timelock"), "timelock"]),
    ["timelock", "PROPOSER", at("safe"), "Safe"],
    ["timelock", "EXECUTOR", at("safe"), "Safe"],
    ["timelock", "CANCELLER", at("safe"), "Safe"],
    ["timelock", "DEFAULT_ADMIN", at("timelock"), "timelock itself"],
  ];
}

async function chainState() {
  const publicClient = await viem.getPublicClient();
  const { deployer } = await accounts();
  return {
    block: await publicClient.getBlockNumber(),
    nonce: await publicClient.getTransactionCount({ address: deployer.account.address }),
  };
}

describe("deploySuite: the whole suite", () => {
  it("creates a 2-of-3 Safe from the development owners", async () => {
    const { deployment } = await loadDeployment();
    const publicClient = await viem.getPublicClient();
    const { owners } = await accounts();
    const safe = addressOf(deployment, "safe");
    const onchainOwners = await publicClient.readContract({ address: safe, abi: safeAbi, functionName: "getOwners" });
    assert.deepEqual(
      [...onchainOwners].map((o) => o.toLowerCase()).sort(),
      owners.map((o) => o.account.address.toLowerCase()).sort(),
    );
    assert.equal(await publicClient.readContract({ address: safe, abi: safeAbi, functionName: "getThreshold" }), 2n);
  });

  it("grants every role to its holder", async () => {
    const { deployment } = await loadDeployment();
    for (const [target, role, holder, name] of await expectedRoles(deployment)) {
      assert.ok(await hasRole(deployment, target, role, holder), `${role}_ROLE on ${target} for ${name}`);
    }
  });

  it("leaves the deployer no role on any contract", async () => {
    const { deployment } = await loadDeployment();
    const { deployer } = await accounts();
    for (const target of [...PROXY_KEYS, "timelock"] as const) {
      for (const role of Object.keys(ROLES) as RoleName[]) {
        assert.equal(await hasRole(deployment, target, role, deployer.account.address), false, `${role}_ROLE on ${target}`);
      }
    }
  });

  it("leaves the timelock's delay at 0 locally", async () => {
    const { deployment } = await loadDeployment();
    const { timelock } = await contractsOf(deployment);
    assert.equal(await timelock.read.getMinDelay(), 0n);
  });

  it("points every contract at the contracts it uses", async () => {
    const { deployment: d } = await loadDeployment();
    const { cxpt, distributor, vault, subscriptions, billing } = await contractsOf(d);
    const same = (actual: Address, key: ContractKey) => assert.equal(actual.toLowerCase(), addressOf(d, key).toLowerCase(), key);
    same(await vault.read.token(), "cxpt");
    same(await vault.read.distributor(), "distributor");
    same(await vault.read.sanctionsOracle(), "sanctionsOracle");
    same(await distributor.read.token(), "cxpt");
    same(await distributor.read.trustedForwarder(), "forwarder");
    same(await distributor.read.sanctionsOracle(), "sanctionsOracle");
    same((await subscriptions.read.settings())[0], "vault");
    same(await billing.read.vault(), "vault");
    assert.equal(await cxpt.read.symbol(), "CXPT");
  });

  it("mints the genesis supply to the distribution address", async () => {
    const { deployment } = await loadDeployment();
    const { cxpt } = await contractsOf(deployment);
    const { distribution } = await accounts();
    assert.equal(await cxpt.read.balanceOf([distribution.account.address]), parseEther("1000000000"));
    assert.equal(await cxpt.read.totalSupply(), parseEther("1000000000"));
  });

  it("sets the published economics: burn, split, overage, rollover and the three plans", async () => {
    const { deployment } = await loadDeployment();
    const { distributor, vault, subscriptions } = await contractsOf(deployment);
    const e = DEFAULT_ECONOMICS;
    assert.equal(await vault.read.burnBps(), 500n);
    assert.deepEqual(await distributor.read.split(), [3_000n, 5_500n, 1_500n]);
    const [, overageBps, rollover] = await subscriptions.read.settings();
    assert.equal(overageBps, 1_000n);
    assert.equal(rollover, 90n * 86_400n);
    assert.equal(await subscriptions.read.lastPlanId(), 3n);
    const expected = [
      { price: parseEther("150"), bucket: 20_000_000n, requestsPerMinute: 40, concurrency: 1 },
      { price: parseEther("690"), bucket: 100_000_000n, requestsPerMinute: 200, concurrency: 4 },
      { price: parseEther("2490"), bucket: 600_000_000n, requestsPerMinute: 1_000, concurrency: 15 },
    ];
    for (const [i, want] of expected.entries()) {
      assert.deepEqual(await subscriptions.read.planOf([BigInt(i + 1)]), { ...want, period: 30 * 86_400, active: true }, e.plans[i].name);
    }
  });

  it("records the chain id, the first deployment block and each proxy's implementation", async () => {
    const { deployment } = await loadDeployment();
    const publicClient = await viem.getPublicClient();
    assert.equal(deployment.chainId, 31337);
    const first = addressOf(deployment, "safeSingleton");
    const block = BigInt(deployment.deploymentBlock);
    assert.equal(await publicClient.getCode({ address: first, blockNumber: block - 1n }), undefined);
    assert.ok(await publicClient.getCode({ address: first, blockNumber: block }));
    for (const key of PROXY_KEYS) {
      assert.equal(deployment.implementations[key], await implementationOf(publicClient, addressOf(deployment, key)), key);
    }
  });
});

describe("deploySuite: idempotence", () => {
  it("a second run sends no transaction and gives the same addresses", async () => {
    const first = await loadDeployment();
    const before = await chainState();
    const second = await deploy({ existing: first.deployment });
    assert.deepEqual(await chainState(), before);
    assert.equal(second.transactions, 0);
    assert.deepEqual(second.proposals, []);
    assert.deepEqual(second.deployment, first.deployment);
  });

  it("ignores a recorded deployment from another chain", async () => {
    const first = await loadDeployment();
    const lines: string[] = [];
    const again = await deploy({ existing: { ...first.deployment, chainId: 1 }, log: (line) => lines.push(line) });
    assert.ok(lines.some((line) => line.includes("ignoring the recorded deployment for chain 1")));
    assert.notEqual(again.deployment.contracts.cxpt, first.deployment.contracts.cxpt);
    assert.ok(again.transactions > 0);
  });
});

describe("deploySuite: tags", () => {
  it("resolves each tag with what it needs, in deployment order", () => {
    assert.deepEqual(resolveTags(["cxpt"]), ["cxpt"]);
    assert.deepEqual(resolveTags(["vault"]), ["cxpt", "distributor", "vault"]);
    assert.deepEqual(resolveTags(["billing"]), ["cxpt", "distributor", "vault", "billing"]);
    assert.deepEqual(resolveTags(["subscription", "cxpt"]), ["cxpt", "distributor", "vault", "subscription"]);
    assert.deepEqual(resolveTags([]), [...TAGS]);
    assert.deepEqual(parseTags(" cxpt, vault ,"), ["cxpt", "distributor", "vault"]);
    assert.deepEqual(parseTags(undefined), [...TAGS]);
    assert.throws(() => resolveTags(["vaults"]), /unknown deploy tag "vaults"/);
  });

  it("cxpt deploys the governance and the token only", async () => {
    const { deployment, tags } = await deploy({ tags: ["cxpt"] });
    assert.deepEqual(tags, ["cxpt"]);
    assert.deepEqual(Object.keys(deployment.contracts).sort(), ["cxpt", "safe", "safeProxyFactory", "safeSingleton", "timelock"]);
    assert.ok(await hasRole(deployment, "cxpt", "DEFAULT_ADMIN", addressOf(deployment, "timelock")));
  });

  it("billing brings the vault, the distributor and the token, not the subscriptions", async () => {
    const { deployment } = await deploy({ tags: ["billing"] });
    assert.equal(deployment.contracts.subscriptions, undefined);
    for (const key of ["cxpt", "distributor", "vault", "billing"] as const) assert.ok(deployment.contracts[key], key);
    assert.ok(await hasRole(deployment, "vault", "COLLECTOR", addressOf(deployment, "billing")));
  });

  it("a later tag that needs a handed-over contract returns the timelock proposals; once the Safe runs them, a rerun is a no-op", async () => {
    const first = await deploy({ tags: ["vault"] });
    const lines: string[] = [];
    const second = await deploy({ tags: ["subscription"], existing: first.deployment, log: (line) => lines.push(line) });
    const d = second.deployment;
    const vault = addressOf(d, "vault");
    assert.equal(d.contracts.cxpt, first.deployment.contracts.cxpt);
    assert.deepEqual(
      second.proposals.map((p) => [p.label.split(" 0x")[0], p.operation.target]),
      [
        ["grant COLLECTOR_ROLE on vault to SubscriptionManager", vault],
        ["grant DEPOSIT_CONSUMER_ROLE on vault to SubscriptionManager", vault],
      ],
    );
    assert.equal(lines.filter((line) => line.includes("needs the timelock")).length, 2);
    assert.equal(await hasRole(d, "vault", "COLLECTOR", addressOf(d, "subscriptions")), false);

    const governance = await governanceOf(d);
    for (const p of second.proposals) {
      await scheduleViaSafe(governance, p.operation);
      await executeViaSafe(governance, p.operation);
    }
    assert.ok(await hasRole(d, "vault", "COLLECTOR", addressOf(d, "subscriptions")));
    assert.ok(await hasRole(d, "vault", "DEPOSIT_CONSUMER", addressOf(d, "subscriptions")));
    const third = await deploy({ existing: d, tags: ["subscription"] });
    assert.equal(third.transactions, 0);
    assert.deepEqual(third.proposals, []);
  });
});

describe("addresses module", () => {
  it("writes a typed module per network and an index by chain id, which import back", async () => {
    const { deployment } = await loadDeployment();
    const dir = await mkdtemp(join(tmpdir(), "cxpt-addresses-"));
    await writeFile(join(dir, "package.json"), '{ "type": "module" }');
    try {
      const file = await writeDeployment(deployment, dir);
      await writeDeployment({ ...deployment, network: "agung", chainId: 9990 }, dir);
      assert.equal(file, join(dir, "addresses", "hardhat.ts"));
      assert.deepEqual(await readDeployment("hardhat", dir), deployment);
      const module = await import(pathToFileURL(file).href);
      assert.deepEqual(module.deployment, deployment);
      const index = await import(pathToFileURL(join(dir, "addresses.ts")).href);
      assert.deepEqual(index.deploymentFor(31337), deployment);
      assert.equal(index.deploymentFor(9990).network, "agung");
      assert.equal(index.deploymentFor(3338), undefined);
      assert.deepEqual(Object.keys(index.deploymentsByNetwork), ["agung", "hardhat"]);
      assert.equal(await readDeployment("peaq", dir), undefined);
      await assert.rejects(writeDeployment({ ...deployment, network: "my-net" }, dir), /cannot name a module/);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe("configuration", () => {
  it("converts USD plan prices to CXPT wei at the configured rate, rounding down", () => {
    assert.equal(usdToCxpt("15", "0.10"), parseEther("150"));
    assert.equal(usdToCxpt("249", "0.10"), parseEther("2490"));
    assert.equal(usdToCxpt("69", "2"), parseEther("34.5"));
    assert.equal(usdToCxpt("1", "3"), 333_333_333_333_333_333n);
    assert.throws(() => usdToCxpt("15", "0"), /must be positive/);
  });

  const liveEnv = {
    SAFE_OWNERS: "0x1000000000000000000000000000000000000001,0x1000000000000000000000000000000000000002,0x1000000000000000000000000000000000000003",
    OPERATOR_ADDRESS: "0x2000000000000000000000000000000000000001",
    BILLING_ADDRESS: "0x2000000000000000000000000000000000000002",
    SETTLER_ADDRESS: "0x2000000000000000000000000000000000000003",
    REWARDS_ADDRESS: "0x2000000000000000000000000000000000000004",
    CXPT_USD: "0.25",
  };

  it("reads a live network's addresses from the environment, with the 48 h delay unless TIMELOCK_DELAY says otherwise", () => {
    const peaq = envConfig(liveEnv, "peaq");
    assert.equal(peaq.safe.owners.length, 3);
    assert.equal(peaq.safe.threshold, 2);
    assert.equal(peaq.timelockDelay, 48n * 3600n);
    assert.equal(peaq.distribution, "safe");
    assert.equal(peaq.sanctionsOracle, undefined);
    assert.equal(peaq.operators.settler, "0x2000000000000000000000000000000000000003");
    assert.equal(peaq.economics.cxptUsd, "0.25");
    // The delay is a setting, never the network's name: agung rehearses mainnet's 48 h by default.
    assert.equal(envConfig(liveEnv, "agung").timelockDelay, 48n * 3600n);
    assert.equal(envConfig({ ...liveEnv, TIMELOCK_DELAY: "3600" }, "agung").timelockDelay, 3600n);
    assert.equal(envConfig({ ...liveEnv, TIMELOCK_DELAY: "0" }, "peaq").timelockDelay, 0n);
    assert.throws(() => envConfig({ ...liveEnv, TIMELOCK_DELAY: "2d" }, "agung"), /TIMELOCK_DELAY must be a whole number of seconds/);
    // Shares uploads are reviewed 12 h on a live network unless REWARDS_REVIEW_DELAY says otherwise.
    assert.deepEqual(peaq.epochBounds, { minDuration: 3600n, maxDuration: 31n * 86_400n, reviewDelay: 12n * 3600n });
    assert.equal(envConfig({ ...liveEnv, REWARDS_REVIEW_DELAY: "600" }, "agung").epochBounds.reviewDelay, 600n);
  });

  it("refuses a live configuration with a missing or malformed value", () => {
    const { OPERATOR_ADDRESS: _, ...noOperator } = liveEnv;
    assert.throws(() => envConfig(noOperator, "agung"), /OPERATOR_ADDRESS must be set/);
    assert.throws(() => envConfig({ ...liveEnv, SAFE_OWNERS: "0x12" }, "agung"), /SAFE_OWNERS\[0\] is not an address/);
    assert.throws(() => envConfig({ ...liveEnv, SAFE_THRESHOLD: "4" }, "agung"), /SAFE_THRESHOLD must be between 1 and 3/);
    const { CXPT_USD: __, ...noRate } = liveEnv;
    assert.throws(() => envConfig(noRate, "peaq"), /CXPT_USD must be set/);
  });
});
