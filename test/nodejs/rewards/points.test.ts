import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getAddress, maxUint256, numberToHex, parseEther, toHex, type Address } from "viem";
import { AppError } from "../../../src/errors.ts";
import { entriesOf, MAX_POINTS, parsePointsCsv, POOL_IDS, uploadShares, type CsvProblem } from "../../../src/rewards/points.ts";
import { accounts, contractsOf, loadDeployment, networkHelpers, viem } from "../deploy/helpers.ts";
import { backendKey } from "../helpers/keys.ts";

/** The n-th deterministic test wallet, checksummed. */
const wallet = (n: number): Address => getAddress(numberToHex(0xa11ce000n + BigInt(n), { size: 20 }));
const A = wallet(1);
const B = wallet(2);
const C = wallet(3);
const D = wallet(4);

/** `address` (mixed case) with one lower-case letter upper-cased: a broken checksum. */
const badChecksum = (address: Address): string => address.replace(/(?<=^0x.*)[a-f]/, (ch) => ch.toUpperCase());

/** The INVALID_CSV problems `input` is rejected with. */
function problemsOf(input: string, options?: Parameters<typeof parsePointsCsv>[1]): CsvProblem[] {
  try {
    parsePointsCsv(input, options);
  } catch (error) {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, "INVALID_CSV");
    assert.equal(error.status, 400);
    return error.details?.problems as CsvProblem[];
  }
  assert.fail("expected INVALID_CSV");
}

describe("parsePointsCsv", () => {
  it("reads wallet, points and pool with their line numbers", () => {
    const rows = parsePointsCsv(`wallet,points,pool\n${A},100,providers\n${B.toLowerCase()},0,users\n${A},7,USERS\n`);
    assert.deepEqual(rows, [
      { wallet: A, points: 100n, pool: "providers", line: 2 },
      { wallet: B, points: 0n, pool: "users", line: 3 },
      { wallet: A, points: 7n, pool: "users", line: 4 },
    ]);
    assert.deepEqual(entriesOf(rows, "users"), [{ wallet: B, points: 0n }, { wallet: A, points: 7n }]);
  });

  it("takes the columns in any order and case, a BOM, CRLF, spaces and blank lines", () => {
    const rows = parsePointsCsv(`\uFEFF Points , WALLET \r\n\r\n 5 , ${A} \r\n\r\n${MAX_POINTS},"${B}"\r\n`, { pool: "providers" });
    assert.deepEqual(rows, [
      { wallet: A, points: 5n, pool: "providers", line: 3 },
      { wallet: B, points: MAX_POINTS, pool: "providers", line: 5 },
    ]);
  });

  it("the pool column wins over the upload's pool; without either the file is refused", () => {
    assert.equal(parsePointsCsv(`wallet,points,pool\n${A},1,users`, { pool: "providers" })[0].pool, "users");
    assert.deepEqual(problemsOf(`wallet,points\n${A},1`), [{ line: 1, message: "no pool column and no pool chosen for the upload" }]);
  });

  it("requires a header", () => {
    assert.deepEqual(problemsOf(`${A},1\n${B},2`, { pool: "users" }), [
      { line: 1, message: `the header must name the columns wallet,points and optionally pool, got "${A},1"` },
    ]);
    assert.deepEqual(problemsOf("wallet,points,points\n", { pool: "users" }).map((p) => p.line), [1]);
    assert.deepEqual(problemsOf("wallet,points,comment\n", { pool: "users" }).map((p) => p.line), [1]);
    assert.deepEqual(problemsOf(""), [{ line: 1, message: "the file is empty: a header wallet,points[,pool] is required" }]);
    assert.deepEqual(problemsOf("wallet,points\n\n", { pool: "users" }), [{ line: 1, message: "no rows after the header" }]);
  });

  it("reports every bad line with its number", () => {
    const broken = badChecksum(A);
    const csv = [
      "wallet,points,pool",
      `${A},10,providers`, // 2 ok
      "0x1234,10,providers", // 3 not an address
      `${broken},10,providers`, // 4 bad checksum
      "0x0000000000000000000000000000000000000000,1,users", // 5 zero address
      `${B},-5,providers`, // 6 negative
      `${B},1.5,users`, // 7 not whole
      `${C},1e3,providers`, // 8 exponent
      `${C},${MAX_POINTS + 1n},users`, // 9 above uint96
      `${A.toLowerCase()},3,providers`, // 10 duplicate of line 2
      `${C},1,stakers`, // 11 unknown pool
      `${C},1`, // 12 too few fields
      `${C},1,users,extra`, // 13 too many fields
      `${D},,users`, // 14 empty points
    ].join("\n");
    assert.deepEqual(problemsOf(csv), [
      { line: 3, message: '"0x1234" is not an address (or its checksum is wrong)' },
      { line: 4, message: `"${broken}" is not an address (or its checksum is wrong)` },
      { line: 5, message: "the zero address cannot hold points" },
      { line: 6, message: 'points must be a non-negative whole number, got "-5"' },
      { line: 7, message: 'points must be a non-negative whole number, got "1.5"' },
      { line: 8, message: 'points must be a non-negative whole number, got "1e3"' },
      { line: 9, message: `points ${MAX_POINTS + 1n} exceed the maximum ${MAX_POINTS} (uint96)` },
      { line: 10, message: `${A} appears twice in the providers pool (first on line 2)` },
      { line: 11, message: 'pool must be providers or users, got "stakers"' },
      { line: 12, message: "expected 3 fields, got 2" },
      { line: 13, message: "expected 3 fields, got 4" },
      { line: 14, message: 'points must be a non-negative whole number, got ""' },
    ]);
  });

  it("names the lines in the message, the first ten of them", () => {
    const rows = Array.from({ length: 12 }, (_, i) => `0xbad${i},1`);
    assert.throws(() => parsePointsCsv(["wallet,points", ...rows].join("\n"), { pool: "users" }), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.match(error.message, /^invalid points CSV: line 2: "0xbad0" is not an address .*; line 11: "0xbad9" is not an address \(or its checksum is wrong\); … and 2 more$/);
      assert.equal((error.details?.problems as CsvProblem[]).length, 12);
      return true;
    });
  });

  it("turns malformed CSV into INVALID_CSV with the line", () => {
    assert.deepEqual(problemsOf(`wallet,points\n${A},1\n"${B},2\n`, { pool: "users" }).map((p) => p.line), [3]);
    const [problem] = problemsOf(`wallet,points\n${A},1\nx"y,2\n`, { pool: "users" });
    assert.equal(problem.line, 3);
    assert.match(problem.message, /Invalid Opening Quote/);
  });

  it("accepts a Buffer", () => {
    assert.equal(parsePointsCsv(Buffer.from(`wallet,points\n${A},1`), { pool: "users" }).length, 1);
  });
});

describe("uploadShares", () => {
  /** The suite with `gross` CXPT paid into the Vault and swept to the distributor's pools. */
  async function funded(gross = parseEther("10000")) {
    const { deployment } = await loadDeployment();
    const c = await contractsOf(deployment);
    const publicClient = await viem.getPublicClient();
    const accountsOf = await accounts();
    // `chain`: the rewards key as the backend holds it, for uploadShares.
    const a = { ...accountsOf, chain: { client: publicClient, signer: backendKey(accountsOf.rewards) } };
    const wait = async (hash: Promise<`0x${string}`>) => publicClient.waitForTransactionReceipt({ hash: await hash });
    await wait(c.cxpt.write.approve([c.vault.address, maxUint256], { account: a.distribution.account }));
    await wait(c.vault.write.deposit([gross, toHex("points-test", { size: 32 })], { account: a.distribution.account }));
    await wait(c.vault.write.sweep());
    return { c, a, publicClient, wait };
  }

  it("uploads a CSV in batches; after startEpoch the points show in pendingOf", async () => {
    const { c, a, publicClient, wait } = await funded();
    const providers = Array.from({ length: 5 }, (_, i) => wallet(10 + i));
    const csv = [
      "wallet,points,pool",
      ...providers.map((w, i) => `${w},${(i + 1) * 100},providers`),
      `${A},1,users`,
      `${B},3,users`,
    ].join("\n");
    const rows = parsePointsCsv(csv);

    const hashes = await uploadShares(a.chain, { distributor: c.distributor.address, epoch: 1n, pool: "providers", entries: entriesOf(rows, "providers"), batchSize: 2 });
    assert.equal(hashes.length, 3);
    for (const hash of hashes) assert.equal((await publicClient.getTransactionReceipt({ hash })).status, "success");
    assert.equal((await uploadShares(a.chain, { distributor: c.distributor.address, epoch: 1n, pool: "users", entries: entriesOf(rows, "users") })).length, 1);

    assert.deepEqual(await c.distributor.read.poolEpoch([1n, POOL_IDS.providers]), [1_500n, 0n]);
    assert.equal(await c.distributor.read.sharesOf([providers[4], POOL_IDS.providers, 1n]), 500n);

    const duration = 7n * 86_400n;
    await wait(c.distributor.write.startEpoch([1n, duration], { account: a.rewards.account }));
    await networkHelpers.time.increase(duration);
    const [, providersBudget] = await c.distributor.read.poolEpoch([1n, POOL_IDS.providers]);
    const [, usersBudget] = await c.distributor.read.poolEpoch([1n, POOL_IDS.users]);
    assert.ok(providersBudget > 0n && usersBudget > 0n);
    for (const [i, w] of providers.entries()) {
      assert.equal(await c.distributor.read.pendingOf([w]), (BigInt(i + 1) * 100n * providersBudget) / 1_500n, w);
    }
    assert.equal(await c.distributor.read.pendingOf([A]), usersBudget / 4n);
    assert.equal(await c.distributor.read.pendingOf([B]), (3n * usersBudget) / 4n);
  });

  it("a re-run overwrites: uploading the same points again changes nothing", async () => {
    const { c, a } = await funded();
    const upload = { distributor: c.distributor.address, epoch: 1n, pool: "users" as const, entries: [{ wallet: A, points: 4n }, { wallet: B, points: 6n }] };
    await uploadShares(a.chain, upload);
    await uploadShares(a.chain, upload);
    assert.deepEqual(await c.distributor.read.poolEpoch([1n, POOL_IDS.users]), [10n, 0n]);
  });

  it("refuses an epoch other than current + 1 (409 WRONG_EPOCH) and sends nothing", async () => {
    const { c, a, publicClient } = await funded();
    const before = await publicClient.getBlockNumber();
    for (const epoch of [0n, 2n]) {
      await assert.rejects(uploadShares(a.chain, { distributor: c.distributor.address, epoch, pool: "users", entries: [{ wallet: A, points: 1n }] }), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, "WRONG_EPOCH");
        assert.equal(error.status, 409);
        assert.equal(error.message, `points can only be uploaded for the next epoch 1 (epoch 0 is current), not ${epoch}`);
        return true;
      });
    }
    assert.equal(await publicClient.getBlockNumber(), before);
  });

  it("refuses a key without REWARDS_ROLE (403), an empty upload and a bad batch size (400)", async () => {
    const { c, a, publicClient } = await funded();
    const upload = { distributor: c.distributor.address, epoch: 1n, pool: "users" as const, entries: [{ wallet: A, points: 1n }] };
    await assert.rejects(uploadShares({ client: publicClient, signer: backendKey(a.stranger) }, upload), (error: unknown) => error instanceof AppError && error.code === "MISSING_ROLE" && error.status === 403);
    await assert.rejects(uploadShares(a.chain, { ...upload, entries: [] }), (error: unknown) => error instanceof AppError && error.code === "NO_SHARES");
    for (const batchSize of [0, 1.5, -1]) {
      await assert.rejects(uploadShares(a.chain, { ...upload, batchSize }), (error: unknown) => error instanceof AppError && error.code === "INVALID_BATCH_SIZE");
    }
  });

  it("a batch the contract refuses fails with UPLOAD_FAILED naming the batches already mined", async () => {
    const { c, a } = await funded();
    const entries = [{ wallet: A, points: 1n }, { wallet: B, points: 2n }, { wallet: A, points: MAX_POINTS + 1n }];
    await assert.rejects(uploadShares(a.chain, { distributor: c.distributor.address, epoch: 1n, pool: "users", entries, batchSize: 2 }), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, "UPLOAD_FAILED");
      assert.match(error.message, /^updateShares batch 2 \(accounts 3–3 of 3\) failed after 1 mined batch\(es\): .*SharesTooLarge/);
      assert.equal((error.details?.mined as string[]).length, 1);
      return true;
    });
  });
});
