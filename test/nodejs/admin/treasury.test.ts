import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseEther, toHex, zeroAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { cxptAbi, distributorAbi, safeAbi, vaultAbi } from "../../../src/chain/abis.ts";
import { execTransactionArgs } from "../../../src/chain/safe.ts";
import { DEV_KEYS, devKey } from "../../../src/devstack/keys.ts";
import { auth, BACKENDS, expectReply as expect, fundCxpt, signIn, startStack, USERS, viem, walletOf, type Stack } from "../api/harness.ts";

const OWNERS = DEV_KEYS.safeOwners.map(devKey);
const wallet = (key: Hex): Address => privateKeyToAccount(key).address;
/** Where the withdrawals go in these tests. */
const TREASURY = wallet(devKey(18));

async function adminToken(stack: Stack): Promise<string> {
  const { token, accountId } = await signIn(stack.api, USERS.admin);
  await stack.app.db.query("update accounts set role = 'admin' where id = $1", [accountId]);
  return token;
}

const call = (stack: Stack, method: "GET" | "POST", url: string, token: string, payload?: object) =>
  stack.api.inject({ method, url: `/api/v1/admin/protocol/withdrawals${url}`, headers: auth(token), ...(payload ? { payload } : {}) });

async function protocolBalance(stack: Stack): Promise<bigint> {
  const publicClient = await viem.getPublicClient();
  return publicClient.readContract({ address: stack.deployment.contracts.distributor!, abi: distributorAbi, functionName: "protocolBalance" });
}

async function safeNonce(stack: Stack): Promise<bigint> {
  return (await viem.getPublicClient()).readContract({ address: stack.deployment.contracts.safe!, abi: safeAbi, functionName: "nonce" });
}

async function cxptOf(stack: Stack, address: Address): Promise<bigint> {
  return (await viem.getPublicClient()).readContract({ address: stack.deployment.contracts.cxpt!, abi: cxptAbi, functionName: "balanceOf", args: [address] });
}

/** A protocol balance to withdraw: 1000 CXPT paid into the Vault and swept into the distributor. */
async function fundProtocol(stack: Stack): Promise<bigint> {
  const { cxpt, vault } = stack.deployment.contracts;
  const payer = USERS.carol;
  const amount = parseEther("1000");
  await fundCxpt(stack.deployment, wallet(payer), amount);
  const w = await walletOf(payer);
  const publicClient = await viem.getPublicClient();
  for (const hash of [
    await w.writeContract({ address: cxpt!, abi: cxptAbi, functionName: "approve", args: [vault!, amount] }),
    await w.writeContract({ address: vault!, abi: vaultAbi, functionName: "deposit", args: [amount, toHex(0n, { size: 32 })] }),
    await w.writeContract({ address: vault!, abi: vaultAbi, functionName: "sweep" }),
  ]) {
    assert.equal((await publicClient.waitForTransactionReceipt({ hash })).status, "success");
  }
  const balance = await protocolBalance(stack);
  assert.ok(balance > 0n);
  return balance;
}

interface WithdrawalBody {
  id: string;
  status: string;
  to: Address;
  amountWei: string;
  safeNonce: string;
  safeTxHash: Hex;
  transaction: { to: Address; data: Hex };
  confirmations: { owner: Address; at: string }[];
  threshold: number;
  owners: Address[];
  typedData: { message: Record<string, unknown> } & Record<string, unknown>;
  txHash: Hex | null;
}

/** `key` signs the typed data as the API hands it out, unchanged (as a browser wallet would). */
async function signAs(key: Hex, w: WithdrawalBody): Promise<Hex> {
  return (await walletOf(key)).signTypedData(w.typedData as unknown as Parameters<Awaited<ReturnType<typeof walletOf>>["signTypedData"]>[0]);
}

async function auditActions(stack: Stack, limit: number) {
  const { rows } = await stack.app.db.query<{ action: string; outcome: { status: string; code?: string } }>(
    "select action, outcome from audit_log order by id desc limit $1",
    [limit],
  );
  return rows.map((r) => `${r.action}:${r.outcome.code ?? r.outcome.status}`);
}

for (const backend of BACKENDS) {
  describe(`protocol withdrawals through the Safe (${backend})`, () => {
    let stack: Stack;
    let token: string;
    let balance: bigint;
    before(async () => {
      stack = await startStack(backend);
      token = await adminToken(stack);
      balance = await fundProtocol(stack);
    });
    after(async () => stack.close());

    it("answers 401 and 403 before reading the body", async () => {
      const member = (await signIn(stack.api, USERS.alice)).token;
      for (const [method, url] of [["GET", ""], ["POST", ""], ["POST", "/1/confirmations"], ["POST", "/1/confirm-held"], ["POST", "/1/execute"]] as const) {
        expect(await stack.api.inject({ method, url: `/api/v1/admin/protocol/withdrawals${url}`, payload: {} }), 401, "UNAUTHENTICATED");
        expect(await call(stack, method, url, member, {}), 403, "ADMIN_ONLY");
      }
    });

    it("proposes a withdrawal: the Safe transaction at the Safe's nonce, no confirmation, nothing on chain", async () => {
      const nonce = await safeNonce(stack);
      const w = expect(await call(stack, "POST", "", token, { to: TREASURY, amountWei: (balance / 2n).toString() }), 201) as WithdrawalBody;
      assert.equal(w.status, "proposed");
      assert.equal(w.to, TREASURY);
      assert.equal(w.amountWei, (balance / 2n).toString());
      assert.equal(w.safeNonce, nonce.toString());
      assert.equal(w.transaction.to, stack.deployment.contracts.distributor);
      assert.deepEqual(w.confirmations, []);
      assert.equal(w.threshold, 2);
      assert.deepEqual(w.owners.map((o) => o.toLowerCase()).sort(), OWNERS.map((k) => wallet(k).toLowerCase()).sort());
      const publicClient = await viem.getPublicClient();
      const onChainHash = await publicClient.readContract({
        address: stack.deployment.contracts.safe!,
        abi: safeAbi,
        functionName: "getTransactionHash",
        args: [w.transaction.to, 0n, w.transaction.data, 0, 0n, 0n, 0n, zeroAddress, zeroAddress, nonce],
      });
      assert.equal(w.safeTxHash, onChainHash, "the hash owners sign is the Safe's own");
      assert.equal(await safeNonce(stack), nonce);
      assert.equal(await protocolBalance(stack), balance);

      const list = expect(await call(stack, "GET", "", token), 200);
      assert.equal(list.protocolBalanceWei, balance.toString());
      assert.equal(list.safe.threshold, 2);
      assert.equal(list.safe.nonce, nonce.toString());
      assert.equal(list.safe.heldOwners.length, 3);
      assert.equal(list.withdrawals[0].id, w.id);
      assert.deepEqual((await auditActions(stack, 1))[0], "propose_protocol_withdrawal:proposed");
    });

    it("refuses bad proposals with named errors and audits them", async () => {
      expect(await call(stack, "POST", "", token, { to: TREASURY, amountWei: (balance + 1n).toString() }), 422, "INSUFFICIENT_PROTOCOL_BALANCE");
      expect(await call(stack, "POST", "", token, { to: zeroAddress, amountWei: "1" }), 400, "INVALID_RECIPIENT");
      expect(await call(stack, "POST", "", token, { to: TREASURY, amountWei: "0" }), 400, "INVALID_AMOUNT");
      expect(await call(stack, "POST", "", token, { to: "0x12", amountWei: "1" }), 400, "VALIDATION_FAILED");
      assert.deepEqual(await auditActions(stack, 3), [
        "propose_protocol_withdrawal:INVALID_AMOUNT",
        "propose_protocol_withdrawal:INVALID_RECIPIENT",
        "propose_protocol_withdrawal:INSUFFICIENT_PROTOCOL_BALANCE",
      ]);
      const again = { to: TREASURY, amountWei: "12345" };
      expect(await call(stack, "POST", "", token, again), 201);
      expect(await call(stack, "POST", "", token, again), 409, "WITHDRAWAL_EXISTS");
    });

    it("collects owner confirmations, refuses strangers and doubles, and executes at the threshold", async () => {
      const amount = balance / 4n;
      const w = expect(await call(stack, "POST", "", token, { to: TREASURY, amountWei: amount.toString() }), 201) as WithdrawalBody;
      expect(await call(stack, "POST", `/${w.id}/execute`, token), 409, "BELOW_THRESHOLD");

      const stranger = await signAs(USERS.alice, w);
      expect(await call(stack, "POST", `/${w.id}/confirmations`, token, { signature: stranger }), 403, "NOT_SAFE_OWNER");
      expect(await call(stack, "POST", `/${w.id}/confirmations`, token, { signature: "0x1234" }), 400, "INVALID_SIGNATURE");
      expect(await call(stack, "POST", "/999999/confirmations", token, { signature: stranger }), 404, "WITHDRAWAL_NOT_FOUND");

      // The second owner confirms from its own wallet (the production path).
      const own = await signAs(OWNERS[1]!, w);
      const one = expect(await call(stack, "POST", `/${w.id}/confirmations`, token, { signature: own }), 200) as WithdrawalBody;
      assert.deepEqual(one.confirmations.map((c) => c.owner), [wallet(OWNERS[1]!)]);
      expect(await call(stack, "POST", `/${w.id}/confirmations`, token, { signature: own }), 409, "ALREADY_CONFIRMED");
      expect(await call(stack, "POST", `/${w.id}/execute`, token), 409, "BELOW_THRESHOLD");

      // The backend adds one with the first owner key it holds that has not confirmed.
      const two = expect(await call(stack, "POST", `/${w.id}/confirm-held`, token), 200) as WithdrawalBody;
      assert.deepEqual(two.confirmations.map((c) => c.owner), [wallet(OWNERS[1]!), wallet(OWNERS[0]!)]);
      assert.equal(two.status, "proposed");

      const before = { treasury: await cxptOf(stack, TREASURY), protocol: await protocolBalance(stack), nonce: await safeNonce(stack) };
      const done = expect(await call(stack, "POST", `/${w.id}/execute`, token), 200) as WithdrawalBody;
      assert.equal(done.status, "executed");
      assert.match(done.txHash ?? "", /^0x[0-9a-f]{64}$/);
      const receipt = await (await viem.getPublicClient()).getTransactionReceipt({ hash: done.txHash! });
      assert.equal(receipt.status, "success");
      assert.equal(await cxptOf(stack, TREASURY), before.treasury + amount);
      assert.equal(await protocolBalance(stack), before.protocol - amount);
      assert.equal(await safeNonce(stack), before.nonce + 1n);
      expect(await call(stack, "POST", `/${w.id}/execute`, token), 409, "WITHDRAWAL_EXECUTED");
      expect(await call(stack, "POST", `/${w.id}/confirm-held`, token), 409, "WITHDRAWAL_EXECUTED");
      assert.deepEqual((await auditActions(stack, 3))[2], "execute_protocol_withdrawal:executed");
    });

    it("runs out of held owner keys with 409 after one confirmation each", async () => {
      const w = expect(await call(stack, "POST", "", token, { to: TREASURY, amountWei: "1000" }), 201) as WithdrawalBody;
      for (let i = 1; i <= 3; i++) {
        assert.equal((expect(await call(stack, "POST", `/${w.id}/confirm-held`, token), 200) as WithdrawalBody).confirmations.length, i);
      }
      expect(await call(stack, "POST", `/${w.id}/confirm-held`, token), 409, "NO_OWNER_KEY_LEFT");
    });

    it("books an execution that was broadcast but not booked (a crash in between): executed, not stale", async () => {
      const w = expect(await call(stack, "POST", "", token, { to: TREASURY, amountWei: "4000" }), 201) as WithdrawalBody;
      for (let i = 0; i < 2; i++) expect(await call(stack, "POST", `/${w.id}/confirm-held`, token), 200);
      // What the process did before it died: the hash recorded (beforeBroadcast), the Safe transaction mined.
      const { rows: confirmations } = await stack.app.db.query<{ owner: Address; signature: Hex }>(
        "select owner, signature from protocol_withdrawal_confirmations where withdrawal_id = $1",
        [w.id],
      );
      const executor = await walletOf(OWNERS[0]!);
      const hash = await executor.writeContract({
        address: stack.deployment.contracts.safe!,
        abi: safeAbi,
        functionName: "execTransaction",
        args: execTransactionArgs(w.transaction, BigInt(w.safeNonce), confirmations),
      });
      assert.equal((await (await viem.getPublicClient()).waitForTransactionReceipt({ hash })).status, "success");
      await stack.app.db.query("update protocol_withdrawals set tx_hash = $2 where id = $1", [w.id, hash]);

      const list = expect(await call(stack, "GET", "", token), 200);
      const booked = list.withdrawals.find((x: WithdrawalBody) => x.id === w.id) as WithdrawalBody;
      assert.equal(booked.status, "executed");
      assert.equal(booked.txHash, hash);
      expect(await call(stack, "POST", `/${w.id}/execute`, token), 409, "WITHDRAWAL_EXECUTED");
    });

    it("marks a proposal whose nonce another Safe transaction used as stale (409 on execute and confirm)", async () => {
      const first = expect(await call(stack, "POST", "", token, { to: TREASURY, amountWei: "2000" }), 201) as WithdrawalBody;
      const second = expect(await call(stack, "POST", "", token, { to: TREASURY, amountWei: "3000" }), 201) as WithdrawalBody;
      assert.equal(first.safeNonce, second.safeNonce);
      expect(await call(stack, "POST", `/${first.id}/confirm-held`, token), 200);
      for (let i = 0; i < 2; i++) expect(await call(stack, "POST", `/${second.id}/confirm-held`, token), 200);
      expect(await call(stack, "POST", `/${second.id}/execute`, token), 200);

      const list = expect(await call(stack, "GET", "", token), 200);
      assert.equal(list.withdrawals.find((w: WithdrawalBody) => w.id === first.id).status, "stale");
      expect(await call(stack, "POST", `/${first.id}/execute`, token), 409, "SAFE_NONCE_STALE");
      expect(await call(stack, "POST", `/${first.id}/confirm-held`, token), 409, "SAFE_NONCE_STALE");
    });
  });

  describe(`protocol withdrawals with one owner key held (${backend})`, () => {
    let stack: Stack;
    let token: string;
    before(async () => {
      stack = await startStack(backend, { SAFE_OWNER_KEYS: OWNERS[0]! });
      token = await adminToken(stack);
      await fundProtocol(stack);
    });
    after(async () => stack.close());

    it("adds the held key's confirmation once, then needs an owner's wallet", async () => {
      const w = expect(await call(stack, "POST", "", token, { to: TREASURY, amountWei: "5000" }), 201) as WithdrawalBody;
      expect(await call(stack, "POST", `/${w.id}/confirm-held`, token), 200);
      expect(await call(stack, "POST", `/${w.id}/confirm-held`, token), 409, "NO_OWNER_KEY_LEFT");
      expect(await call(stack, "POST", `/${w.id}/execute`, token), 409, "BELOW_THRESHOLD");
      expect(await call(stack, "POST", `/${w.id}/confirmations`, token, { signature: await signAs(OWNERS[2]!, w) }), 200);
      const before = await cxptOf(stack, TREASURY);
      assert.equal((expect(await call(stack, "POST", `/${w.id}/execute`, token), 200) as WithdrawalBody).status, "executed");
      assert.equal(await cxptOf(stack, TREASURY), before + 5000n);
    });
  });

  describe(`protocol withdrawals without owner keys (${backend})`, () => {
    let stack: Stack;
    let token: string;
    before(async () => {
      stack = await startStack(backend, { SAFE_OWNER_KEYS: "" });
      token = await adminToken(stack);
      await fundProtocol(stack);
    });
    after(async () => stack.close());

    it("answers 503 to confirm-held, and executes with owners' signatures paid by the operator key", async () => {
      const w = expect(await call(stack, "POST", "", token, { to: TREASURY, amountWei: "7000" }), 201) as WithdrawalBody;
      expect(await call(stack, "POST", `/${w.id}/confirm-held`, token), 503, "NO_OWNER_KEYS");
      for (const owner of [OWNERS[2]!, OWNERS[0]!]) expect(await call(stack, "POST", `/${w.id}/confirmations`, token, { signature: await signAs(owner, w) }), 200);
      const before = await cxptOf(stack, TREASURY);
      const done = expect(await call(stack, "POST", `/${w.id}/execute`, token), 200) as WithdrawalBody;
      const receipt = await (await viem.getPublicClient()).getTransactionReceipt({ hash: done.txHash! });
      assert.equal(receipt.from.toLowerCase(), wallet(devKey(DEV_KEYS.operator)).toLowerCase());
      assert.equal(await cxptOf(stack, TREASURY), before + 7000n);
    });
  });
}
