// A backend transaction as its caller reports it (`succeeded` over src/chain/send.ts): the
// receipt of a success, and every failure as the caller's own code with status 502.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseEther, toHex } from "viem";
import { vaultAbi } from "../../../src/chain/abis.ts";
import { emittedBy } from "../../../src/chain/receipts.ts";
import { send, succeeded } from "../../../src/chain/send.ts";
import { AppError } from "../../../src/errors.ts";
import { backendKey, loadSuite, type Suite } from "../helpers/fixture.ts";
import { minedRevert, rejectsWith } from "../tokens/helpers.ts";

const REF = toHex("ref", { size: 32 });
const failure = { code: "DEPOSIT_FAILED", message: "the test deposit failed", details: { attempt: 1 } };
const deposit = { functionName: "deposit", args: [parseEther("1"), REF] } as const;

/** A deposit of 1 CXPT by `payer` through the Vault, sent as the backend sends. */
const depositBy = (s: Suite, payer: Suite["wallets"]["alice"]) =>
  send({ client: s.publicClient, signer: backendKey(payer) }, { address: s.vault.address, abi: vaultAbi, ...deposit });

describe("succeeded", () => {
  it("returns the sent transaction when it succeeded", async () => {
    const s = await loadSuite();
    await s.cxpt.write.approve([s.vault.address, parseEther("1")], { account: s.wallets.alice.account });
    const { hash, receipt } = await succeeded(depositBy(s, s.wallets.alice), failure);
    assert.equal(receipt.status, "success");
    assert.equal(receipt.transactionHash, hash);
    assert.equal(emittedBy(receipt.logs, s.vault.address).length, 1, "the Vault's Paid");
  });

  it("a transaction the simulation refuses throws the failure code, 502, with the decoded custom error", async () => {
    const s = await loadSuite();
    const error = await rejectsWith(succeeded(depositBy(s, s.wallets.carol), failure), "DEPOSIT_FAILED", 502);
    assert.equal(error.details?.reason, "ERC20InsufficientAllowance");
    assert.equal(error.details?.cause, "TX_WOULD_REVERT");
    assert.equal(error.details?.attempt, 1, "the caller's details are kept");
    assert.match(error.message, /^the test deposit failed: ERC20InsufficientAllowance$/);
  });

  it("a transaction mined as reverted throws the failure code with its hash", async () => {
    const s = await loadSuite();
    const { carol } = s.wallets;
    const hash = await minedRevert(() =>
      s.vault.write.deposit([parseEther("1"), REF], { account: carol.account, gas: 200_000n }),
    );
    const receipt = await s.publicClient.getTransactionReceipt({ hash });
    assert.equal(receipt.status, "reverted");
    const error = await rejectsWith(succeeded(Promise.resolve({ hash, receipt }), failure), "DEPOSIT_FAILED", 502);
    assert.equal(error.details?.txHash, hash);
    assert.equal(error.details?.cause, "TX_REVERTED");
    assert.equal(error.message, `the test deposit failed: transaction ${hash} reverted`);
  });

  it("a send that gave up (stuck, not sent) is the caller's code, the sender's code and hashes in the details", async () => {
    const hashes = [toHex(1n, { size: 32 }), toHex(2n, { size: 32 })];
    const stuck = new AppError("TX_STUCK", "deposit: not mined after 2 broadcast(s)", 504, { purpose: "deposit", nonce: 7, hashes });
    const error = await rejectsWith(succeeded(Promise.reject(stuck), failure), "DEPOSIT_FAILED", 502);
    assert.deepEqual(error.details, { attempt: 1, cause: "TX_STUCK", hashes });
    assert.equal(error.message, `the test deposit failed: ${stuck.message}`);
    const notSent = new AppError("TX_NOT_SENT", "deposit: the node did not take the transaction", 502, { purpose: "deposit", nonce: 7 });
    const unsent = await rejectsWith(succeeded(Promise.reject(notSent), failure), "DEPOSIT_FAILED", 502);
    assert.deepEqual(unsent.details, { attempt: 1, cause: "TX_NOT_SENT" });
  });
});
