// Gas benchmark of the contract suite on the in-process chain: `npm run bench:gas`.
// Prints a table and writes bench/results/gas.json. Not a test: it measures and reports.
import { mkdirSync, writeFileSync } from "node:fs";
import { createWalletClient, custom, parseEther, parseSignature, zeroAddress, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { buildTree } from "../src/settlement/tree.ts";
import { connection, deploySuite, networkHelpers, type Suite } from "../test/nodejs/helpers/fixture.ts";

type Row = { operation: string; gas: bigint; note?: string };

const MAX_UINT = 2n ** 256n - 1n;
const results: Row[] = [];
const suite: Suite = await deploySuite();
const { publicClient, cxpt, vault, distributor, subscriptions, billing, wallets } = suite;
const { alice, bob, distribution, rewardsOperator, billingBackend, settler } = wallets;

async function gasOf(hash: Hex): Promise<bigint> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
  return receipt.gasUsed;
}

function record(operation: string, gas: bigint, note?: string) {
  results.push({ operation, gas, note });
}

/** Fresh funded accounts that approved the Vault and set a daily PAYG spending cap, sending from their own keys. */
async function fundedUsers(count: number, balance: bigint) {
  const users: Address[] = [];
  for (let i = 0; i < count; i++) {
    const account = privateKeyToAccount(generatePrivateKey());
    const client = createWalletClient({ account, chain: publicClient.chain, transport: custom(connection.provider) });
    await networkHelpers.setBalance(account.address, parseEther("1"));
    await cxpt.write.transfer([account.address, balance], { account: distribution.account });
    // Finite allowances, as users set them (an unlimited one spares the allowance write).
    await client.writeContract({ address: cxpt.address, abi: cxpt.abi, functionName: "approve", args: [vault.address, balance] });
    await client.writeContract({ address: billing.address, abi: billing.abi, functionName: "setSpendingCap", args: [balance, 86_400n] });
    users.push(account.address);
  }
  return users;
}

// ── floor: a standalone ERC-20 transferFrom transaction (recipient already holds CXPT) ──
await cxpt.write.approve([bob.account.address, MAX_UINT], { account: alice.account });
record(
  "ERC-20 transferFrom (standalone tx, floor)",
  await gasOf(await cxpt.write.transferFrom([alice.account.address, bob.account.address, parseEther("1")], { account: bob.account })),
);

// ── floor of the issue 12 targets: a plain transfer to an existing holder ──
await cxpt.write.transfer([bob.account.address, parseEther("1")], { account: alice.account });
const transferFloor = await gasOf(await cxpt.write.transfer([bob.account.address, parseEther("1")], { account: alice.account }));
record("ERC-20 transfer to an existing holder (standalone tx)", transferFloor);

// ── Vault ──
await cxpt.write.approve([vault.address, MAX_UINT], { account: alice.account });
await vault.write.deposit([parseEther("100"), "0x01".padEnd(66, "0") as Hex], { account: alice.account });
record("Vault.deposit", await gasOf(await vault.write.deposit([parseEther("100"), "0x02".padEnd(66, "0") as Hex], { account: alice.account })));

{
  const amount = parseEther("50");
  const deadline = BigInt(await networkHelpers.time.latest()) + 3600n;
  const [, name, version, chainId, verifyingContract] = await cxpt.read.eip712Domain();
  const nonce = await cxpt.read.nonces([bob.account.address]);
  const signature = await bob.signTypedData({
    domain: { name, version, chainId, verifyingContract },
    types: {
      Permit: [
        { name: "owner", type: "address" },
        { name: "spender", type: "address" },
        { name: "value", type: "uint256" },
        { name: "nonce", type: "uint256" },
        { name: "deadline", type: "uint256" },
      ],
    },
    primaryType: "Permit",
    message: { owner: bob.account.address, spender: vault.address, value: amount, nonce, deadline },
  });
  const { r, s, v } = parseSignature(signature);
  record(
    "Vault.depositWithPermit",
    await gasOf(await vault.write.depositWithPermit([amount, "0x03".padEnd(66, "0") as Hex, deadline, Number(v), r, s], { account: bob.account })),
  );
}
record("Vault.sweep", await gasOf(await vault.write.sweep()));

// ── RewardDistributor: updateShares per account, then claims with 10 and 1,000 accounts ──
async function epochWithAccounts(count: number, known?: readonly Address[]): Promise<{ perAccount: bigint; accounts: Address[] }> {
  const accounts = known !== undefined ? [...known] : Array.from({ length: count }, () => privateKeyToAccount(generatePrivateKey()).address);
  accounts[0] = alice.account.address;
  const epoch = (await distributor.read.currentEpoch()) + 1n;
  const batch = 100;
  let gas = 0n;
  for (let i = 0; i < count; i += batch) {
    const slice = accounts.slice(i, i + batch);
    gas += await gasOf(
      await distributor.write.updateShares([epoch, 0, slice, slice.map((_, j) => BigInt(1 + ((i + j) % 7)))], {
        account: rewardsOperator.account,
      }),
    );
  }
  await vault.write.deposit([parseEther("1000"), "0x04".padEnd(66, "0") as Hex], { account: alice.account });
  await vault.write.sweep();
  const [, end] = await distributor.read.epochTimes([epoch - 1n]);
  const now = BigInt(await networkHelpers.time.latest());
  if (end > now) await networkHelpers.time.increaseTo(end);
  await distributor.write.startEpoch([epoch, 86_400n], { account: rewardsOperator.account });
  await networkHelpers.time.increase(43_200);
  return { perAccount: gas / BigInt(count), accounts };
}

/** A steady-state claim: the account claimed earlier in the running epoch and claims again an hour later. */
async function steadyClaim(): Promise<bigint> {
  await distributor.write.claim({ account: alice.account });
  await networkHelpers.time.increase(3_600);
  return gasOf(await distributor.write.claim({ account: alice.account }));
}

await epochWithAccounts(10);
const claim10 = await steadyClaim();
const thousand = await epochWithAccounts(1_000);
const claim1000 = await steadyClaim();
record("RewardDistributor.updateShares (per account)", thousand.perAccount, "batches of 100 new accounts");
// The same 1,000 accounts uploaded again for the next epoch: each already holds an entry (the steady state of a daily epoch).
const recurring = await epochWithAccounts(1_000, thousand.accounts);
record("RewardDistributor.updateShares (per account, recurring)", recurring.perAccount, "batches of 100 accounts holding the running epoch's entry");
record("RewardDistributor.claim, 10 accounts hold shares", claim10);
record("RewardDistributor.claim, 1,000 accounts hold shares", claim1000);
// The same steady-state claim with the sanctions oracle screening claimants (as deployed: the mock locally, Chainalysis live).
await distributor.write.setSanctionsOracle([suite.sanctions.address], { account: wallets.admin.account });
const claimScreened = await steadyClaim();
await distributor.write.setSanctionsOracle([zeroAddress], { account: wallets.admin.account });
record("RewardDistributor.claim, sanctions oracle set", claimScreened, "one isSanctioned call on top");

// ── SubscriptionManager ──
const planId = await subscriptionsPlan();
record("SubscriptionManager.activatePlan", await gasOf(await subscriptions.write.activatePlan([planId], { account: bob.account })));
const passId = await subscriptions.read.passOf([bob.account.address]);
await subscriptions.write.consumeTokens([passId, 1_000n], { account: billingBackend.account });
record("SubscriptionManager.consumeTokens", await gasOf(await subscriptions.write.consumeTokens([passId, 1_000n], { account: billingBackend.account })));

async function subscriptionsPlan(): Promise<bigint> {
  const plan = { price: parseEther("150"), period: 30 * 86_400, active: true, bucket: 20_000_000n, requestsPerMinute: 40, concurrency: 1 };
  await subscriptions.write.createPlan([plan], { account: wallets.admin.account });
  await cxpt.write.approve([vault.address, MAX_UINT], { account: bob.account });
  return subscriptions.read.lastPlanId();
}

// ── UsageBilling: settlement gas per user at 10, 100 and 1,000 users ──
const CHUNK = 500;
const settlementPerUser = new Map<number, bigint>();
let batchId = 1n;
for (const size of [10, 100, 1_000]) {
  const users = await fundedUsers(size, parseEther("10"));
  const leaves = users.map((user, i) => ({ index: BigInt(i), user, amount: parseEther("0.01") + BigInt(i) }));
  const tree = buildTree({ chainId: BigInt(publicClient.chain.id), billing: billing.address, batchId }, leaves);
  const total = leaves.reduce((sum, { amount }) => sum + amount, 0n);
  let gas = await gasOf(await billing.write.commitBatch([batchId, tree.root, total, BigInt(size)], { account: settler.account }));
  for (let start = 0; start < size; start += CHUNK) {
    const { leaves: chunk, proof, proofFlags } = tree.chunk(Array.from({ length: Math.min(CHUNK, size - start) }, (_, i) => start + i));
    gas += await gasOf(await billing.write.collectChunk([batchId, chunk, proof, proofFlags], { account: settler.account }));
  }
  settlementPerUser.set(size, gas / BigInt(size));
  record(`UsageBilling settlement per user, ${size} users`, gas / BigInt(size), `commit + chunks of up to ${CHUNK}; finite allowances, caps, batch-bound leaves`);
  batchId++;
}

// ── report ──
const floor = results[0].gas;
const perUser1000 = settlementPerUser.get(1_000)!;
const claimSpread = Number(claim1000 > claim10 ? claim1000 - claim10 : claim10 - claim1000) / Number(claim10);
const claimMax = claim1000 > claim10 ? claim1000 : claim10;
const targets = {
  settlementPerUserAt1000VsTransferFrom: { ratio: Number(perUser1000) / Number(floor), target: "<= 0.5", met: perUser1000 * 2n <= floor },
  claimGas: { gas: claimMax, target: "<= 80000", met: claim1000 <= 80_000n && claim10 <= 80_000n },
  claimSpread10vs1000: { spread: claimSpread, target: "<= 0.05", met: claimSpread <= 0.05 },
  // Issue 12's targets.
  settlementPerUserAt1000VsTransfer: { ratio: Number(perUser1000) / Number(transferFloor), target: "<= 0.40", met: perUser1000 * 100n <= transferFloor * 40n },
  claimGasIssue12: { gas: claimMax, target: "<= 60000", met: claimMax <= 60_000n },
  updateSharesPerAccount: { gas: thousand.perAccount, target: "<= 25000", met: thousand.perAccount <= 25_000n },
};

console.log("\nCXPT contract suite: gas per operation (in-process EDR chain, solc 0.8.30, optimizer 10,000 runs)\n");
const width = Math.max(...results.map((r) => r.operation.length));
for (const r of results) console.log(`${r.operation.padEnd(width)}  ${r.gas.toString().padStart(9)}${r.note ? `  (${r.note})` : ""}`);
console.log("\nTargets:");
console.log(`  settlement per user at 1,000 users / standalone transferFrom = ${targets.settlementPerUserAt1000VsTransferFrom.ratio.toFixed(3)} (target <= 0.5): ${targets.settlementPerUserAt1000VsTransferFrom.met ? "met" : "NOT met"}`);
console.log(`  claim gas = ${targets.claimGas.gas} (target <= 80,000): ${targets.claimGas.met ? "met" : "NOT met"}`);
console.log(`  claim 10 vs 1,000 accounts differ by ${(claimSpread * 100).toFixed(2)} % (target <= 5 %): ${targets.claimSpread10vs1000.met ? "met" : "NOT met"}`);
console.log("Issue 12 targets:");
const met = (ok: boolean) => (ok ? "met" : "NOT met");
console.log(`  settlement per user at 1,000 users / transfer to an existing holder = ${targets.settlementPerUserAt1000VsTransfer.ratio.toFixed(3)} (target <= 0.40): ${met(targets.settlementPerUserAt1000VsTransfer.met)}`);
console.log(`  claim gas = ${claimMax} (target <= 60,000): ${met(targets.claimGasIssue12.met)}`);
console.log(`  updateShares per account = ${thousand.perAccount} (target <= 25,000): ${met(targets.updateSharesPerAccount.met)}; accounts already holding an entry: ${recurring.perAccount}`);
console.log(`  claim with the sanctions oracle set = ${claimScreened}`);

mkdirSync("bench/results", { recursive: true });
writeFileSync(
  "bench/results/gas.json",
  JSON.stringify({ measuredAt: new Date().toISOString(), results, targets }, (_, v) => (typeof v === "bigint" ? Number(v) : v), 2) + "\n",
);
console.log("\nwrote bench/results/gas.json");
