import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isAddressEqual, keccak256, parseEventLogs, toHex, type Address, type Hex } from "viem";
import { DEFAULT_ECONOMICS } from "../../../../deploy/config.ts";
import { subscriptionsAbi } from "../../../../src/chain/abis.ts";
import {
  activateForFiat,
  cancelFor,
  readPass,
  readPlans,
  verifyActivation,
  type ActivateForFiatOptions,
} from "../../../../src/subscriptions/chain.ts";
import { backendKey, networkHelpers, ROLES, type Suite } from "../../helpers/fixture.ts";
import { burnOf } from "../../helpers/payments.ts";
import { rejectsWith } from "../../tokens/helpers.ts";
import { PLAN, PLANS, loadPlans } from "./helpers.ts";

const { time } = networkHelpers;
const STARTER = PLANS[0]!;
const OVERAGE = (STARTER.bucket * DEFAULT_ECONOMICS.overageBps) / 10_000n;
const ROLLOVER = DEFAULT_ECONOMICS.rolloverPeriod;
const FIAT_REF = toHex("stripe:pi_123", { size: 32 });

type Wallet = Suite["wallets"]["alice"];

const wait = (s: Suite, hash: Hex) => s.publicClient.waitForTransactionReceipt({ hash });

/** `user` buys `planId` from their wallet; returns the transaction. */
/** `user` buys `planId` from its wallet and turns renewal on (its own opt-in); returns the activation. */
async function activate(s: Suite, user: Wallet, planId: bigint = PLAN.starter): Promise<Hex> {
  const hash = await s.subscriptions.write.activatePlan([planId], { account: user.account });
  await wait(s, hash);
  const passId = await s.subscriptions.read.passOf([user.account.address]);
  await wait(s, await s.subscriptions.write.resumeRenewal([passId], { account: user.account }));
  return hash;
}

/** activateForFiat for `user` with the suite's operator and contracts. */
const fiat = (s: Suite, user: Address, more: Partial<ActivateForFiatOptions> = {}) =>
  activateForFiat({
    publicClient: s.publicClient,
    operator: backendKey(s.wallets.operator),
    contracts: { cxpt: s.cxpt.address, vault: s.vault.address, subscriptions: s.subscriptions.address },
    user,
    planId: PLAN.starter,
    ref: FIAT_REF,
    ...more,
  });

describe("readPlans", () => {
  it("lists every plan with its id, inactive ones included", async () => {
    const s = await loadPlans();
    const plans = await readPlans(s.publicClient, s.subscriptions.address);
    assert.deepEqual(
      plans,
      PLANS.map((plan, i) => ({ planId: BigInt(i + 1), ...plan })),
    );
    assert.deepEqual(plans.map((p) => p.active), [true, true, true, false]);
  });
});

describe("readPass", () => {
  it("null for a wallet that never subscribed", async () => {
    const s = await loadPlans();
    assert.equal(await readPass(s.publicClient, s.subscriptions.address, s.wallets.carol.account.address), null);
  });

  it("plan, period, renewal, bucket with overage and rollover tranches, as the contract computes them", async () => {
    const s = await loadPlans();
    const { alice, billingBackend } = s.wallets;
    const a = alice.account.address;
    await activate(s, alice);
    const passId = await s.subscriptions.read.passOf([a]);
    const periodEnd = await s.subscriptions.read.expiryOf([passId]);

    assert.deepEqual(await readPass(s.publicClient, s.subscriptions.address, a), {
      passId,
      planId: PLAN.starter,
      periodEnd,
      active: true,
      autoRenew: true,
      cancelled: false,
      bucketRemaining: STARTER.bucket,
      overageRemaining: OVERAGE,
      overageUsed: 0n,
      tranches: [{ amount: STARTER.bucket, expiry: periodEnd + ROLLOVER }],
    });

    // The whole bucket and part of the overage buffer are used.
    await wait(s, await s.subscriptions.write.consumeTokens([passId, STARTER.bucket + 500n], { account: billingBackend.account }));
    let pass = (await readPass(s.publicClient, s.subscriptions.address, a))!;
    assert.equal(pass.bucketRemaining, 0n);
    assert.equal(pass.overageUsed, 500n);
    assert.equal(pass.overageRemaining, OVERAGE - 500n);
    assert.deepEqual(pass.tranches, [], "the spent tranche is not listed");

    // Prepaying the next period adds a tranche and resets the overage.
    await wait(s, await s.subscriptions.write.renew([passId], { account: alice.account }));
    pass = (await readPass(s.publicClient, s.subscriptions.address, a))!;
    const nextEnd = periodEnd + BigInt(STARTER.period);
    assert.equal(pass.periodEnd, nextEnd);
    assert.equal(pass.overageUsed, 0n);
    assert.deepEqual(pass.tranches, [{ amount: STARTER.bucket, expiry: nextEnd + ROLLOVER }]);

    // Past both periods the pass is inactive but its unused tokens roll over.
    await time.increaseTo(nextEnd + 1n);
    pass = (await readPass(s.publicClient, s.subscriptions.address, a))!;
    assert.equal(pass.active, false);
    assert.equal(pass.bucketRemaining, STARTER.bucket);
  });
});

describe("verifyActivation", () => {
  it("a wallet activation: pass, plan, period, price paid and burned", async () => {
    const s = await loadPlans();
    const { alice } = s.wallets;
    const txHash = await activate(s, alice, PLAN.pro);
    const receipt = await s.publicClient.getTransactionReceipt({ hash: txHash });
    const [event] = parseEventLogs({ abi: subscriptionsAbi, eventName: "PlanActivated", logs: receipt.logs });
    const price = PLANS[1]!.price;

    assert.deepEqual(await verifyActivation(s.publicClient, { subscriptions: s.subscriptions.address, txHash, user: alice.account.address }), {
      txHash,
      blockNumber: receipt.blockNumber,
      logIndex: event!.logIndex,
      kind: "activation",
      user: alice.account.address,
      passId: 1n,
      planId: PLAN.pro,
      periodEnd: await s.subscriptions.read.expiryOf([1n]),
      depositId: 0n,
      paid: price,
      burned: burnOf(price),
    });
  });

  it("renewals by the owner and by a keeper are the owner's", async () => {
    const s = await loadPlans();
    const { alice, carol } = s.wallets;
    await activate(s, alice, PLAN.scale);
    const own = await s.subscriptions.write.renew([1n], { account: alice.account });
    const options = { subscriptions: s.subscriptions.address, user: alice.account.address };

    const renewal = await verifyActivation(s.publicClient, { ...options, txHash: own });
    assert.equal(renewal.kind, "renewal");
    assert.equal(renewal.planId, PLAN.scale);
    assert.equal(renewal.paid, PLANS[2]!.price);
    assert.equal(renewal.periodEnd, await s.subscriptions.read.expiryOf([1n]));

    await time.increaseTo((await s.subscriptions.read.expiryOf([1n])) - 3600n);
    const keeper = await s.subscriptions.write.renew([1n], { account: carol.account });
    const kept = await verifyActivation(s.publicClient, { ...options, txHash: keeper });
    assert.equal(kept.kind, "renewal");
    assert.equal(kept.burned, burnOf(PLANS[2]!.price));
  });

  it("NOT_AN_ACTIVATION for a transaction without pass events, ACTIVATION_NOT_YOURS for another user's", async () => {
    const s = await loadPlans();
    const { alice, bob, carol } = s.wallets;
    const deposit = await s.vault.write.deposit([1n, FIAT_REF], { account: alice.account });
    const options = { subscriptions: s.subscriptions.address, user: alice.account.address };
    await rejectsWith(verifyActivation(s.publicClient, { ...options, txHash: deposit }), "NOT_AN_ACTIVATION", 422);

    await activate(s, bob);
    const txHash = await activate(s, alice);
    await rejectsWith(verifyActivation(s.publicClient, { ...options, txHash, user: bob.account.address }), "ACTIVATION_NOT_YOURS", 403);
    await rejectsWith(verifyActivation(s.publicClient, { ...options, txHash, user: carol.account.address }), "ACTIVATION_NOT_YOURS", 403);
    await rejectsWith(verifyActivation(s.publicClient, { ...options, txHash: keccak256("0x02") }), "TX_NOT_FOUND", 404);
  });
});

describe("activateForFiat", () => {
  it("deposits the plan price for the user, then activates the plan with that deposit", async () => {
    const s = await loadPlans();
    const { carol, operator } = s.wallets;
    const c = carol.account.address;
    const operatorBefore = await s.cxpt.read.balanceOf([operator.account.address]);

    const activation = await fiat(s, c);

    assert.equal(activation.depositId, 1n);
    assert.equal(activation.price, STARTER.price);
    assert.equal(activation.burned, burnOf(STARTER.price));
    assert.equal(activation.passId, await s.subscriptions.read.passOf([c]));
    assert.equal(activation.periodEnd, await s.subscriptions.read.expiryOf([activation.passId]));
    assert.equal(await s.cxpt.read.balanceOf([operator.account.address]), operatorBefore - STARTER.price);
    assert.equal(await s.cxpt.read.allowance([operator.account.address, s.vault.address]), 0n, "approved exactly the price");
    assert.equal(await s.vault.read.isDepositConsumed([1n]), true);
    const deposit = await s.publicClient.getTransactionReceipt({ hash: activation.depositTxHash! });
    assert.ok(isAddressEqual(deposit.to!, s.vault.address));
    assert.equal((await readPass(s.publicClient, s.subscriptions.address, c))!.active, true);

    // The CXPT path's verifier reads the operator activation too.
    const verified = await verifyActivation(s.publicClient, { subscriptions: s.subscriptions.address, txHash: activation.activationTxHash, user: c });
    assert.deepEqual([verified.kind, verified.depositId, verified.paid, verified.burned], ["activation", 1n, STARTER.price, null]);
  });

  it("refuses while the user's pass is paid (PASS_ACTIVE), without paying; reactivates once it lapsed", async () => {
    const s = await loadPlans();
    const c = s.wallets.carol.account.address;
    const first = await fiat(s, c);
    const error = await rejectsWith(fiat(s, c), "PASS_ACTIVE", 409);
    assert.deepEqual(error.details, { passId: first.passId.toString(), periodEnd: first.periodEnd.toString() });
    assert.equal(await s.vault.read.lastDepositId(), 1n, "no second deposit");

    await time.increaseTo(first.periodEnd);
    const again = await fiat(s, c, { planId: PLAN.pro });
    assert.equal(again.passId, first.passId, "the same soulbound pass");
    assert.equal(again.depositId, 2n);
    assert.equal((await readPass(s.publicClient, s.subscriptions.address, c))!.planId, PLAN.pro);
  });

  it("PLAN_NOT_FOUND, PLAN_INACTIVE, SANCTIONED_ADDRESS and OPERATOR_UNDERFUNDED before any payment", async () => {
    const s = await loadPlans();
    const { admin, carol, operator } = s.wallets;
    const c = carol.account.address;
    await rejectsWith(fiat(s, c, { planId: 99n }), "PLAN_NOT_FOUND", 404);
    await rejectsWith(fiat(s, c, { planId: PLAN.retired }), "PLAN_INACTIVE", 409);

    await wait(s, await s.vault.write.setSanctionsOracle([s.sanctions.address], { account: admin.account }));
    await wait(s, await s.sanctions.write.setSanctioned([c, true], { account: admin.account }));
    await rejectsWith(fiat(s, c), "SANCTIONED_ADDRESS", 403);
    await wait(s, await s.sanctions.write.setSanctioned([c, false], { account: admin.account }));

    const all = await s.cxpt.read.balanceOf([operator.account.address]);
    await wait(s, await s.cxpt.write.transfer([admin.account.address, all - STARTER.price + 1n], { account: operator.account }));
    await rejectsWith(fiat(s, c), "OPERATOR_UNDERFUNDED", 503);
    assert.equal(await s.vault.read.lastDepositId(), 0n);
  });

  it("DEPOSIT_FAILED when the Vault refuses the operator's deposit", async () => {
    const s = await loadPlans();
    const { admin, carol, operator } = s.wallets;
    await wait(s, await s.vault.write.revokeRole([ROLES.OPERATOR, operator.account.address], { account: admin.account }));
    const error = await rejectsWith(fiat(s, carol.account.address), "DEPOSIT_FAILED", 502);
    assert.equal(error.details?.reason, "AccessControlUnauthorizedAccount");
  });

  it("ACTIVATION_FAILED keeps the deposit id; retrying with it activates without paying again", async () => {
    const s = await loadPlans();
    const { admin, carol } = s.wallets;
    const c = carol.account.address;
    await wait(s, await s.vault.write.revokeRole([ROLES.DEPOSIT_CONSUMER, s.subscriptions.address], { account: admin.account }));
    const error = await rejectsWith(fiat(s, c), "ACTIVATION_FAILED", 502);
    assert.equal(error.details?.depositId, "1");
    assert.match(String(error.details?.depositTxHash), /^0x[0-9a-f]{64}$/);

    await wait(s, await s.vault.write.grantRole([ROLES.DEPOSIT_CONSUMER, s.subscriptions.address], { account: admin.account }));
    const resumed = await fiat(s, c, { depositId: 1n });
    assert.equal(resumed.depositId, 1n);
    assert.equal(resumed.depositTxHash, undefined);
    assert.equal(resumed.burned, undefined);
    assert.equal(await s.vault.read.lastDepositId(), 1n, "paid once");
    assert.equal((await readPass(s.publicClient, s.subscriptions.address, c))!.active, true);
  });

  it("DEPOSIT_UNUSABLE for a resumed deposit of another user, too small or already spent", async () => {
    const s = await loadPlans();
    const { bob, carol, operator } = s.wallets;
    const c = carol.account.address;
    await wait(s, await s.cxpt.write.approve([s.vault.address, STARTER.price * 3n], { account: operator.account }));
    const depositFor = async (user: Address, amount: bigint) => {
      await wait(s, await s.vault.write.depositFor([user, amount, FIAT_REF], { account: operator.account }));
      return s.vault.read.lastDepositId();
    };
    const bobs = await depositFor(bob.account.address, STARTER.price);
    const small = await depositFor(c, STARTER.price - 1n);
    await rejectsWith(fiat(s, c, { depositId: bobs }), "DEPOSIT_UNUSABLE", 409);
    await rejectsWith(fiat(s, c, { depositId: small }), "DEPOSIT_UNUSABLE", 409);

    await fiat(s, bob.account.address, { depositId: bobs });
    await time.increaseTo((await s.subscriptions.read.expiryOf([1n])) + 1n);
    await rejectsWith(fiat(s, bob.account.address, { depositId: bobs }), "DEPOSIT_UNUSABLE", 409);
  });
});

describe("cancelFor", () => {
  it("the operator turns renewal off: the pass stays paid, then ALREADY_CANCELLED", async () => {
    const s = await loadPlans();
    const { alice, operator } = s.wallets;
    const a = alice.account.address;
    await activate(s, alice);
    const options = { publicClient: s.publicClient, operator: backendKey(operator), subscriptions: s.subscriptions.address, user: a };

    const { passId, txHash } = await cancelFor(options);
    const receipt = await s.publicClient.getTransactionReceipt({ hash: txHash });
    const [event] = parseEventLogs({ abi: subscriptionsAbi, eventName: "RenewalCancelled", logs: receipt.logs });
    assert.equal(event!.args.passId, passId);
    assert.ok(isAddressEqual(event!.args.by, operator.account.address));
    const pass = (await readPass(s.publicClient, s.subscriptions.address, a))!;
    assert.deepEqual([pass.cancelled, pass.autoRenew, pass.active], [true, false, true]);

    await rejectsWith(cancelFor(options), "ALREADY_CANCELLED", 409);
  });

  it("NO_PASS for a wallet without a pass, CANCEL_FAILED when the manager refuses the operator", async () => {
    const s = await loadPlans();
    const { admin, alice, carol, operator } = s.wallets;
    const options = { publicClient: s.publicClient, operator: backendKey(operator), subscriptions: s.subscriptions.address };
    await rejectsWith(cancelFor({ ...options, user: carol.account.address }), "NO_PASS", 404);

    await activate(s, alice);
    await wait(s, await s.subscriptions.write.revokeRole([ROLES.OPERATOR, operator.account.address], { account: admin.account }));
    const error = await rejectsWith(cancelFor({ ...options, user: alice.account.address }), "CANCEL_FAILED", 502);
    assert.equal(error.details?.reason, "NotPassOwner");
  });
});
