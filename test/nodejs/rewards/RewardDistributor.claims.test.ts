// RewardDistributor: linear release (pendingOf), claim() over one and many epochs, and claims
// relayed through the ERC-2771 forwarder.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { concat, encodeFunctionData, isAddressEqual, parseEventLogs, zeroAddress, type Address } from "viem";
import { DAY, Pool, WEEK, filler, networkHelpers, setup, splitOf, viem, withEpoch, type PoolId, type Setup } from "./helpers.ts";

const CXPT = 10n ** 18n;

/** What `shares` of `totalShares` have released of `budget` at `t` in an epoch from `start` to `end`. */
function releasedAt(shares: bigint, budget: bigint, totalShares: bigint, start: bigint, end: bigint, t: bigint) {
  if (t >= end) return (shares * budget) / totalShares;
  return (shares * budget * (t - start)) / (totalShares * (end - start));
}

/** The full amount `shares` earn of `pool` in `epoch`, from the epoch's recorded budget and total. */
async function entitlement(s: Setup, epoch: bigint, pool: PoolId, shares: bigint) {
  const [total, budget] = await s.distributor.read.poolEpoch([epoch, pool]);
  return shares === 0n ? 0n : (shares * budget) / total;
}

/** Ends the running epoch (its end becomes the latest block time). */
async function endEpoch(s: Setup, epoch: bigint) {
  const [, end] = await s.distributor.read.epochTimes([epoch]);
  await s.at(end);
}

const claimedLogs = (s: Setup, logs: Parameters<typeof parseEventLogs>[0]["logs"]) =>
  parseEventLogs({ abi: s.distributor.abi, logs, eventName: "Claimed" });

describe("RewardDistributor claims", () => {
  describe("pendingOf", () => {
    it("is zero without points and for points of an epoch not started yet", async () => {
      const s = await setup();
      const alice = s.wallets.alice.account.address;
      assert.equal(await s.distributor.read.pendingOf([alice]), 0n);
      await s.fund(1_000n * CXPT);
      await s.upload(1n, Pool.Providers, [alice], [1n]);
      assert.equal(await s.distributor.read.pendingOf([alice]), 0n);
    });

    it("grows linearly over the epoch and ends at shares * budget / totalShares", async () => {
      const s = await setup();
      const alice = s.wallets.alice.account.address;
      const e = await withEpoch(s, { providers: [[alice, 3n], [filler(1), 4n]], duration: WEEK });
      const full = (3n * e.providers) / 7n;
      let previous = 0n;
      for (const t of [e.start + 1n, e.start + WEEK / 4n, e.start + WEEK / 2n, e.end - 1n, e.end, e.end + DAY]) {
        await s.at(t);
        const pending = await s.distributor.read.pendingOf([alice, Pool.Providers]);
        assert.equal(pending, releasedAt(3n, e.providers, 7n, e.start, e.end, t), `at start + ${t - e.start} s`);
        assert.ok(pending >= previous, "never decreases");
        assert.ok(pending <= full, "never exceeds the entitlement");
        previous = pending;
      }
      assert.equal(previous, full);
      assert.equal(await s.distributor.read.entitlementOf([alice, Pool.Providers, 1n]), full);
    });

    it("adds both pools", async () => {
      const s = await setup();
      const alice = s.wallets.alice.account.address;
      const e = await withEpoch(s, { providers: [[alice, 1n], [filler(1), 1n]], users: [[alice, 1n]] });
      await s.at(e.start + DAY);
      const providers = await s.distributor.read.pendingOf([alice, Pool.Providers]);
      const users = await s.distributor.read.pendingOf([alice, Pool.Users]);
      assert.ok(providers > 0n && users > 0n);
      assert.equal(await s.distributor.read.pendingOf([alice]), providers + users);
      await s.at(e.end);
      assert.equal(await s.distributor.read.pendingOf([alice]), e.providers / 2n + e.users);
    });

    it("counts an ended epoch not yet folded plus the running one, but not a staged one", async () => {
      const s = await setup();
      const alice = s.wallets.alice.account.address;
      const e1 = await withEpoch(s, { users: [[alice, 1n], [filler(1), 1n]] });
      await s.upload(2n, Pool.Users, [alice], [1n]);
      const funded2 = splitOf(await s.fund(2_000n * CXPT));
      await s.at(e1.start + DAY);
      assert.equal(await s.distributor.read.pendingOf([alice]), releasedAt(1n, e1.users, 2n, e1.start, e1.end, e1.start + DAY));
      await s.at(e1.end);
      const e2 = await s.start(2n, WEEK);
      await s.at(e2.start + DAY);
      assert.equal(
        await s.distributor.read.pendingOf([alice]),
        e1.users / 2n + releasedAt(1n, funded2.users, 1n, e2.start, e2.end, e2.start + DAY),
      );
    });
  });

  describe("claim", () => {
    it("pays both pools to the caller at the epoch's end and emits Claimed per pool", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      const a = alice.account.address;
      const e = await withEpoch(s, { providers: [[a, 3n], [filler(1), 1n]], users: [[a, 1n], [filler(2), 1n]] });
      await endEpoch(s, 1n);
      const providers = (3n * e.providers) / 4n;
      const users = e.users / 2n;
      const held = await s.balanceOf(s.distributor.address);
      const { paid, receipt } = await s.claim(alice);
      assert.equal(paid, providers + users);
      assert.equal(await s.balanceOf(s.distributor.address), held - paid);
      await viem.assertions.emitWithArgs(receipt.transactionHash, s.distributor, "Claimed", [(x: Address) => isAddressEqual(x, a), Pool.Providers, providers]);
      await viem.assertions.emitWithArgs(receipt.transactionHash, s.distributor, "Claimed", [(x: Address) => isAddressEqual(x, a), Pool.Users, users]);
      assert.equal(await s.distributor.read.pendingOf([a]), 0n);
    });

    it("emits Claimed only for a pool that paid", async () => {
      const s = await setup();
      const { bob } = s.wallets;
      const e = await withEpoch(s, { providers: [[filler(1), 1n]], users: [[bob.account.address, 1n]] });
      await endEpoch(s, 1n);
      const { paid, receipt } = await s.claim(bob);
      assert.equal(paid, e.users);
      const logs = claimedLogs(s, receipt.logs);
      assert.equal(logs.length, 1);
      assert.equal(logs[0].args.pool, Pool.Users);
    });

    it("mid-epoch pays what has released; claiming again at the end pays the rest", async () => {
      const s = await setup();
      const { alice, bob } = s.wallets;
      const e = await withEpoch(s, { providers: [[alice.account.address, 2n], [bob.account.address, 2n], [filler(1), 1n]] });
      const mid = e.start + (e.end - e.start) / 3n;
      await s.nextAt(mid);
      const first = await s.claim(alice);
      assert.equal(first.paid, releasedAt(2n, e.providers, 5n, e.start, e.end, mid));
      assert.equal(await s.distributor.read.pendingOf([alice.account.address]), 0n, "nothing left right after a claim");
      await endEpoch(s, 1n);
      const second = await s.claim(alice);
      const once = await s.claim(bob);
      assert.equal(first.paid + second.paid, once.paid, "same total as one claim at the end");
      assert.equal(once.paid, (2n * e.providers) / 5n);
    });

    it("reverts NothingToClaim without points, before release and once everything is claimed", async () => {
      const s = await setup();
      const { alice, carol } = s.wallets;
      const nothing = (w: typeof alice) =>
        viem.assertions.revertWithCustomErrorWithArgs(
          s.distributor.write.claim({ account: w.account }),
          s.distributor,
          "NothingToClaim",
          [(x: Address) => isAddressEqual(x, w.account.address)],
        );
      await nothing(alice);
      await s.fund(1_000n * CXPT);
      await s.upload(1n, Pool.Providers, [alice.account.address], [1n]);
      await nothing(alice); // staged, not started
      await s.start(1n, WEEK);
      await nothing(carol); // no points
      await endEpoch(s, 1n);
      await s.claim(alice);
      await nothing(alice);
    });

    it("pays an account that claims only after epochs 1, 2 and 3 exactly the sum of its entitlements", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      const a = alice.account.address;
      const plan = [
        { gross: 1_000n * CXPT, providers: 3n, users: 1n },
        { gross: 3_333n * CXPT + 7n, providers: 5n, users: 0n },
        { gross: 777n * CXPT + 1n, providers: 1n, users: 9n },
      ];
      let expected = 0n;
      for (const [i, step] of plan.entries()) {
        const epoch = BigInt(i + 1);
        await s.fund(step.gross);
        await s.upload(epoch, Pool.Providers, [a, filler(1)], [step.providers, 7n]);
        await s.upload(epoch, Pool.Users, [a, filler(2)], [step.users, 2n]);
        if (epoch > 1n) await endEpoch(s, epoch - 1n);
        await s.start(epoch, WEEK + epoch);
        expected += (await entitlement(s, epoch, Pool.Providers, step.providers)) + (await entitlement(s, epoch, Pool.Users, step.users));
      }
      await endEpoch(s, 3n);
      assert.equal(await s.distributor.read.pendingOf([a]), expected);
      assert.equal((await s.claim(alice)).paid, expected);
    });

    it("claiming in the middle of every epoch adds up to one claim at the end", async () => {
      const s = await setup();
      const { alice, bob } = s.wallets;
      const [a, b] = [alice.account.address, bob.account.address];
      let often = 0n;
      for (const epoch of [1n, 2n, 3n]) {
        await s.fund(1_000n * epoch * CXPT + epoch);
        await s.upload(epoch, Pool.Providers, [a, b, filler(1)], [epoch, epoch, 3n]);
        await s.upload(epoch, Pool.Users, [a, b], [2n, 2n]);
        if (epoch > 1n) await endEpoch(s, epoch - 1n);
        const e = await s.start(epoch, 3n * DAY + 17n);
        for (const fraction of [5n, 2n]) {
          await s.nextAt(e.start + (e.end - e.start) / fraction);
          often += (await s.claim(alice)).paid;
        }
      }
      await endEpoch(s, 3n);
      often += (await s.claim(alice)).paid;
      assert.equal(often, (await s.claim(bob)).paid);
    });

    it("folds an epoch the account skipped and one staged with zero points", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      const a = alice.account.address;
      await withEpoch(s, { providers: [[a, 1n], [filler(1), 1n]] });
      await s.upload(2n, Pool.Providers, [a, filler(1)], [0n, 1n]); // alice removed for epoch 2
      await s.fund(2_000n * CXPT);
      await endEpoch(s, 1n);
      await s.start(2n, WEEK);
      await s.at((await s.distributor.read.epochTimes([2n]))[0] + DAY);
      assert.equal(await s.distributor.read.pendingOf([a]), await entitlement(s, 1n, Pool.Providers, 1n), "nothing from epoch 2");
      await s.upload(3n, Pool.Providers, [a], [1n]); // folds epoch 1 for alice; epoch 2 (zero points) stays until her claim
      await s.fund(4_000n * CXPT);
      await endEpoch(s, 2n);
      await s.start(3n, WEEK);
      await endEpoch(s, 3n);
      const expected = (await entitlement(s, 1n, Pool.Providers, 1n)) + (await entitlement(s, 3n, Pool.Providers, 1n));
      assert.equal((await s.claim(alice)).paid, expected);
    });

    it("settles ended epochs on claim even when no upload touched the account since", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      const a = alice.account.address;
      await withEpoch(s, { users: [[a, 1n], [filler(1), 3n]] });
      await s.upload(2n, Pool.Users, [a], [1n]);
      await endEpoch(s, 1n);
      await s.start(2n, WEEK);
      await s.upload(3n, Pool.Users, [filler(1)], [1n]);
      await endEpoch(s, 2n);
      await s.start(3n, WEEK); // alice holds entries for epochs 1 and 2, both ended
      const expected = (await entitlement(s, 1n, Pool.Users, 1n)) + (await entitlement(s, 2n, Pool.Users, 1n));
      assert.equal(await s.distributor.read.pendingOf([a]), expected);
      assert.equal((await s.claim(alice)).paid, expected);
      assert.equal(await s.distributor.read.sharesOf([a, Pool.Users, 2n]), 0n, "both entries were folded");
    });

    it("pays the caller only, never another holder", async () => {
      const s = await setup();
      const { alice, bob } = s.wallets;
      await withEpoch(s, { providers: [[alice.account.address, 1n], [bob.account.address, 1n]] });
      await endEpoch(s, 1n);
      const bobBefore = await s.balanceOf(bob.account.address);
      const pendingBob = await s.distributor.read.pendingOf([bob.account.address]);
      await s.claim(alice);
      assert.equal(await s.balanceOf(bob.account.address), bobBefore);
      assert.equal(await s.distributor.read.pendingOf([bob.account.address]), pendingBob);
    });
  });

  describe("relayed claims (ERC-2771)", () => {
    /** Epoch 1 with alice holding provider points, ended: alice has something to claim. */
    async function ended(s: Setup) {
      await withEpoch(s, { providers: [[s.wallets.alice.account.address, 1n], [filler(1), 1n]] });
      await endEpoch(s, 1n);
    }

    it("pays the signer while the relayer pays the gas", async () => {
      const s = await setup();
      await ended(s);
      const { alice, relayer } = s.wallets;
      const [a, r] = [alice.account.address, relayer.account.address];
      const pending = await s.distributor.read.pendingOf([a]);
      const before = { aliceCxpt: await s.balanceOf(a), relayerCxpt: await s.balanceOf(r) };
      const aliceEth = await s.publicClient.getBalance({ address: a });
      const relayerEth = await s.publicClient.getBalance({ address: r });
      const request = await s.signClaim(alice);
      const receipt = await s.wait(s.forwarder.write.execute([request], { account: relayer.account }));
      assert.equal(await s.balanceOf(a), before.aliceCxpt + pending);
      assert.equal(await s.balanceOf(r), before.relayerCxpt);
      assert.equal(await s.publicClient.getBalance({ address: a }), aliceEth, "the signer pays no gas");
      assert.equal(await s.publicClient.getBalance({ address: r }), relayerEth - receipt.gasUsed * receipt.effectiveGasPrice);
      assert.equal(await s.forwarder.read.nonces([a]), 1n);
      const logs = claimedLogs(s, receipt.logs);
      assert.ok(logs.length === 1 && isAddressEqual(logs[0].args.account, a));
      assert.equal(await s.distributor.read.pendingOf([a]), 0n);
    });

    it("rejects a replayed request (ERC2771ForwarderInvalidSigner: the nonce moved on)", async () => {
      const s = await setup();
      await ended(s);
      const request = await s.signClaim(s.wallets.alice);
      await s.wait(s.forwarder.write.execute([request], { account: s.wallets.relayer.account }));
      await viem.assertions.revertWithCustomError(
        s.forwarder.write.execute([request], { account: s.wallets.relayer.account }),
        s.forwarder,
        "ERC2771ForwarderInvalidSigner",
      );
    });

    it("rejects an expired request (ERC2771ForwarderExpiredRequest)", async () => {
      const s = await setup();
      await ended(s);
      const deadline = BigInt(await networkHelpers.time.latest()) + 60n;
      const request = await s.signClaim(s.wallets.alice, { deadline });
      await s.at(deadline + 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.forwarder.write.execute([request], { account: s.wallets.relayer.account }),
        s.forwarder,
        "ERC2771ForwarderExpiredRequest",
        [Number(deadline)],
      );
    });

    it("rejects a request whose signer is not its `from` (ERC2771ForwarderInvalidSigner)", async () => {
      const s = await setup();
      await ended(s);
      const request = await s.signClaim(s.wallets.bob);
      await viem.assertions.revertWithCustomError(
        s.forwarder.write.execute([{ ...request, from: s.wallets.alice.account.address }], { account: s.wallets.relayer.account }),
        s.forwarder,
        "ERC2771ForwarderInvalidSigner",
      );
    });

    it("a relayed claim with nothing to claim reverts (the forwarder reports FailedCall)", async () => {
      const s = await setup();
      await ended(s);
      const request = await s.signClaim(s.wallets.carol);
      await viem.assertions.revertWithCustomError(
        s.forwarder.write.execute([request], { account: s.wallets.relayer.account }),
        s.forwarder,
        "FailedCall",
      );
      assert.equal(await s.forwarder.read.nonces([s.wallets.carol.account.address]), 0n, "the nonce is not used");
    });

    it("setTrustedForwarder(0) disables relaying (ERC2771UntrustfulTarget) but not direct claims", async () => {
      const s = await setup();
      await ended(s);
      const request = await s.signClaim(s.wallets.alice);
      await s.wait(s.distributor.write.setTrustedForwarder([zeroAddress]));
      // The forwarder asks the target whether it is trusted before calling it.
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.forwarder.write.execute([request], { account: s.wallets.relayer.account }),
        s.forwarder,
        "ERC2771UntrustfulTarget",
        [(x: Address) => isAddressEqual(x, s.distributor.address), (x: Address) => isAddressEqual(x, s.forwarder.address)],
      );
      const pending = await s.distributor.read.pendingOf([s.wallets.alice.account.address]);
      assert.ok(pending > 0n);
      assert.equal((await s.claim(s.wallets.alice)).paid, pending);
    });

    it("a newly trusted forwarder relays; the old one no longer does", async () => {
      const s = await setup();
      await ended(s);
      const other = await viem.deployContract("CxpForwarder");
      await s.wait(s.distributor.write.setTrustedForwarder([other.address]));
      const stale = await s.signClaim(s.wallets.alice);
      await viem.assertions.revertWithCustomError(
        s.forwarder.write.execute([stale], { account: s.wallets.relayer.account }),
        s.forwarder,
        "ERC2771UntrustfulTarget",
      );
      const pending = await s.distributor.read.pendingOf([s.wallets.alice.account.address]);
      const before = await s.balanceOf(s.wallets.alice.account.address);
      const request = await s.signClaim(s.wallets.alice, { via: other });
      await s.wait(other.write.execute([request], { account: s.wallets.relayer.account }));
      assert.equal(await s.balanceOf(s.wallets.alice.account.address), before + pending);
    });

    it("ignores an address appended to the calldata by a caller that is not the forwarder", async () => {
      const s = await setup();
      await ended(s);
      const { alice, bob } = s.wallets;
      const data = concat([encodeFunctionData({ abi: s.distributor.abi, functionName: "claim" }), alice.account.address]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        bob.sendTransaction({ account: bob.account, to: s.distributor.address, data }),
        s.distributor,
        "NothingToClaim",
        [(x: Address) => isAddressEqual(x, bob.account.address)],
      );
      assert.ok((await s.distributor.read.pendingOf([alice.account.address])) > 0n, "alice's rewards stay hers");
    });
  });
});
