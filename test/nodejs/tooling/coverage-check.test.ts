import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseLcov } from "../../../scripts/coverage-check.ts";

const SCRIPT = join(import.meta.dirname, "../../../scripts/coverage-check.ts");

/** An lcov report of two contracts and a test file, as `hardhat test --coverage` writes it. */
const REPORT = [
  "TN:",
  "SF:contracts/a/A.sol",
  "DA:1,1",
  "LH:19",
  "LF:20",
  "end_of_record",
  "SF:contracts/b/B.sol",
  "LH:80",
  "LF:80",
  "end_of_record",
  "SF:test/solidity/T.sol",
  "LH:0",
  "LF:50",
  "end_of_record",
].join("\n");

function check(floor: number | string): { status: number | null; out: string } {
  const file = join(mkdtempSync(join(tmpdir(), "lcov-")), "lcov.info");
  writeFileSync(file, REPORT);
  const run = spawnSync(process.execPath, [SCRIPT, file], {
    env: { ...process.env, COVERAGE_MIN_LINES: String(floor) },
    encoding: "utf8",
  });
  return { status: run.status, out: run.stdout + run.stderr };
}

describe("scripts/coverage-check.ts", () => {
  it("reads each file's lines found and hit from lcov", () => {
    assert.deepEqual(parseLcov(REPORT), [
      { file: "contracts/a/A.sol", found: 20, hit: 19 },
      { file: "contracts/b/B.sol", found: 80, hit: 80 },
      { file: "test/solidity/T.sol", found: 50, hit: 0 },
    ]);
  });

  it("passes when every contract and the total reach the floor, counting contracts only", () => {
    const { status, out } = check(95);
    assert.equal(status, 0, out);
    assert.match(out, /contracts\/a\/A\.sol\s+95\.00 %/);
    assert.match(out, /total\s+99\.00 %  \(99\/100 lines\)/);
  });

  it("fails naming each contract under the floor", () => {
    const { status, out } = check(96);
    assert.equal(status, 1);
    assert.match(out, /under 96 % lines: contracts\/a\/A\.sol;/);
  });

  it("refuses a floor that is not a percentage instead of passing everything", () => {
    for (const floor of ["abc", "", "101", "-1"]) {
      const { status, out } = check(floor);
      assert.equal(status, 1, `floor ${JSON.stringify(floor)}`);
      assert.match(out, /COVERAGE_MIN_LINES must be a percentage from 0 to 100/);
    }
  });

  it("fails with one line when there is no report", () => {
    const run = spawnSync(process.execPath, [SCRIPT, join(tmpdir(), "no-such-dir", "lcov.info")], { encoding: "utf8" });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^coverage: no report at .*; run `hardhat test solidity --coverage` first\n$/);
  });
});
