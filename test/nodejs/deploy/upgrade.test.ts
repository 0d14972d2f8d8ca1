import assert from "node:assert/strict";
import { describe, it } from "node:test";
import hre from "hardhat";
import { upgrades } from "@openzeppelin/hardhat-upgrades/viem";
import { encodeFunctionData, getAddress, keccak256, maxUint256, parseEther, toHex, type Address, type Hex } from "viem";
import { HOUR } from "../../../deploy/index.ts";
import { governedAbi } from "../../../src/chain/abis.ts";
import { implementationOf } from "../../../src/chain/proxy.ts";
import { ROLES } from "../../../src/chain/roles.ts";
import { execSafeTransaction } from "../../../src/chain/safe.ts";
import { executeViaSafe, scheduleViaSafe, timelockOperation, type TimelockOperation } from "../../../src/chain/timelock.ts";
import type { ProxyKey, SuiteDeployment } from "../../../src/chain/types.ts";
import { accounts, addressOf, connection, contractsOf, deploy, governanceOf, networkHelpers, viem } from "./helpers.ts";

type Contracts = Awaited<ReturnType<typeof contractsOf>>;

/** Each proxy, its V2, and the state that must survive the upgrade. */
const UPGRADES = [
  { key: "cxpt", v2: "CXPTV2", state: (c: Contracts, user: Address) => Promise.all([c.cxpt.read.totalSupply(), c.cxpt.read.balanceOf([user])]) },
  {
    key: "vault",
    v2: "VaultV2",
    state: (c: Contracts) => Promise.all([c.vault.read.accrued(), c.vault.read.totalBurned(), c.vault.read.burnBps(), c.vault.read.token(), c.vault.read.distributor(), c.vault.read.sanctionsOracle()]),
  },
  {
    key: "distributor",
    v2: "RewardDistributorV2",
    state: (c: Contracts) => Promise.all([c.distributor.read.protocolBalance(), c.distributor.read.pendingFunding([0]), c.distributor.read.split(), c.distributor.read.trustedForwarder(), c.distributor.read.sanctionsOracle(), c.distributor.read.owed()]),
  },
  {
    key: "subscriptions",
    v2: "SubscriptionManagerV2",
    state: (c: Contracts, user: Address) => Promise.all([c.subscriptions.read.passOf([user]), c.subscriptions.read.bucketRemaining([1n]), c.subscriptions.read.planOf([1n]), c.subscriptions.read.settings()]),
  },
  { key: "billing", v2: "UsageBillingV2", state: (c: Contracts) => Promise.all([c.billing.read.batchOf([1n]), c.billing.read.vault()]) },
] as const;

/** The suite deployed, then used: a deposit, a plan activation, a sweep and a committed batch. */
async function deployAndUse() {
  const { deployment } = await deploy();
  const c = await contractsOf(deployment);
  const { distribution, settler } = await accounts();
  const user = distribution.account;
  await c.cxpt.write.approve([c.vault.address, maxUint256], { account: user });
  await c.vault.write.deposit([parseEther("1000"), toHex("invoice", { size: 32 })], { account: user });
  await c.subscriptions.write.activatePlan([1n], { account: user });
  await c.vault.write.sweep();
  await c.billing.write.commitBatch([1n, keccak256(toHex("root")), parseEther("5"), 2n], { account: settler.account });
  return deployment;
}
const loadUsedSuite = () => networkHelpers.loadFixture(deployAndUse);

const deployWithMainnetDelay = async () => (await deploy({ config: { timelockDelay: 48n * HOUR } })).deployment;
const loadMainnetLike = () => networkHelpers.loadFixture(deployWithMainnetDelay);

const upgradeCall = (implementation: Address) =>
  encodeFunctionData({ abi: governedAbi, functionName: "upgradeToAndCall", args: [implementation, "0x"] });

async function upgradeOperation(d: SuiteDeployment, key: ProxyKey, v2: (typeof UPGRADES)[number]["v2"]) {
  const implementation = await viem.deployContract(v2);
  const op: TimelockOperation = timelockOperation(addressOf(d, key), upgradeCall(implementation.address));
  return { implementation: implementation.address, op };
}

describe("upgrades through the Safe and the timelock", () => {
  for (const { key, v2, state } of UPGRADES) {
    it(`${key} upgrades to ${v2}, keeping its state and its admin`, async () => {
      const d = await loadUsedSuite();
      const { distribution } = await accounts();
      const c = await contractsOf(d);
      const before = await state(c, distribution.account.address);
      const { implementation, op } = await upgradeOperation(d, key, v2);
      const governance = await governanceOf(d);

      await scheduleViaSafe(governance, op);
      await executeViaSafe(governance, op);

      const upgraded = await viem.getContractAt(v2, addressOf(d, key));
      assert.equal(await upgraded.read.version(), "2");
      assert.equal(await implementationOf(await viem.getPublicClient(), addressOf(d, key)), getAddress(implementation));
      assert.deepEqual(await state(c, distribution.account.address), before);
      assert.equal(await c[key].read.hasRole([ROLES.DEFAULT_ADMIN, addressOf(d, "timelock")]), true);
    });
  }
});

describe("upgrades by anyone else", () => {
  for (const { key, v2 } of UPGRADES) {
    it(`${key}: upgradeToAndCall from the deployer, the Safe, a Safe owner or any account reverts AccessControlUnauthorizedAccount`, async () => {
      const d = await loadUsedSuite();
      const c = await contractsOf(d);
      const { deployer, owners, operator, stranger } = await accounts();
      const { implementation } = await upgradeOperation(d, key, v2);
      const proxy = await viem.getContractAt("Governed", c[key].address);
      const unauthorized = (account: Address): [Address, Hex] => [getAddress(account), ROLES.DEFAULT_ADMIN];

      for (const wallet of [deployer, owners[0], operator, stranger]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          proxy.write.upgradeToAndCall([implementation, "0x"], { account: wallet.account }),
          proxy,
          "AccessControlUnauthorizedAccount",
          unauthorized(wallet.account.address),
        );
      }
      const governance = await governanceOf(d);
      await viem.assertions.revertWithCustomErrorWithArgs(
        execSafeTransaction({ ...governance, tx: { to: proxy.address, data: upgradeCall(implementation) } }),
        proxy,
        "AccessControlUnauthorizedAccount",
        unauthorized(governance.safe),
      );
      assert.notEqual(await implementationOf(await viem.getPublicClient(), proxy.address), getAddress(implementation));
    });
  }

  it("only the Safe may schedule or execute on the timelock", async () => {
    const d = await loadUsedSuite();
    const { timelock } = await contractsOf(d);
    const { deployer, stranger } = await accounts();
    const { op } = await upgradeOperation(d, "vault", "VaultV2");
    const args = [op.target, op.value, op.data, op.predecessor, op.salt] as const;
    for (const wallet of [deployer, stranger]) {
      await viem.assertions.revertWithCustomErrorWithArgs(
        timelock.write.schedule([...args, 0n], { account: wallet.account }),
        timelock,
        "AccessControlUnauthorizedAccount",
        [getAddress(wallet.account.address), ROLES.PROPOSER],
      );
    }
    await scheduleViaSafe(await governanceOf(d), op);
    await viem.assertions.revertWithCustomErrorWithArgs(
      timelock.write.execute([...args], { account: stranger.account }),
      timelock,
      "AccessControlUnauthorizedAccount",
      [getAddress(stranger.account.address), ROLES.EXECUTOR],
    );
  });
});

describe("OpenZeppelin upgrades validation", () => {
  it("accepts each V2 and the current contracts over their earlier layouts, and rejects a V2 that reorders the Vault's namespaced storage", async () => {
    const api = await upgrades(hre, connection);
    for (const [v1, v2] of [
      ["CXPT", "CXPTV2"],
      ["Vault", "VaultV2"],
      ["RewardDistributor", "RewardDistributorV2"],
      ["SubscriptionManager", "SubscriptionManagerV2"],
      ["UsageBilling", "UsageBillingV2"],
      // The trust bounds (issue 12) appended to the namespaces deployed before them.
      ["UsageBillingV1Layout", "UsageBilling"],
      ["RewardDistributorV1Layout", "RewardDistributor"],
    ] as const) {
      await api.validateUpgrade(v1, v2, { kind: "uups" });
    }
    await assert.rejects(api.validateUpgrade("Vault", "VaultV2BadLayout", { kind: "uups" }), (error: Error) => {
      assert.match(error.message, /New storage layout is incompatible/);
      assert.match(error.message, /Inserted `accrued`/);
      return true;
    });
  });
});

describe("with a mainnet-like 48 h delay", () => {
  it("executing before the delay reverts TimelockUnexpectedOperationState; after it, the upgrade goes through", async () => {
    const d = await loadMainnetLike();
    const { timelock } = await contractsOf(d);
    assert.equal(await timelock.read.getMinDelay(), 48n * HOUR);
    const governance = await governanceOf(d);
    const { op } = await upgradeOperation(d, "vault", "VaultV2");

    await scheduleViaSafe(governance, op);
    await viem.assertions.revertWithCustomError(executeViaSafe(governance, op), timelock, "TimelockUnexpectedOperationState");
    await networkHelpers.time.increase(48n * HOUR - 60n);
    await viem.assertions.revertWithCustomError(executeViaSafe(governance, op), timelock, "TimelockUnexpectedOperationState");
    await networkHelpers.time.increase(60n);
    await executeViaSafe(governance, op);
    assert.equal(await (await viem.getContractAt("VaultV2", addressOf(d, "vault"))).read.version(), "2");
  });

  it("scheduling with less than the minimum delay reverts TimelockInsufficientDelay", async () => {
    const d = await loadMainnetLike();
    const { timelock } = await contractsOf(d);
    const { op } = await upgradeOperation(d, "vault", "VaultV2");
    await viem.assertions.revertWithCustomErrorWithArgs(
      scheduleViaSafe(await governanceOf(d), op, HOUR),
      timelock,
      "TimelockInsufficientDelay",
      [HOUR, 48n * HOUR],
    );
  });
});
