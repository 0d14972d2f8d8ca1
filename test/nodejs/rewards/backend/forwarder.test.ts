import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { concat, encodeFunctionData, getAddress, isAddressEqual, zeroAddress, type Address, type Hex } from "viem";
import { distributorAbi } from "../../../../src/chain/abis.ts";
import {
  CLAIM_CALLDATA,
  DEFAULT_CLAIM_GAS,
  claimOutcome,
  claimRequestTypedData,
  forwardRequestToJson,
  parseForwardRequest,
  pendingRewards,
  verifyClaimRequest,
  type ForwardRequest,
} from "../../../../src/rewards/forwarder.ts";
import { revertOf } from "../../../../src/chain/errors.ts";
import { localRelayer, relayClaim } from "../../../../src/rewards/relayers.ts";
import { rejectsWith, withoutAutomine } from "../../tokens/helpers.ts";
import { backendKey } from "../../helpers/fixture.ts";
import { networkHelpers, Pool, setup, withEpoch, type Setup } from "../helpers.ts";

type Wallet = Setup["wallets"]["alice"];

/**
 * Epoch 1 with alice in the provider pool (and a second provider, carol in the user pool), run to
 * its end so that pending amounts no longer move with time.
 */
async function ended() {
  const s = await setup();
  const { alice, bob, carol } = s.wallets;
  const { end } = await withEpoch(s, {
    providers: [[alice.account.address, 3n], [bob.account.address, 1n]],
    users: [[carol.account.address, 1n]],
  });
  await s.reach(end + 1n);
  return s;
}

/** `signer` signs the typed data the backend hands out (for `from`, default the signer). */
async function signedClaim(s: Setup, signer: Wallet, options: { from?: Address; deadline?: number } = {}) {
  const from = options.from ?? signer.account.address;
  const deadline = options.deadline ?? Number(await networkHelpers.time.latest()) + 3600;
  const typed = await claimRequestTypedData(s.publicClient, { forwarder: s.forwarder.address, distributor: s.distributor.address, from, deadline });
  const signature = await signer.signTypedData({ ...typed, account: signer.account });
  return { typed, request: typed.message, signature };
}

const verify = (s: Setup, request: Omit<ForwardRequest, "nonce">, signature: Hex) =>
  verifyClaimRequest(s.publicClient, { forwarder: s.forwarder.address, distributor: s.distributor.address, request, signature });

describe("gasless claims through the forwarder", () => {
  it("hands out the EIP-712 ForwardRequest for claim(): forwarder domain, nonce, calldata", async () => {
    const s = await ended();
    const { alice } = s.wallets;
    const { typed } = await signedClaim(s, alice, { deadline: 2_000_000_000 });
    const [, name, version, chainId, verifyingContract] = await s.forwarder.read.eip712Domain();
    assert.deepEqual(typed.domain, { name, version, chainId: Number(chainId), verifyingContract });
    assert.equal(typed.primaryType, "ForwardRequest");
    assert.deepEqual(typed.message, {
      from: alice.account.address,
      to: s.distributor.address,
      value: 0n,
      gas: DEFAULT_CLAIM_GAS,
      nonce: 0n,
      deadline: 2_000_000_000,
      data: encodeFunctionData({ abi: distributorAbi, functionName: "claim" }),
    });
  });

  it("verifies and relays a claim: the signer is paid, the relayer pays the gas, the nonce moves on", async () => {
    const s = await ended();
    const { alice, relayer } = s.wallets;
    const a = alice.account.address;
    const pending = await s.distributor.read.pendingOf([a]);
    const aliceEth = await s.publicClient.getBalance({ address: a });
    const cxptBefore = await s.balanceOf(a);
    const { request, signature } = await signedClaim(s, alice);

    const verified = await verify(s, request, signature);
    assert.equal(verified.pending, pending);
    assert.deepEqual(verified.request, { ...forwardRequestWithout(request), signature });

    const relayerClient = localRelayer({ publicClient: s.publicClient, wallet: backendKey(relayer), forwarder: s.forwarder.address });
    const outcome = await relayClaim(s.publicClient, relayerClient, {
      forwarder: s.forwarder.address,
      distributor: s.distributor.address,
      request,
      signature,
    });
    assert.equal(outcome.claimed, pending);
    assert.ok(isAddressEqual(outcome.account, a));
    assert.equal(await s.balanceOf(a), cxptBefore + pending);
    assert.equal(await s.publicClient.getBalance({ address: a }), aliceEth, "the signer pays no gas");
    const receipt = await s.publicClient.getTransactionReceipt({ hash: outcome.txHash });
    assert.ok(isAddressEqual(receipt.from, relayer.account.address));
    assert.equal(outcome.blockNumber, receipt.blockNumber);
    assert.equal(await s.forwarder.read.nonces([a]), 1n);

    // The same signature cannot be relayed twice.
    await rejectsWith(verify(s, request, signature), "INVALID_SIGNATURE", 400);
  });

  it("refuses anything but a plain claim() on the distributor (NOT_A_CLAIM)", async () => {
    const s = await ended();
    const { request, signature } = await signedClaim(s, s.wallets.alice);
    const otherCall = encodeFunctionData({ abi: distributorAbi, functionName: "withdrawProtocol", args: [request.from, 1n] });
    for (const bad of [
      { ...request, to: s.vault.address },
      { ...request, data: otherCall },
      { ...request, data: concat([CLAIM_CALLDATA, "0x00"]) },
      { ...request, value: 1n },
    ]) {
      await rejectsWith(verify(s, bad, signature), "NOT_A_CLAIM", 400);
    }
  });

  it("refuses an expired request (REQUEST_EXPIRED)", async () => {
    const s = await ended();
    const deadline = Number(await networkHelpers.time.latest()) - 1;
    const { request, signature } = await signedClaim(s, s.wallets.alice, { deadline });
    await rejectsWith(verify(s, request, signature), "REQUEST_EXPIRED", 400);
  });

  it("refuses a signature by someone else, a tampered request or malformed bytes (INVALID_SIGNATURE)", async () => {
    const s = await ended();
    const { alice, bob } = s.wallets;
    const forged = await signedClaim(s, bob, { from: alice.account.address });
    await rejectsWith(verify(s, forged.request, forged.signature), "INVALID_SIGNATURE", 400);
    const { request, signature } = await signedClaim(s, alice);
    await rejectsWith(verify(s, { ...request, gas: request.gas + 1n }, signature), "INVALID_SIGNATURE", 400);
    await rejectsWith(verify(s, request, "0x1234"), "INVALID_SIGNATURE", 400);
    await rejectsWith(verify(s, request, "0xzz"), "INVALID_SIGNATURE", 400);
  });

  it("reports a distributor that does not trust the forwarder (FORWARDER_NOT_TRUSTED)", async () => {
    const s = await ended();
    const { request, signature } = await signedClaim(s, s.wallets.alice);
    await s.wait(s.distributor.write.setTrustedForwarder([zeroAddress], { account: s.wallets.admin.account }));
    await rejectsWith(verify(s, request, signature), "FORWARDER_NOT_TRUSTED", 503);
  });

  it("refuses an account with nothing to claim (NOTHING_TO_CLAIM)", async () => {
    const s = await ended();
    const { request, signature } = await signedClaim(s, s.wallets.relayer);
    await rejectsWith(verify(s, request, signature), "NOTHING_TO_CLAIM", 409);
  });

  it("refuses a signer the distributor's sanctions oracle flags (SANCTIONED_ADDRESS), relays once cleared", async () => {
    const s = await ended();
    const { alice, admin } = s.wallets;
    await s.wait(s.distributor.write.setSanctionsOracle([s.sanctions.address], { account: admin.account }));
    await s.wait(s.sanctions.write.setSanctioned([alice.account.address, true]));
    const { request, signature } = await signedClaim(s, alice);
    await rejectsWith(verify(s, request, signature), "SANCTIONED_ADDRESS", 403);
    await s.wait(s.sanctions.write.setSanctioned([alice.account.address, false]));
    assert.equal((await verify(s, request, signature)).pending, await s.distributor.read.pendingOf([alice.account.address]));
  });

  it("holds claims while the sanctions oracle fails (SANCTIONS_ORACLE_UNAVAILABLE); a direct claim reverts with its error", async () => {
    const s = await ended();
    const { alice, admin } = s.wallets;
    // A contract without isSanctioned: every screen reverts.
    await s.wait(s.distributor.write.setSanctionsOracle([s.cxpt.address], { account: admin.account }));
    const { request, signature } = await signedClaim(s, alice);
    await rejectsWith(verify(s, request, signature), "SANCTIONS_ORACLE_UNAVAILABLE", 503);
    await assert.rejects(s.distributor.write.claim({ account: alice.account }), (error: Error) => {
      const oracle = getAddress(s.cxpt.address);
      assert.deepEqual(revertOf(error), { name: "SanctionsOracleUnavailable", args: [oracle], text: `SanctionsOracleUnavailable(${oracle})` });
      return true;
    });
  });

  it("a relay that fails on chain is RELAY_FAILED (here: claimed directly in between)", async () => {
    const s = await ended();
    const { alice, relayer } = s.wallets;
    const { request, signature } = await signedClaim(s, alice);
    const { request: signed } = await verify(s, request, signature);
    await s.claim(alice);
    const error = await rejectsWith(
      localRelayer({ publicClient: s.publicClient, wallet: backendKey(relayer), forwarder: s.forwarder.address }).relay(signed),
      "RELAY_FAILED",
      502,
    );
    assert.equal(error.details?.reason, "FailedCall", "the forwarder reports the inner claim's revert");
  });

  it("claimOutcome refuses a transaction that paid the account nothing or is never mined (RELAY_FAILED)", async () => {
    const s = await ended();
    const { alice } = s.wallets;
    const options = { distributor: s.distributor.address, account: alice.account.address };
    const txHash = await s.cxpt.write.transfer([s.wallets.bob.account.address, 1n], { account: alice.account });
    await rejectsWith(claimOutcome(s.publicClient, { ...options, txHash }), "RELAY_FAILED", 502);
    // A relayed transaction stuck in the mempool past the timeout.
    const stuck = await withoutAutomine(async () => {
      const pending = await s.cxpt.write.transfer([s.wallets.bob.account.address, 1n], { account: alice.account });
      const error = await rejectsWith(claimOutcome(s.publicClient, { ...options, txHash: pending, timeout: 300 }), "RELAY_FAILED", 502);
      await networkHelpers.mine();
      return error;
    });
    assert.match(stuck.message, /was not mined/);
  });

  it("pendingRewards: pendingOf per pool and in total", async () => {
    const s = await ended();
    const { alice, carol, relayer } = s.wallets;
    for (const wallet of [alice, carol, relayer]) {
      const a = wallet.account.address;
      const pending = await pendingRewards(s.publicClient, s.distributor.address, a);
      assert.deepEqual(pending, {
        providers: await s.distributor.read.pendingOf([a, Pool.Providers]),
        users: await s.distributor.read.pendingOf([a, Pool.Users]),
        total: await s.distributor.read.pendingOf([a]),
      });
    }
    const alicePending = await pendingRewards(s.publicClient, s.distributor.address, alice.account.address);
    assert.ok(alicePending.providers > 0n && alicePending.users === 0n);
    const carolPending = await pendingRewards(s.publicClient, s.distributor.address, carol.account.address);
    assert.ok(carolPending.users > 0n && carolPending.providers === 0n);
  });

  it("signed requests round-trip through JSON; malformed JSON is INVALID_FORWARD_REQUEST", async () => {
    const s = await ended();
    const { request, signature } = await signedClaim(s, s.wallets.alice);
    const signed = { ...forwardRequestWithout(request), signature };
    const json = JSON.parse(JSON.stringify({ ...forwardRequestToJson(signed), nonce: "0" }));
    assert.deepEqual(parseForwardRequest(json), signed);
    for (const bad of [null, { ...json, from: "alice" }, { ...json, gas: "1e6" }, { ...json, deadline: "12" }, { ...json, signature: undefined }]) {
      await rejectsWith(Promise.resolve().then(() => parseForwardRequest(bad)), "INVALID_FORWARD_REQUEST", 400);
    }
  });
});

/** The request without its nonce (what `execute` takes besides the signature). */
function forwardRequestWithout({ nonce: _nonce, ...rest }: ForwardRequest) {
  return rest;
}
