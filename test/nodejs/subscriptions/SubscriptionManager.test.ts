import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getAddress, maxUint256, parseEther, parseEventLogs, toHex, zeroAddress, type Address, type Hash } from "viem";
import { loadSuite, networkHelpers, viem, OVERAGE_BPS, ROLES, ROLLOVER, type Suite } from "../helpers/fixture.ts";
import { assertPayments, burnOf, paymentState } from "../helpers/payments.ts";

const { time } = networkHelpers;
const DAY = 86_400n;
const MONTH = 30n * DAY;
const REF = toHex("fiat-swap-1", { size: 32 });

interface PlanTerms {
  price: bigint;
  period: number;
  active: boolean;
  bucket: bigint;
  requestsPerMinute: number;
  concurrency: number;
}

const STARTER: PlanTerms = {
  price: parseEther("150"),
  period: Number(MONTH),
  active: true,
  bucket: 20_000_000n,
  requestsPerMinute: 40,
  concurrency: 1,
};
const PRO: PlanTerms = { ...STARTER, price: parseEther("690"), bucket: 100_000_000n, requestsPerMinute: 200, concurrency: 4 };
const DAILY: PlanTerms = { ...STARTER, price: parseEther("5"), period: Number(DAY), bucket: 1_000_000n };
const RETIRED: PlanTerms = { ...STARTER, active: false };
/** Plan ids in the order `withPlans` creates them. */
const PLAN = { starter: 1n, pro: 2n, daily: 3n, retired: 4n } as const;
const BUFFER = (STARTER.bucket * OVERAGE_BPS) / 10_000n;

type Wallet = Suite["wallets"]["alice"];

/** The suite with four plans, and alice and bob having approved the Vault for plenty. */
async function withPlans() {
  const suite = await loadSuite();
  for (const plan of [STARTER, PRO, DAILY, RETIRED]) await suite.subscriptions.write.createPlan([plan]);
  for (const user of [suite.wallets.alice, suite.wallets.bob, suite.wallets.operator]) {
    await suite.cxpt.write.approve([suite.vault.address, maxUint256], { account: user.account });
  }
  return suite;
}
const setup = () => networkHelpers.loadFixture(withPlans);

const addr = (wallet: Wallet): Address => getAddress(wallet.account.address);
const now = async () => BigInt(await time.latest());

async function blockTimeOf(s: Suite, hash: Hash): Promise<bigint> {
  const { blockNumber } = await s.publicClient.waitForTransactionReceipt({ hash });
  return (await s.publicClient.getBlock({ blockNumber })).timestamp;
}

/** `user` buys `planId` from their wallet; returns the pass and its period end. */
async function activate(s: Suite, user: Wallet, planId: bigint = PLAN.starter) {
  await s.subscriptions.write.activatePlan([planId], { account: user.account });
  const passId = await s.subscriptions.read.passOf([user.account.address]);
  return { passId, periodEnd: await s.subscriptions.read.expiryOf([passId]) };
}

/** The operator pays `amount` into the Vault for `user`; returns the deposit id. */
async function depositFor(s: Suite, user: Address, amount: bigint): Promise<bigint> {
  await s.vault.write.depositFor([user, amount, REF], { account: s.wallets.operator.account });
  return s.vault.read.lastDepositId();
}

/** `owner` turns renewal of their pass on: what lets a keeper renew it. */
async function optIn(s: Suite, owner: Wallet, passId: bigint) {
  await s.subscriptions.write.resumeRenewal([passId], { account: owner.account });
}

/** A keeper (carol) renews `passId` in a block stamped `at`. */
async function keeperRenewAt(s: Suite, passId: bigint, at: bigint) {
  await time.setNextBlockTimestamp(at);
  await s.subscriptions.write.renew([passId], { account: s.wallets.carol.account });
  return s.subscriptions.read.expiryOf([passId]);
}

const consume = (s: Suite, passId: bigint, amount: bigint) =>
  s.subscriptions.write.consumeTokens([passId, amount], { account: s.wallets.billingBackend.account });

/** Amounts of the pass's tranche slots in use (spent or expired ones stay until compacted), oldest first. */
async function trancheAmounts(s: Suite, passId: bigint) {
  return (await s.subscriptions.read.tranchesOf([passId])).filter((t) => t.expiry !== 0).map((t) => t.amount);
}

function assertUnauthorized(s: Suite, call: Promise<unknown>, account: Wallet, role: `0x${string}`) {
  return viem.assertions.revertWithCustomErrorWithArgs(call, s.subscriptions, "AccessControlUnauthorizedAccount", [
    addr(account),
    role,
  ]);
}

describe("SubscriptionManager", () => {
  describe("initialize", () => {
    it("sets the Vault, overage and rollover, and names the pass", async () => {
      const s = await setup();
      const [vault, overageBps, rolloverPeriod] = await s.subscriptions.read.settings();
      assert.equal(vault, getAddress(s.vault.address));
      assert.equal(overageBps, OVERAGE_BPS);
      assert.equal(rolloverPeriod, ROLLOVER);
      assert.equal(await s.subscriptions.read.name(), "Cxmpute Subscription Pass");
      assert.equal(await s.subscriptions.read.symbol(), "CXPASS");
      assert.equal(await s.subscriptions.read.hasRole([ROLES.DEFAULT_ADMIN, addr(s.wallets.admin)]), true);
    });

    it("cannot run twice", async () => {
      const s = await setup();
      await viem.assertions.revertWithCustomError(
        s.subscriptions.write.initialize([addr(s.wallets.admin), s.vault.address, OVERAGE_BPS, ROLLOVER]),
        s.subscriptions,
        "InvalidInitialization",
      );
    });
  });

  describe("createPlan", () => {
    it("stores the plan under the next id and emits PlanSet", async () => {
      const s = await setup();
      const plan = { ...PRO, price: parseEther("249"), bucket: 600_000_000n, requestsPerMinute: 1_000, concurrency: 15 };
      await viem.assertions.emitWithArgs(s.subscriptions.write.createPlan([plan]), s.subscriptions, "PlanSet", [
        5n,
        plan.price,
        BigInt(plan.period),
        plan.bucket,
        1_000n,
        15n,
        true,
      ]);
      assert.equal(await s.subscriptions.read.lastPlanId(), 5n);
      assert.deepEqual(await s.subscriptions.read.planOf([5n]), plan);
    });

    it("rejects a zero price or bucket, or a period shorter than RENEWAL_WINDOW, with InvalidPlan", async () => {
      const s = await setup();
      const window = Number(await s.subscriptions.read.RENEWAL_WINDOW());
      for (const bad of [{ price: 0n }, { period: 0 }, { period: window - 1 }, { bucket: 0n }]) {
        await viem.assertions.revertWithCustomError(
          s.subscriptions.write.createPlan([{ ...STARTER, ...bad }]),
          s.subscriptions,
          "InvalidPlan",
        );
      }
    });

    it("is admin-only", async () => {
      const s = await setup();
      const { operator } = s.wallets;
      await assertUnauthorized(s, s.subscriptions.write.createPlan([STARTER], { account: operator.account }), operator, ROLES.DEFAULT_ADMIN);
    });
  });

  describe("updatePlan", () => {
    it("replaces the plan's terms", async () => {
      const s = await setup();
      const terms = { ...STARTER, price: parseEther("200"), active: false };
      await viem.assertions.emitWithArgs(s.subscriptions.write.updatePlan([PLAN.starter, terms]), s.subscriptions, "PlanSet", [
        PLAN.starter,
        terms.price,
        BigInt(terms.period),
        terms.bucket,
        BigInt(terms.requestsPerMinute),
        BigInt(terms.concurrency),
        false,
      ]);
      assert.deepEqual(await s.subscriptions.read.planOf([PLAN.starter]), terms);
      assert.equal(await s.subscriptions.read.lastPlanId(), 4n);
    });

    it("reverts UnknownPlan for a plan never created", async () => {
      const s = await setup();
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.updatePlan([99n, STARTER]),
        s.subscriptions,
        "UnknownPlan",
        [99n],
      );
    });

    it("rejects invalid terms", async () => {
      const s = await setup();
      await viem.assertions.revertWithCustomError(
        s.subscriptions.write.updatePlan([PLAN.starter, { ...STARTER, bucket: 0n }]),
        s.subscriptions,
        "InvalidPlan",
      );
    });

    it("is admin-only", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      await assertUnauthorized(
        s,
        s.subscriptions.write.updatePlan([PLAN.starter, STARTER], { account: alice.account }),
        alice,
        ROLES.DEFAULT_ADMIN,
      );
    });
  });

  describe("setOverageBps", () => {
    it("sets the buffer rate up to MAX_OVERAGE_BPS", async () => {
      const s = await setup();
      const max = await s.subscriptions.read.MAX_OVERAGE_BPS();
      await viem.assertions.emitWithArgs(s.subscriptions.write.setOverageBps([max]), s.subscriptions, "OverageBpsSet", [max]);
      assert.equal((await s.subscriptions.read.settings())[1], max);
    });

    it("reverts OverageTooHigh above the cap", async () => {
      const s = await setup();
      const tooHigh = (await s.subscriptions.read.MAX_OVERAGE_BPS()) + 1n;
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.setOverageBps([tooHigh]),
        s.subscriptions,
        "OverageTooHigh",
        [tooHigh],
      );
    });

    it("is admin-only", async () => {
      const s = await setup();
      const { billingBackend } = s.wallets;
      await assertUnauthorized(
        s,
        s.subscriptions.write.setOverageBps([0n], { account: billingBackend.account }),
        billingBackend,
        ROLES.DEFAULT_ADMIN,
      );
    });
  });

  describe("setRolloverPeriod", () => {
    it("sets the rollover", async () => {
      const s = await setup();
      await viem.assertions.emitWithArgs(
        s.subscriptions.write.setRolloverPeriod([30n * DAY]),
        s.subscriptions,
        "RolloverPeriodSet",
        [30n * DAY],
      );
      assert.equal((await s.subscriptions.read.settings())[2], 30n * DAY);
    });

    it("refuses a rollover that does not fit its storage instead of truncating it", async () => {
      const s = await setup();
      await viem.assertions.revertWithCustomError(
        s.subscriptions.write.setRolloverPeriod([2n ** 32n]),
        s.subscriptions,
        "SafeCastOverflowedUintDowncast",
      );
    });

    it("is admin-only", async () => {
      const s = await setup();
      const { operator } = s.wallets;
      await assertUnauthorized(s, s.subscriptions.write.setRolloverPeriod([0n], { account: operator.account }), operator, ROLES.DEFAULT_ADMIN);
    });
  });

  describe("activatePlan", () => {
    it("takes the price through the Vault, burning 5 %", async () => {
      const s = await setup();
      const before = await paymentState(s, [addr(s.wallets.alice)]);
      await activate(s, s.wallets.alice);
      assertPayments(before, await paymentState(s, [addr(s.wallets.alice)]), [STARTER.price], burnOf(STARTER.price));
      assert.equal(burnOf(STARTER.price), STARTER.price / 20n);
    });

    it("mints a pass with the plan's bucket for one period and emits PlanActivated", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      const hash = await s.subscriptions.write.activatePlan([PLAN.starter], { account: alice.account });
      const periodEnd = (await blockTimeOf(s, hash)) + MONTH;
      await viem.assertions.emitWithArgs(hash, s.subscriptions, "PlanActivated", [1n, addr(alice), PLAN.starter, periodEnd, 0n]);
      await viem.assertions.emitWithArgs(hash, s.subscriptions, "BucketGranted", [1n, STARTER.bucket, periodEnd + ROLLOVER]);
      await viem.assertions.emitWithArgs(hash, s.vault, "Paid", [
        addr(alice),
        addr(alice),
        STARTER.price,
        burnOf(STARTER.price),
        toHex(1n, { size: 32 }),
        0n,
      ]);
      assert.equal(await s.subscriptions.read.passOf([addr(alice)]), 1n);
      assert.equal(await s.subscriptions.read.ownerOf([1n]), addr(alice));
      assert.equal(await s.subscriptions.read.balanceOf([addr(alice)]), 1n);
      assert.equal(await s.subscriptions.read.isActive([1n]), true);
      assert.equal(await s.subscriptions.read.expiryOf([1n]), periodEnd);
      // Buying a plan is no consent to renewals: renewal stays off until the owner turns it on.
      assert.deepEqual(await s.subscriptions.read.passInfo([1n]), [PLAN.starter, periodEnd, false, 0n]);
      assert.equal(await s.subscriptions.read.bucketRemaining([1n]), STARTER.bucket);
      assert.equal(await s.subscriptions.read.overageRemaining([1n]), BUFFER);
      const [first, ...rest] = await s.subscriptions.read.tranchesOf([1n]);
      assert.deepEqual(first, { amount: STARTER.bucket, expiry: Number(periodEnd + ROLLOVER) });
      assert.ok(rest.every((t) => t.amount === 0n && t.expiry === 0));
    });

    it("gives each subscriber their own pass", async () => {
      const s = await setup();
      assert.equal((await activate(s, s.wallets.alice)).passId, 1n);
      assert.equal((await activate(s, s.wallets.bob, PLAN.pro)).passId, 2n);
      assert.equal((await s.subscriptions.read.passInfo([2n]))[0], PLAN.pro);
    });

    it("reverts PassActive while the pass is in a paid period", async () => {
      const s = await setup();
      const { passId, periodEnd } = await activate(s, s.wallets.alice);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.activatePlan([PLAN.pro], { account: s.wallets.alice.account }),
        s.subscriptions,
        "PassActive",
        [passId, periodEnd],
      );
    });

    it("re-activates a lapsed pass under the same id, on any plan", async () => {
      const s = await setup();
      const { passId, periodEnd } = await activate(s, s.wallets.alice);
      await time.increaseTo(periodEnd);
      assert.equal(await s.subscriptions.read.isActive([passId]), false);
      const again = await activate(s, s.wallets.alice, PLAN.pro);
      assert.equal(again.passId, passId);
      assert.equal(again.periodEnd, (await now()) + MONTH);
      assert.equal(await s.subscriptions.read.balanceOf([addr(s.wallets.alice)]), 1n);
      assert.equal((await s.subscriptions.read.passInfo([passId]))[0], PLAN.pro);
    });

    it("reverts PlanInactive for a retired plan and UnknownPlan for a missing one", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.activatePlan([PLAN.retired], { account: alice.account }),
        s.subscriptions,
        "PlanInactive",
        [PLAN.retired],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.activatePlan([0n], { account: alice.account }),
        s.subscriptions,
        "UnknownPlan",
        [0n],
      );
    });

    it("reverts without a Vault allowance and mints nothing", async () => {
      const s = await setup();
      const { carol } = s.wallets;
      await viem.assertions.revertWithCustomError(
        s.subscriptions.write.activatePlan([PLAN.starter], { account: carol.account }),
        s.cxpt,
        "ERC20InsufficientAllowance",
      );
      assert.equal(await s.subscriptions.read.passOf([addr(carol)]), 0n);
    });
  });

  describe("pass (soulbound ERC-721)", () => {
    it("cannot be transferred", async () => {
      const s = await setup();
      const { alice, bob } = s.wallets;
      const { passId } = await activate(s, alice);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.transferFrom([addr(alice), addr(bob), passId], { account: alice.account }),
        s.subscriptions,
        "PassNonTransferable",
        [passId],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.safeTransferFrom([addr(alice), addr(bob), passId], { account: alice.account }),
        s.subscriptions,
        "PassNonTransferable",
        [passId],
      );
      assert.equal(await s.subscriptions.read.ownerOf([passId]), addr(alice));
    });

    it("supports the ERC-721, ERC-165 and AccessControl interfaces only", async () => {
      const s = await setup();
      for (const id of ["0x80ac58cd", "0x5b5e139f", "0x7965db0b", "0x01ffc9a7"] as const) {
        assert.equal(await s.subscriptions.read.supportsInterface([id]), true, id);
      }
      assert.equal(await s.subscriptions.read.supportsInterface(["0xffffffff"]), false);
    });
  });

  describe("activatePlanFor", () => {
    it("activates against an operator deposit made for the user, read from the Paid event", async () => {
      const s = await setup();
      const { operator, carol } = s.wallets;
      const before = await paymentState(s, [addr(operator), addr(carol)]);
      const depositHash = await s.vault.write.depositFor([addr(carol), STARTER.price, REF], { account: operator.account });
      const receipt = await s.publicClient.waitForTransactionReceipt({ hash: depositHash });
      const [paid] = parseEventLogs({ abi: s.vault.abi, logs: receipt.logs, eventName: "Paid" });
      const depositId = paid.args.depositId;
      assert.equal(depositId, await s.vault.read.lastDepositId());

      const hash = await s.subscriptions.write.activatePlanFor([addr(carol), PLAN.starter, depositId], {
        account: operator.account,
      });
      const periodEnd = (await blockTimeOf(s, hash)) + MONTH;
      await viem.assertions.emitWithArgs(hash, s.subscriptions, "PlanActivated", [1n, addr(carol), PLAN.starter, periodEnd, depositId]);
      await viem.assertions.emitWithArgs(hash, s.vault, "DepositConsumed", [
        depositId,
        addr(carol),
        getAddress(s.subscriptions.address),
        STARTER.price,
      ]);
      assert.equal(await s.vault.read.isDepositConsumed([depositId]), true);
      assert.equal(await s.subscriptions.read.ownerOf([1n]), addr(carol));
      assert.equal(await s.subscriptions.read.isActive([1n]), true);
      // The operator paid once (at deposit time); the user paid nothing.
      assertPayments(before, await paymentState(s, [addr(operator), addr(carol)]), [STARTER.price, 0n], burnOf(STARTER.price));
    });

    it("accepts a deposit larger than the price", async () => {
      const s = await setup();
      const depositId = await depositFor(s, addr(s.wallets.carol), STARTER.price + 1n);
      await s.subscriptions.write.activatePlanFor([addr(s.wallets.carol), PLAN.starter, depositId], {
        account: s.wallets.operator.account,
      });
      assert.equal(await s.subscriptions.read.isActive([1n]), true);
    });

    it("spends a deposit once: DepositAlreadyConsumed on reuse", async () => {
      const s = await setup();
      const { operator, carol } = s.wallets;
      const depositId = await depositFor(s, addr(carol), STARTER.price);
      await s.subscriptions.write.activatePlanFor([addr(carol), PLAN.starter, depositId], { account: operator.account });
      await time.increase(MONTH);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.activatePlanFor([addr(carol), PLAN.starter, depositId], { account: operator.account }),
        s.vault,
        "DepositAlreadyConsumed",
        [depositId],
      );
    });

    it("reverts DepositTooSmall below the plan's price", async () => {
      const s = await setup();
      const amount = STARTER.price - 1n;
      const depositId = await depositFor(s, addr(s.wallets.carol), amount);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.activatePlanFor([addr(s.wallets.carol), PLAN.starter, depositId], {
          account: s.wallets.operator.account,
        }),
        s.subscriptions,
        "DepositTooSmall",
        [depositId, amount, STARTER.price],
      );
      assert.equal(await s.vault.read.isDepositConsumed([depositId]), false);
    });

    it("reverts DepositUserMismatch for a deposit made for someone else", async () => {
      const s = await setup();
      const { operator, bob, carol } = s.wallets;
      const depositId = await depositFor(s, addr(bob), STARTER.price);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.activatePlanFor([addr(carol), PLAN.starter, depositId], { account: operator.account }),
        s.vault,
        "DepositUserMismatch",
        [depositId, addr(bob), addr(carol)],
      );
    });

    it("reverts ZeroAddress for user 0 and checks the plan", async () => {
      const s = await setup();
      const { operator } = s.wallets;
      await viem.assertions.revertWithCustomError(
        s.subscriptions.write.activatePlanFor([zeroAddress, PLAN.starter, 1n], { account: operator.account }),
        s.subscriptions,
        "ZeroAddress",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.activatePlanFor([addr(s.wallets.carol), PLAN.retired, 1n], { account: operator.account }),
        s.subscriptions,
        "PlanInactive",
        [PLAN.retired],
      );
    });

    it("is operator-only", async () => {
      const s = await setup();
      const { alice, carol } = s.wallets;
      const depositId = await depositFor(s, addr(carol), STARTER.price);
      await assertUnauthorized(
        s,
        s.subscriptions.write.activatePlanFor([addr(carol), PLAN.starter, depositId], { account: alice.account }),
        alice,
        ROLES.OPERATOR,
      );
    });
  });

  describe("renew", () => {
    it("lets the owner prepay the next period: one more bucket, end pushed by a period", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      const { passId, periodEnd } = await activate(s, alice);
      const before = await paymentState(s, [addr(alice)]);
      const hash = await s.subscriptions.write.renew([passId], { account: alice.account });
      await viem.assertions.emitWithArgs(hash, s.subscriptions, "PassRenewed", [passId, addr(alice), periodEnd + MONTH, 0n]);
      await viem.assertions.emitWithArgs(hash, s.subscriptions, "BucketGranted", [
        passId,
        STARTER.bucket,
        periodEnd + MONTH + ROLLOVER,
      ]);
      assertPayments(before, await paymentState(s, [addr(alice)]), [STARTER.price], burnOf(STARTER.price));
      assert.equal(await s.subscriptions.read.expiryOf([passId]), periodEnd + MONTH);
      assert.equal(await s.subscriptions.read.bucketRemaining([passId]), 2n * STARTER.bucket);
    });

    it("reverts RenewalTooEarly when the owner would prepay more than one period ahead", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      const { passId, periodEnd } = await activate(s, alice);
      await s.subscriptions.write.renew([passId], { account: alice.account });
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.renew([passId], { account: alice.account }),
        s.subscriptions,
        "RenewalTooEarly",
        [passId, periodEnd],
      );
      // Once the first period is over, the next one can be prepaid again.
      await time.setNextBlockTimestamp(periodEnd);
      await s.subscriptions.write.renew([passId], { account: alice.account });
      assert.equal(await s.subscriptions.read.expiryOf([passId]), periodEnd + 2n * MONTH);
    });

    it("lets a keeper renew from RENEWAL_WINDOW before the end, charging the owner", async () => {
      const s = await setup();
      const { alice, carol } = s.wallets;
      const window = await s.subscriptions.read.RENEWAL_WINDOW();
      const { passId, periodEnd } = await activate(s, alice);
      await optIn(s, alice, passId); // renewal by a keeper is the owner's opt-in
      await time.setNextBlockTimestamp(periodEnd - window - 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.renew([passId], { account: carol.account }),
        s.subscriptions,
        "RenewalTooEarly",
        [passId, periodEnd - window],
      );
      const before = await paymentState(s, [addr(alice), addr(carol)]);
      await time.setNextBlockTimestamp(periodEnd - window);
      await viem.assertions.emitWithArgs(
        s.subscriptions.write.renew([passId], { account: carol.account }),
        s.subscriptions,
        "PassRenewed",
        [passId, addr(alice), periodEnd + MONTH, 0n],
      );
      assertPayments(before, await paymentState(s, [addr(alice), addr(carol)]), [STARTER.price, 0n], burnOf(STARTER.price));
    });

    it("reverts RenewalOff for a keeper on a pass whose owner never opted in, after the owner's or the operator's activation", async () => {
      const s = await setup();
      const { alice, bob, operator, carol } = s.wallets;
      const { passId, periodEnd } = await activate(s, alice);
      const price = (await s.subscriptions.read.planOf([PLAN.starter])).price;
      const depositId = await depositFor(s, addr(bob), price);
      await s.subscriptions.write.activatePlanFor([addr(bob), PLAN.starter, depositId], { account: operator.account });
      const fiatPass = await s.subscriptions.read.passOf([addr(bob)]);
      await time.setNextBlockTimestamp(periodEnd);
      for (const id of [passId, fiatPass]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          s.subscriptions.write.renew([id], { account: carol.account }),
          s.subscriptions,
          "RenewalOff",
          [id],
        );
      }
    });

    it("reverts RenewalOff for a keeper once renewal is cancelled", async () => {
      const s = await setup();
      const { passId, periodEnd } = await activate(s, s.wallets.alice);
      await optIn(s, s.wallets.alice, passId); // renewal by a keeper is the owner's opt-in
      await s.subscriptions.write.cancel([passId], { account: s.wallets.alice.account });
      await time.increaseTo(periodEnd);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.renew([passId], { account: s.wallets.carol.account }),
        s.subscriptions,
        "RenewalOff",
        [passId],
      );
    });

    it("lets a keeper renew until RENEWAL_WINDOW after the end, then reverts RenewalLapsed", async () => {
      const s = await setup();
      const window = await s.subscriptions.read.RENEWAL_WINDOW();
      const { passId, periodEnd } = await activate(s, s.wallets.alice);
      await optIn(s, s.wallets.alice, passId); // renewal by a keeper is the owner's opt-in
      const snapshot = await networkHelpers.takeSnapshot();
      assert.equal(await keeperRenewAt(s, passId, periodEnd + window), periodEnd + window + MONTH);
      await snapshot.restore();
      await time.setNextBlockTimestamp(periodEnd + window + 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.renew([passId], { account: s.wallets.carol.account }),
        s.subscriptions,
        "RenewalLapsed",
        [passId, periodEnd + window],
      );
      assert.equal(await s.subscriptions.read.expiryOf([passId]), periodEnd);
    });

    it("starts a lapsed pass's new period from now", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      const { passId, periodEnd } = await activate(s, alice);
      await time.increaseTo(periodEnd + 10n * DAY);
      assert.equal(await s.subscriptions.read.isActive([passId]), false);
      const hash = await s.subscriptions.write.renew([passId], { account: alice.account });
      const renewedAt = await blockTimeOf(s, hash);
      assert.equal(await s.subscriptions.read.expiryOf([passId]), renewedAt + MONTH);
      assert.equal(await s.subscriptions.read.isActive([passId]), true);
    });

    it("reverts UnknownPass and PlanInactive", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.renew([7n], { account: alice.account }),
        s.subscriptions,
        "UnknownPass",
        [7n],
      );
      const { passId } = await activate(s, alice);
      await s.subscriptions.write.updatePlan([PLAN.starter, { ...STARTER, active: false }]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.renew([passId], { account: alice.account }),
        s.subscriptions,
        "PlanInactive",
        [PLAN.starter],
      );
    });

    it("uses the plan's updated terms from the next period", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      const { passId, periodEnd } = await activate(s, alice);
      const terms = { ...STARTER, price: parseEther("300"), bucket: 2n * STARTER.bucket };
      await s.subscriptions.write.updatePlan([PLAN.starter, terms]);
      const before = await paymentState(s, [addr(alice)]);
      await s.subscriptions.write.renew([passId], { account: alice.account });
      assertPayments(before, await paymentState(s, [addr(alice)]), [terms.price], burnOf(terms.price));
      assert.deepEqual(await trancheAmounts(s, passId), [STARTER.bucket, terms.bucket]);
      assert.equal(await s.subscriptions.read.expiryOf([passId]), periodEnd + MONTH);
    });
  });

  describe("renewFor", () => {
    it("renews against an operator deposit for the owner", async () => {
      const s = await setup();
      const { alice, operator } = s.wallets;
      const { passId, periodEnd } = await activate(s, alice);
      const depositId = await depositFor(s, addr(alice), STARTER.price);
      const before = await paymentState(s, [addr(alice)]);
      await viem.assertions.emitWithArgs(
        s.subscriptions.write.renewFor([passId, depositId], { account: operator.account }),
        s.subscriptions,
        "PassRenewed",
        [passId, addr(operator), periodEnd + MONTH, depositId],
      );
      assertPayments(before, await paymentState(s, [addr(alice)]), [0n], 0n);
      assert.equal(await s.vault.read.isDepositConsumed([depositId]), true);
      assert.equal(await s.subscriptions.read.expiryOf([passId]), periodEnd + MONTH);
    });

    it("reverts RenewalTooEarly more than one period ahead", async () => {
      const s = await setup();
      const { alice, operator } = s.wallets;
      const { passId, periodEnd } = await activate(s, alice);
      await s.subscriptions.write.renew([passId], { account: alice.account });
      const depositId = await depositFor(s, addr(alice), STARTER.price);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.renewFor([passId, depositId], { account: operator.account }),
        s.subscriptions,
        "RenewalTooEarly",
        [passId, periodEnd],
      );
    });

    it("reverts with the deposit's errors: mismatch, too small, already consumed", async () => {
      const s = await setup();
      const { alice, bob, operator } = s.wallets;
      const { passId } = await activate(s, alice);
      const forBob = await depositFor(s, addr(bob), STARTER.price);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.renewFor([passId, forBob], { account: operator.account }),
        s.vault,
        "DepositUserMismatch",
        [forBob, addr(bob), addr(alice)],
      );
      const small = await depositFor(s, addr(alice), 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.renewFor([passId, small], { account: operator.account }),
        s.subscriptions,
        "DepositTooSmall",
        [small, 1n, STARTER.price],
      );
      const paid = await depositFor(s, addr(alice), STARTER.price);
      await s.subscriptions.write.renewFor([passId, paid], { account: operator.account });
      await time.increase(MONTH);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.renewFor([passId, paid], { account: operator.account }),
        s.vault,
        "DepositAlreadyConsumed",
        [paid],
      );
    });

    it("reverts UnknownPass and is operator-only", async () => {
      const s = await setup();
      const { alice, operator } = s.wallets;
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.renewFor([3n, 1n], { account: operator.account }),
        s.subscriptions,
        "UnknownPass",
        [3n],
      );
      const { passId } = await activate(s, alice);
      const depositId = await depositFor(s, addr(alice), STARTER.price);
      await assertUnauthorized(s, s.subscriptions.write.renewFor([passId, depositId], { account: alice.account }), alice, ROLES.OPERATOR);
    });
  });

  describe("cancel", () => {
    it("lets the owner stop renewal: the period runs out, then the pass is inactive and unusable", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      const { passId, periodEnd } = await activate(s, alice);
      await viem.assertions.emitWithArgs(
        s.subscriptions.write.cancel([passId], { account: alice.account }),
        s.subscriptions,
        "RenewalCancelled",
        [passId, addr(alice)],
      );
      assert.equal((await s.subscriptions.read.passInfo([passId]))[2], false);
      await time.setNextBlockTimestamp(periodEnd - 1n);
      await consume(s, passId, 1n);
      assert.equal(await s.subscriptions.read.isActive([passId]), true);
      await time.increaseTo(periodEnd);
      assert.equal(await s.subscriptions.read.isActive([passId]), false);
      await viem.assertions.revertWithCustomErrorWithArgs(consume(s, passId, 1n), s.subscriptions, "PassExpired", [passId]);
    });

    it("lets an operator cancel for the owner", async () => {
      const s = await setup();
      const { alice, operator } = s.wallets;
      const { passId } = await activate(s, alice);
      await viem.assertions.emitWithArgs(
        s.subscriptions.write.cancel([passId], { account: operator.account }),
        s.subscriptions,
        "RenewalCancelled",
        [passId, addr(operator)],
      );
      assert.equal((await s.subscriptions.read.passInfo([passId]))[2], false);
    });

    it("reverts NotPassOwner for anyone else and UnknownPass for a missing pass", async () => {
      const s = await setup();
      const { alice, carol } = s.wallets;
      const { passId } = await activate(s, alice);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.cancel([passId], { account: carol.account }),
        s.subscriptions,
        "NotPassOwner",
        [passId, addr(carol)],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.cancel([9n], { account: alice.account }),
        s.subscriptions,
        "UnknownPass",
        [9n],
      );
    });
  });

  describe("resumeRenewal", () => {
    it("turns keeper renewal back on", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      const { passId, periodEnd } = await activate(s, alice);
      await s.subscriptions.write.cancel([passId], { account: alice.account });
      await viem.assertions.emitWithArgs(
        s.subscriptions.write.resumeRenewal([passId], { account: alice.account }),
        s.subscriptions,
        "RenewalResumed",
        [passId],
      );
      assert.equal((await s.subscriptions.read.passInfo([passId]))[2], true);
      assert.equal(await keeperRenewAt(s, passId, periodEnd - 1n), periodEnd + MONTH);
    });

    it("is for the owner only (NotPassOwner, even for an operator) and reverts UnknownPass", async () => {
      const s = await setup();
      const { alice, operator } = s.wallets;
      const { passId } = await activate(s, alice);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.resumeRenewal([passId], { account: operator.account }),
        s.subscriptions,
        "NotPassOwner",
        [passId, addr(operator)],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.subscriptions.write.resumeRenewal([2n], { account: alice.account }),
        s.subscriptions,
        "UnknownPass",
        [2n],
      );
    });
  });

  describe("consumeTokens", () => {
    it("draws down the bucket", async () => {
      const s = await setup();
      const { passId } = await activate(s, s.wallets.alice);
      const amount = 1_234_567n;
      await viem.assertions.emitWithArgs(consume(s, passId, amount), s.subscriptions, "TokensConsumed", [
        passId,
        amount,
        amount,
        0n,
        STARTER.bucket - amount,
      ]);
      assert.equal(await s.subscriptions.read.bucketRemaining([passId]), STARTER.bucket - amount);
      assert.equal(await s.subscriptions.read.overageRemaining([passId]), BUFFER);
    });

    it("is billing-only", async () => {
      const s = await setup();
      const { alice, operator } = s.wallets;
      const { passId } = await activate(s, alice);
      for (const caller of [alice, operator]) {
        await assertUnauthorized(s, s.subscriptions.write.consumeTokens([passId, 1n], { account: caller.account }), caller, ROLES.BILLING);
      }
    });

    it("reverts ZeroAmount and UnknownPass", async () => {
      const s = await setup();
      const { passId } = await activate(s, s.wallets.alice);
      await viem.assertions.revertWithCustomError(consume(s, passId, 0n), s.subscriptions, "ZeroAmount");
      await viem.assertions.revertWithCustomErrorWithArgs(consume(s, 42n, 1n), s.subscriptions, "UnknownPass", [42n]);
    });

    it("draws the oldest tranche first", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      const { passId } = await activate(s, alice);
      await s.subscriptions.write.renew([passId], { account: alice.account });
      await viem.assertions.emitWithArgs(consume(s, passId, STARTER.bucket + 10n), s.subscriptions, "TokensConsumed", [
        passId,
        STARTER.bucket + 10n,
        STARTER.bucket + 10n,
        0n,
        STARTER.bucket - 10n,
      ]);
      assert.deepEqual(await trancheAmounts(s, passId), [0n, STARTER.bucket - 10n]);
    });

    it("runs over the bucket by up to 10 % of it, then reverts BucketExhausted", async () => {
      const s = await setup();
      const { passId } = await activate(s, s.wallets.alice);
      assert.equal(BUFFER, STARTER.bucket / 10n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        consume(s, passId, STARTER.bucket + BUFFER + 1n),
        s.subscriptions,
        "BucketExhausted",
        [passId, STARTER.bucket + BUFFER + 1n, STARTER.bucket + BUFFER],
      );
      await viem.assertions.emitWithArgs(consume(s, passId, STARTER.bucket + 5n), s.subscriptions, "TokensConsumed", [
        passId,
        STARTER.bucket + 5n,
        STARTER.bucket,
        5n,
        0n,
      ]);
      await consume(s, passId, BUFFER - 5n);
      assert.equal(await s.subscriptions.read.overageRemaining([passId]), 0n);
      assert.equal((await s.subscriptions.read.passInfo([passId]))[3], BUFFER);
      await viem.assertions.revertWithCustomErrorWithArgs(consume(s, passId, 1n), s.subscriptions, "BucketExhausted", [
        passId,
        1n,
        0n,
      ]);
    });

    it("resets the overage on renewal", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      const { passId } = await activate(s, alice);
      await consume(s, passId, STARTER.bucket + BUFFER);
      await s.subscriptions.write.renew([passId], { account: alice.account });
      assert.equal(await s.subscriptions.read.overageRemaining([passId]), BUFFER);
      assert.equal((await s.subscriptions.read.passInfo([passId]))[3], 0n);
      await consume(s, passId, STARTER.bucket + BUFFER);
      assert.equal(await s.subscriptions.read.bucketRemaining([passId]), 0n);
    });

    it("reports no overage left (not an underflow) when the buffer shrinks below what was used", async () => {
      const s = await setup();
      const { passId } = await activate(s, s.wallets.alice);
      await consume(s, passId, STARTER.bucket + BUFFER);
      await s.subscriptions.write.setOverageBps([OVERAGE_BPS / 2n]);
      assert.equal(await s.subscriptions.read.overageRemaining([passId]), 0n);
      await viem.assertions.revertWithCustomErrorWithArgs(consume(s, passId, 1n), s.subscriptions, "BucketExhausted", [
        passId,
        1n,
        0n,
      ]);
    });

    it("rolls unused tokens over for 90 days after their period, with monthly keeper renewals", async () => {
      const s = await setup();
      const { passId, periodEnd: end1 } = await activate(s, s.wallets.alice);
      await optIn(s, s.wallets.alice, passId); // renewal by a keeper is the owner's opt-in
      await consume(s, passId, 5_000_000n);
      // A keeper renews in each period's last hour, the steady state of a monthly subscriber.
      let end = await keeperRenewAt(s, passId, end1 - 3_600n);
      // In period 2, period 1's leftover is drawn first.
      await time.setNextBlockTimestamp(end1 + 1n);
      await consume(s, passId, 10_000_000n);
      const leftover = STARTER.bucket - 15_000_000n;
      assert.deepEqual(await trancheAmounts(s, passId), [leftover, STARTER.bucket]);
      for (let k = 0; k < 3; k++) end = await keeperRenewAt(s, passId, end - 3_600n);
      assert.equal(end, end1 + 4n * MONTH);
      assert.deepEqual(await trancheAmounts(s, passId), [leftover, ...Array(4).fill(STARTER.bucket)]);
      // Still there until 90 days after period 1 ended, then gone; period 2's tokens keep their own 90 days.
      await time.increaseTo(end1 + ROLLOVER - 1n);
      assert.equal(await s.subscriptions.read.bucketRemaining([passId]), leftover + 4n * STARTER.bucket);
      await time.increaseTo(end1 + ROLLOVER);
      assert.equal(await s.subscriptions.read.bucketRemaining([passId]), 4n * STARTER.bucket);
      await consume(s, passId, STARTER.bucket + 1n);
      assert.deepEqual(await trancheAmounts(s, passId), [leftover, 0n, STARTER.bucket - 1n, STARTER.bucket, STARTER.bucket]);
      await time.increaseTo(end1 + MONTH + ROLLOVER);
      assert.equal(await s.subscriptions.read.bucketRemaining([passId]), 3n * STARTER.bucket - 1n);
    });
  });

  describe("tranches", () => {
    it("merges the two oldest (earlier expiry) when more than MAX_TRANCHES are live", async () => {
      const s = await setup();
      const max = Number(await s.subscriptions.read.MAX_TRANCHES());
      const { passId, periodEnd: end1 } = await activate(s, s.wallets.alice, PLAN.daily);
      await optIn(s, s.wallets.alice, passId); // renewal by a keeper is the owner's opt-in
      let end = end1;
      for (let k = 0; k < max; k++) end = await keeperRenewAt(s, passId, end - 3_600n);
      // max + 1 daily grants, all within their 90-day rollover.
      const tranches = await s.subscriptions.read.tranchesOf([passId]);
      assert.equal(tranches.length, max);
      assert.deepEqual(tranches[0], { amount: 2n * DAILY.bucket, expiry: Number(end1 + ROLLOVER) });
      tranches.slice(1).forEach((t, i) =>
        assert.deepEqual(t, { amount: DAILY.bucket, expiry: Number(end1 + BigInt(i + 2) * DAY + ROLLOVER) }),
      );
      assert.equal(await s.subscriptions.read.bucketRemaining([passId]), BigInt(max + 1) * DAILY.bucket);
      // The merged tranche lapses with the older of the two.
      await time.increaseTo(end1 + ROLLOVER);
      assert.equal(await s.subscriptions.read.bucketRemaining([passId]), BigInt(max - 1) * DAILY.bucket);
    });

    it("drops spent and expired tranches on the next grant", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      const { passId, periodEnd } = await activate(s, alice, PLAN.daily);
      await consume(s, passId, DAILY.bucket);
      await s.subscriptions.write.renew([passId], { account: alice.account });
      assert.deepEqual(await trancheAmounts(s, passId), [DAILY.bucket]);
      await time.increaseTo(periodEnd + DAY + ROLLOVER);
      assert.equal(await s.subscriptions.read.bucketRemaining([passId]), 0n);
      await activate(s, alice, PLAN.starter);
      const [first, ...rest] = await s.subscriptions.read.tranchesOf([passId]);
      assert.equal(first.amount, STARTER.bucket);
      assert.ok(rest.every((t) => t.amount === 0n && t.expiry === 0));
    });
  });

  describe("views", () => {
    it("describe an unknown pass as empty and inactive", async () => {
      const s = await setup();
      assert.equal(await s.subscriptions.read.isActive([5n]), false);
      assert.equal(await s.subscriptions.read.expiryOf([5n]), 0n);
      assert.equal(await s.subscriptions.read.bucketRemaining([5n]), 0n);
      assert.equal(await s.subscriptions.read.overageRemaining([5n]), 0n);
      assert.deepEqual(await s.subscriptions.read.passInfo([5n]), [0n, 0n, false, 0n]);
      assert.equal(await s.subscriptions.read.passOf([addr(s.wallets.carol)]), 0n);
    });
  });
});
