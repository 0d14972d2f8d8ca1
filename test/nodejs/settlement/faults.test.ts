// The settlement worker (runSettlement, then suspendShortfalls) killed at every point of a run and
// restarted with the database alone, over both backends. A kill is simulated without crash hooks
// in production code: the worker runs on a database and a chain transport that, from the k-th side
// effect on, refuse everything — before the k-th SQL statement (a transaction in progress is
// rolled back, as a real kill leaves it), or right after the k-th transaction was handed to the
// node (mined, its answer lost: the mid-chunk case). k grows until a run finishes untouched.
// After each restart: Σ charged on chain = Σ uncovered (PAYG) usage, every leaf collected once,
// each usage event settled once, and the short payer suspended, then reinstated once it paid.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { afterEach, describe, it } from "node:test";
import { createPublicClient, createWalletClient, custom, maxUint256, type Address, type Hex } from "viem";
import type { AppContext } from "../../../src/app/context.ts";
import { billingAbi, cxptAbi } from "../../../src/chain/abis.ts";
import type { Db, Queryable, Row } from "../../../src/db/db.ts";
import { createMonitor } from "../../../src/monitoring/index.ts";
import { runSettlement } from "../../../src/settlement/settle.ts";
import { shortfallAlertKey, suspendShortfalls } from "../../../src/settlement/shortfalls.ts";
import { getBatch, leavesOf } from "../../../src/settlement/store.ts";
import { approveVault, BACKENDS, connection, fundCxpt, signIn, startStack, USERS, viem, type Stack } from "../api/harness.ts";

const CXPT = 10n ** 18n;

/** What a killed process raises at every call after its death. */
class Killed extends Error {
  constructor() {
    super("killed");
  }
}

type SideEffect = "statement" | "broadcast";

/** One life of the worker: it dies at side effect number `at`; `death` says which kind that was. */
interface Life {
  readonly at: number;
  effects: number;
  death: SideEffect | undefined;
}

/** Counts a side effect; true when it is the one the process dies at. */
function fatal(life: Life, kind: SideEffect): boolean {
  if (life.death) throw new Killed();
  if (++life.effects !== life.at) return false;
  life.death = kind;
  return true;
}

/** The database as the dying process sees it: every statement is a side effect, cut before it runs. */
function mortalDb(db: Db, life: Life): Db {
  const wrap = (q: Queryable): Queryable => ({
    query: async <T extends Row>(text: string, params?: readonly unknown[]) => {
      if (fatal(life, "statement")) throw new Killed();
      return q.query<T>(text, params);
    },
    exec: async (sql: string) => {
      if (fatal(life, "statement")) throw new Killed();
      return q.exec(sql);
    },
  });
  return {
    ...wrap(db),
    engine: db.engine,
    transaction: (work) => db.transaction((tx) => work(wrap(tx))),
    close: () => db.close(),
  };
}

/** The worker's context for one life: the app's, over the mortal database and chain transport. */
function mortalContext(app: AppContext, life: Life): AppContext {
  const chain = app.chain!;
  const transport = custom(
    {
      async request({ method, params }: { method: string; params?: unknown }) {
        if (life.death) throw new Killed();
        const result: unknown = await connection.provider.request({ method, params: params as unknown[] });
        // The node took the transaction (the local chain mines it at once); the process dies before hearing back.
        if (method === "eth_sendRawTransaction" && fatal(life, "broadcast")) throw new Killed();
        return result;
      },
    },
    { retryCount: 0 },
  );
  const settler = chain.signers.settler!;
  const db = mortalDb(app.db, life);
  return {
    ...app,
    db,
    monitor: createMonitor(db, { logLevel: "silent" }),
    chain: {
      ...chain,
      client: createPublicClient({ chain: chain.client.chain, transport }),
      signers: { ...chain.signers, settler: createWalletClient({ chain: settler.chain, account: settler.account, transport }) },
    },
  };
}

/** The settlement job's work: a run, then acting on its shortfalls. */
async function worker(ctx: AppContext): Promise<void> {
  await runSettlement(ctx, { chunkSize: 2 });
  await suspendShortfalls(ctx);
}

/** Runs the worker dying at side effect `at`, then restarts it on the app itself. Returns what it died at, if it did. */
async function killAndRestart(app: AppContext, at: number): Promise<SideEffect | undefined> {
  const life: Life = { at, effects: 0, death: undefined };
  try {
    await worker(mortalContext(app, life));
  } catch (error) {
    // The death may surface as another error wrapping it (viem's), but only after the process died.
    if (!life.death) throw error;
  }
  await worker(app);
  return life.death;
}

for (const backend of BACKENDS) {
  describe(`settlement killed and restarted (${backend})`, () => {
    let stack: Stack;
    afterEach(async () => stack?.close());

    const client = async () => viem.getPublicClient();
    const contracts = () => stack.deployment.contracts;
    const balanceOf = async (who: Address) =>
      (await client()).readContract({ address: contracts().cxpt!, abi: cxptAbi, functionName: "balanceOf", args: [who] });
    const approve = (key: Hex, amount: bigint) => approveVault(stack.deployment, key, amount);
    async function user(key: Hex, allowance: bigint) {
      const session = await signIn(stack.api, key);
      await fundCxpt(stack.deployment, session.wallet, 1_000n * CXPT);
      await approve(key, allowance);
      return session;
    }
    /** Usage events: [cost, uncovered (PAYG) part] each; returns Σ PAYG. */
    async function usage(accountId: string, ...events: [bigint, bigint][]): Promise<bigint> {
      for (const [cost, payg] of events) {
        await stack.app.db.query(
          `insert into usage_events (request_id, account_id, endpoint, service, units_in, units_out, cost_ausd, cost_wei, billed_in, credits_wei, payg_wei, recorded_at)
           values ($1, $2, '/v1/chat/completions', 'chat', 1, 1, 1, $3, 'cxpt', $4, $5, now())`,
          [`req-${randomBytes(8).toString("hex")}`, accountId, cost, cost - payg, payg],
        );
      }
      return events.reduce((sum, [, payg]) => sum + payg, 0n);
    }
    /** Per PAYG usage event of the account in batch `id`: whether it is settled. */
    const usageIn = async (id: bigint, accountId: string) =>
      (
        await stack.app.db.query<{ settled: boolean }>(
          "select settled_at is not null as settled from usage_events where settlement_batch = $1 and account_id = $2 and payg_wei > 0 order by request_id",
          [id, accountId],
        )
      ).rows.map((r) => r.settled);
    const unbatched = async () =>
      Number((await stack.app.db.query("select count(*) as n from usage_events where payg_wei > 0 and settlement_batch is null")).rows[0]!.n);
    const suspended = async (accountId: string) =>
      (await stack.app.db.query("select keys_suspended_at is not null as s from accounts where id = $1", [accountId])).rows[0]!.s === true;
    const openAlert = async (key: string) =>
      (await stack.app.db.query("select 1 from alerts where key = $1 and resolved_at is null", [key])).rows.length === 1;

    /** What the chain did with batch `id`: its totals, each leaf's status and, per leaf index, the collections it logged. */
    async function onChain(batchId: bigint) {
      const id = (await getBatch(stack.app.db, batchId)).chainBatchId!;
      const c = await client();
      const batch = await c.readContract({ address: contracts().billing!, abi: billingAbi, functionName: "batchOf", args: [id] });
      const logs = await c.getContractEvents({ address: contracts().billing!, abi: billingAbi, args: { batchId: id }, fromBlock: 0n });
      const collections = new Map<number, bigint[]>();
      for (const log of logs) {
        if (log.eventName !== "LeafCollected") continue;
        const index = Number(log.args.index);
        collections.set(index, [...(collections.get(index) ?? []), log.args.amount!]);
      }
      const status = async (index: bigint) =>
        ["pending", "collected", "shortfall"][await c.readContract({ address: contracts().billing!, abi: billingAbi, functionName: "leafStatus", args: [id, index] })];
      return { batch, collections, status };
    }

    it("killed at every statement and after every broadcast, then restarted: Σ charged = Σ uncovered, each leaf collected once", async (t) => {
      stack = await startStack(backend);
      const alice = await user(USERS.alice, maxUint256);
      const bob = await user(USERS.bob, maxUint256);
      const carol = await user(USERS.carol, 0n); // pays late: short on the first run, collected once she approves
      const payers = [alice, bob, carol];
      let lastBatch = 0n;

      const deaths: Record<SideEffect, number> = { statement: 0, broadcast: 0 };
      for (let at = 1; ; at++) {
        // A day of usage: partly covered by credits, one event fully covered (no PAYG part).
        const owed = new Map([
          [alice.wallet, await usage(alice.accountId, [5n * CXPT, 2n * CXPT + BigInt(at)], [CXPT, CXPT])],
          [bob.wallet, await usage(bob.accountId, [4n * CXPT, 3n * CXPT], [2n * CXPT, 0n])],
          [carol.wallet, await usage(carol.accountId, [CXPT, CXPT / 2n + BigInt(at)])],
        ]);
        const before = new Map<Address, bigint>();
        for (const { wallet } of payers) before.set(wallet, await balanceOf(wallet));
        const charged = async (wallet: Address) => before.get(wallet)! - (await balanceOf(wallet));

        // First run: killed at `at`, restarted. Alice and Bob are charged once; Carol is short and suspended.
        const diedFirst = await killAndRestart(stack.app, at);
        const { rows: batches } = await stack.app.db.query<{ id: string }>("select id::text from settlement_batches where id > $1 order by id", [lastBatch]);
        assert.equal(batches.length, 1, `at ${at}: one batch for the day`);
        const id = BigInt(batches[0]!.id);
        lastBatch = id;
        assert.equal(await unbatched(), 0, `at ${at}: every uncovered event is in a batch`);
        assert.deepEqual(await usageIn(id, alice.accountId), [true, true], `at ${at}: alice's usage settled`);
        assert.deepEqual(await usageIn(id, bob.accountId), [true], `at ${at}: bob's usage settled`);
        assert.deepEqual(await usageIn(id, carol.accountId), [false], `at ${at}: carol's usage waits`);
        assert.equal(await charged(alice.wallet), owed.get(alice.wallet), `at ${at}: alice charged once`);
        assert.equal(await charged(bob.wallet), owed.get(bob.wallet), `at ${at}: bob charged once`);
        assert.equal(await charged(carol.wallet), 0n, `at ${at}: carol not charged`);
        let chain = await onChain(id);
        const leaves = await leavesOf(stack.app.db, id);
        assert.equal(leaves.length, 3);
        assert.equal(chain.batch.collected, owed.get(alice.wallet)! + owed.get(bob.wallet)!, `at ${at}: collected on chain`);
        assert.equal(chain.batch.shortfall, owed.get(carol.wallet), `at ${at}: short on chain`);
        for (const leaf of leaves) {
          assert.equal(leaf.amount, owed.get(leaf.user), `at ${at}: leaf of ${leaf.user}`);
          assert.equal(await chain.status(leaf.index), leaf.status, `at ${at}: leaf ${leaf.index} booked as on chain`);
          assert.equal(chain.collections.get(Number(leaf.index))?.length ?? 0, leaf.user === carol.wallet ? 0 : 1, `at ${at}: leaf ${leaf.index} collected once`);
        }
        assert.equal(await suspended(carol.accountId), true, `at ${at}: carol suspended`);
        assert.equal(await openAlert(shortfallAlertKey(carol.accountId)), true);
        assert.equal(await suspended(alice.accountId), false);

        // Carol approves; the next run, killed at `at` too, collects her leaf once and reinstates her.
        await approve(USERS.carol, maxUint256);
        const diedSecond = await killAndRestart(stack.app, at);
        assert.equal(await charged(carol.wallet), owed.get(carol.wallet), `at ${at}: carol charged once`);
        assert.equal(await charged(alice.wallet), owed.get(alice.wallet), `at ${at}: alice not charged again`);
        chain = await onChain(id);
        assert.equal(chain.batch.collected, [...owed.values()].reduce((a, b) => a + b), `at ${at}: Σ collected = Σ uncovered`);
        assert.equal(chain.batch.shortfall, 0n);
        for (const leaf of leaves) assert.equal(chain.collections.get(Number(leaf.index))?.length, 1, `at ${at}: leaf ${leaf.index} collected once`);
        assert.equal((await stack.app.db.query("select state from settlement_batches where id = $1", [id])).rows[0]!.state, "settled");
        assert.deepEqual(await usageIn(id, carol.accountId), [true], `at ${at}: carol's usage settled`);
        assert.equal(await suspended(carol.accountId), false, `at ${at}: carol reinstated`);
        assert.equal(await openAlert(shortfallAlertKey(carol.accountId)), false);
        await approve(USERS.carol, 0n);

        for (const death of [diedFirst, diedSecond]) if (death) deaths[death]++;
        if (!diedFirst && !diedSecond) break; // `at` is past the last side effect of both runs: every point was a kill
      }
      // Each run sends a commit or a chunk more than once, and issues dozens of statements. Carol's
      // short leaf is not sent again blind while she cannot pay (shortfall backoff), so the first
      // run broadcasts commit and chunk only: one kill point fewer than when it re-sent her leaf.
      t.diagnostic(`killed before ${deaths.statement} statements and after ${deaths.broadcast} broadcasts`);
      assert.ok(deaths.broadcast >= 4, `killed after ${deaths.broadcast} broadcasts`);
      assert.ok(deaths.statement >= 40, `killed before ${deaths.statement} statements`);
    });
  });
}
