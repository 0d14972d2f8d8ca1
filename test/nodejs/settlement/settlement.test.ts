// PAYG settlement end to end on the real suite, over both backends: batches closed from usage
// events, committed to UsageBilling and collected through the Vault; shortfalls booked and
// retried; a run killed at any step and restarted from the database alone charges nobody twice;
// the proof served by the API verifies against the committed root.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { createWalletClient, custom, maxUint256, parseEther, type Address, type Hex } from "viem";
import { billingAbi, cxptAbi } from "../../../src/chain/abis.ts";
import { closeBatch, getBatch, leavesOf } from "../../../src/settlement/store.ts";
import { domainOf, runSettlement, settleStep } from "../../../src/settlement/settle.ts";
import { buildTree } from "../../../src/settlement/tree.ts";
import {
  approveVault,
  auth,
  BACKENDS,
  connection,
  expectReply,
  fundCxpt,
  networkHelpers,
  paygUsage,
  setSpendingCap,
  signIn,
  startStack,
  USERS,
  viem,
  type Stack,
} from "../api/harness.ts";

const CXPT = 10n ** 18n;

for (const backend of BACKENDS) {
  describe(`PAYG settlement (${backend})`, () => {
    let stack: Stack;
    afterEach(async () => stack?.close());

    const client = async () => viem.getPublicClient();
    const contracts = () => stack.deployment.contracts;
    const balanceOf = async (who: Address) =>
      (await client()).readContract({ address: contracts().cxpt!, abi: cxptAbi, functionName: "balanceOf", args: [who] });
    const onChainBatch = async (id: bigint) =>
      (await client()).readContract({ address: contracts().billing!, abi: billingAbi, functionName: "batchOf", args: [id] });

    /** A signed-in user whose wallet holds 100 CXPT, approved to the Vault unless `approve` is false. */
    async function user(key: Hex, approve = true) {
      const session = await signIn(stack.api, key);
      await fundCxpt(stack.deployment, session.wallet, 100n * CXPT);
      if (approve) await setAllowance(key, maxUint256);
      return session;
    }
    const setAllowance = (key: Hex, amount: bigint) => approveVault(stack.deployment, key, amount);
    async function usage(accountId: string, ...paygWei: bigint[]) {
      for (const payg of paygWei) await paygUsage(stack.app.db, accountId, payg);
    }
    const unsettled = async (accountId: string) =>
      Number((await stack.app.db.query("select count(*) as n from usage_events where account_id = $1 and settled_at is null", [accountId])).rows[0]!.n);

    it("settles every wallet's summed PAYG usage: collected on chain = Σ payg_wei, usage marked settled", async () => {
      stack = await startStack(backend);
      const alice = await user(USERS.alice);
      const bob = await user(USERS.bob);
      await usage(alice.accountId, 2n * CXPT, CXPT / 2n);
      await usage(bob.accountId, 3n * CXPT);
      // Usage without a PAYG part, or of an account without a wallet, is not settled on chain.
      await usage(bob.accountId, 0n);
      const { rows: [walletless] } = await stack.app.db.query<{ id: string }>("insert into accounts (kind) values ('user') returning id");
      await usage(walletless!.id, 9n);
      const [aliceBefore, bobBefore] = [await balanceOf(alice.wallet), await balanceOf(bob.wallet)];

      const run = await runSettlement(stack.app, { chunkSize: 1 });
      assert.equal(run.closed, 1n);
      assert.equal(run.batches.length, 1);
      assert.equal(run.batches[0]!.result.state, "settled");
      assert.deepEqual(run.batches[0]!.result.counts, { pending: 0, collected: 2, shortfall: 0 });

      const batch = await getBatch(stack.app.db, 1n);
      assert.equal(batch.totalWei, 5n * CXPT + CXPT / 2n);
      const chainBatch = await onChainBatch(batch.chainBatchId!);
      assert.equal(chainBatch.root, batch.root);
      assert.equal(chainBatch.collected, batch.totalWei);
      assert.equal(chainBatch.shortfall, 0n);
      assert.equal(aliceBefore - (await balanceOf(alice.wallet)), 2n * CXPT + CXPT / 2n);
      assert.equal(bobBefore - (await balanceOf(bob.wallet)), 3n * CXPT);
      assert.equal(await unsettled(alice.accountId), 0);
      assert.equal(await unsettled(bob.accountId), 1, "the event without PAYG is not settled");
      assert.equal(await unsettled(walletless!.id), 1);

      // Nothing is due any more: the next run closes nothing and charges nobody.
      const again = await runSettlement(stack.app);
      assert.equal(again.closed, null);
      assert.equal(aliceBefore - (await balanceOf(alice.wallet)), 2n * CXPT + CXPT / 2n);
      // New usage goes into a new batch.
      await usage(bob.accountId, 7n);
      assert.equal((await runSettlement(stack.app)).closed, 2n);
      assert.equal(bobBefore - (await balanceOf(bob.wallet)), 3n * CXPT + 7n);
    });

    it("books a payer without allowance as a shortfall, keeps its usage unsettled, backs off and collects it on a later run", async () => {
      stack = await startStack(backend);
      const alice = await user(USERS.alice);
      const carol = await user(USERS.carol, false);
      await usage(alice.accountId, CXPT);
      await usage(carol.accountId, 4n * CXPT, CXPT);
      const carolBefore = await balanceOf(carol.wallet);

      const first = await runSettlement(stack.app);
      assert.equal(first.batches[0]!.result.state, "collecting");
      assert.deepEqual(first.batches[0]!.result.counts, { pending: 0, collected: 1, shortfall: 1 });
      const [carolLeaf] = (await leavesOf(stack.app.db, 1n)).filter((l) => l.accountId === carol.accountId);
      assert.equal(carolLeaf!.status, "shortfall");
      assert.equal(carolLeaf!.amount, 5n * CXPT);
      assert.equal((await onChainBatch(1n)).shortfall, 5n * CXPT);
      assert.equal(await unsettled(carol.accountId), 2);
      assert.equal(await unsettled(alice.accountId), 0);
      assert.equal(await balanceOf(carol.wallet), carolBefore);

      // Still short, and nothing changed on chain: the retry backs off (no transaction), still booked short, nothing charged.
      const second = await runSettlement(stack.app);
      assert.equal(second.closed, null);
      assert.equal(second.batches[0]!.result.counts.shortfall, 1);
      assert.equal(await balanceOf(carol.wallet), carolBefore);
      const [carolAgain] = (await leavesOf(stack.app.db, 1n)).filter((l) => l.accountId === carol.accountId);
      assert.equal(carolAgain!.attempts, 1, "not sent again while the wallet cannot pay and its backoff runs");
      // Each run that ends with the leaf short counts one failure; the commit and the first run's chunk were sent.
      const { metrics } = stack.app.monitor;
      assert.equal((await metrics.settlementFailures.get()).values.find((v) => v.labels.kind === "shortfall")?.value, 2);
      const sent = (await metrics.chainTransactions.get()).values.filter((v) => v.labels.outcome === "success");
      assert.equal(sent.find((v) => v.labels.purpose === "settlement_commit")?.value, 1);
      assert.equal(sent.find((v) => v.labels.purpose === "settlement_collect")?.value, 1);

      // Once the backoff has passed the leaf is sent again blind (the chain may know better than the reads).
      await stack.app.db.query("update settlement_leaves set updated_at = now() - interval '2 hours' where batch_id = 1 and account_id = $1", [carol.accountId]);
      await runSettlement(stack.app);
      const [carolRetried] = (await leavesOf(stack.app.db, 1n)).filter((l) => l.accountId === carol.accountId);
      assert.deepEqual([carolRetried!.attempts, carolRetried!.status], [2, "shortfall"]);

      // She approves: the next run sees she can pay and collects at once, backoff or not.
      await setAllowance(USERS.carol, 5n * CXPT);
      const third = await runSettlement(stack.app);
      assert.equal(third.batches[0]!.result.state, "settled");
      assert.equal(carolBefore - (await balanceOf(carol.wallet)), 5n * CXPT);
      assert.equal(await unsettled(carol.accountId), 0);
      const chainBatch = await onChainBatch(1n);
      assert.equal(chainBatch.collected, 6n * CXPT);
      assert.equal(chainBatch.shortfall, 0n);
    });

    it("resumes after a commit sent but not recorded, and after a chunk collected but not recorded", async () => {
      stack = await startStack(backend);
      const alice = await user(USERS.alice);
      const bob = await user(USERS.bob);
      const carol = await user(USERS.carol);
      const expected = new Map<Address, bigint>([[alice.wallet, CXPT], [bob.wallet, 2n * CXPT], [carol.wallet, 3n * CXPT]]);
      await usage(alice.accountId, CXPT);
      await usage(bob.accountId, 2n * CXPT);
      await usage(carol.accountId, 3n * CXPT);
      const before = new Map<Address, bigint>();
      for (const wallet of expected.keys()) before.set(wallet, await balanceOf(wallet));
      const settler = stack.app.chain!.signers.settler!;
      const billing = { address: contracts().billing!, abi: billingAbi } as const;
      const mine = async (hash: Hex) => (await client()).waitForTransactionReceipt({ hash });

      const id = (await closeBatch(stack.app.db))!;
      assert.equal((await getBatch(stack.app.db, id)).state, "open");
      assert.equal((await settleStep(stack.app, id)).state, "built");
      const batch = await getBatch(stack.app.db, id);
      const leaves = await leavesOf(stack.app.db, id);
      const tree = buildTree(domainOf(stack.app.chain!, batch.chainBatchId!), leaves);
      assert.equal(tree.root, batch.root);

      // Crash 1: the commit went out but the process died before recording it.
      await mine(await settler.writeContract({ ...billing, functionName: "commitBatch", args: [batch.chainBatchId!, batch.root!, batch.totalWei, BigInt(batch.count)] }));
      assert.equal((await getBatch(stack.app.db, id)).state, "built");
      assert.equal((await settleStep(stack.app, id)).state, "committed");

      // Crash 2: the first chunk (leaf 0) was collected on chain but its outcome never recorded.
      const chunk = tree.chunk([0]);
      await mine(await settler.writeContract({ ...billing, functionName: "collectChunk", args: [batch.chainBatchId!, chunk.leaves, chunk.proof, chunk.proofFlags] }));
      assert.deepEqual((await settleStep(stack.app, id, { chunkSize: 2 })).counts, { pending: 1, collected: 2, shortfall: 0 });

      // Restart at every remaining state: each call knows only the database.
      let step = await settleStep(stack.app, id, { chunkSize: 2 });
      assert.equal(step.state, "settled");
      step = await settleStep(stack.app, id, { chunkSize: 2 });
      assert.equal(step.state, "settled");
      await runSettlement(stack.app);

      for (const [wallet, amount] of expected) assert.equal(before.get(wallet)! - (await balanceOf(wallet)), amount, wallet);
      const chainBatch = await onChainBatch(batch.chainBatchId!);
      assert.equal(chainBatch.collected, 6n * CXPT);
    });

    it("runs one step per call, restarting at each state, and charges once", async () => {
      stack = await startStack(backend);
      const alice = await user(USERS.alice);
      const bob = await user(USERS.bob);
      await usage(alice.accountId, 5n);
      await usage(bob.accountId, 6n);
      const [aliceBefore, bobBefore] = [await balanceOf(alice.wallet), await balanceOf(bob.wallet)];
      const id = (await closeBatch(stack.app.db))!;
      const states: string[] = [];
      for (let i = 0; i < 6; i++) states.push((await settleStep(stack.app, id, { chunkSize: 1 })).state);
      assert.deepEqual(states, ["built", "committed", "collecting", "settled", "settled", "settled"]);
      assert.equal(aliceBefore - (await balanceOf(alice.wallet)), 5n);
      assert.equal(bobBefore - (await balanceOf(bob.wallet)), 6n);
    });

    it("fails a batch whose id the chain holds with another root and releases its usage to the next batch", async () => {
      stack = await startStack(backend);
      const alice = await user(USERS.alice);
      await usage(alice.accountId, 8n);
      const before = await balanceOf(alice.wallet);
      const settler = stack.app.chain!.signers.settler!;
      const hash = await settler.writeContract({
        address: contracts().billing!,
        abi: billingAbi,
        functionName: "commitBatch",
        args: [1n, `0x${"ab".repeat(32)}`, 1n, 1n],
      });
      await (await client()).waitForTransactionReceipt({ hash });

      const run = await runSettlement(stack.app);
      assert.equal(run.batches[0]!.result.state, "failed");
      assert.match((await getBatch(stack.app.db, 1n)).error!, /already holds root/);
      assert.equal(await balanceOf(alice.wallet), before);
      const next = await runSettlement(stack.app);
      assert.equal(next.closed, 2n);
      assert.equal(next.batches[0]!.result.state, "settled");
      assert.equal(before - (await balanceOf(alice.wallet)), 8n);
    });

    /** Sends UsageBilling `functionName(args)` as `account` (the timelock or the Safe), impersonated. */
    async function billingAs(account: Address, functionName: "setChallengeWindow" | "cancelBatch", args: readonly [bigint]) {
      await networkHelpers.impersonateAccount(account);
      await networkHelpers.setBalance(account, parseEther("1"));
      const wallet = createWalletClient({ account, chain: (await client()).chain, transport: custom(connection.provider) });
      await (await client()).waitForTransactionReceipt({ hash: await wallet.writeContract({ address: contracts().billing!, abi: billingAbi, functionName, args }) });
      await networkHelpers.stopImpersonatingAccount(account);
    }

    it("takes nothing from a wallet without a spending cap, and no more than its cap per period", async () => {
      stack = await startStack(backend);
      const alice = await user(USERS.alice);
      const bob = await user(USERS.bob);
      await setSpendingCap(stack.deployment, USERS.alice, { amount: 0n, period: 86_400n }); // PAYG off
      await setSpendingCap(stack.deployment, USERS.bob, { amount: 5n, period: 86_400n });
      await usage(alice.accountId, 3n);
      await usage(bob.accountId, 6n);
      const [aliceBefore, bobBefore] = [await balanceOf(alice.wallet), await balanceOf(bob.wallet)];
      const run = await runSettlement(stack.app);
      assert.deepEqual(run.batches[0]!.result.counts, { pending: 0, collected: 0, shortfall: 2 });
      assert.equal(await balanceOf(alice.wallet), aliceBefore);
      assert.equal(await balanceOf(bob.wallet), bobBefore);
      // Bob raises his cap: the retry collects his leaf, once.
      await setSpendingCap(stack.deployment, USERS.bob, { amount: 6n, period: 86_400n });
      await runSettlement(stack.app);
      await runSettlement(stack.app);
      assert.equal(bobBefore - (await balanceOf(bob.wallet)), 6n);
      assert.equal(await balanceOf(alice.wallet), aliceBefore);
    });

    it("waits out the challenge window, serving the proof meanwhile; a batch the Safe cancels fails, keeps its usage and charges nobody", async () => {
      stack = await startStack(backend);
      const alice = await user(USERS.alice);
      await billingAs(contracts().timelock!, "setChallengeWindow", [3_600n]);
      await usage(alice.accountId, 4n);
      const before = await balanceOf(alice.wallet);

      const run = await runSettlement(stack.app);
      const [{ result }] = run.batches;
      assert.equal(result!.state, "committed");
      assert.equal(result!.idle, true);
      const { committedAt } = await onChainBatch(1n);
      assert.equal(result!.collectableAt, committedAt + 3_600n);
      assert.equal(await balanceOf(alice.wallet), before, "nothing collected in the window");
      const proof = expectReply(await stack.api.inject({ method: "GET", url: "/api/v1/billing/batches/1/proof", headers: auth(alice.token) }), 200);
      assert.deepEqual(
        { chainId: proof.chainId, billing: proof.billing, collectableAt: proof.collectableAt, cancelled: proof.cancelled, state: proof.state },
        { chainId: String((await client()).chain.id), billing: contracts().billing, collectableAt: String(committedAt + 3_600n), cancelled: false, state: "committed" },
      );

      // Once the window has passed, the next run collects.
      await networkHelpers.time.increase(3_600);
      assert.equal((await runSettlement(stack.app)).batches[0]!.result.state, "settled");
      assert.equal(before - (await balanceOf(alice.wallet)), 4n);

      // The next batch is cancelled by the Safe during its window: it fails, nobody pays, and its
      // usage is not put into a later batch (the Safe disputed it).
      await usage(alice.accountId, 5n);
      assert.equal((await runSettlement(stack.app)).batches[0]!.result.state, "committed");
      await billingAs(contracts().safe!, "cancelBatch", [2n]);
      await networkHelpers.time.increase(3_600);
      const cancelled = await runSettlement(stack.app);
      assert.equal(cancelled.closed, null);
      assert.equal(cancelled.batches[0]!.result.state, "failed");
      assert.match((await getBatch(stack.app.db, 2n)).error!, /cancelled on chain/);
      assert.equal((await runSettlement(stack.app)).closed, null, "the cancelled usage is not batched again");
      assert.equal(before - (await balanceOf(alice.wallet)), 4n);
      const disputed = expectReply(await stack.api.inject({ method: "GET", url: "/api/v1/billing/batches/2/proof", headers: auth(alice.token) }), 200);
      assert.equal(disputed.cancelled, true);
    });

    it("keeps a built batch's root, total and leaves final", async () => {
      stack = await startStack(backend);
      const alice = await user(USERS.alice);
      await usage(alice.accountId, 3n);
      const id = (await closeBatch(stack.app.db))!;
      await settleStep(stack.app, id);
      await assert.rejects(stack.app.db.query("update settlement_batches set total_wei = 4 where id = $1", [id]), /final/);
      await assert.rejects(stack.app.db.query("update settlement_leaves set amount_wei = 4 where batch_id = $1", [id]), /final/);
      await assert.rejects(
        stack.app.db.query("insert into settlement_leaves (batch_id, idx, account_id, wallet, amount_wei) values ($1, 1, $2, $3, 1)", [id, alice.accountId, alice.wallet.toLowerCase()]),
        /no leaf can be added/,
      );
    });

    it("serves the account's leaf and proof, which verify against the on-chain root", async () => {
      stack = await startStack(backend);
      const alice = await user(USERS.alice);
      const bob = await user(USERS.bob);
      const carol = await signIn(stack.api, USERS.carol);
      await usage(alice.accountId, 11n);
      await usage(bob.accountId, 22n);
      await runSettlement(stack.app);

      const url = "/api/v1/billing/batches/1/proof";
      const operation = (await stack.api.inject({ method: "GET", url: "/api/docs/json" })).json().paths["/api/v1/billing/batches/{id}/proof"]?.get;
      assert.deepEqual(operation?.tags, ["billing"]);
      assert.deepEqual(Object.keys(operation.responses).sort(), ["200", "401", "404", "409"]);
      expectReply(await stack.api.inject({ method: "GET", url }), 401, "UNAUTHENTICATED");
      expectReply(await stack.api.inject({ method: "GET", url, headers: auth(carol.token) }), 404, "LEAF_NOT_FOUND");
      expectReply(await stack.api.inject({ method: "GET", url: "/api/v1/billing/batches/9/proof", headers: auth(alice.token) }), 404, "BATCH_NOT_FOUND");
      const body = expectReply(await stack.api.inject({ method: "GET", url, headers: auth(alice.token) }), 200);
      assert.equal(body.leaf.user, alice.wallet);
      assert.equal(body.leaf.amount, "11");
      assert.equal(body.leaf.status, "collected");
      assert.equal(body.state, "settled");
      const leaf = { index: BigInt(body.leaf.index), user: body.leaf.user as Address, amount: BigInt(body.leaf.amount) };
      const verify = (l: typeof leaf) =>
        client().then((c) => c.readContract({ address: contracts().billing!, abi: billingAbi, functionName: "verifyLeaf", args: [BigInt(body.chainBatchId), l, body.proof] }));
      assert.equal(await verify(leaf), true);
      assert.equal(await verify({ ...leaf, amount: 12n }), false);
      assert.equal(body.chainId, String((await client()).chain.id));
      assert.equal(body.billing, contracts().billing);
      assert.equal(body.cancelled, false);

      // A batch not built yet has no root to prove against.
      await usage(alice.accountId, 1n);
      await closeBatch(stack.app.db);
      expectReply(await stack.api.inject({ method: "GET", url: "/api/v1/billing/batches/2/proof", headers: auth(alice.token) }), 409, "BATCH_NOT_BUILT");
    });
  });
}
