// Throwaway: per-opcode gas of one collectChunk of N fresh users (not committed).
import { createWalletClient, custom, parseEther, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { buildTree } from "../src/settlement/tree.ts";
import { connection, deploySuite, networkHelpers } from "../test/nodejs/helpers/fixture.ts";

const N = Number(process.env.N ?? 100);
const suite = await deploySuite();
const { publicClient, cxpt, vault, billing, wallets } = suite;
const users: Address[] = [];
for (let i = 0; i < N; i++) {
  const account = privateKeyToAccount(generatePrivateKey());
  const client = createWalletClient({ account, chain: publicClient.chain, transport: custom(connection.provider) });
  await networkHelpers.setBalance(account.address, parseEther("1"));
  await cxpt.write.transfer([account.address, parseEther("10")], { account: wallets.distribution.account });
  await client.writeContract({ address: cxpt.address, abi: cxpt.abi, functionName: "approve", args: [vault.address, parseEther("10")] });
  await client.writeContract({ address: billing.address, abi: billing.abi, functionName: "setSpendingCap", args: [parseEther("10"), 86_400n] });
  users.push(account.address);
}
const leaves = users.map((user, i) => ({ index: BigInt(i), user, amount: parseEther("0.01") + BigInt(i) }));
const tree = buildTree({ chainId: BigInt(publicClient.chain.id), billing: billing.address, batchId: 1n }, leaves);
const total = leaves.reduce((s, l) => s + l.amount, 0n);
await billing.write.commitBatch([1n, tree.root, total, BigInt(N)], { account: wallets.settler.account });
const { leaves: chunk, proof, proofFlags } = tree.chunk(leaves.map((_, i) => i));
const hash: Hex = await billing.write.collectChunk([1n, chunk, proof, proofFlags], { account: wallets.settler.account });
const receipt = await publicClient.waitForTransactionReceipt({ hash });
console.log("gasUsed", receipt.gasUsed, "per user", receipt.gasUsed / BigInt(N));
const trace = (await connection.provider.request({ method: "debug_traceTransaction", params: [hash, { disableStorage: true, disableMemory: true, disableStack: true }] })) as {
  structLogs: { op: string; gasCost: number; depth: number; gas: number }[];
};
const byOp = new Map<string, number>();
const byDepth = new Map<number, number>();
const logs = trace.structLogs;
for (let i = 0; i < logs.length; i++) {
  const l = logs[i];
  // CALL-family gasCost includes the forwarded gas: use the gas drop to the next same-depth step instead.
  let cost = l.gasCost;
  if (["CALL", "DELEGATECALL", "STATICCALL"].includes(l.op)) {
    let j = i + 1;
    while (j < logs.length && logs[j].depth > l.depth) j++;
    const inner = logs[i + 1]?.depth > l.depth ? logs[i + 1].gas - (logs[j - 1]?.gas ?? 0) : 0;
    cost = j < logs.length ? l.gas - logs[j].gas : l.gasCost;
    cost -= 0; void inner;
  }
  byOp.set(l.op, (byOp.get(l.op) ?? 0) + (["CALL", "DELEGATECALL", "STATICCALL"].includes(l.op) ? 0 : cost));
  byDepth.set(l.depth, (byDepth.get(l.depth) ?? 0) + (["CALL", "DELEGATECALL", "STATICCALL"].includes(l.op) ? 0 : cost));
}
const sorted = [...byOp.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
for (const [op, g] of sorted) console.log(op.padEnd(16), String(g).padStart(9), (g / N).toFixed(0).padStart(7), "/user");
for (const [d, g] of byDepth) console.log("depth", d, g, (g / N).toFixed(0), "/user");
const calldata = (receipt as unknown as { input?: Hex }).input;
void calldata;
const tx = await publicClient.getTransaction({ hash });
const bytes = Buffer.from(tx.input.slice(2), "hex");
const cd = [...bytes].reduce((s, b) => s + (b === 0 ? 4 : 16), 0);
console.log("calldata gas", cd, (cd / N).toFixed(0), "/user; intrinsic 21000");
