// RewardDistributor properties over seeded pseudo-random scenarios: solvency (what accounts can
// claim never exceeds what the distributor holds for them), no account receives more than its
// weighted share of an epoch, and claim gas does not depend on the number of holders.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Address } from "viem";
import { DAY, POOLS, Pool, filler, networkHelpers, setup, type PoolId, type Setup } from "./helpers.ts";

const CXPT = 10n ** 18n;

/** A small seeded generator (xorshift64*), so every run replays the same scenario. */
function prng(seed: bigint) {
  let x = seed;
  const next = () => {
    x ^= x >> 12n;
    x ^= (x << 25n) & 0xffffffffffffffffn;
    x ^= x >> 27n;
    return (x * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn;
  };
  /** A bigint in [lo, hi]. */
  return (lo: bigint, hi: bigint) => lo + (next() % (hi - lo + 1n));
}

/** Asserts the solvency property: the sum of pendingOf never exceeds balance - protocolBalance - pending funding. */
async function assertSolvent(s: Setup, holders: readonly Address[], when: string) {
  const owed = await s.pendingSum(holders);
  const held = await s.claimable();
  assert.ok(owed <= held, `${when}: accounts can claim ${owed} but the distributor holds ${held} for them`);
  return held - owed;
}

/** Gas of one claim by alice in an epoch where `holders` accounts (alice among them) hold points in both pools. */
async function claimGas(holders: number) {
  const s = await setup();
  const { alice } = s.wallets;
  const accounts = [alice.account.address, ...Array.from({ length: holders - 1 }, (_, i) => filler(i))];
  await s.fund(10_000n * CXPT);
  for (const pool of POOLS) {
    for (let i = 0; i < accounts.length; i += 100) {
      const batch = accounts.slice(i, i + 100);
      await s.upload(1n, pool, batch, batch.map((_, j) => BigInt(1 + ((i + j) % 7))));
    }
  }
  const e = await s.start(1n, 7n * DAY);
  await s.nextAt(e.start + 2n * DAY);
  const mid = (await s.claim(alice)).receipt.gasUsed;
  await s.at(e.end);
  const end = (await s.claim(alice)).receipt.gasUsed;
  return { mid, end };
}

const within5Percent = (a: bigint, b: bigint) => (a > b ? a - b : b - a) * 100n <= 5n * b;

describe("RewardDistributor properties", () => {
  it("stays solvent and pays no account more than shares * budget / totalShares per epoch", async () => {
    const s = await setup();
    const rand = prng(0x5eed_c0ffeen);
    const claimants = s.allWallets.slice(11);
    const holders = [...claimants.map((w) => w.account.address), filler(1), filler(2), filler(3)];
    const EPOCHS = 4n;
    const unclaimed: bigint[] = holders.map(() => 0n);
    let dust = 0n;
    let midEpochClaims = 0;

    for (let epoch = 1n; epoch <= EPOCHS; epoch++) {
      // Points for this epoch: random, some accounts left out or set to zero in a pool.
      const shares = new Map<PoolId, bigint[]>();
      for (const pool of POOLS) {
        const values = holders.map(() => (rand(0n, 3n) === 0n ? 0n : rand(1n, 1_000n)));
        if (pool === Pool.Providers) values[0] ||= 1n; // at least one pool has points
        shares.set(pool, values);
        const half = Math.floor(holders.length / 2);
        await s.upload(epoch, pool, holders.slice(0, half), values.slice(0, half));
        await s.upload(epoch, pool, holders.slice(half), values.slice(half));
      }
      await s.fund(rand(1n, 5_000n) * CXPT + rand(0n, 999n));
      if (epoch > 1n) await s.reach((await s.distributor.read.epochTimes([epoch - 1n]))[1]);
      const e = await s.start(epoch, rand(3_600n, 10n * DAY));

      // Caps: each account's full weighted share of this epoch in both pools.
      const caps: bigint[] = holders.map(() => 0n);
      for (const pool of POOLS) {
        const [total, budget] = await s.distributor.read.poolEpoch([epoch, pool]);
        shares.get(pool)!.forEach((v, i) => (caps[i] += total === 0n ? 0n : (v * budget) / total));
      }
      const received: bigint[] = holders.map(() => 0n);

      // Random claims while the epoch runs, with fundings (for later epochs) and protocol withdrawals mixed in.
      let t = e.start;
      for (let step = 0; step < 6; step++) {
        const now = BigInt(await networkHelpers.time.latest());
        t = (t > now ? t : now) + rand(1n, (e.end - e.start) / 6n + 1n);
        if (t >= e.end) break;
        await s.at(t);
        const i = Number(rand(0n, BigInt(claimants.length - 1)));
        if ((await s.distributor.read.pendingOf([holders[i]])) > 0n) {
          received[i] += (await s.claim(claimants[i])).paid;
          midEpochClaims++;
          assert.ok(received[i] <= caps[i], `epoch ${epoch}: account ${i} received ${received[i]} > cap ${caps[i]}`);
        }
        if (rand(0n, 2n) === 0n) await s.fund(rand(1n, 500n) * CXPT);
        const protocol = await s.distributor.read.protocolBalance();
        if (protocol > 0n && rand(0n, 3n) === 0n) {
          await s.wait(s.distributor.write.withdrawProtocol([s.wallets.treasurer.account.address, protocol / 2n + 1n], { account: s.wallets.treasurer.account }));
        }
        await assertSolvent(s, holders, `epoch ${epoch} step ${step}`);
      }

      // After the end every claimant collects the rest: exactly its cap, never more.
      await s.reach(e.end);
      await assertSolvent(s, holders, `end of epoch ${epoch}`);
      for (const [i, w] of claimants.entries()) {
        if ((await s.distributor.read.pendingOf([holders[i]])) > 0n) received[i] += (await s.claim(w)).paid;
        assert.equal(received[i], caps[i], `epoch ${epoch}: account ${i} received its full weighted share`);
      }
      // Accounts that never claim keep exactly the sum of their caps so far.
      for (let i = claimants.length; i < holders.length; i++) {
        unclaimed[i] += caps[i];
        assert.equal(await s.distributor.read.pendingOf([holders[i]]), unclaimed[i]);
      }
      dust = await assertSolvent(s, holders, `after the claims of epoch ${epoch}`);
    }

    assert.ok(midEpochClaims >= Number(EPOCHS), `the scenario claimed mid-epoch ${midEpochClaims} times`);
    // What is left beyond the fillers' claims is rounding dust: under one wei per holder, pool and epoch.
    assert.ok(dust < BigInt(holders.length) * 2n * EPOCHS, `dust ${dust}`);
  });

  it("claim gas does not depend on how many accounts hold shares (10 vs 200, within 5 %)", async (t) => {
    const few = await claimGas(10);
    const many = await claimGas(200);
    t.diagnostic(`claim gas mid-epoch ${few.mid} / ${many.mid}, after the end ${few.end} / ${many.end} (10 / 200 holders)`);
    assert.ok(within5Percent(many.mid, few.mid), `mid-epoch claim: ${few.mid} gas with 10 holders, ${many.mid} with 200`);
    assert.ok(within5Percent(many.end, few.end), `end-of-epoch claim: ${few.end} gas with 10 holders, ${many.end} with 200`);
  });
});
