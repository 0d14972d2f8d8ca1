// Balance bookkeeping around Vault payments, shared by the subscription and billing tests.
import assert from "node:assert/strict";
import type { Address } from "viem";
import { DEFAULT_BURN_BPS, type Suite } from "./fixture.ts";

/** The part of a payment of `amount` the Vault burns at `burnBps` (the default rate unless given). */
export const burnOf = (amount: bigint, burnBps: bigint = DEFAULT_BURN_BPS): bigint => (amount * burnBps) / 10_000n;

/** CXPT balances of `payers` with the Vault's holdings, accrual, burned total and the supply. */
export async function paymentState({ cxpt, vault }: Suite, payers: readonly Address[]) {
  return {
    payers: await Promise.all(payers.map((payer) => cxpt.read.balanceOf([payer]))),
    vaultBalance: await cxpt.read.balanceOf([vault.address]),
    accrued: await vault.read.accrued(),
    totalBurned: await vault.read.totalBurned(),
    supply: await cxpt.read.totalSupply(),
  };
}

type PaymentState = Awaited<ReturnType<typeof paymentState>>;

/**
 * Asserts that between `before` and `after` payer i paid exactly `paid[i]`, and that the Vault
 * burned `burned` of the total (supply down by it) and accrued and holds the rest.
 */
export function assertPayments(before: PaymentState, after: PaymentState, paid: readonly bigint[], burned: bigint) {
  paid.forEach((amount, i) => assert.equal(before.payers[i] - after.payers[i], amount, `payer ${i} paid`));
  const total = paid.reduce((sum, amount) => sum + amount, 0n);
  assert.equal(after.totalBurned - before.totalBurned, burned, "burned");
  assert.equal(before.supply - after.supply, burned, "supply burned");
  assert.equal(after.accrued - before.accrued, total - burned, "accrued");
  assert.equal(after.vaultBalance - before.vaultBalance, total - burned, "vault balance");
}
