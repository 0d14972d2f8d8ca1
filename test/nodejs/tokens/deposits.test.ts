import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isAddressEqual, keccak256, parseEther, parseEventLogs, toHex, zeroHash, type Hex } from "viem";
import { vaultAbi } from "../../../src/chain/abis.ts";
import { verifyDeposit } from "../../../src/tokens/deposits.ts";
import { deployProxy, networkHelpers, DEFAULT_BURN_BPS, type Suite } from "../helpers/fixture.ts";
import { burnOf } from "../helpers/payments.ts";
import { deadlineIn, signPermit } from "../token/helpers.ts";
import { PLAN, loadPlans } from "../subscriptions/backend/helpers.ts";
import { minedRevert, rejectsWith, withoutAutomine } from "./helpers.ts";

const AMOUNT = parseEther("250");
const REF = toHex("invoice-42", { size: 32 });

/** Alice deposits `amount` with `ref` (she approved the Vault in the fixture). */
async function aliceDeposits(s: Suite, amount = AMOUNT): Promise<Hex> {
  const hash = await s.vault.write.deposit([amount, REF], { account: s.wallets.alice.account });
  await s.publicClient.waitForTransactionReceipt({ hash });
  return hash;
}

describe("verifyDeposit", () => {
  it("verifies a Vault.deposit: user, payer, gross amount, burn, ref and the Paid log's position", async () => {
    const s = await loadPlans();
    const txHash = await aliceDeposits(s);
    const alice = s.wallets.alice.account.address;

    const deposit = await verifyDeposit(s.publicClient, { vault: s.vault.address, txHash, expectedUser: alice });

    const receipt = await s.publicClient.getTransactionReceipt({ hash: txHash });
    const [paid] = parseEventLogs({ abi: vaultAbi, eventName: "Paid", logs: receipt.logs });
    assert.deepEqual(deposit, {
      txHash,
      blockNumber: receipt.blockNumber,
      logIndex: paid!.logIndex,
      kind: "deposit",
      user: paid!.args.user,
      payer: paid!.args.payer,
      amount: AMOUNT,
      burned: burnOf(AMOUNT, DEFAULT_BURN_BPS),
      ref: REF,
      depositId: 0n,
    });
    assert.ok(isAddressEqual(deposit.user, alice) && isAddressEqual(deposit.payer, alice));
  });

  it("verifies a depositWithPermit (no prior approval)", async () => {
    const s = await loadPlans();
    const { carol } = s.wallets;
    const permit = await signPermit(s.cxpt, carol, s.vault.address, AMOUNT, await deadlineIn(3600n));
    const txHash = await s.vault.write.depositWithPermit([AMOUNT, zeroHash, permit.deadline, permit.v, permit.r, permit.s], {
      account: carol.account,
    });

    const deposit = await verifyDeposit(s.publicClient, { vault: s.vault.address, txHash, expectedUser: carol.account.address });
    assert.equal(deposit.kind, "deposit");
    assert.ok(isAddressEqual(deposit.user, carol.account.address));
    assert.equal(deposit.amount, AMOUNT);
    assert.equal(deposit.ref, zeroHash);
  });

  it("refuses an operator depositFor unless allowOperator, then reports its deposit id (NOT_A_DEPOSIT)", async () => {
    const s = await loadPlans();
    const { operator, bob } = s.wallets;
    await s.cxpt.write.approve([s.vault.address, AMOUNT], { account: operator.account });
    const txHash = await s.vault.write.depositFor([bob.account.address, AMOUNT, REF], { account: operator.account });
    const options = { vault: s.vault.address, txHash, expectedUser: bob.account.address };

    const error = await rejectsWith(verifyDeposit(s.publicClient, options), "NOT_A_DEPOSIT", 422);
    assert.equal(error.details?.kind, "operator");

    const deposit = await verifyDeposit(s.publicClient, { ...options, allowOperator: true });
    assert.equal(deposit.kind, "operator");
    assert.equal(deposit.depositId, 1n);
    assert.ok(isAddressEqual(deposit.payer, operator.account.address));
    assert.ok(isAddressEqual(deposit.user, bob.account.address));
  });

  it("refuses a subscription activation or renewal paid through the Vault (NOT_A_DEPOSIT)", async () => {
    const s = await loadPlans();
    const { alice } = s.wallets;
    const activation = await s.subscriptions.write.activatePlan([PLAN.starter], { account: alice.account });
    const passId = await s.subscriptions.read.passOf([alice.account.address]);
    const renewal = await s.subscriptions.write.renew([passId], { account: alice.account });

    for (const txHash of [activation, renewal]) {
      // The Vault did emit Paid for alice: only the transaction's call tells it is no deposit.
      const receipt = await s.publicClient.getTransactionReceipt({ hash: txHash });
      assert.equal(parseEventLogs({ abi: vaultAbi, eventName: "Paid", logs: receipt.logs }).length, 1);
      const error = await rejectsWith(
        verifyDeposit(s.publicClient, { vault: s.vault.address, txHash, expectedUser: alice.account.address }),
        "NOT_A_DEPOSIT",
        422,
      );
      assert.ok(isAddressEqual(error.details?.to as Hex, s.subscriptions.address));
    }
  });

  it("ignores Paid events of a look-alike Vault and transactions without a payment (NOT_A_VAULT_DEPOSIT)", async () => {
    const s = await loadPlans();
    const { admin, alice } = s.wallets;
    const fake = await deployProxy("Vault", [admin.account.address, s.cxpt.address, s.distributor.address, DEFAULT_BURN_BPS]);
    await s.cxpt.write.approve([fake.address, AMOUNT], { account: alice.account });
    const lookAlike = await fake.write.deposit([AMOUNT, REF], { account: alice.account });
    // A plain transfer to the Vault moves CXPT but is no payment.
    const transfer = await s.cxpt.write.transfer([s.vault.address, AMOUNT], { account: alice.account });

    for (const txHash of [lookAlike, transfer]) {
      await rejectsWith(verifyDeposit(s.publicClient, { vault: s.vault.address, txHash }), "NOT_A_VAULT_DEPOSIT", 422);
    }
    // The look-alike is a real deposit of its own Vault.
    assert.equal((await verifyDeposit(s.publicClient, { vault: fake.address, txHash: lookAlike })).amount, AMOUNT);
  });

  it("refuses a deposit crediting another wallet (DEPOSIT_NOT_YOURS)", async () => {
    const s = await loadPlans();
    const txHash = await aliceDeposits(s);
    await rejectsWith(
      verifyDeposit(s.publicClient, { vault: s.vault.address, txHash, expectedUser: s.wallets.bob.account.address }),
      "DEPOSIT_NOT_YOURS",
      403,
    );
  });

  it("TX_NOT_FOUND for an unknown hash, INVALID_TX_HASH for a malformed one", async () => {
    const s = await loadPlans();
    await rejectsWith(verifyDeposit(s.publicClient, { vault: s.vault.address, txHash: keccak256("0x01") }), "TX_NOT_FOUND", 404);
    await rejectsWith(verifyDeposit(s.publicClient, { vault: s.vault.address, txHash: "0x1234" }), "INVALID_TX_HASH", 400);
  });

  it("TX_PENDING until the transaction has minConfirmations blocks", async () => {
    const s = await loadPlans();
    const txHash = await aliceDeposits(s);
    const options = { vault: s.vault.address, txHash, minConfirmations: 3 };

    const error = await rejectsWith(verifyDeposit(s.publicClient, options), "TX_PENDING", 409);
    assert.deepEqual(error.details, { confirmations: 1, required: 3 });
    await networkHelpers.mine(2);
    assert.equal((await verifyDeposit(s.publicClient, options)).amount, AMOUNT);
  });

  it("TX_PENDING while the transaction waits in the mempool", async () => {
    const s = await loadPlans();
    const options = await withoutAutomine(async () => {
      const txHash = await s.vault.write.deposit([AMOUNT, REF], { account: s.wallets.alice.account });
      const options = { vault: s.vault.address, txHash };
      const error = await rejectsWith(verifyDeposit(s.publicClient, options), "TX_PENDING", 409);
      assert.deepEqual(error.details, { confirmations: 0, required: 1 });
      await networkHelpers.mine();
      return options;
    });
    assert.equal((await verifyDeposit(s.publicClient, options)).amount, AMOUNT);
  });

  it("TX_REVERTED for a mined deposit that reverted", async () => {
    const s = await loadPlans();
    // Carol never approved the Vault: her deposit reverts on chain.
    const txHash = await minedRevert(() =>
      s.vault.write.deposit([AMOUNT, REF], { account: s.wallets.carol.account, gas: 200_000n }),
    );
    assert.equal((await s.publicClient.getTransactionReceipt({ hash: txHash })).status, "reverted");
    await rejectsWith(verifyDeposit(s.publicClient, { vault: s.vault.address, txHash }), "TX_REVERTED", 422);
  });
});
