import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseEther, toHex, type Hex } from "viem";
import { vaultAbi } from "../../../src/chain/abis.ts";
import { emittedBy, mined } from "../../../src/tokens/transactions.ts";
import { loadSuite, networkHelpers, type Suite } from "../helpers/fixture.ts";
import { rejectsWith, withoutAutomine } from "./helpers.ts";

const REF = toHex("ref", { size: 32 });
const failure = { code: "DEPOSIT_FAILED", what: "the test deposit", details: { attempt: 1 } };

/** A deposit of 1 CXPT by `payer` through the Vault, as a backend write. */
const depositBy = (s: Suite, payer: Suite["wallets"]["alice"], gas?: bigint) => () =>
  payer.writeContract({
    address: s.vault.address,
    abi: vaultAbi,
    functionName: "deposit",
    args: [parseEther("1"), REF],
    account: payer.account,
    chain: payer.chain,
    gas,
  });

describe("mined", () => {
  it("returns the receipt of a successful transaction", async () => {
    const s = await loadSuite();
    await s.cxpt.write.approve([s.vault.address, parseEther("1")], { account: s.wallets.alice.account });
    const receipt = await mined(s.publicClient, depositBy(s, s.wallets.alice), failure);
    assert.equal(receipt.status, "success");
    assert.equal(emittedBy(receipt.logs, s.vault.address).length, 1, "the Vault's Paid");
  });

  it("a transaction the node refuses throws the failure code, 502, with the decoded custom error", async () => {
    const s = await loadSuite();
    const error = await rejectsWith(mined(s.publicClient, depositBy(s, s.wallets.carol), failure), "DEPOSIT_FAILED", 502);
    assert.equal(error.details?.reason, "ERC20InsufficientAllowance");
    assert.equal(error.details?.attempt, 1, "the caller's details are kept");
    assert.match(error.message, /^the test deposit failed: ERC20InsufficientAllowance/);
  });

  it("a transaction mined as reverted throws the failure code with its hash", async () => {
    const s = await loadSuite();
    const error = await withoutAutomine(async () => {
      let sent!: (hash: Hex) => void;
      const hash = new Promise<Hex>((resolve) => (sent = resolve));
      const send = depositBy(s, s.wallets.carol, 200_000n);
      const pending = mined(s.publicClient, () => send().then((h) => (sent(h), h)), failure);
      await hash;
      await networkHelpers.mine();
      return rejectsWith(pending, "DEPOSIT_FAILED", 502);
    });
    assert.match(String(error.details?.txHash), /^0x[0-9a-f]{64}$/);
    assert.match(error.message, /reverted$/);
  });
});
