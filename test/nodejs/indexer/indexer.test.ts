import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { createPublicClient, custom, parseEther, toHex, type Address, type Hash, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { cxptAbi, distributorAbi, vaultAbi } from "../../../src/chain/abis.ts";
import type { SuiteDeployment } from "../../../src/chain/types.ts";
import { openDb, type Db } from "../../../src/db/db.ts";
import { migrate } from "../../../src/db/migrate.ts";
import { AppError } from "../../../src/errors.ts";
import { DEV_KEYS, devKey } from "../../../src/devstack/keys.ts";
import { scratchDatabase, type ScratchDatabase } from "../../../src/devstack/scratch.ts";
import { walletsTouched, type IndexedEvent } from "../../../src/indexer/events.ts";
import { indexOnce, invalidateGate, startIndexer, type EventChange, type IndexerChain, type IndexerOptions } from "../../../src/indexer/indexer.ts";
import { listEvents, loadCursor } from "../../../src/indexer/store.ts";
import { uploadShares } from "../../../src/rewards/points.ts";
import { BACKENDS, connection, fundCxpt, loadDeployment, networkHelpers, TEST_DATABASE_URL, USERS, walletOf } from "../api/harness.ts";

const DAY = 86_400n;
const client = createPublicClient({ transport: custom(connection.provider) }) as PublicClient;
const wallet = (key: Hex): Address => privateKeyToAccount(key).address;
const lower = (key: Hex) => wallet(key).toLowerCase();

async function mined(hash: Hash | Promise<Hash>) {
  const receipt = await client.waitForTransactionReceipt({ hash: await hash });
  assert.equal(receipt.status, "success");
}

/** `key` deposits `amount` CXPT into the Vault from its own wallet (funded first). */
async function deposit(d: SuiteDeployment, key: Hex, amount: bigint) {
  const { cxpt, vault } = d.contracts;
  await fundCxpt(d, wallet(key), amount);
  const w = await walletOf(key);
  await mined(w.writeContract({ address: cxpt!, abi: cxptAbi, functionName: "approve", args: [vault!, amount] }));
  await mined(w.writeContract({ address: vault!, abi: vaultAbi, functionName: "deposit", args: [amount, toHex(1n, { size: 32 })] }));
}

/** Alice's deposit funds epoch 1 (users pool: alice, providers pool: bob); after it ends both claim. */
async function depositsAndClaims(d: SuiteDeployment) {
  const { vault, distributor } = d.contracts;
  await deposit(d, USERS.alice, parseEther("1000"));
  const alice = await walletOf(USERS.alice);
  await mined(alice.writeContract({ address: vault!, abi: vaultAbi, functionName: "sweep" }));
  const rewards = await walletOf(devKey(DEV_KEYS.rewards));
  await uploadShares({ client, signer: rewards }, { distributor: distributor!, epoch: 1n, pool: "users", entries: [{ wallet: wallet(USERS.alice), points: 1n }] });
  await uploadShares({ client, signer: rewards }, { distributor: distributor!, epoch: 1n, pool: "providers", entries: [{ wallet: wallet(USERS.bob), points: 1n }] });
  await mined(rewards.writeContract({ address: distributor!, abi: distributorAbi, functionName: "startEpoch", args: [1n, DAY] }));
  await networkHelpers.time.increase(DAY + 1n);
  for (const key of [USERS.alice, USERS.bob]) {
    await mined((await walletOf(key)).writeContract({ address: distributor!, abi: distributorAbi, functionName: "claim" }));
  }
}

const head = () => client.getBlockNumber({ cacheTime: 0 });
const named = (events: readonly IndexedEvent[], event: string) => events.filter((e) => e.event === event);
const keyOf = (e: IndexedEvent) => `${e.blockHash}:${e.logIndex}`;

for (const backend of BACKENDS) {
  describe(`chain indexer (${backend === "servers" ? "PostgreSQL" : "PGlite"})`, () => {
    let deployment: SuiteDeployment;
    let chain: IndexerChain;
    let scratch: ScratchDatabase | undefined;
    let db: Db;
    let changes: EventChange[];
    let options: IndexerOptions;

    const freshDb = async () => {
      const next = scratch ? await openDb({ url: scratch.url }) : await openDb({ dataDir: undefined });
      await migrate(next);
      return next;
    };

    beforeEach(async () => {
      deployment = await loadDeployment();
      chain = { client, chainId: await client.getChainId(), addresses: deployment.contracts as IndexerChain["addresses"] };
      scratch = backend === "servers" ? await scratchDatabase(TEST_DATABASE_URL, "cxpt_test") : undefined;
      db = await freshDb();
      changes = [];
      options = { db, chain, startBlock: BigInt(deployment.deploymentBlock), confirmations: 0, batchSize: 7, onEvents: (c) => void changes.push(c) };
    });

    afterEach(async () => {
      await db.close();
      await scratch?.drop();
    });

    it("backfills deposits and claims from the deployment block exactly once, in getLogs ranges", async () => {
      await depositsAndClaims(deployment);
      const tip = await head();
      const result = await indexOnce(options);
      assert.equal(result.from, BigInt(deployment.deploymentBlock));
      assert.equal(result.to, tip);
      assert.equal(result.reorged, undefined);

      const stored = await listEvents(db, chain.chainId);
      assert.deepEqual(stored.map(keyOf), result.events.map(keyOf));
      assert.equal(new Set(stored.map(keyOf)).size, stored.length);
      const paid = named(stored, "Paid");
      assert.equal(paid.length, 1);
      assert.equal(paid[0]!.contract, "vault");
      assert.equal(paid[0]!.args.user, lower(USERS.alice));
      assert.equal(paid[0]!.args.amount, parseEther("1000").toString());
      const claimed = named(stored, "Claimed");
      const claimants = new Map(claimed.map((e) => [e.args.account, e.args.pool]));
      assert.equal(claimed.length, 2);
      assert.deepEqual([claimants.get(lower(USERS.alice)), claimants.get(lower(USERS.bob))], [1, 0]);
      for (const event of ["Swept", "Funded", "EpochStarted", "SharesUpdated", "Approval", "Transfer"]) {
        assert.ok(named(stored, event).length > 0, `${event} indexed`);
      }
      // The hook saw every stored event once; the wallets it yields include the depositor and claimants.
      assert.deepEqual(changes.flatMap((c) => c.added).map(keyOf), stored.map(keyOf));
      const touched = walletsTouched(stored);
      for (const key of [USERS.alice, USERS.bob]) assert.ok(touched.has(lower(key)));

      const cursor = await loadCursor(db, chain.chainId, { number: 0n, hash: null });
      assert.equal(cursor.number, tip);
      assert.equal(cursor.hash, (await client.getBlock({ blockNumber: tip })).hash);

      const again = await indexOnce(options);
      assert.deepEqual([again.from, again.to, again.events.length], [tip + 1n, tip, 0]);
      assert.equal((await listEvents(db, chain.chainId)).length, stored.length);
    });

    it("indexes only blocks at least `confirmations` below the head", async () => {
      await deposit(deployment, USERS.alice, parseEther("5"));
      const tip = await head();
      const early = await indexOnce({ ...options, confirmations: 3 });
      assert.equal(early.to, tip - 3n);
      assert.equal(named(await listEvents(db, chain.chainId), "Paid").length, 0); // the deposit is in the head block

      await networkHelpers.mine(2);
      assert.equal((await indexOnce({ ...options, confirmations: 3 })).to, tip - 1n);
      assert.equal(named(await listEvents(db, chain.chainId), "Paid").length, 0);

      await networkHelpers.mine(1);
      const late = await indexOnce({ ...options, confirmations: 3 });
      assert.equal(late.to, tip);
      assert.equal(named(late.events, "Paid").length, 1);
    });

    it("converges after a reorg: orphaned events removed, the new branch indexed, cursor on the chain", async () => {
      await deposit(deployment, USERS.carol, parseEther("3"));
      const kept = await indexOnce(options);
      const fork = await networkHelpers.takeSnapshot();
      const forkBlock = await head();

      await deposit(deployment, USERS.alice, parseEther("7"));
      const orphaned = await indexOnce(options);
      assert.equal(named(orphaned.events, "Paid")[0]!.args.user, lower(USERS.alice));

      // The other branch: a different deposit, and more blocks than the orphaned one had.
      await fork.restore();
      await deposit(deployment, USERS.bob, parseEther("11"));
      await networkHelpers.mine(5);
      const result = await indexOnce(options);
      assert.ok(result.reorged);
      assert.equal(result.reorged.ancestor, forkBlock); // carol's deposit, the newest stored block still on the chain
      assert.ok(result.reorged.removed.some((e) => e.event === "Paid" && e.args.user === lower(USERS.alice)));
      assert.deepEqual(changes.find((c) => c.removed.length > 0)?.removed, result.reorged.removed);

      const stored = await listEvents(db, chain.chainId);
      assert.deepEqual(named(stored, "Paid").map((e) => e.args.user), [lower(USERS.carol), lower(USERS.bob)]);
      for (const event of kept.events) assert.ok(stored.some((e) => keyOf(e) === keyOf(event)), "events before the fork stay");
      const tip = await head();
      const cursor = await loadCursor(db, chain.chainId, { number: 0n, hash: null });
      assert.deepEqual(cursor, { number: tip, hash: (await client.getBlock({ blockNumber: tip })).hash });

      // Same store as indexing the final chain from scratch.
      const other = await openDb({ dataDir: undefined });
      try {
        await migrate(other);
        await indexOnce({ ...options, db: other, onEvents: undefined });
        assert.deepEqual(await listEvents(other, chain.chainId), stored);
      } finally {
        await other.close();
      }
    });

    it("rewinds when the chain became shorter than the cursor", async () => {
      const fork = await networkHelpers.takeSnapshot();
      await deposit(deployment, USERS.alice, parseEther("2"));
      await indexOnce(options);
      await fork.restore();
      const result = await indexOnce(options);
      assert.ok(result.reorged);
      assert.equal(named(await listEvents(db, chain.chainId), "Paid").length, 0);
      assert.equal(result.to, await head());
    });

    it("lets concurrent indexers on one database store each event once, each hearing what it saw", async () => {
      await depositsAndClaims(deployment);
      const heard = [[], [], []] as EventChange[][];
      const results = await Promise.all(heard.map((mine) => indexOnce({ ...options, onEvents: (c) => void mine.push(c) })));
      // The losers of a race stop at the range another indexer stored first, and say so.
      assert.ok(results.some((r) => r.overtaken === undefined));
      await indexOnce(options);
      const stored = await listEvents(db, chain.chainId);
      assert.equal(new Set(stored.map(keyOf)).size, stored.length);
      assert.equal(named(stored, "Paid").length, 1);
      assert.equal(named(stored, "Claimed").length, 2);
      // Whatever an indexer handed its hook is on the chain and stored; nothing reached a hook twice from one indexer.
      for (const mine of heard) {
        const keys = mine.flatMap((c) => c.added).map(keyOf);
        assert.equal(new Set(keys).size, keys.length);
        for (const key of keys) assert.ok(stored.some((e) => keyOf(e) === key), key);
      }
    });

    it("hands every follower on one database every event stored after it started, whichever follower stored it", async () => {
      const heard = [new Set<string>(), new Set<string>()];
      const steps = [0, 0];
      const followers = heard.map((mine, i) =>
        startIndexer({ ...options, intervalMs: 20, onStep: () => void (steps[i] += 1), onEvents: (c) => c.added.forEach((e) => mine.add(keyOf(e))) }),
      );
      const until = async (what: string, done: () => Promise<boolean>) => {
        for (let i = 0; i < 1000 && !(await done()); i++) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.ok(await done(), `gave up waiting for ${what}`);
      };
      try {
        // Both have started and the deployment's own events are stored: what follows is new to both.
        await until("both followers to step", async () => steps.every((n) => n > 0));
        const baseline = await head();
        await until("the backfill", async () => (await loadCursor(db, chain.chainId, { number: 0n, hash: null })).number >= baseline);
        await depositsAndClaims(deployment);
        const tip = await head();
        const fresh = async () => (await listEvents(db, chain.chainId, { fromBlock: baseline + 1n })).map(keyOf);
        await until("both followers to hear every new event", async () => {
          const cursor = await loadCursor(db, chain.chainId, { number: 0n, hash: null });
          const stored = await fresh();
          return cursor.number >= tip && heard.every((mine) => stored.every((key) => mine.has(key)));
        });
        assert.equal(named(await listEvents(db, chain.chainId), "Claimed").length, 2);
        const stored = await fresh();
        assert.ok(stored.length > 0);
        for (const mine of heard) assert.deepEqual([...mine].filter((k) => stored.includes(k)).sort(), [...stored].sort());
      } finally {
        await Promise.all(followers.map((f) => f.stop()));
      }
    });

    it("invalidateGate reloads the wallets of added and removed events", async () => {
      const fork = await networkHelpers.takeSnapshot();
      await deposit(deployment, USERS.alice, parseEther("4"));
      const invalidated: string[] = [];
      const hook = invalidateGate({ invalidateWallet: (w) => void invalidated.push(w) });
      await indexOnce({ ...options, onEvents: hook });
      assert.ok(invalidated.includes(lower(USERS.alice)));
      assert.ok(invalidated.includes(deployment.contracts.vault!.toLowerCase()));
      invalidated.length = 0;
      await fork.restore();
      await networkHelpers.mine(10);
      await indexOnce({ ...options, onEvents: hook });
      assert.ok(invalidated.includes(lower(USERS.alice)), "the orphaned deposit's payer is reloaded too");
    });

    it("startIndexer polls until stopped", async () => {
      await deposit(deployment, USERS.alice, parseEther("1"));
      const errors: unknown[] = [];
      const indexer = startIndexer({ ...options, intervalMs: 5, onError: (e) => errors.push(e) });
      while (!changes.some((c) => named(c.added, "Paid").length > 0) && errors.length === 0) await new Promise((r) => setTimeout(r, 5));
      await indexer.stop();
      assert.deepEqual(errors, []);
      assert.equal(named(await listEvents(db, chain.chainId), "Paid").length, 1);
    });
  });
}
