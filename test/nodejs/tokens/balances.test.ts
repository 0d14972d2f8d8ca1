import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createPublicClient, custom, multicall3Abi, parseEther, type Address, type Hex, type PublicClient } from "viem";
import { hardhat } from "viem/chains";
import { readWalletFunds, readWalletsFunds } from "../../../src/tokens/balances.ts";
import { multicallOf } from "../../../src/chain/reads.ts";
import { connection, loadSuite, type Suite } from "../helpers/fixture.ts";

/** The well-known Multicall3 address chains declare (nothing is deployed there on the local chain). */
const CANONICAL_MULTICALL3: Address = "0xcA11bde05977b3631167028862bE2a173976CA11";

/**
 * A public client of the in-process chain whose chain definition declares Multicall3 at
 * `multicall3`, counting the eth_calls it sends.
 */
function clientDeclaring(multicall3: Address) {
  const calls = { count: 0 };
  const client = createPublicClient({
    chain: { ...hardhat, contracts: { multicall3: { address: multicall3 } } },
    transport: custom({
      request: (args: { method: string; params?: unknown }) => {
        if (args.method === "eth_call") calls.count += 1;
        return connection.provider.request(args as never);
      },
    }),
  }) as PublicClient;
  return { client, calls };
}

/** Deploys Multicall3 from the bytecode viem ships (internal to viem: imported by file URL). */
async function deployMulticall3(s: Suite): Promise<Address> {
  const contracts = new URL("./constants/contracts.js", import.meta.resolve("viem"));
  const { multicall3Bytecode } = (await import(contracts.href)) as { multicall3Bytecode: Hex };
  const { admin } = s.wallets;
  const hash = await admin.deployContract({ abi: multicall3Abi, bytecode: multicall3Bytecode, account: admin.account, chain: admin.chain });
  return (await s.publicClient.waitForTransactionReceipt({ hash })).contractAddress!;
}

describe("readWalletFunds", () => {
  it("the local chain has no Multicall3: parallel reads; capacity is min(balance, allowance)", async () => {
    const s = await loadSuite();
    const { alice } = s.wallets;
    const query = { cxpt: s.cxpt.address, vault: s.vault.address, wallet: alice.account.address };
    assert.equal(await multicallOf(s.publicClient), undefined);
    assert.equal(await s.publicClient.getCode({ address: CANONICAL_MULTICALL3 }), undefined);
    const balance = await s.cxpt.read.balanceOf([alice.account.address]);

    assert.deepEqual(await readWalletFunds(s.publicClient, query), { balance, allowanceToVault: 0n, paygCapacity: 0n });
    await s.cxpt.write.approve([s.vault.address, parseEther("500")], { account: alice.account });
    assert.deepEqual(await readWalletFunds(s.publicClient, query), {
      balance,
      allowanceToVault: parseEther("500"),
      paygCapacity: parseEther("500"),
    });
    await s.cxpt.write.approve([s.vault.address, balance + 1n], { account: alice.account });
    assert.deepEqual(await readWalletFunds(s.publicClient, query), { balance, allowanceToVault: balance + 1n, paygCapacity: balance });
  });

  it("batches through Multicall3 when the chain has it, with the same results as parallel reads", async () => {
    const s = await loadSuite();
    const { alice, bob, carol, relayer } = s.wallets;
    await s.cxpt.write.approve([s.vault.address, parseEther("7")], { account: alice.account });
    await s.cxpt.write.approve([s.vault.address, parseEther("2000000")], { account: bob.account });
    const query = {
      cxpt: s.cxpt.address,
      vault: s.vault.address,
      wallets: [alice, bob, carol, relayer].map((w) => w.account.address),
    };
    const { client, calls } = clientDeclaring(await deployMulticall3(s));

    assert.notEqual(await multicallOf(client), undefined);
    const batched = await readWalletsFunds(client, query);
    assert.equal(calls.count, 1, "one eth_call for eight reads");
    assert.deepEqual(batched, await readWalletsFunds(s.publicClient, query));
    assert.deepEqual(
      batched.map((f) => f.paygCapacity),
      [parseEther("7"), parseEther("1000000"), 0n, 0n],
    );
  });

  it("falls back to parallel reads when the declared Multicall3 has no code", async () => {
    const s = await loadSuite();
    const { client, calls } = clientDeclaring(CANONICAL_MULTICALL3);
    const wallet = s.wallets.alice.account.address;

    assert.equal(await multicallOf(client), undefined);
    const funds = await readWalletFunds(client, { cxpt: s.cxpt.address, vault: s.vault.address, wallet });
    assert.equal(funds.balance, await s.cxpt.read.balanceOf([wallet]));
    assert.equal(calls.count, 2);
  });
});
