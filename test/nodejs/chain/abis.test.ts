import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT, renderAbis } from "../../../deploy/artifacts.ts";

describe("src/chain/abis.ts", () => {
  it("matches the compiled artifacts (run `npm run abis` after a contract change)", () => {
    assert.equal(readFileSync(join(REPO_ROOT, "src/chain/abis.ts"), "utf8"), renderAbis());
  });
});
