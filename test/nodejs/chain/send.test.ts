// The backend's sender (src/chain/send.ts) on the in-process chain: a revert is refused before
// anything is sent, concurrent sends of one key take consecutive nonces, a transaction stuck
// under a rising base fee is replaced with higher fees and lands once, and a send that gave up
// leaves its nonce to the key's next send. Automine and chain state are restored after each test
// (every test file shares the one chain of the harness).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, it } from "node:test";
import { createPublicClient, createWalletClient, custom, getAddress, toHex, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { cxptAbi } from "../../../src/chain/abis.ts";
import { send, type SendChain } from "../../../src/chain/send.ts";
import type { SuiteDeployment } from "../../../src/chain/types.ts";
import { DEV_KEYS, devKey } from "../../../src/devstack/keys.ts";
import { AppError } from "../../../src/errors.ts";
import { createMetrics } from "../../../src/monitoring/metrics.ts";
import { connection, loadDeployment, viem } from "../api/harness.ts";

const rpc = (method: string, params: unknown[] = []) => connection.provider.request({ method, params });
const fresh = (): Address => getAddress(toHex(randomBytes(20)));

/** The distribution key (it holds the genesis CXPT) as the backend would send with it. */
async function sender(): Promise<SendChain> {
  const { chain } = await viem.getPublicClient();
  const transport = custom(connection.provider);
  return {
    client: createPublicClient({ chain, transport, pollingInterval: 20 }) as PublicClient,
    signer: createWalletClient({ chain, transport, account: privateKeyToAccount(devKey(DEV_KEYS.distribution)) }),
  };
}

/** Resolves once `condition` holds, polling the chain meanwhile. */
async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe("chain sender", () => {
  let deployment: SuiteDeployment;
  let chain: SendChain;
  let snapshot: unknown;
  const cxpt = () => deployment.contracts.cxpt!;
  const transfer = (to: Address, amount: bigint) => ({ address: cxpt(), abi: cxptAbi, functionName: "transfer", args: [to, amount] }) as const;
  const balanceOf = (who: Address) => chain.client.readContract({ address: cxpt(), abi: cxptAbi, functionName: "balanceOf", args: [who] });
  const nonces = async () => {
    const address = chain.signer.account.address;
    const [mined, pending] = await Promise.all([
      chain.client.getTransactionCount({ address, blockTag: "latest" }),
      chain.client.getTransactionCount({ address, blockTag: "pending" }),
    ]);
    return { mined, pending };
  };
  const minedHashes = async (hashes: readonly Hex[]) => {
    const receipts = await Promise.all(hashes.map((hash) => chain.client.getTransactionReceipt({ hash }).catch(() => undefined)));
    return hashes.filter((_, i) => receipts[i] !== undefined);
  };

  beforeEach(async () => {
    deployment = await loadDeployment();
    chain = await sender();
    snapshot = await rpc("evm_snapshot");
  });
  afterEach(async () => {
    await rpc("evm_setAutomine", [true]);
    await rpc("evm_revert", [snapshot]);
  });

  it("refuses a reverting call with its custom error before sending, and leaves the nonce to the next send", async () => {
    const before = await nonces();
    const balance = await balanceOf(chain.signer.account.address);
    const metrics = createMetrics();
    await assert.rejects(send(chain, transfer(fresh(), balance + 1n), { counter: metrics.chainTransactions }), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, "TX_WOULD_REVERT");
      assert.equal(error.details?.reason, "ERC20InsufficientBalance");
      assert.match(error.message, /ERC20InsufficientBalance\(/);
      return true;
    });
    assert.deepEqual(await nonces(), before);
    const to = fresh();
    const { receipt, hash } = await send(chain, transfer(to, 5n), { counter: metrics.chainTransactions });
    assert.equal(receipt.status, "success");
    assert.equal((await chain.client.getTransaction({ hash })).nonce, before.pending);
    assert.equal(await balanceOf(to), 5n);
    const counted = (await metrics.chainTransactions.get()).values.map((v) => [v.labels.outcome, v.value]);
    assert.deepEqual(Object.fromEntries(counted), { refused: 1, success: 1 });
  });

  it("sends concurrent transactions of one key with consecutive nonces, each once", async () => {
    const { pending: first } = await nonces();
    const to = fresh();
    const amounts = Array.from({ length: 8 }, (_, i) => BigInt(i + 1));
    const sent = await Promise.all(amounts.map((amount) => send(chain, transfer(to, amount))));
    assert.ok(sent.every(({ receipt }) => receipt.status === "success"));
    const used = await Promise.all(sent.map(async ({ hash }) => (await chain.client.getTransaction({ hash })).nonce));
    assert.deepEqual([...used].sort((a, b) => a - b), amounts.map((_, i) => first + i));
    assert.equal(await balanceOf(to), amounts.reduce((a, b) => a + b));
    assert.deepEqual(await nonces(), { mined: first + amounts.length, pending: first + amounts.length });
  });

  it("replaces a transaction the base fee left behind with higher fees, and exactly one of its hashes is mined", async () => {
    await rpc("evm_setAutomine", [false]);
    const { pending: nonce } = await nonces();
    const to = fresh();
    const hashes: Hex[] = [];
    const metrics = createMetrics();
    const sending = send(chain, transfer(to, 7n), { receiptTimeoutMs: 100, beforeBroadcast: (hash) => void hashes.push(hash), counter: metrics.chainTransactions });
    // Each hash is told before its broadcast: the node holds it a moment later.
    const held = (hash: Hex) => chain.client.getTransaction({ hash }).catch(() => undefined);
    await until(async () => hashes.length === 1 && (await held(hashes[0]!)) !== undefined);
    const first = await chain.client.getTransaction({ hash: hashes[0]! });
    // The fee market moves past the first broadcast: a block it cannot pay for is mined without it.
    await rpc("hardhat_setNextBlockBaseFeePerGas", [toHex(first.maxFeePerGas! * 4n)]);
    await rpc("evm_mine");
    const { baseFeePerGas } = await chain.client.getBlock();
    assert.deepEqual(await minedHashes(hashes), []);
    // The sender notices and re-sends the same nonce with fees the new base fee allows.
    await until(async () => ((await held(hashes.at(-1)!))?.maxFeePerGas ?? 0n) >= baseFeePerGas!);
    await rpc("evm_mine");
    const { hash, receipt } = await sending;

    assert.equal(receipt.status, "success");
    assert.ok(hashes.length >= 2);
    assert.deepEqual(await minedHashes(hashes), [hash]);
    assert.equal((await chain.client.getTransaction({ hash })).nonce, nonce);
    assert.equal(await balanceOf(to), 7n);
    assert.deepEqual(await nonces(), { mined: nonce + 1, pending: nonce + 1 });
    const counted = Object.fromEntries((await metrics.chainTransactions.get()).values.map((v) => [v.labels.outcome, v.value]));
    assert.equal(counted.success, 1);
    assert.equal(counted.replaced, hashes.length - 1);
  });

  it("gives up on a transaction never mined, and the key's next send replaces it on the same nonce", async () => {
    await rpc("evm_setAutomine", [false]);
    const { pending: nonce } = await nonces();
    const [dropped, landed] = [fresh(), fresh()];
    await assert.rejects(send(chain, transfer(dropped, 3n), { attempts: 2, receiptTimeoutMs: 50 }), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, "TX_STUCK");
      assert.equal((error.details?.hashes as Hex[]).length, 2);
      return true;
    });
    const told: Hex[] = [];
    const next = send(chain, transfer(landed, 4n), { beforeBroadcast: (hash) => void told.push(hash) });
    // Mined once the node holds the replacement.
    await until(async () => told.length === 1 && (await chain.client.getTransaction({ hash: told[0]! }).catch(() => undefined)) !== undefined);
    await rpc("evm_mine");
    const { hash, receipt } = await next;
    assert.equal(hash, told[0]);
    assert.equal(receipt.status, "success");
    assert.equal((await chain.client.getTransaction({ hash })).nonce, nonce);
    assert.equal(await balanceOf(dropped), 0n);
    assert.equal(await balanceOf(landed), 4n);
    assert.deepEqual(await nonces(), { mined: nonce + 1, pending: nonce + 1 });
  });
});
