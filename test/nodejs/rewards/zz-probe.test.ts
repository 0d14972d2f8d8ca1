import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setup, withEpoch, Pool } from "./helpers.ts";
describe("probe", () => {
  it("view time", async () => {
    const s = await setup();
    const a = s.wallets.alice.account.address;
    const e = await withEpoch(s, { providers: [[a, 1n]] });
    console.log(e);
    await s.at(e.start + 100n);
    console.log(await s.distributor.read.pendingOf([a, Pool.Providers]), e.providers * 100n / 604800n);
    assert.ok(true);
  });
});
