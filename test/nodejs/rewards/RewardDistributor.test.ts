// RewardDistributor: initialization, funding, split, forwarder, points upload, epochs,
// protocol withdrawal, views and access control. Claims and properties: RewardDistributor.claims.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeFunctionData, isAddressEqual, maxUint96, zeroAddress, type Address, type Hex } from "viem";
import {
  DAY,
  Pool,
  ROLES,
  SPLIT,
  WEEK,
  deployProxy,
  filler,
  networkHelpers,
  setup,
  splitOf,
  viem,
  withEpoch,
  type Setup,
} from "./helpers.ts";

const same = (expected: Address) => (actual: Address) => isAddressEqual(actual, expected);
const MAX_EPOCH_DURATION = 366n * DAY;

/** Asserts that `promise` reverts with AccessControlUnauthorizedAccount(account, role). */
async function expectUnauthorized(s: Setup, promise: Promise<unknown>, account: Address, role: Hex) {
  await viem.assertions.revertWithCustomErrorWithArgs(
    promise as Promise<Hex>,
    s.distributor,
    "AccessControlUnauthorizedAccount",
    [same(account), role],
  );
}

type InitArgs = readonly [admin: Address, token: Address, forwarder: Address, protocolBps: bigint, providersBps: bigint, usersBps: bigint];

/** Deploys a fresh implementation and a proxy initialized with `args` (the promise rejects with initialize's error). */
async function deployInitialized(args: InitArgs) {
  const implementation = await viem.deployContract("RewardDistributor");
  const data = encodeFunctionData({ abi: implementation.abi, functionName: "initialize", args: [...args] });
  const { contract, deploymentTransaction } = await viem.sendDeploymentTransaction("ERC1967Proxy", [implementation.address, data]);
  return { implementation, hash: deploymentTransaction.hash, proxy: await viem.getContractAt("RewardDistributor", contract.address) };
}

describe("RewardDistributor", () => {
  describe("initialize", () => {
    it("sets the token, forwarder, default split and admin", async () => {
      const { distributor, cxpt, forwarder, wallets } = await setup();
      assert.ok(isAddressEqual(await distributor.read.token(), cxpt.address));
      assert.ok(isAddressEqual(await distributor.read.trustedForwarder(), forwarder.address));
      assert.equal(await distributor.read.isTrustedForwarder([forwarder.address]), true);
      assert.deepEqual(await distributor.read.split(), [SPLIT.protocol, SPLIT.providers, SPLIT.users]);
      assert.equal(await distributor.read.hasRole([ROLES.DEFAULT_ADMIN, wallets.admin.account.address]), true);
      assert.equal(await distributor.read.currentEpoch(), 0n);
      assert.equal(await distributor.read.MAX_EPOCH_DURATION(), MAX_EPOCH_DURATION);
    });

    it("emits the forwarder and split it was given, and accepts no forwarder", async () => {
      const { cxpt, wallets } = await setup();
      const { hash, proxy } = await deployInitialized([wallets.admin.account.address, cxpt.address, zeroAddress, 2_000n, 6_000n, 2_000n]);
      await viem.assertions.emitWithArgs(hash, proxy, "TrustedForwarderSet", [zeroAddress]);
      await viem.assertions.emitWithArgs(hash, proxy, "SplitSet", [2_000n, 6_000n, 2_000n]);
      assert.equal(await proxy.read.trustedForwarder(), zeroAddress);
      assert.deepEqual(await proxy.read.split(), [2_000n, 6_000n, 2_000n]);
    });

    it("cannot run twice, nor on the implementation", async () => {
      const { distributor, cxpt, wallets } = await setup();
      const args: InitArgs = [wallets.admin.account.address, cxpt.address, zeroAddress, 3_000n, 5_500n, 1_500n];
      await viem.assertions.revertWithCustomError(distributor.write.initialize([...args]), distributor, "InvalidInitialization");
      const { implementation } = await deployInitialized(args);
      await viem.assertions.revertWithCustomError(implementation.write.initialize([...args]), distributor, "InvalidInitialization");
    });

    it("rejects a zero token or admin (ZeroAddress)", async () => {
      const { distributor, cxpt, wallets } = await setup();
      const admin = wallets.admin.account.address;
      for (const args of [
        [admin, zeroAddress, zeroAddress, 3_000n, 5_500n, 1_500n],
        [zeroAddress, cxpt.address, zeroAddress, 3_000n, 5_500n, 1_500n],
      ] as const) {
        await viem.assertions.revertWithCustomError(deployInitialized(args) as Promise<never>, distributor, "ZeroAddress");
      }
    });

    it("rejects a split not summing to 10,000 bps (InvalidSplit)", async () => {
      const { distributor, cxpt, wallets } = await setup();
      await viem.assertions.revertWithCustomErrorWithArgs(
        deployInitialized([wallets.admin.account.address, cxpt.address, zeroAddress, 3_000n, 5_500n, 1_000n]) as Promise<never>,
        distributor,
        "InvalidSplit",
        [3_000n, 5_500n, 1_000n],
      );
    });

    it("works through the fixture's deployProxy helper too", async () => {
      const { cxpt, wallets } = await setup();
      const d = await deployProxy("RewardDistributor", [wallets.admin.account.address, cxpt.address, zeroAddress, 10_000n, 0n, 0n]);
      assert.deepEqual(await d.read.split(), [10_000n, 0n, 0n]);
    });
  });

  describe("notifyFunding", () => {
    it("splits a Vault sweep 30:55:15 into the protocol balance and the pools' pending funding", async () => {
      const s = await setup();
      const funded = await s.fund(10_000n * 10n ** 18n);
      const expected = splitOf(funded);
      assert.equal(await s.distributor.read.protocolBalance(), expected.protocol);
      assert.equal(await s.distributor.read.pendingFunding([Pool.Providers]), expected.providers);
      assert.equal(await s.distributor.read.pendingFunding([Pool.Users]), expected.users);
      assert.equal(await s.balanceOf(s.distributor.address), funded);
    });

    it("emits Funded with the three shares", async () => {
      const s = await setup();
      const gross = 2_000n * 10n ** 18n;
      await s.wait(s.cxpt.write.approve([s.vault.address, gross], { account: s.wallets.alice.account }));
      await s.wait(s.vault.write.deposit([gross, `0x${"00".repeat(32)}`], { account: s.wallets.alice.account }));
      const funded = await s.vault.read.accrued();
      const { protocol, providers, users } = splitOf(funded);
      await viem.assertions.emitWithArgs(s.vault.write.sweep(), s.distributor, "Funded", [funded, protocol, providers, users]);
    });

    it("accumulates fundings and gives the rounding remainder to the users pool", async () => {
      const s = await setup();
      await s.wait(s.distributor.write.grantRole([ROLES.FUNDER, s.wallets.operator.account.address]));
      const funder = { account: s.wallets.operator.account };
      await s.wait(s.distributor.write.notifyFunding([7n], funder));
      await s.wait(s.distributor.write.notifyFunding([13n], funder));
      const a = splitOf(7n);
      const b = splitOf(13n);
      assert.equal(a.protocol + a.providers + a.users, 7n);
      assert.equal(await s.distributor.read.protocolBalance(), a.protocol + b.protocol);
      assert.equal(await s.distributor.read.pendingFunding([Pool.Providers]), a.providers + b.providers);
      assert.equal(await s.distributor.read.pendingFunding([Pool.Users]), a.users + b.users);
    });

    it("uses the split in force when the funding arrives", async () => {
      const s = await setup();
      await s.wait(s.distributor.write.setSplit([1_000n, 1_000n, 8_000n]));
      const funded = await s.fund(1_000n * 10n ** 18n);
      const expected = splitOf(funded, { protocol: 1_000n, providers: 1_000n });
      assert.equal(await s.distributor.read.protocolBalance(), expected.protocol);
      assert.equal(await s.distributor.read.pendingFunding([Pool.Users]), expected.users);
    });

    it("rejects a zero amount (ZeroAmount)", async () => {
      const s = await setup();
      await s.wait(s.distributor.write.grantRole([ROLES.FUNDER, s.wallets.operator.account.address]));
      await viem.assertions.revertWithCustomError(
        s.distributor.write.notifyFunding([0n], { account: s.wallets.operator.account }),
        s.distributor,
        "ZeroAmount",
      );
    });

    it("is reserved to FUNDER_ROLE", async () => {
      const s = await setup();
      for (const w of [s.wallets.alice, s.wallets.admin, s.wallets.rewardsOperator]) {
        await expectUnauthorized(s, s.distributor.write.notifyFunding([1n], { account: w.account }), w.account.address, ROLES.FUNDER);
      }
    });
  });

  describe("setSplit", () => {
    it("sets the split of future fundings and emits SplitSet", async () => {
      const s = await setup();
      await viem.assertions.emitWithArgs(s.distributor.write.setSplit([2_500n, 6_000n, 1_500n]), s.distributor, "SplitSet", [
        2_500n,
        6_000n,
        1_500n,
      ]);
      assert.deepEqual(await s.distributor.read.split(), [2_500n, 6_000n, 1_500n]);
    });

    it("accepts a split giving everything to one side", async () => {
      const s = await setup();
      await s.wait(s.distributor.write.setSplit([0n, 10_000n, 0n]));
      const funded = await s.fund(100n * 10n ** 18n);
      assert.equal(await s.distributor.read.pendingFunding([Pool.Providers]), funded);
      assert.equal(await s.distributor.read.protocolBalance(), 0n);
    });

    for (const bad of [
      [3_000n, 5_500n, 1_499n],
      [3_000n, 5_500n, 1_501n],
      [0n, 0n, 0n],
    ] as const) {
      it(`rejects ${bad.join(":")} (InvalidSplit)`, async () => {
        const s = await setup();
        await viem.assertions.revertWithCustomErrorWithArgs(s.distributor.write.setSplit([...bad]), s.distributor, "InvalidSplit", [
          ...bad,
        ]);
      });
    }

    it("is reserved to the admin", async () => {
      const s = await setup();
      for (const w of [s.wallets.alice, s.wallets.rewardsOperator, s.wallets.treasurer]) {
        await expectUnauthorized(s, s.distributor.write.setSplit([0n, 0n, 10_000n], { account: w.account }), w.account.address, ROLES.DEFAULT_ADMIN);
      }
    });
  });

  describe("setTrustedForwarder", () => {
    it("replaces the forwarder and emits TrustedForwarderSet", async () => {
      const s = await setup();
      const other = await viem.deployContract("CxpForwarder");
      await viem.assertions.emitWithArgs(s.distributor.write.setTrustedForwarder([other.address]), s.distributor, "TrustedForwarderSet", [
        same(other.address),
      ]);
      assert.ok(isAddressEqual(await s.distributor.read.trustedForwarder(), other.address));
      assert.equal(await s.distributor.read.isTrustedForwarder([s.forwarder.address]), false);
      assert.equal(await s.distributor.read.isTrustedForwarder([other.address]), true);
    });

    it("zero disables relaying", async () => {
      const s = await setup();
      await s.wait(s.distributor.write.setTrustedForwarder([zeroAddress]));
      assert.equal(await s.distributor.read.trustedForwarder(), zeroAddress);
      assert.equal(await s.distributor.read.isTrustedForwarder([s.forwarder.address]), false);
    });

    it("is reserved to the admin", async () => {
      const s = await setup();
      for (const w of [s.wallets.alice, s.wallets.rewardsOperator, s.wallets.relayer]) {
        await expectUnauthorized(s, s.distributor.write.setTrustedForwarder([w.account.address], { account: w.account }), w.account.address, ROLES.DEFAULT_ADMIN);
      }
    });
  });

  describe("updateShares", () => {
    it("stages points for the next epoch and emits SharesUpdated per account", async () => {
      const s = await setup();
      const { alice, bob } = s.wallets;
      const accounts = [alice.account.address, bob.account.address];
      const hash = s.distributor.write.updateShares([1n, Pool.Providers, accounts, [3n, 5n]], { account: s.wallets.rewardsOperator.account });
      const receipt = await s.wait(hash);
      await viem.assertions.emitWithArgs(receipt.transactionHash, s.distributor, "SharesUpdated", [1n, Pool.Providers, same(alice.account.address), 3n]);
      await viem.assertions.emitWithArgs(receipt.transactionHash, s.distributor, "SharesUpdated", [1n, Pool.Providers, same(bob.account.address), 5n]);
      assert.equal(await s.distributor.read.sharesOf([alice.account.address, Pool.Providers, 1n]), 3n);
      assert.equal(await s.distributor.read.sharesOf([bob.account.address, Pool.Providers, 1n]), 5n);
      assert.deepEqual(await s.distributor.read.poolEpoch([1n, Pool.Providers]), [8n, 0n]);
      assert.deepEqual(await s.distributor.read.poolEpoch([1n, Pool.Users]), [0n, 0n], "the other pool is untouched");
      assert.equal(await s.distributor.read.sharesOf([alice.account.address, Pool.Users, 1n]), 0n);
    });

    it("adds batches up in totalShares", async () => {
      const s = await setup();
      const accounts = Array.from({ length: 6 }, (_, i) => filler(i));
      await s.upload(1n, Pool.Users, accounts.slice(0, 3), [1n, 2n, 3n]);
      await s.upload(1n, Pool.Users, accounts.slice(3), [4n, 5n, 6n]);
      assert.deepEqual(await s.distributor.read.poolEpoch([1n, Pool.Users]), [21n, 0n]);
    });

    it("overwrites a re-uploaded account and fixes totalShares", async () => {
      const s = await setup();
      const [a, b] = [filler(1), filler(2)];
      await s.upload(1n, Pool.Providers, [a, b], [10n, 20n]);
      await s.upload(1n, Pool.Providers, [a], [4n]);
      assert.equal(await s.distributor.read.sharesOf([a, Pool.Providers, 1n]), 4n);
      assert.deepEqual(await s.distributor.read.poolEpoch([1n, Pool.Providers]), [24n, 0n]);
      // The same account twice in one batch: the last value wins.
      await s.upload(1n, Pool.Providers, [b, b], [7n, 9n]);
      assert.equal(await s.distributor.read.sharesOf([b, Pool.Providers, 1n]), 9n);
      assert.deepEqual(await s.distributor.read.poolEpoch([1n, Pool.Providers]), [13n, 0n]);
    });

    it("an empty batch changes nothing", async () => {
      const s = await setup();
      await s.upload(1n, Pool.Users, [filler(1)], [3n]);
      await s.upload(1n, Pool.Users, [], []);
      assert.deepEqual(await s.distributor.read.poolEpoch([1n, Pool.Users]), [3n, 0n]);
    });

    it("zero removes an account", async () => {
      const s = await setup();
      const [a, b] = [filler(1), filler(2)];
      await s.upload(1n, Pool.Users, [a, b], [10n, 20n]);
      await s.upload(1n, Pool.Users, [a], [0n]);
      assert.equal(await s.distributor.read.sharesOf([a, Pool.Users, 1n]), 0n);
      assert.deepEqual(await s.distributor.read.poolEpoch([1n, Pool.Users]), [20n, 0n]);
    });

    it("stages the next epoch while the current one runs, and re-uploads it", async () => {
      const s = await setup();
      const a = filler(1);
      await withEpoch(s, { providers: [[a, 5n]] });
      await s.upload(2n, Pool.Providers, [a], [8n]);
      await s.upload(2n, Pool.Providers, [a], [6n]);
      assert.equal(await s.distributor.read.sharesOf([a, Pool.Providers, 1n]), 5n, "the running epoch keeps its points");
      assert.equal(await s.distributor.read.sharesOf([a, Pool.Providers, 2n]), 6n);
      assert.deepEqual(await s.distributor.read.poolEpoch([2n, Pool.Providers]), [6n, 0n]);
    });

    it("folds the account's ended epoch when it stages a new one", async () => {
      const s = await setup();
      const a = filler(1);
      const e1 = await withEpoch(s, { providers: [[a, 5n]] });
      await s.upload(2n, Pool.Providers, [a], [5n]);
      await s.at(e1.end);
      await s.start(2n, WEEK);
      await s.upload(3n, Pool.Providers, [a], [1n]);
      assert.equal(await s.distributor.read.sharesOf([a, Pool.Providers, 1n]), 0n, "epoch 1 was folded");
      assert.equal(await s.distributor.read.sharesOf([a, Pool.Providers, 2n]), 5n);
      assert.equal(await s.distributor.read.sharesOf([a, Pool.Providers, 3n]), 1n);
      assert.equal(await s.distributor.read.pendingOf([a, Pool.Providers]), e1.providers, "folding kept what epoch 1 earned");
    });

    it("rejects any epoch but the next (NotNextEpoch)", async () => {
      const s = await setup();
      const a = [filler(1)];
      for (const epoch of [0n, 2n]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          s.distributor.write.updateShares([epoch, Pool.Providers, a, [1n]], { account: s.wallets.rewardsOperator.account }),
          s.distributor,
          "NotNextEpoch",
          [epoch, 1n],
        );
      }
      await withEpoch(s, { providers: [[a[0], 1n]] });
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.distributor.write.updateShares([1n, Pool.Providers, a, [2n]], { account: s.wallets.rewardsOperator.account }),
        s.distributor,
        "NotNextEpoch",
        [1n, 2n],
      );
    });

    it("rejects unequal array lengths (LengthMismatch)", async () => {
      const s = await setup();
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.distributor.write.updateShares([1n, Pool.Users, [filler(1), filler(2)], [1n]], { account: s.wallets.rewardsOperator.account }),
        s.distributor,
        "LengthMismatch",
        [2n, 1n],
      );
    });

    it("rejects the zero address (ZeroAddress)", async () => {
      const s = await setup();
      await viem.assertions.revertWithCustomError(
        s.distributor.write.updateShares([1n, Pool.Users, [filler(1), zeroAddress], [1n, 1n]], { account: s.wallets.rewardsOperator.account }),
        s.distributor,
        "ZeroAddress",
      );
    });

    it("accepts points up to uint96 and rejects more (SharesTooLarge)", async () => {
      const s = await setup();
      await s.upload(1n, Pool.Users, [filler(1)], [maxUint96]);
      assert.equal(await s.distributor.read.sharesOf([filler(1), Pool.Users, 1n]), maxUint96);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.distributor.write.updateShares([1n, Pool.Users, [filler(2)], [maxUint96 + 1n]], { account: s.wallets.rewardsOperator.account }),
        s.distributor,
        "SharesTooLarge",
        [maxUint96 + 1n],
      );
    });

    it("is reserved to REWARDS_ROLE", async () => {
      const s = await setup();
      for (const w of [s.wallets.alice, s.wallets.admin, s.wallets.treasurer]) {
        await expectUnauthorized(
          s,
          s.distributor.write.updateShares([1n, Pool.Users, [filler(1)], [1n]], { account: w.account }),
          w.account.address,
          ROLES.REWARDS,
        );
      }
    });
  });

  describe("startEpoch", () => {
    it("gives each pool its pending funding as budget and emits EpochStarted", async () => {
      const s = await setup();
      const funded = await s.fund(5_000n * 10n ** 18n);
      const { providers, users } = splitOf(funded);
      await s.upload(1n, Pool.Providers, [filler(1)], [1n]);
      await s.upload(1n, Pool.Users, [filler(2)], [1n]);
      const startAt = BigInt(await networkHelpers.time.latest()) + 10n;
      await s.nextAt(startAt);
      await viem.assertions.emitWithArgs(
        s.distributor.write.startEpoch([1n, WEEK], { account: s.wallets.rewardsOperator.account }),
        s.distributor,
        "EpochStarted",
        [1n, startAt, startAt + WEEK, providers, users],
      );
      assert.equal(await s.distributor.read.currentEpoch(), 1n);
      assert.deepEqual(await s.distributor.read.epochTimes([1n]), [startAt, startAt + WEEK]);
      assert.deepEqual(await s.distributor.read.poolEpoch([1n, Pool.Providers]), [1n, providers]);
      assert.deepEqual(await s.distributor.read.poolEpoch([1n, Pool.Users]), [1n, users]);
      assert.equal(await s.distributor.read.pendingFunding([Pool.Providers]), 0n);
      assert.equal(await s.distributor.read.pendingFunding([Pool.Users]), 0n);
    });

    it("starts an epoch with no funding (zero budgets)", async () => {
      const s = await setup();
      await s.upload(1n, Pool.Providers, [filler(1)], [1n]);
      await s.start(1n, DAY);
      assert.deepEqual(await s.distributor.read.poolEpoch([1n, Pool.Providers]), [1n, 0n]);
      await s.at((await s.distributor.read.epochTimes([1n]))[1]);
      assert.equal(await s.distributor.read.pendingOf([filler(1)]), 0n);
    });

    it("leaves a pool's funding pending while nobody holds points in it", async () => {
      const s = await setup();
      const e1 = await withEpoch(s, { providers: [[filler(1), 1n]] });
      assert.deepEqual(await s.distributor.read.poolEpoch([1n, Pool.Users]), [0n, 0n]);
      assert.equal(await s.distributor.read.pendingFunding([Pool.Users]), e1.users);
      // Epoch 2 has user points: it receives both fundings of the user pool.
      const second = splitOf(await s.fund(3_000n * 10n ** 18n));
      await s.upload(2n, Pool.Users, [filler(2)], [1n]);
      await s.at(e1.end);
      await s.start(2n, WEEK);
      assert.deepEqual(await s.distributor.read.poolEpoch([2n, Pool.Users]), [1n, e1.users + second.users]);
      assert.deepEqual(await s.distributor.read.poolEpoch([2n, Pool.Providers]), [0n, 0n]);
      assert.equal(await s.distributor.read.pendingFunding([Pool.Providers]), second.providers);
      assert.equal(await s.distributor.read.pendingFunding([Pool.Users]), 0n);
    });

    it("keeps funding that arrives during an epoch for the next one", async () => {
      const s = await setup();
      const e1 = await withEpoch(s, { users: [[filler(1), 1n]] });
      const later = splitOf(await s.fund(777n * 10n ** 18n));
      assert.deepEqual(await s.distributor.read.poolEpoch([1n, Pool.Users]), [1n, e1.users], "the running budget is fixed");
      assert.equal(await s.distributor.read.pendingFunding([Pool.Users]), later.users);
      assert.equal(await s.distributor.read.pendingFunding([Pool.Providers]), e1.providers + later.providers);
    });

    it("rejects any epoch but the next (NotNextEpoch)", async () => {
      const s = await setup();
      await s.upload(1n, Pool.Providers, [filler(1)], [1n]);
      for (const epoch of [0n, 2n]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          s.distributor.write.startEpoch([epoch, WEEK], { account: s.wallets.rewardsOperator.account }),
          s.distributor,
          "NotNextEpoch",
          [epoch, 1n],
        );
      }
    });

    it("waits for the previous epoch to end (EpochNotEnded), then starts exactly at its end", async () => {
      const s = await setup();
      const e1 = await withEpoch(s, { providers: [[filler(1), 1n]] });
      await s.upload(2n, Pool.Providers, [filler(1)], [1n]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.distributor.write.startEpoch([2n, WEEK], { account: s.wallets.rewardsOperator.account }),
        s.distributor,
        "EpochNotEnded",
        [1n, e1.end],
      );
      await s.nextAt(e1.end);
      const e2 = await s.start(2n, WEEK);
      assert.equal(e2.start, e1.end);
    });

    it("accepts durations from 1 s to MAX_EPOCH_DURATION and rejects others (InvalidDuration)", async () => {
      const s = await setup();
      await s.upload(1n, Pool.Providers, [filler(1)], [1n]);
      for (const duration of [0n, MAX_EPOCH_DURATION + 1n]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          s.distributor.write.startEpoch([1n, duration], { account: s.wallets.rewardsOperator.account }),
          s.distributor,
          "InvalidDuration",
          [duration],
        );
      }
      const e1 = await s.start(1n, MAX_EPOCH_DURATION);
      assert.equal(e1.end - e1.start, MAX_EPOCH_DURATION);
      await s.upload(2n, Pool.Providers, [filler(1)], [1n]);
      await s.at(e1.end);
      const e2 = await s.start(2n, 1n);
      assert.equal(e2.end - e2.start, 1n);
    });

    it("rejects an epoch without points in either pool (NoShares)", async () => {
      const s = await setup();
      await s.fund(100n * 10n ** 18n);
      const noShares = () =>
        viem.assertions.revertWithCustomErrorWithArgs(
          s.distributor.write.startEpoch([1n, WEEK], { account: s.wallets.rewardsOperator.account }),
          s.distributor,
          "NoShares",
          [1n],
        );
      await noShares();
      // Points uploaded and then all removed count as none.
      await s.upload(1n, Pool.Users, [filler(1)], [5n]);
      await s.upload(1n, Pool.Users, [filler(1)], [0n]);
      await noShares();
    });

    it("starts with points in the user pool only", async () => {
      const s = await setup();
      const e1 = await withEpoch(s, { users: [[filler(1), 1n]] });
      assert.deepEqual(await s.distributor.read.poolEpoch([1n, Pool.Users]), [1n, e1.users]);
      assert.equal(await s.distributor.read.pendingFunding([Pool.Providers]), e1.providers);
    });

    it("is reserved to REWARDS_ROLE", async () => {
      const s = await setup();
      await s.upload(1n, Pool.Providers, [filler(1)], [1n]);
      for (const w of [s.wallets.alice, s.wallets.admin, s.wallets.treasurer]) {
        await expectUnauthorized(s, s.distributor.write.startEpoch([1n, WEEK], { account: w.account }), w.account.address, ROLES.REWARDS);
      }
    });
  });

  describe("withdrawProtocol", () => {
    it("pays the treasurer's recipient from the protocol balance and emits ProtocolWithdrawn", async () => {
      const s = await setup();
      const { protocol } = splitOf(await s.fund(10_000n * 10n ** 18n));
      const to = s.wallets.carol.account.address;
      const before = await s.balanceOf(to);
      const claimableBefore = await s.claimable();
      const part = protocol / 3n;
      await viem.assertions.emitWithArgs(
        s.distributor.write.withdrawProtocol([to, part], { account: s.wallets.treasurer.account }),
        s.distributor,
        "ProtocolWithdrawn",
        [same(to), part],
      );
      assert.equal(await s.balanceOf(to), before + part);
      assert.equal(await s.distributor.read.protocolBalance(), protocol - part);
      await s.wait(s.distributor.write.withdrawProtocol([to, protocol - part], { account: s.wallets.treasurer.account }));
      assert.equal(await s.balanceOf(to), before + protocol);
      assert.equal(await s.distributor.read.protocolBalance(), 0n);
      assert.equal(await s.claimable(), claimableBefore, "the pools' funds are untouched");
    });

    it("rejects more than the protocol balance (InsufficientProtocolBalance)", async () => {
      const s = await setup();
      const { protocol } = splitOf(await s.fund(10_000n * 10n ** 18n));
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.distributor.write.withdrawProtocol([s.wallets.treasurer.account.address, protocol + 1n], { account: s.wallets.treasurer.account }),
        s.distributor,
        "InsufficientProtocolBalance",
        [protocol + 1n, protocol],
      );
    });

    it("rejects a zero recipient (ZeroAddress) and a zero amount (ZeroAmount)", async () => {
      const s = await setup();
      await s.fund(10_000n * 10n ** 18n);
      const treasurer = { account: s.wallets.treasurer.account };
      await viem.assertions.revertWithCustomError(s.distributor.write.withdrawProtocol([zeroAddress, 1n], treasurer), s.distributor, "ZeroAddress");
      await viem.assertions.revertWithCustomError(
        s.distributor.write.withdrawProtocol([s.wallets.treasurer.account.address, 0n], treasurer),
        s.distributor,
        "ZeroAmount",
      );
    });

    it("is reserved to TREASURER_ROLE", async () => {
      const s = await setup();
      await s.fund(10_000n * 10n ** 18n);
      for (const w of [s.wallets.alice, s.wallets.admin, s.wallets.rewardsOperator]) {
        await expectUnauthorized(s, s.distributor.write.withdrawProtocol([w.account.address, 1n], { account: w.account }), w.account.address, ROLES.TREASURER);
      }
    });
  });

  describe("views", () => {
    it("entitlementOf gives the full amount of the running and the staged epoch, and zero otherwise", async () => {
      const s = await setup();
      const [a, b] = [filler(1), filler(2)];
      const e1 = await withEpoch(s, { providers: [[a, 1n], [b, 3n]] });
      assert.equal(await s.distributor.read.entitlementOf([a, Pool.Providers, 1n]), e1.providers / 4n);
      assert.equal(await s.distributor.read.entitlementOf([b, Pool.Providers, 1n]), (3n * e1.providers) / 4n);
      await s.upload(2n, Pool.Providers, [a], [2n]);
      assert.equal(await s.distributor.read.entitlementOf([a, Pool.Providers, 2n]), 0n, "no budget before the epoch starts");
      const e2 = splitOf(await s.fund(400n * 10n ** 18n));
      await s.at(e1.end);
      await s.start(2n, WEEK);
      assert.equal(await s.distributor.read.entitlementOf([a, Pool.Providers, 2n]), e2.providers);
      assert.equal(await s.distributor.read.entitlementOf([b, Pool.Providers, 2n]), 0n, "b holds no points in epoch 2");
      assert.equal(await s.distributor.read.entitlementOf([a, Pool.Users, 1n]), 0n, "a holds no user points");
    });

    it("sharesOf and epochTimes are zero for an unknown epoch", async () => {
      const s = await setup();
      assert.equal(await s.distributor.read.sharesOf([filler(1), Pool.Providers, 5n]), 0n);
      assert.deepEqual(await s.distributor.read.epochTimes([1n]), [0n, 0n]);
      assert.deepEqual(await s.distributor.read.poolEpoch([1n, Pool.Providers]), [0n, 0n]);
    });
  });

  describe("upgradeToAndCall", () => {
    it("is reserved to the admin", async () => {
      const s = await setup();
      const next = await viem.deployContract("RewardDistributor");
      for (const w of [s.wallets.alice, s.wallets.rewardsOperator, s.wallets.treasurer]) {
        await expectUnauthorized(s, s.distributor.write.upgradeToAndCall([next.address, "0x"], { account: w.account }), w.account.address, ROLES.DEFAULT_ADMIN);
      }
    });

    it("keeps epochs, points and balances across an upgrade by the admin", async () => {
      const s = await setup();
      const a = filler(1);
      const e1 = await withEpoch(s, { providers: [[a, 1n]] });
      const next = await viem.deployContract("RewardDistributor");
      await s.wait(s.distributor.write.upgradeToAndCall([next.address, "0x"]));
      await s.at(e1.end);
      assert.equal(await s.distributor.read.currentEpoch(), 1n);
      assert.equal(await s.distributor.read.pendingOf([a]), e1.providers);
      assert.equal(await s.distributor.read.protocolBalance(), e1.protocol);
    });
  });

  describe("roles", () => {
    it("role constants are the keccak of their names", async () => {
      const s = await setup();
      assert.equal(await s.distributor.read.FUNDER_ROLE(), ROLES.FUNDER);
      assert.equal(await s.distributor.read.REWARDS_ROLE(), ROLES.REWARDS);
      assert.equal(await s.distributor.read.TREASURER_ROLE(), ROLES.TREASURER);
      assert.equal(await s.distributor.read.hasRole([ROLES.FUNDER, s.vault.address]), true);
    });

    it("only the admin grants and revokes roles", async () => {
      const s = await setup();
      const { alice, rewardsOperator } = s.wallets;
      await expectUnauthorized(
        s,
        s.distributor.write.grantRole([ROLES.REWARDS, alice.account.address], { account: rewardsOperator.account }),
        rewardsOperator.account.address,
        ROLES.DEFAULT_ADMIN,
      );
      await expectUnauthorized(
        s,
        s.distributor.write.revokeRole([ROLES.REWARDS, rewardsOperator.account.address], { account: alice.account }),
        alice.account.address,
        ROLES.DEFAULT_ADMIN,
      );
      await s.wait(s.distributor.write.revokeRole([ROLES.REWARDS, rewardsOperator.account.address]));
      await expectUnauthorized(
        s,
        s.distributor.write.startEpoch([1n, WEEK], { account: rewardsOperator.account }),
        rewardsOperator.account.address,
        ROLES.REWARDS,
      );
    });
  });
});
