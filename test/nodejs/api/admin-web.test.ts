// The admin API the dashboard's consoles use: the stage check (every check with its result), the
// points CSV preview (a per-row report and what each account receives) and the upload's progress.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { custom, getAddress, numberToHex, parseEther, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { cxptAbi, distributorAbi, vaultAbi } from "../../../src/chain/abis.ts";
import type { ContractKey } from "../../../src/chain/types.ts";
import { POOL_IDS, uploadShares } from "../../../src/rewards/points.ts";
import { auth, BACKENDS, connection, expectReply as expect, fundCxpt, signIn, startStack, USERS, viem, walletOf, type Stack } from "./harness.ts";

const wallet = (key: Hex): Address => privateKeyToAccount(key).address;
/** The n-th deterministic test wallet, checksummed. */
const nth = (n: number): Address => getAddress(numberToHex(0xb0b000n + BigInt(n), { size: 20 }));

async function adminToken(stack: Stack): Promise<string> {
  const { token, accountId } = await signIn(stack.api, USERS.admin);
  await stack.app.db.query("update accounts set role = 'admin' where id = $1", [accountId]);
  return token;
}

const request = (stack: Stack, method: "GET" | "POST" | "PUT", url: string, token: string, payload?: object) =>
  stack.api.inject({ method, url: `/api/v1/admin/${url}`, headers: auth(token), ...(payload ? { payload } : {}) });

function connectVia(stack: Stack, addresses: Readonly<Partial<Record<ContractKey, Address>>> = stack.deployment.contracts): void {
  Object.assign(stack.app, { connectOptions: { transport: custom(connection.provider), addresses } });
}

interface CheckBody {
  contract: string;
  check: string;
  ok: boolean;
  message: string;
}

async function auditCount(stack: Stack): Promise<number> {
  return Number((await stack.app.db.query<{ n: string }>("select count(*) as n from audit_log")).rows[0]!.n);
}

/** Pays `amount` CXPT into the Vault (it accrues there until swept). */
async function payIntoVault(stack: Stack, amount: bigint): Promise<void> {
  const { cxpt, vault } = stack.deployment.contracts;
  await fundCxpt(stack.deployment, wallet(USERS.carol), amount);
  const w = await walletOf(USERS.carol);
  const publicClient = await viem.getPublicClient();
  for (const send of [
    () => w.writeContract({ address: cxpt!, abi: cxptAbi, functionName: "approve", args: [vault!, amount] }),
    () => w.writeContract({ address: vault!, abi: vaultAbi, functionName: "deposit", args: [amount, toHex(0n, { size: 32 })] }),
  ]) {
    assert.equal((await publicClient.waitForTransactionReceipt({ hash: await send() })).status, "success");
  }
}

async function sweep(stack: Stack): Promise<void> {
  const w = await walletOf(USERS.carol);
  const hash = await w.writeContract({ address: stack.deployment.contracts.vault!, abi: vaultAbi, functionName: "sweep" });
  assert.equal((await (await viem.getPublicClient()).waitForTransactionReceipt({ hash })).status, "success");
}

/** Each pool's next budget computed from the chain the way the distributor splits a sweep. */
async function expectedBudgets(stack: Stack) {
  const publicClient = await viem.getPublicClient();
  const distributor = { address: stack.deployment.contracts.distributor!, abi: distributorAbi } as const;
  const [providers, users, accrued, [protocolBps, providersBps]] = await Promise.all([
    publicClient.readContract({ ...distributor, functionName: "pendingFunding", args: [0] }),
    publicClient.readContract({ ...distributor, functionName: "pendingFunding", args: [1] }),
    publicClient.readContract({ address: stack.deployment.contracts.vault!, abi: vaultAbi, functionName: "accrued" }),
    publicClient.readContract({ ...distributor, functionName: "split" }),
  ]);
  const protocolShare = (accrued * protocolBps) / 10_000n;
  const providersShare = (accrued * providersBps) / 10_000n;
  return { providers: providers + providersShare, users: users + accrued - protocolShare - providersShare, accrued, pending: { providers, users } };
}

for (const backend of BACKENDS) {
  describe(`admin stage check (${backend})`, () => {
    let stack: Stack;
    let token: string;
    before(async () => {
      stack = await startStack(backend);
      token = await adminToken(stack);
      connectVia(stack);
    });
    after(async () => stack.close());

    it("lists every check of the deployment with its result, changes nothing and is not an action", async () => {
      const audits = await auditCount(stack);
      const report = expect(await request(stack, "POST", "stage/check", token, { stage: "testnet", phase: 2 }), 200);
      assert.equal(report.ok, true);
      assert.equal(report.stage, "testnet");
      assert.equal(report.phase, 2);
      assert.equal(report.chainId, 31337);
      const checks = report.checks as CheckBody[];
      assert.ok(checks.length > 40, `${checks.length} checks`);
      assert.ok(checks.every((c) => c.ok && c.message.length > 0));
      const kinds = new Set(checks.map((c) => c.check));
      for (const kind of ["chainId", "address", "code", "proxy", "identity", "wiring", "role", "gas"]) assert.ok(kinds.has(kind), kind);
      assert.ok(checks.some((c) => c.contract === "distributor" && c.check === "wiring" && /TREASURER_ROLE is held by Safe/.test(c.message)));
      assert.deepEqual(stack.app.stage, { stage: "testnet", phase: 3 });
      assert.equal(await auditCount(stack), audits);
      // Without a phase: the current one.
      assert.equal(expect(await request(stack, "POST", "stage/check", token, { stage: "testnet" }), 200).phase, 3);
    });

    it("reports the failing checks among the passing ones (the problems the switch would refuse with)", async () => {
      const eoa = wallet(USERS.alice);
      connectVia(stack, { ...stack.deployment.contracts, vault: eoa });
      try {
        const report = expect(await request(stack, "POST", "stage/check", token, { stage: "testnet", phase: 3 }), 200);
        assert.equal(report.ok, false);
        const failing = (report.checks as CheckBody[]).filter((c) => !c.ok);
        assert.deepEqual(failing.map((c) => `${c.contract}:${c.check}`).sort(), ["billing:wiring", "distributor:wiring", "subscriptions:wiring", "vault:code"]);
        assert.ok(failing.some((c) => c.message === `Vault ${eoa}: no contract code at this address`));
        assert.ok((report.checks as CheckBody[]).filter((c) => c.ok).length > 20);
        expect(await request(stack, "PUT", "stage", token, { stage: "off", phase: 0 }), 200);
        const fromOff = expect(await request(stack, "POST", "stage/check", token, { stage: "testnet", phase: 3 }), 200);
        assert.equal(fromOff.ok, false, "the same report with the stage off");
      } finally {
        connectVia(stack);
      }
    });

    it("reports a chain the stage does not accept as a failing check, and has nothing to check for off", async () => {
      const mainnet = expect(await request(stack, "POST", "stage/check", token, { stage: "mainnet", phase: 0 }), 200);
      assert.equal(mainnet.ok, false);
      assert.ok((mainnet.checks as CheckBody[]).some((c) => !c.ok && c.check === "chainId" && /CHAIN_STAGE mainnet needs chain id 3338, but the chain is 31337/.test(c.message)));
      assert.deepEqual(expect(await request(stack, "POST", "stage/check", token, { stage: "off", phase: 0 }), 200), { stage: "off", phase: 0, ok: true, chainId: null, checks: [] });
      expect(await request(stack, "POST", "stage/check", token, { stage: "moon" }), 400, "VALIDATION_FAILED");
      const member = (await signIn(stack.api, USERS.bob)).token;
      expect(await request(stack, "POST", "stage/check", member, { stage: "testnet" }), 403, "ADMIN_ONLY");
    });
  });

  describe(`admin points preview and progress (${backend})`, () => {
    let stack: Stack;
    let token: string;
    const [alice, bob, carol] = [wallet(USERS.alice), wallet(USERS.bob), wallet(USERS.carol)];
    before(async () => {
      stack = await startStack(backend);
      token = await adminToken(stack);
      // Some funding already pending in the distributor, and more accrued in the Vault.
      await payIntoVault(stack, parseEther("1000"));
      await sweep(stack);
      await payIntoVault(stack, parseEther("333"));
    });
    after(async () => stack.close());

    it("reports every row with its line and reason, and what each good row's account receives (floor)", async () => {
      const budgets = await expectedBudgets(stack);
      assert.ok(budgets.accrued > 0n && budgets.pending.providers > 0n);
      const csv = `wallet,points,pool\n${alice},100,providers\n${bob},200,providers\n${carol},7,users\n0x1234,5,users\n${nth(7)},ten,providers\n${bob},1,nowhere\n`;
      const preview = expect(await request(stack, "POST", "rewards/points/preview", token, { epoch: 1, csv }), 200);
      assert.equal(preview.ok, false);
      assert.equal(preview.basis, "pendingFunding+accrued");
      assert.deepEqual(preview.problems, []);
      assert.deepEqual(preview.rows, [
        { line: 2, wallet: alice, pool: "providers", points: "100", ok: true, receivesWei: ((100n * budgets.providers) / 300n).toString() },
        { line: 3, wallet: bob, pool: "providers", points: "200", ok: true, receivesWei: ((200n * budgets.providers) / 300n).toString() },
        { line: 4, wallet: carol, pool: "users", points: "7", ok: true, receivesWei: budgets.users.toString() },
        { line: 5, wallet: "0x1234", pool: "users", points: "5", ok: false, error: '"0x1234" is not an address (or its checksum is wrong)' },
        { line: 6, wallet: nth(7), pool: "providers", points: "ten", ok: false, error: 'points must be a non-negative whole number, got "ten"' },
        { line: 7, wallet: bob, pool: "nowhere", points: "1", ok: false, error: 'pool must be providers or users, got "nowhere"' },
      ]);
      assert.deepEqual(preview.pools.providers, {
        accounts: 2,
        points: "300",
        pendingFundingWei: budgets.pending.providers.toString(),
        accruedShareWei: (budgets.providers - budgets.pending.providers).toString(),
        budgetWei: budgets.providers.toString(),
      });
      assert.equal(preview.pools.users.budgetWei, budgets.users.toString());
      // A preview stores nothing.
      assert.equal((await stack.app.db.query("select 1 from reward_points")).rows.length, 0);
      // The same rows fixed: accepted.
      const fixed = `wallet,points,pool\n${alice},100,providers\n${bob},200,providers\n${carol},7,users\n`;
      assert.equal(expect(await request(stack, "POST", "rewards/points/preview", token, { epoch: 1, csv: fixed }), 200).ok, true);
    });

    it("reports a file it cannot read as problems, not an error; the wrong epoch is 409", async () => {
      const header = expect(await request(stack, "POST", "rewards/points/preview", token, { epoch: 1, csv: "address,amount\n0x1,2\n" }), 200);
      assert.equal(header.ok, false);
      assert.deepEqual(header.rows, []);
      assert.equal(header.problems[0].line, 1);
      assert.match(header.problems[0].message, /the header must name the columns wallet,points/);
      const noPool = expect(await request(stack, "POST", "rewards/points/preview", token, { epoch: 1, csv: `wallet,points\n${alice},1\n` }), 200);
      assert.match(noPool.problems[0].message, /no pool column/);
      const withPool = expect(await request(stack, "POST", "rewards/points/preview", token, { epoch: 1, pool: "users", csv: `wallet,points\n${alice},1\n` }), 200);
      assert.deepEqual(withPool.rows.map((r: { pool: string; ok: boolean }) => [r.pool, r.ok]), [["users", true]]);
      expect(await request(stack, "POST", "rewards/points/preview", token, { epoch: 2, pool: "users", csv: `wallet,points\n${alice},1\n` }), 409, "WRONG_EPOCH");
    });

    it("records each mined batch, so the progress shows rows on chain and the transactions", async () => {
      const empty = expect(await request(stack, "GET", "rewards/points/1/progress", token), 200);
      assert.deepEqual(empty, { epoch: 1, status: null, rows: 0, uploaded: 0, done: false, txHashes: [] });
      // 250 providers: two batches of updateShares (200 + 50), and one for the users pool.
      const providers = Array.from({ length: 250 }, (_, i) => `${nth(i)},${i + 1},providers`);
      const csv = ["wallet,points,pool", ...providers, `${carol},9,users`].join("\n");
      const upload = expect(await request(stack, "POST", "rewards/points", token, { epoch: 1, csv }), 200);
      assert.equal(upload.txHashes.length, 3);
      const progress = expect(await request(stack, "GET", "rewards/points/1/progress", token), 200);
      assert.deepEqual(progress, { epoch: 1, status: "uploaded", rows: 251, uploaded: 251, done: true, txHashes: upload.txHashes });
      const { rows: batches } = await stack.app.db.query<{ pool: string; accounts: number }>("select pool, accounts from reward_point_batches where epoch = 1 order by id");
      assert.deepEqual(batches.map((b) => [b.pool, Number(b.accounts)]), [["providers", 200], ["providers", 50], ["users", 1]]);
      const publicClient = await viem.getPublicClient();
      const shares = await publicClient.readContract({ address: stack.deployment.contracts.distributor!, abi: distributorAbi, functionName: "sharesOf", args: [nth(249), POOL_IDS.providers, 1n] });
      assert.equal(shares, 250n);

      // The rows stored for the epoch count in a later preview's pool totals.
      const budgets = await expectedBudgets(stack);
      const total = (250n * 251n) / 2n - 1n + 1000n;
      const later = expect(await request(stack, "POST", "rewards/points/preview", token, { epoch: 1, csv: `wallet,points,pool\n${nth(0)},1000,providers\n` }), 200);
      assert.equal(later.pools.providers.accounts, 250);
      assert.equal(later.pools.providers.points, total.toString());
      assert.equal(later.rows[0].receivesWei, ((1000n * budgets.providers) / total).toString());
      expect(await request(stack, "GET", "rewards/points/0/progress", token), 400, "VALIDATION_FAILED");
    });
  });
}

describe("uploadShares progress", () => {
  it("reports each mined batch with its entries and transaction before sending the next", async () => {
    const stack = await startStack("embedded");
    try {
      const entries = Array.from({ length: 5 }, (_, i) => ({ wallet: nth(100 + i), points: BigInt(i + 1) }));
      const heard: { wallets: Address[]; hash: Hex }[] = [];
      const hashes = await uploadShares({ client: stack.app.chain!.client, signer: stack.app.chain!.signers.rewards! }, {
        distributor: stack.deployment.contracts.distributor!,
        epoch: 1n,
        pool: "users",
        entries,
        batchSize: 2,
        onBatch: async ({ entries: batch, hash }) => void heard.push({ wallets: batch.map((e) => e.wallet), hash }),
      });
      assert.deepEqual(heard, [
        { wallets: [nth(100), nth(101)], hash: hashes[0] },
        { wallets: [nth(102), nth(103)], hash: hashes[1] },
        { wallets: [nth(104)], hash: hashes[2] },
      ]);
    } finally {
      await stack.close();
    }
  });
});
