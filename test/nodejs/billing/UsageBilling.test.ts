import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getAddress, maxUint256, parseEther, toHex, zeroHash, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import { loadSuite, networkHelpers, viem, ROLES, type Suite } from "../helpers/fixture.ts";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { buildBatch, LEAF_ENCODING, leafValue, type BatchDomain, type BillingBatch, type Chunk } from "../helpers/merkle.ts";
import { assertPayments, burnOf, paymentState } from "../helpers/payments.ts";

type Wallet = Suite["wallets"]["alice"];

/** UsageBilling.LeafStatus. */
const LeafStatus = { Pending: 0, Collected: 1, Shortfall: 2 } as const;

/** Payers beyond alice, bob and carol: the fixture's spare wallets, funded here. */
const EXTRA_PAYERS = 5;
const FUNDING = parseEther("10000");

/** A spending cap no test reaches, per day. */
const UNCAPPED = 2n ** 96n - 1n;
const DAY = 86_400n;

/** The suite with eight payers holding CXPT, a full Vault allowance and an unreachable spending cap. */
async function withPayers() {
  const suite = await loadSuite();
  const { alice, bob, carol, distribution } = suite.wallets;
  const extra = suite.allWallets.slice(11, 11 + EXTRA_PAYERS);
  for (const wallet of extra) {
    await suite.cxpt.write.transfer([wallet.account.address, FUNDING], { account: distribution.account });
  }
  const payers = [alice, bob, carol, ...extra];
  for (const wallet of payers) {
    await suite.cxpt.write.approve([suite.vault.address, maxUint256], { account: wallet.account });
    await suite.billing.write.setSpendingCap([UNCAPPED, DAY], { account: wallet.account });
  }
  return { ...suite, payers };
}
const setup = () => networkHelpers.loadFixture(withPayers);
type Setup = Awaited<ReturnType<typeof withPayers>>;

const addr = (wallet: Wallet): Address => getAddress(wallet.account.address);
const ref = (batchId: bigint) => toHex(batchId, { size: 32 });

/** Where batch `batchId` of the suite's UsageBilling is collected (hashed into each leaf). */
const domainOf = (s: Suite, batchId: bigint): BatchDomain => ({ chainId: BigInt(s.publicClient.chain.id), billing: getAddress(s.billing.address), batchId });

/** Batch `batchId` charging each payer a different, odd amount (so the per-chunk burn rounds). */
function chargeAll(s: Suite, payers: readonly Wallet[], batchId = 1n): BillingBatch {
  return buildBatch(domainOf(s, batchId), payers.map((wallet, i) => ({ user: addr(wallet), amount: parseEther("12.345678") * BigInt(i + 1) + 7n })));
}

const sumOf = (chunk: Chunk) => chunk.leaves.reduce((sum, leaf) => sum + leaf.amount, 0n);

function commit(s: Suite, batchId: bigint, batch: Pick<BillingBatch, "root" | "total" | "count">) {
  return s.billing.write.commitBatch([batchId, batch.root, batch.total, batch.count], { account: s.wallets.settler.account });
}

function collect(s: Suite, batchId: bigint, { leaves, proof, proofFlags }: Chunk, caller: Wallet = s.wallets.settler) {
  return s.billing.write.collectChunk([batchId, leaves, proof, proofFlags], { account: caller.account });
}

function settle(s: Suite, batchId: bigint, batch: BillingBatch, { leaves, proof, proofFlags }: Chunk, caller = s.wallets.settler) {
  return s.billing.write.settleBatch([batchId, batch.root, batch.total, batch.count, leaves, proof, proofFlags], {
    account: caller.account,
  });
}

async function statuses(s: Suite, batchId: bigint, count: number) {
  return Promise.all(Array.from({ length: count }, (_, i) => s.billing.read.leafStatus([batchId, BigInt(i)])));
}

function assertUnauthorized(s: Suite, call: Promise<unknown>, account: Wallet) {
  return viem.assertions.revertWithCustomErrorWithArgs(call, s.billing, "AccessControlUnauthorizedAccount", [
    addr(account),
    ROLES.SETTLER,
  ]);
}

/** Makes `user` unable to pay: `how` removes their allowance, their balance, their spending cap, or sanctions them. */
async function makeShort(s: Setup, user: Wallet, how: "allowance" | "balance" | "cap" | "sanctions") {
  if (how === "cap") await s.billing.write.setSpendingCap([0n, DAY], { account: user.account });
  if (how === "allowance") await s.cxpt.write.approve([s.vault.address, 1n], { account: user.account });
  if (how === "balance") {
    const balance = await s.cxpt.read.balanceOf([user.account.address]);
    await s.cxpt.write.transfer([s.wallets.distribution.account.address, balance], { account: user.account });
  }
  if (how === "sanctions") {
    await s.vault.write.setSanctionsOracle([s.sanctions.address]);
    await s.sanctions.write.setSanctioned([user.account.address, true]);
  }
}

describe("UsageBilling", () => {
  describe("initialize", () => {
    it("sets the Vault and the admin", async () => {
      const s = await setup();
      assert.equal(await s.billing.read.vault(), getAddress(s.vault.address));
      assert.equal(await s.billing.read.hasRole([ROLES.DEFAULT_ADMIN, addr(s.wallets.admin)]), true);
      assert.equal(await s.billing.read.hasRole([ROLES.SETTLER, addr(s.wallets.settler)]), true);
    });

    it("cannot run twice", async () => {
      const s = await setup();
      await viem.assertions.revertWithCustomError(
        s.billing.write.initialize([addr(s.wallets.admin), s.vault.address]),
        s.billing,
        "InvalidInitialization",
      );
    });
  });

  describe("commitBatch", () => {
    it("records the root, total and count and emits BatchCommitted", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers);
      const hash = await commit(s, 1n, batch);
      await viem.assertions.emitWithArgs(hash, s.billing, "BatchCommitted", [1n, batch.root, batch.total, batch.count]);
      const { blockNumber } = await s.publicClient.waitForTransactionReceipt({ hash });
      const { timestamp } = await s.publicClient.getBlock({ blockNumber });
      assert.deepEqual(await s.billing.read.batchOf([1n]), {
        root: batch.root,
        total: batch.total,
        count: batch.count,
        committedAt: timestamp,
        collected: 0n,
        shortfall: 0n,
      });
      assert.deepEqual(await statuses(s, 1n, s.payers.length), Array(s.payers.length).fill(LeafStatus.Pending));
    });

    it("reverts InvalidBatch for a zero root, total or count, or ones beyond their storage", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers);
      for (const bad of [{ root: zeroHash }, { total: 0n }, { count: 0n }, { total: 2n ** 128n }, { count: 2n ** 64n }]) {
        await viem.assertions.revertWithCustomError(commit(s, 1n, { ...batch, ...bad }), s.billing, "InvalidBatch");
      }
    });

    it("reverts BatchAlreadyCommitted for a batch id in use", async () => {
      const s = await setup();
      await commit(s, 1n, chargeAll(s, s.payers));
      await viem.assertions.revertWithCustomErrorWithArgs(
        commit(s, 1n, chargeAll(s, s.payers.slice(1))),
        s.billing,
        "BatchAlreadyCommitted",
        [1n],
      );
    });

    it("is settler-only, even for the admin", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers);
      for (const caller of [s.wallets.admin, s.wallets.billingBackend]) {
        await assertUnauthorized(
          s,
          s.billing.write.commitBatch([1n, batch.root, batch.total, batch.count], { account: caller.account }),
          caller,
        );
      }
    });
  });

  describe("settleBatch", () => {
    it("commits and collects a first chunk in one transaction", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers, 7n);
      const chunk = batch.chunk([0, 1, 2]);
      const before = await paymentState(s, s.payers.map(addr));
      const hash = await settle(s, 7n, batch, chunk);
      await viem.assertions.emitWithArgs(hash, s.billing, "BatchCommitted", [7n, batch.root, batch.total, batch.count]);
      await viem.assertions.emitWithArgs(hash, s.vault, "BatchCollected", [ref(7n), 3n, sumOf(chunk), burnOf(sumOf(chunk))]);
      const amounts = batch.leaves.map((leaf, i) => (i < 3 ? leaf.amount : 0n));
      assertPayments(before, await paymentState(s, s.payers.map(addr)), amounts, burnOf(sumOf(chunk)));
      assert.equal((await s.billing.read.batchOf([7n])).collected, sumOf(chunk));
      assert.deepEqual(await statuses(s, 7n, 4), [
        LeafStatus.Collected,
        LeafStatus.Collected,
        LeafStatus.Collected,
        LeafStatus.Pending,
      ]);
    });

    it("reverts BatchAlreadyCommitted and InvalidBatch like commitBatch", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers);
      await commit(s, 1n, batch);
      await viem.assertions.revertWithCustomErrorWithArgs(
        settle(s, 1n, batch, batch.chunk([0])),
        s.billing,
        "BatchAlreadyCommitted",
        [1n],
      );
      await viem.assertions.revertWithCustomError(
        settle(s, 2n, { ...batch, total: 0n }, batch.chunk([0])),
        s.billing,
        "InvalidBatch",
      );
    });

    it("reverts InvalidProof without committing anything", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers);
      const other = chargeAll(s, s.payers.slice(0, 4));
      await viem.assertions.revertWithCustomErrorWithArgs(settle(s, 1n, batch, other.chunk([0])), s.billing, "InvalidProof", [1n]);
      assert.equal((await s.billing.read.batchOf([1n])).root, zeroHash);
    });

    it("is settler-only", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers);
      await assertUnauthorized(s, settle(s, 1n, batch, batch.chunk([0]), s.wallets.alice), s.wallets.alice);
    });
  });

  describe("collectChunk", () => {
    it("collects a batch of eight users in multiproof chunks, each paying exactly its amount", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers);
      await commit(s, 1n, batch);
      const before = await paymentState(s, s.payers.map(addr));
      const chunks = batch.chunks(3);
      assert.deepEqual(
        chunks.map((c) => c.leaves.length),
        [3, 3, 2],
      );
      let burned = 0n;
      for (const chunk of chunks) {
        const hash = await collect(s, 1n, chunk);
        await viem.assertions.emitWithArgs(hash, s.vault, "BatchCollected", [
          ref(1n),
          BigInt(chunk.leaves.length),
          sumOf(chunk),
          burnOf(sumOf(chunk)),
        ]);
        const [first] = chunk.leaves;
        await viem.assertions.emitWithArgs(hash, s.billing, "LeafCollected", [1n, first.index, first.user, first.amount]);
        burned += burnOf(sumOf(chunk));
      }
      assertPayments(
        before,
        await paymentState(s, s.payers.map(addr)),
        batch.leaves.map((leaf) => leaf.amount),
        burned,
      );
      const stored = await s.billing.read.batchOf([1n]);
      assert.equal(stored.collected, batch.total);
      assert.equal(stored.shortfall, 0n);
      assert.deepEqual(await statuses(s, 1n, s.payers.length), Array(s.payers.length).fill(LeafStatus.Collected));
    });

    it("accepts the leaves of a chunk in any selection of the tree", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers);
      await commit(s, 1n, batch);
      await collect(s, 1n, batch.chunk([6, 1, 3]));
      assert.deepEqual(await statuses(s, 1n, 7), [0, 1, 0, 1, 0, 0, 1]);
      assert.equal((await s.billing.read.batchOf([1n])).collected, [1, 3, 6].reduce((t, i) => t + batch.leaves[i].amount, 0n));
    });

    it("reverts LeafAlreadyCollected when a leaf is collected again", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers);
      await commit(s, 1n, batch);
      await collect(s, 1n, batch.chunk([0, 1]));
      await viem.assertions.revertWithCustomErrorWithArgs(
        collect(s, 1n, batch.chunk([1, 2])),
        s.billing,
        "LeafAlreadyCollected",
        [1n, 1n],
      );
    });

    it("charges a leaf repeated in the tree once per chunk (LeafAlreadyCollected)", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      const leaf = { index: 0n, user: addr(alice), amount: parseEther("3") };
      // A faulty tree holding the same leaf twice: the multiproof proves both copies.
      const tree = StandardMerkleTree.of([leafValue(domainOf(s, 1n), leaf), leafValue(domainOf(s, 1n), leaf)], LEAF_ENCODING);
      const { proof, proofFlags } = tree.getMultiProof([0, 1]);
      await commit(s, 1n, { root: tree.root as Hex, total: 2n * leaf.amount, count: 2n });
      const before = await s.cxpt.read.balanceOf([leaf.user]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collect(s, 1n, { leaves: [leaf, leaf], proof: proof as Hex[], proofFlags }),
        s.billing,
        "LeafAlreadyCollected",
        [1n, 0n],
      );
      assert.equal(await s.cxpt.read.balanceOf([leaf.user]), before);
    });

    it("reverts LeafAlreadyCollected for two leaves sharing an index, before charging anyone", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      // A faulty tree: index 0 for an unfunded account and again for alice.
      const unfunded = { index: 0n, user: privateKeyToAddress(generatePrivateKey()), amount: parseEther("50") };
      const funded = { index: 0n, user: addr(alice), amount: parseEther("20") };
      const tree = StandardMerkleTree.of([leafValue(domainOf(s, 1n), unfunded), leafValue(domainOf(s, 1n), funded)], LEAF_ENCODING);
      const { leaves, proof, proofFlags } = tree.getMultiProof([0, 1]);
      await commit(s, 1n, { root: tree.root as Hex, total: unfunded.amount + funded.amount, count: 2n });
      const before = await s.cxpt.read.balanceOf([funded.user]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collect(s, 1n, { leaves: leaves.map(([, , , index, user, amount]) => ({ index: index as bigint, user: user as Address, amount: amount as bigint })), proof: proof as Hex[], proofFlags }),
        s.billing,
        "LeafAlreadyCollected",
        [1n, 0n],
      );
      assert.equal(await s.cxpt.read.balanceOf([funded.user]), before);
      assert.equal((await s.billing.read.batchOf([1n])).shortfall, 0n);
    });

    it("reverts EmptyChunk for a chunk without leaves", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers);
      await commit(s, 1n, batch);
      await viem.assertions.revertWithCustomErrorWithArgs(
        collect(s, 1n, { leaves: [], proof: [batch.root], proofFlags: [] }),
        s.billing,
        "EmptyChunk",
        [1n],
      );
    });

    it("reverts InvalidProof for a proof from another batch and for a tampered amount", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers);
      const other = buildBatch(domainOf(s, 2n), batch.leaves.map((leaf) => ({ user: leaf.user, amount: leaf.amount + 1n })));
      await commit(s, 1n, batch);
      await commit(s, 2n, other);
      await viem.assertions.revertWithCustomErrorWithArgs(collect(s, 1n, other.chunk([0, 1])), s.billing, "InvalidProof", [1n]);
      const chunk = batch.chunk([0, 1]);
      const tampered = { ...chunk, leaves: [{ ...chunk.leaves[0], amount: chunk.leaves[0].amount - 1n }, chunk.leaves[1]] };
      await viem.assertions.revertWithCustomErrorWithArgs(collect(s, 1n, tampered), s.billing, "InvalidProof", [1n]);
      assert.deepEqual(await statuses(s, 1n, 2), [LeafStatus.Pending, LeafStatus.Pending]);
    });

    it("reverts LeafIndexOutOfRange for a leaf beyond the committed count", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers.slice(0, 4));
      await commit(s, 1n, { ...batch, count: 3n });
      await viem.assertions.revertWithCustomErrorWithArgs(
        collect(s, 1n, batch.chunk([2, 3])),
        s.billing,
        "LeafIndexOutOfRange",
        [1n, 3n, 3n],
      );
    });

    it("reverts UnknownBatch for a batch never committed", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers);
      await viem.assertions.revertWithCustomErrorWithArgs(collect(s, 5n, batch.chunk([0])), s.billing, "UnknownBatch", [5n]);
    });

    it("reverts BatchTotalExceeded when the leaves sum above the committed total", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers.slice(0, 3));
      const total = batch.total - 1n;
      await commit(s, 1n, { ...batch, total });
      await collect(s, 1n, batch.chunk([0, 1]));
      const collected = batch.leaves[0].amount + batch.leaves[1].amount;
      await viem.assertions.revertWithCustomErrorWithArgs(collect(s, 1n, batch.chunk([2])), s.billing, "BatchTotalExceeded", [
        1n,
        collected + batch.leaves[2].amount,
        total,
      ]);
      assert.equal((await s.billing.read.batchOf([1n])).collected, collected);
    });

    it("is settler-only", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers);
      await commit(s, 1n, batch);
      for (const caller of [s.wallets.admin, s.wallets.operator]) {
        await assertUnauthorized(s, collect(s, 1n, batch.chunk([0]), caller), caller);
      }
    });

    for (const how of ["allowance", "balance", "cap", "sanctions"] as const) {
      it(`records a shortfall (${how}) without reverting the chunk, and collects it on retry`, async () => {
        const s = await setup();
        const { carol } = s.wallets;
        const batch = chargeAll(s, s.payers.slice(0, 4));
        const short = batch.leaves[2];
        assert.equal(short.user, addr(carol));
        await makeShort(s, carol, how);
        await commit(s, 1n, batch);

        const before = await paymentState(s, s.payers.slice(0, 4).map(addr));
        const hash = await collect(s, 1n, batch.chunk([0, 1, 2, 3]));
        await viem.assertions.emitWithArgs(hash, s.billing, "LeafShortfall", [1n, 2n, short.user, short.amount]);
        const paid = batch.leaves.map((leaf) => (leaf === short ? 0n : leaf.amount));
        const paidTotal = batch.total - short.amount;
        await viem.assertions.emitWithArgs(hash, s.vault, "BatchCollected", [ref(1n), 3n, paidTotal, burnOf(paidTotal)]);
        assertPayments(before, await paymentState(s, s.payers.slice(0, 4).map(addr)), paid, burnOf(paidTotal));
        assert.equal(await s.billing.read.leafStatus([1n, 2n]), LeafStatus.Shortfall);
        const { collected, shortfall } = await s.billing.read.batchOf([1n]);
        assert.deepEqual({ collected, shortfall }, { collected: paidTotal, shortfall: short.amount });

        // Still short: the retry records the leaf again but does not count it twice.
        await viem.assertions.emitWithArgs(collect(s, 1n, batch.chunk([2])), s.billing, "LeafShortfall", [
          1n,
          2n,
          short.user,
          short.amount,
        ]);
        assert.equal((await s.billing.read.batchOf([1n])).shortfall, short.amount);

        // The user makes good; the retry collects the leaf and clears the shortfall.
        if (how === "allowance") await s.cxpt.write.approve([s.vault.address, short.amount], { account: carol.account });
        if (how === "balance") {
          await s.cxpt.write.transfer([short.user, short.amount], { account: s.wallets.distribution.account });
        }
        if (how === "sanctions") await s.sanctions.write.setSanctioned([short.user, false]);
        if (how === "cap") await s.billing.write.setSpendingCap([short.amount, DAY], { account: carol.account });
        const beforeRetry = await paymentState(s, [short.user]);
        await viem.assertions.emitWithArgs(collect(s, 1n, batch.chunk([2])), s.billing, "LeafCollected", [
          1n,
          2n,
          short.user,
          short.amount,
        ]);
        assertPayments(beforeRetry, await paymentState(s, [short.user]), [short.amount], burnOf(short.amount));
        assert.equal(await s.billing.read.leafStatus([1n, 2n]), LeafStatus.Collected);
        const settled = await s.billing.read.batchOf([1n]);
        assert.equal(settled.shortfall, 0n);
        assert.equal(settled.collected, batch.total);
      });
    }
  });

  describe("verifyLeaf", () => {
    it("is true for a leaf with its proof, false for a wrong proof, a wrong leaf or an unknown batch", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers);
      await commit(s, 1n, batch);
      const leaf = batch.leaves[4];
      assert.equal(await s.billing.read.verifyLeaf([1n, leaf, batch.proof(4)]), true);
      assert.equal(await s.billing.read.verifyLeaf([1n, leaf, batch.proof(5)]), false);
      assert.equal(await s.billing.read.verifyLeaf([1n, { ...leaf, amount: leaf.amount + 1n }, batch.proof(4)]), false);
      assert.equal(await s.billing.read.verifyLeaf([2n, leaf, batch.proof(4)]), false);
      // The same root committed as batch 2 proves none of batch 1's leaves there.
      await commit(s, 2n, batch);
      assert.equal(await s.billing.read.verifyLeaf([2n, leaf, batch.proof(4)]), false);
    });
  });

  describe("trust bounds", () => {
    it("refuses a batch's leaves under another batch id holding the same root (no replay)", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers);
      await settle(s, 1n, batch, batch.chunk([0, 1, 2, 3]));
      await commit(s, 2n, batch);
      const before = await paymentState(s, s.payers.map(addr));
      await viem.assertions.revertWithCustomErrorWithArgs(collect(s, 2n, batch.chunk([0, 1, 2, 3])), s.billing, "InvalidProof", [2n]);
      assert.deepEqual(await paymentState(s, s.payers.map(addr)), before);
    });

    it("takes at most each user's cap per period: the excess is a shortfall, collected in a later period", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      // Start of a period (periods align to multiples of a day), so the steps below share one.
      const now = BigInt(await networkHelpers.time.latest());
      await networkHelpers.time.increaseTo(now - (now % DAY) + DAY);
      const batch = chargeAll(s, s.payers.slice(0, 2));
      const [leaf] = batch.leaves;
      const capHash = await s.billing.write.setSpendingCap([leaf.amount - 1n, DAY], { account: alice.account });
      await viem.assertions.emitWithArgs(capHash, s.billing, "SpendingCapSet", [addr(alice), leaf.amount - 1n, DAY]);
      const hash = await settle(s, 1n, batch, batch.chunk([0, 1]));
      await viem.assertions.emitWithArgs(hash, s.billing, "LeafShortfall", [1n, 0n, leaf.user, leaf.amount]);
      assert.equal(await s.billing.read.remainingCap([addr(alice)]), leaf.amount - 1n, "nothing spent");

      await s.billing.write.setSpendingCap([leaf.amount, DAY], { account: alice.account });
      await collect(s, 1n, batch.chunk([0]));
      assert.equal(await s.billing.read.leafStatus([1n, 0n]), LeafStatus.Collected);
      assert.equal(await s.billing.read.remainingCap([addr(alice)]), 0n);
      const cap = await s.billing.read.spendingCapOf([addr(alice)]);
      assert.deepEqual({ amount: cap.amount, spent: cap.spent, period: cap.period }, { amount: leaf.amount, spent: leaf.amount, period: Number(DAY) });

      // The cap is used up for the day: the next charge waits for the next period.
      const next = buildBatch(domainOf(s, 2n), [{ user: addr(alice), amount: 5n }]);
      await settle(s, 2n, next, next.chunk([0]));
      assert.equal(await s.billing.read.leafStatus([2n, 0n]), LeafStatus.Shortfall);
      await networkHelpers.time.increase(Number(DAY));
      await collect(s, 2n, next.chunk([0]));
      assert.equal(await s.billing.read.leafStatus([2n, 0n]), LeafStatus.Collected);
    });

    it("without a cap takes nothing (no cap, no PAYG), and bounds the cap's period", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      await s.billing.write.setSpendingCap([0n, DAY], { account: alice.account });
      const batch = chargeAll(s, [alice]);
      const before = await s.cxpt.read.balanceOf([addr(alice)]);
      await settle(s, 1n, batch, batch.chunk([0]));
      assert.equal(await s.cxpt.read.balanceOf([addr(alice)]), before);
      assert.equal((await s.billing.read.batchOf([1n])).shortfall, batch.total);
      await viem.assertions.revertWithCustomErrorWithArgs(s.billing.write.setSpendingCap([1n, 60n], { account: alice.account }), s.billing, "InvalidCapPeriod", [60n]);
    });

    it("waits out the challenge window before collecting; the guardian or the admin cancels a batch, others cannot", async () => {
      const s = await setup();
      const { admin, alice, settler } = s.wallets;
      await viem.assertions.emitWithArgs(s.billing.write.setChallengeWindow([DAY], { account: admin.account }), s.billing, "ChallengeWindowSet", [DAY]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.billing.write.setChallengeWindow([DAY], { account: settler.account }),
        s.billing,
        "AccessControlUnauthorizedAccount",
        [addr(settler), ROLES.DEFAULT_ADMIN],
      );
      const batch = chargeAll(s, s.payers);
      await viem.assertions.revertWithCustomError(settle(s, 1n, batch, batch.chunk([0])), s.billing, "ChallengeWindowOpen");
      await commit(s, 1n, batch);
      const openAt = await s.billing.read.collectableAt([1n]);
      assert.equal(openAt, (await s.billing.read.batchOf([1n])).committedAt + DAY);
      await viem.assertions.revertWithCustomErrorWithArgs(collect(s, 1n, batch.chunk([0])), s.billing, "ChallengeWindowOpen", [1n, openAt]);
      // During the window the leaves already verify: the user can check the charge before it is taken.
      assert.equal(await s.billing.read.verifyLeaf([1n, batch.leaves[0], batch.proof(0)]), true);

      for (const caller of [settler, alice]) {
        await viem.assertions.revertWithCustomErrorWithArgs(s.billing.write.cancelBatch([1n], { account: caller.account }), s.billing, "NotGuardian", [addr(caller)]);
      }
      await viem.assertions.emitWithArgs(s.billing.write.cancelBatch([1n], { account: admin.account }), s.billing, "BatchCancelled", [1n, addr(admin)]);
      await networkHelpers.time.increase(Number(DAY));
      await viem.assertions.revertWithCustomErrorWithArgs(collect(s, 1n, batch.chunk([0])), s.billing, "BatchIsCancelled", [1n]);

      // A guardian the admin names cancels too; a batch past its window is collected.
      await s.billing.write.grantRole([ROLES.GUARDIAN, addr(alice)], { account: admin.account });
      const second = chargeAll(s, s.payers, 2n);
      await commit(s, 2n, second);
      await s.billing.write.cancelBatch([2n], { account: alice.account });
      assert.equal(await s.billing.read.isCancelled([2n]), true);
      const third = chargeAll(s, s.payers, 3n);
      await commit(s, 3n, third);
      await networkHelpers.time.increase(Number(DAY));
      await collect(s, 3n, third.chunk([0, 1]));
      assert.equal((await s.billing.read.batchOf([3n])).collected, third.leaves[0].amount + third.leaves[1].amount);
    });
  });

  describe("leafHash", () => {
    it("matches StandardMerkleTree's leaf hash", async () => {
      const s = await setup();
      const batch = chargeAll(s, s.payers);
      for (const leaf of batch.leaves.slice(0, 3)) {
        assert.equal(await s.billing.read.leafHash([1n, leaf]), batch.leafHash(leaf));
      }
    });
  });

  describe("leafStatus and batchOf", () => {
    it("read Pending and an empty batch for a batch never committed", async () => {
      const s = await setup();
      assert.equal(await s.billing.read.leafStatus([3n, 0n]), LeafStatus.Pending);
      assert.equal((await s.billing.read.batchOf([3n])).root, zeroHash);
    });
  });
});
