import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { parseEther, toHex, type Address, type Hash, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createAccount, createSession } from "../../../src/accounts/store.ts";
import { cxptAbi, distributorAbi, forwarderAbi, vaultAbi } from "../../../src/chain/abis.ts";
import { CLAIM_CALLDATA, DEFAULT_CLAIM_GAS } from "../../../src/rewards/forwarder.ts";
import { POOL_IDS, uploadShares } from "../../../src/rewards/points.ts";
import { devKey } from "../../../src/devstack/keys.ts";
import { auth, BACKENDS, connection, fundCxpt, networkHelpers, signIn, startStack, USERS, viem, walletOf, type Stack } from "./harness.ts";
import { expectReply as expect } from "./harness.ts";

type Method = "GET" | "POST";

const DAY = 86_400n;
/** One more rewarded user, for the external relayer. */
const DAVE = devKey(17);
const wallet = (key: Hex): Address => privateKeyToAccount(key).address;

const call = (stack: Stack, method: Method, url: string, token?: string, payload?: object) =>
  stack.api.inject({ method, url: `/api/v1/${url}`, headers: token ? auth(token) : {}, ...(payload ? { payload } : {}) });


async function mined(hash: Hash | Promise<Hash>) {
  const receipt = await (await viem.getPublicClient()).waitForTransactionReceipt({ hash: await hash });
  assert.equal(receipt.status, "success");
}

/**
 * Rewards to claim, the way production gets there: `payer` pays 1000 CXPT into the Vault, the
 * Vault is swept into the distributor, the rewards key uploads the points of epoch 1 and starts it,
 * and the epoch runs to its end (so pending amounts no longer move with time).
 */
async function endedEpoch(stack: Stack, points: { providers: [Hex, bigint][]; users: [Hex, bigint][] }) {
  const { cxpt, vault, distributor } = stack.deployment.contracts;
  const payer = USERS.admin;
  const amount = parseEther("1000");
  await fundCxpt(stack.deployment, wallet(payer), amount);
  const w = await walletOf(payer);
  await mined(w.writeContract({ address: cxpt!, abi: cxptAbi, functionName: "approve", args: [vault!, amount] }));
  await mined(w.writeContract({ address: vault!, abi: vaultAbi, functionName: "deposit", args: [amount, toHex(0n, { size: 32 })] }));
  await mined(w.writeContract({ address: vault!, abi: vaultAbi, functionName: "sweep" }));
  const rewards = stack.app.chain!.signers.rewards!;
  for (const pool of Object.keys(POOL_IDS) as (keyof typeof POOL_IDS)[]) {
    const entries = points[pool].map(([key, p]) => ({ wallet: wallet(key), points: p }));
    await uploadShares({ client: stack.app.chain!.client, signer: rewards }, { distributor: distributor!, epoch: 1n, pool, entries });
  }
  await mined(rewards.writeContract({ address: distributor!, abi: distributorAbi, functionName: "startEpoch", args: [1n, DAY] }));
  await networkHelpers.time.increase(DAY + 1n);
}

async function pendingOf(stack: Stack, key: Hex, pool: number) {
  const publicClient = await viem.getPublicClient();
  return publicClient.readContract({ address: stack.deployment.contracts.distributor!, abi: distributorAbi, functionName: "pendingOf", args: [wallet(key), pool] });
}

async function cxptOf(stack: Stack, address: Address) {
  const publicClient = await viem.getPublicClient();
  return publicClient.readContract({ address: stack.deployment.contracts.cxpt!, abi: cxptAbi, functionName: "balanceOf", args: [address] });
}

/** A session of an account that has no wallet linked. */
async function walletlessToken(stack: Stack): Promise<string> {
  const account = await createAccount(stack.app.db, { kind: "user" });
  return (await createSession(stack.app.db, account.id, 3600)).token;
}

/** The claim request the API hands `token`'s account, signed by `signer` with viem (the typed data as it comes). */
async function signedClaim(stack: Stack, token: string, signer: Hex, query = "") {
  const { typedData } = expect(await call(stack, "GET", `rewards/claim-request${query}`, token), 200);
  const signature = await (await walletOf(signer)).signTypedData(typedData);
  return { request: typedData.message, signature };
}

/** A stand-in for an external relayer service: executes what it is sent with `relayer`'s key. */
async function relayService(stack: Stack, apiKey: string) {
  const relayer = stack.app.chain!.signers.relayer!;
  const received: unknown[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString());
    received.push({ apiKey: req.headers["x-api-key"], body });
    const [r] = body.params;
    const txHash = await relayer.writeContract({
      address: body.to,
      abi: forwarderAbi,
      functionName: "execute",
      args: [{ from: r.from, to: r.to, value: BigInt(r.value), gas: BigInt(r.gas), deadline: r.deadline, data: r.data, signature: r.signature }],
    });
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ txHash }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/relay`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

for (const backend of BACKENDS) {
  describe(`rewards API and withdrawals (${backend})`, () => {
    let stack: Stack;
    let phase0: Stack;
    let chainOff: Stack;
    let alice: string;
    let bob: string;
    let carol: string;
    before(async () => {
      // Every stack restores the same chain snapshot, so all of them start before any transaction.
      stack = await startStack(backend);
      phase0 = await startStack(backend, { CHAIN_PHASE: "0" });
      chainOff = await startStack(backend, { CHAIN_STAGE: "off" });
      await endedEpoch(stack, { providers: [[USERS.carol, 1n]], users: [[USERS.alice, 1n], [USERS.bob, 1n], [DAVE, 1n]] });
      alice = (await signIn(stack.api, USERS.alice)).token;
      bob = (await signIn(stack.api, USERS.bob)).token;
      carol = (await signIn(stack.api, USERS.carol, { kind: "provider" })).token;
    });
    after(async () => {
      await stack.close();
      await phase0.close();
      await chainOff.close();
    });

    it("answers 401 without a valid session on every route, before reading the input", async () => {
      const routes: [Method, string, object?][] = [
        ["GET", "rewards/available"],
        ["GET", "rewards/claim-request?deadline=abc"],
        ["POST", "rewards/claim", {}],
      ];
      for (const [method, url, payload] of routes) {
        expect(await call(stack, method, url, undefined, payload), 401, "UNAUTHENTICATED");
        expect(await call(stack, method, url, "cxs_unknown", payload), 401, "SESSION_EXPIRED");
      }
    });

    it("shows what each wallet can claim per pool, as the distributor computes it", async () => {
      const users = await pendingOf(stack, USERS.alice, POOL_IDS.users);
      assert.ok(users > 0n);
      assert.deepEqual(expect(await call(stack, "GET", "rewards/available", alice), 200), {
        wallet: wallet(USERS.alice),
        providersWei: "0",
        usersWei: users.toString(),
        totalWei: users.toString(),
        totalEarningsWei: "0",
      });
      const providers = await pendingOf(stack, USERS.carol, POOL_IDS.providers);
      const carols = expect(await call(stack, "GET", "rewards/available", carol), 200);
      assert.equal(carols.providersWei, providers.toString());
      assert.equal(carols.totalWei, providers.toString());
      const nobody = expect(await call(stack, "GET", "rewards/available", (await signIn(stack.api, USERS.admin)).token), 200);
      assert.equal(nobody.totalWei, "0");

      expect(await call(stack, "GET", "rewards/available", await walletlessToken(stack)), 409, "WALLET_NOT_LINKED");
      const off = (await signIn(chainOff.api, USERS.alice)).token;
      expect(await call(chainOff, "GET", "rewards/available", off), 409, "CHAIN_OFF");
      // Phase 0 has the chain: rewards are readable, only claiming waits for phase 1.
      expect(await call(phase0, "GET", "rewards/available", (await signIn(phase0.api, USERS.alice)).token), 200);
    });

    it("hands out the EIP-712 claim request: the forwarder's domain, the wallet's nonce, claim() on the distributor", async () => {
      const publicClient = await viem.getPublicClient();
      const { forwarder, distributor } = stack.deployment.contracts;
      const [, name, version, chainId, verifyingContract] = await publicClient.readContract({ address: forwarder!, abi: forwarderAbi, functionName: "eip712Domain" });
      const answer = expect(await call(stack, "GET", "rewards/claim-request", alice), 200);
      const now = Number(await networkHelpers.time.latest());
      assert.deepEqual(answer.typedData, {
        domain: { name, version, chainId: Number(chainId), verifyingContract },
        types: {
          EIP712Domain: [
            { name: "name", type: "string" },
            { name: "version", type: "string" },
            { name: "chainId", type: "uint256" },
            { name: "verifyingContract", type: "address" },
          ],
          ForwardRequest: [
            { name: "from", type: "address" },
            { name: "to", type: "address" },
            { name: "value", type: "uint256" },
            { name: "gas", type: "uint256" },
            { name: "nonce", type: "uint256" },
            { name: "deadline", type: "uint48" },
            { name: "data", type: "bytes" },
          ],
        },
        primaryType: "ForwardRequest",
        message: { from: wallet(USERS.alice), to: distributor, value: "0", gas: DEFAULT_CLAIM_GAS.toString(), nonce: "0", deadline: now + 3600, data: CLAIM_CALLDATA },
      });
      assert.equal(answer.pendingWei, (await pendingOf(stack, USERS.alice, POOL_IDS.users)).toString());
      const chosen = expect(await call(stack, "GET", `rewards/claim-request?deadline=${now + 60}`, alice), 200);
      assert.equal(chosen.typedData.message.deadline, now + 60);

      for (const query of ["deadline=abc", "deadline=-5", "deadline=1.5", "colour=red"]) {
        expect(await call(stack, "GET", `rewards/claim-request?${query}`, alice), 400, "VALIDATION_FAILED");
      }
      for (const deadline of [1, now, 2 ** 48]) {
        expect(await call(stack, "GET", `rewards/claim-request?deadline=${deadline}`, alice), 400, "INVALID_DEADLINE");
      }
      expect(await call(stack, "GET", "rewards/claim-request", await walletlessToken(stack)), 409, "WALLET_NOT_LINKED");
      const disabled = expect(await call(phase0, "GET", "rewards/claim-request", (await signIn(phase0.api, USERS.alice)).token), 409, "FEATURE_DISABLED");
      assert.equal(disabled.error.details.feature, "claims");
      expect(await call(chainOff, "GET", "rewards/claim-request", (await signIn(chainOff.api, USERS.alice)).token), 409, "FEATURE_DISABLED");
    });

    it("refuses claims that are malformed (400), not the account's (403), not a claim, forged, expired or empty", async () => {
      const signed = await signedClaim(stack, alice, USERS.alice);
      for (const payload of [
        {},
        { request: signed.request },
        { request: signed.request, signature: "0x123" },
        { request: { ...signed.request, gas: 150000 }, signature: signed.signature },
        { request: { ...signed.request, to: "0xnope" }, signature: signed.signature },
        { request: { ...signed.request, deadline: 2 ** 48 }, signature: signed.signature },
        { request: { ...signed.request, colour: "red" }, signature: signed.signature },
        { ...signed, extra: 1 },
      ]) {
        expect(await call(stack, "POST", "rewards/claim", alice, payload), 400, "VALIDATION_FAILED");
      }
      expect(await call(stack, "POST", "rewards/claim", bob, signed), 403, "NOT_YOUR_REQUEST");
      expect(await call(stack, "POST", "rewards/claim", await walletlessToken(stack), signed), 409, "WALLET_NOT_LINKED");
      const cxpt = stack.deployment.contracts.cxpt!;
      expect(await call(stack, "POST", "rewards/claim", alice, { ...signed, request: { ...signed.request, to: cxpt } }), 400, "NOT_A_CLAIM");
      expect(await call(stack, "POST", "rewards/claim", alice, { ...signed, request: { ...signed.request, data: "0x" } }), 400, "NOT_A_CLAIM");

      // Bob signs what alice should have signed.
      const { typedData } = expect(await call(stack, "GET", "rewards/claim-request", alice), 200);
      const forged = await (await walletOf(USERS.bob)).signTypedData(typedData);
      expect(await call(stack, "POST", "rewards/claim", alice, { request: typedData.message, signature: forged }), 400, "INVALID_SIGNATURE");

      const now = Number(await networkHelpers.time.latest());
      const shortLived = await signedClaim(stack, alice, USERS.alice, `?deadline=${now + 10}`);
      await networkHelpers.time.increase(60);
      expect(await call(stack, "POST", "rewards/claim", alice, shortLived), 400, "REQUEST_EXPIRED");

      const { token } = await signIn(stack.api, USERS.admin);
      expect(await call(stack, "POST", "rewards/claim", token, await signedClaim(stack, token, USERS.admin)), 409, "NOTHING_TO_CLAIM");

      // Without a relayer nobody pays the gas.
      const chain = stack.app.chain!;
      const { relayer: _, ...keys } = chain.signers;
      stack.app.chain = { ...chain, signers: keys };
      try {
        expect(await call(stack, "POST", "rewards/claim", alice, signed), 503, "RELAYER_MISSING");
      } finally {
        stack.app.chain = chain;
      }

      const off = (await signIn(phase0.api, USERS.alice)).token;
      expect(await call(phase0, "POST", "rewards/claim", off, signed), 409, "FEATURE_DISABLED");
      // Nothing was claimed or booked.
      assert.ok((await pendingOf(stack, USERS.alice, POOL_IDS.users)) > 0n);
      assert.deepEqual(expect(await call(stack, "GET", "tokens/transactions", alice), 200).transactions, []);
    });

    it("claims end to end: signed by the wallet (eth_signTypedData_v4), relayed without gas, paid, booked, not replayable", async () => {
      const from = wallet(USERS.alice);
      const pending = await pendingOf(stack, USERS.alice, POOL_IDS.users);
      const available = expect(await call(stack, "GET", "rewards/available", alice), 200);
      assert.equal(available.totalWei, pending.toString());
      const cxptBefore = await cxptOf(stack, from);
      const publicClient = await viem.getPublicClient();
      const ethBefore = await publicClient.getBalance({ address: from });

      // The typed data goes to a browser wallet as it is.
      const { typedData } = expect(await call(stack, "GET", "rewards/claim-request", alice), 200);
      const signature = await connection.provider.request({ method: "eth_signTypedData_v4", params: [from, JSON.stringify(typedData)] });
      const body = { request: typedData.message, signature };
      const claimed = expect(await call(stack, "POST", "rewards/claim", alice, body), 200);

      assert.equal(claimed.claimedWei, pending.toString());
      assert.equal(claimed.totalEarningsWei, pending.toString());
      assert.equal(await cxptOf(stack, from), cxptBefore + pending, "the wallet received the rewards");
      assert.equal(await publicClient.getBalance({ address: from }), ethBefore, "the relayer paid the gas");
      const receipt = await publicClient.getTransactionReceipt({ hash: claimed.txHash });
      assert.equal(receipt.to, stack.deployment.contracts.forwarder!.toLowerCase());
      assert.equal(receipt.from, stack.app.chain!.signers.relayer!.account.address.toLowerCase());
      assert.equal(claimed.blockNumber, receipt.blockNumber.toString());
      assert.deepEqual(
        { type: claimed.transaction.type, status: claimed.transaction.status, amountWei: claimed.transaction.amountWei, txHash: claimed.transaction.txHash },
        { type: "claim", status: "confirmed", amountWei: pending.toString(), txHash: claimed.txHash },
      );

      const history = expect(await call(stack, "GET", "tokens/transactions?type=claim", alice), 200);
      assert.deepEqual(history.transactions, [claimed.transaction]);
      const me = expect(await call(stack, "GET", "accounts/me", alice), 200);
      assert.equal(me.totalEarningsWei, pending.toString());
      const after = expect(await call(stack, "GET", "rewards/available", alice), 200);
      assert.deepEqual([after.totalWei, after.totalEarningsWei], ["0", pending.toString()]);

      // The same signed request again: the forwarder's nonce has moved on.
      expect(await call(stack, "POST", "rewards/claim", alice, body), 400, "INVALID_SIGNATURE");
      expect(await call(stack, "POST", "rewards/claim", alice, await signedClaim(stack, alice, USERS.alice)), 409, "NOTHING_TO_CLAIM");
      assert.equal(await cxptOf(stack, from), cxptBefore + pending);
      assert.equal(expect(await call(stack, "GET", "tokens/transactions", alice), 200).transactions.length, 1);
    });

    it("withdraws a provider's earnings to its wallet once, even when submitted several times at once", async () => {
      const from = wallet(USERS.carol);
      const pending = await pendingOf(stack, USERS.carol, POOL_IDS.providers);
      assert.ok(pending > 0n);
      const before = expect(await call(stack, "GET", "tokens/balance", carol), 200).onchain.balanceWei;
      const signed = await signedClaim(stack, carol, USERS.carol);
      expect(await call(stack, "POST", "tokens/withdraw", alice, signed), 403, "NOT_YOUR_REQUEST");

      // Bob claims at the same moment: the relayer key relays both.
      const bobs = call(stack, "POST", "rewards/claim", bob, await signedClaim(stack, bob, USERS.bob));
      const answers = await Promise.all(Array.from({ length: 3 }, () => call(stack, "POST", "tokens/withdraw", carol, signed)));
      assert.equal(expect(await bobs, 200).transaction.type, "claim");
      const ok = answers.filter((a) => a.statusCode === 200);
      assert.equal(ok.length, 1, answers.map((a) => a.body).join("\n"));
      for (const refused of answers.filter((a) => a.statusCode !== 200)) expect(refused, 400, "INVALID_SIGNATURE");
      const withdrawn = ok[0]!.json();
      assert.equal(withdrawn.claimedWei, pending.toString());
      assert.equal(withdrawn.transaction.type, "withdrawal");
      assert.equal(withdrawn.totalEarningsWei, pending.toString());

      const balance = expect(await call(stack, "GET", "tokens/balance", carol), 200);
      assert.equal(balance.onchain.balanceWei, (BigInt(before) + pending).toString());
      assert.equal(await cxptOf(stack, from), BigInt(before) + pending);
      assert.deepEqual(expect(await call(stack, "GET", "tokens/transactions", carol), 200).transactions, [withdrawn.transaction]);
      assert.equal(expect(await call(stack, "GET", "accounts/me", carol), 200).totalEarningsWei, pending.toString());
      assert.equal(expect(await call(stack, "GET", "rewards/available", carol), 200).totalWei, "0");
    });

    it("relays through the external relayer service when RELAYER_URL is set", async () => {
      const service = await relayService(stack, "relay-key");
      const { config } = stack.app;
      Object.assign(stack.app, { config: { ...config, relayerUrl: service.url, relayerApiKey: "relay-key" } });
      try {
        const { token } = await signIn(stack.api, DAVE);
        const pending = await pendingOf(stack, DAVE, POOL_IDS.users);
        const before = await cxptOf(stack, wallet(DAVE));
        const claimed = expect(await call(stack, "POST", "rewards/claim", token, await signedClaim(stack, token, DAVE)), 200);
        assert.equal(claimed.claimedWei, pending.toString());
        assert.equal(await cxptOf(stack, wallet(DAVE)), before + pending);
        assert.equal(service.received.length, 1);
        const [{ apiKey, body }] = service.received as { apiKey: string; body: { to: string; method: string; from: string } }[];
        assert.deepEqual([apiKey, body.to, body.method, body.from], ["relay-key", stack.deployment.contracts.forwarder, "execute", wallet(DAVE)]);
      } finally {
        Object.assign(stack.app, { config });
        await service.close();
      }
    });
  });
}
