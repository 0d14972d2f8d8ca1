import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadSuite, GENESIS_SUPPLY } from "./helpers/fixture.ts";

describe("fixture", () => {
  it("deploys the suite with the genesis supply at the distribution address", async () => {
    const { cxpt, wallets } = await loadSuite();
    assert.equal(await cxpt.read.totalSupply(), GENESIS_SUPPLY);
    assert.equal(await cxpt.read.symbol(), "CXPT");
    assert.ok((await cxpt.read.balanceOf([wallets.alice.account.address])) > 0n);
  });
});
