import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createWalletClient, custom, getAddress, parseEther, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { cxptAbi, distributorAbi, vaultAbi } from "../../../../src/chain/abis.ts";
import { DEV_KEYS, devKey } from "../../../../src/devstack/keys.ts";
import { DEFAULT_MULTIPLIERS, demandBps, latencyBps, uptimeBps } from "../../../../src/rewards/multipliers.ts";
import { providerPoints, runRewardsEpoch, userPoints } from "../../../../src/rewards/epoch.ts";
import { POOL_IDS } from "../../../../src/rewards/points.ts";
import { BACKENDS, connection, fundCxpt, networkHelpers, startStack, USERS, viem, walletOf, type Stack } from "../../api/harness.ts";

const T = DEFAULT_MULTIPLIERS;
const P1 = getAddress("0x00000000000000000000000000000000000000a1");
const P2 = getAddress("0x00000000000000000000000000000000000000a2");

describe("reward multipliers", () => {
  const uptimeCases: [number, bigint][] = [[10000, 13000n], [9995, 13000n], [9994, 12000n], [9990, 12000n], [9950, 11000n], [9900, 10000n], [9800, 9000n], [9799, 8000n], [0, 8000n]];
  for (const [uptime, want] of uptimeCases) it(`uptime ${uptime} bps → ${want}`, () => assert.equal(uptimeBps(T, uptime), want));
  const latencyCases: [number, bigint][] = [[0, 11500n], [299, 11500n], [300, 10500n], [499, 10500n], [999, 10000n], [1999, 9500n], [2000, 8500n], [60000, 8500n]];
  for (const [p50, want] of latencyCases) it(`p50 ${p50} ms → ${want}`, () => assert.equal(latencyBps(T, p50), want));
  const demandCases: [bigint, bigint, bigint, bigint][] = [
    [10n, 240n, 24n, 10000n], // the mean hour
    [0n, 240n, 24n, 5000n], // clamped low
    [1000n, 1000n, 24n, 20000n], // clamped high
    [15n, 240n, 24n, 15000n],
    [1n, 3n, 1n, 5000n],
    [2n, 3n, 2n, 13333n], // floor of 4/3
    [0n, 0n, 24n, 10000n], // no network usage
  ];
  for (const [hour, total, hours, want] of demandCases) it(`demand ${hour}/${total} over ${hours}h → ${want}`, () => assert.equal(demandBps(T, hour, total, hours), want));
  it("stays within the published bounds", () => {
    for (let u = 0; u <= 10000; u += 7) assert.ok(uptimeBps(T, u) >= 8000n && uptimeBps(T, u) <= 13000n);
    for (let l = 0; l <= 5000; l += 13) assert.ok(latencyBps(T, l) >= 8500n && latencyBps(T, l) <= 11500n);
    for (let h = 0n; h <= 500n; h += 3n) assert.ok(demandBps(T, h, 500n, 24n) >= 5000n && demandBps(T, h, 500n, 24n) <= 20000n);
  });
});

describe("epoch points", () => {
  const h0 = new Date("2026-01-01T00:00:00Z");
  const h1 = new Date("2026-01-01T01:00:00Z");
  it("multiplies exactly and divides once per provider", () => {
    // 2 hours; network: 30 in h0, 10 in h1 → mean 20 → demand 1.5 and 0.5.
    const points = providerPoints({
      served: [
        { wallet: P1, tier: "open-ocean", hour: h0, requests: 20n },
        { wallet: P2, tier: "tide-pool", hour: h0, requests: 10n },
        { wallet: P2, tier: "tide-pool", hour: h1, requests: 10n },
      ],
      health: [{ wallet: P1, day: "2026-01-01", uptimeBps: 9995, p50Ms: 250 }],
      hours: 2n,
    });
    // P1: 20 × 7 × 1.5 × 1.30 × 1.15 = 313.95 points; P2 (no health: floors 0.80 × 0.85): 10 × (1.5 + 0.5) × 0.68 = 13.6.
    assert.deepEqual(points, [
      { wallet: P1, points: 3_139_500n },
      { wallet: P2, points: 136_000n },
    ]);
  });
  it("rejects unknown tiers and drops zero points", () => {
    assert.throws(() => providerPoints({ served: [{ wallet: P1, tier: "nope", hour: h0, requests: 1n }], health: [], hours: 1n }), { code: "UNKNOWN_TIER" });
    assert.deepEqual(providerPoints({ served: [], health: [], hours: 24n }), []);
    assert.deepEqual(userPoints([{ wallet: P1, costAusd: 0n }, { wallet: P2, costAusd: 5n }]), [{ wallet: P2, points: 5n }]);
  });
});

const DAY = 86_400;

for (const backend of BACKENDS) {
  describe(`runRewardsEpoch (${backend})`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack(backend);
    });
    after(async () => {
      await stack?.close();
    });

    async function account(kind: "user" | "provider", wallet: Address): Promise<string> {
      const { rows } = await stack.app.db.query<{ id: string }>("insert into accounts (kind, wallet) values ($1, $2) returning id", [kind, wallet.toLowerCase()]);
      return rows[0]!.id;
    }

    /** A payment into the Vault as UsageBilling would collect it, so the Vault has accrued funds. */
    async function accrue(amount: bigint) {
      const { vault, billing } = stack.deployment.contracts;
      const payer = await walletOf(USERS.carol);
      const publicClient = await viem.getPublicClient();
      await fundCxpt(stack.deployment, payer.account.address, amount);
      await publicClient.waitForTransactionReceipt({ hash: await payer.writeContract({ address: stack.deployment.contracts.cxpt!, abi: cxptAbi, functionName: "approve", args: [vault!, amount] }) });
      await networkHelpers.impersonateAccount(billing!);
      await networkHelpers.setBalance(billing!, parseEther("1"));
      const collector = createWalletClient({ account: billing!, chain: publicClient.chain, transport: custom(connection.provider) });
      await publicClient.waitForTransactionReceipt({ hash: await collector.writeContract({ address: vault!, abi: vaultAbi, functionName: "collect", args: [payer.account.address, amount, `0x${"11".repeat(32)}`] }) });
      await networkHelpers.stopImpersonatingAccount(billing!);
    }

    it("uploads both pools, sweeps the Vault, and a second run sends nothing", async () => {
      const publicClient = await viem.getPublicClient();
      const distributor = stack.deployment.contracts.distributor!;
      const read = <T,>(functionName: string, args: readonly unknown[] = []) =>
        publicClient.readContract({ address: distributor, abi: distributorAbi, functionName: functionName as never, args: args as never }) as Promise<T>;

      const alice = privateKeyToAccount(USERS.alice).address;
      const bob = privateKeyToAccount(USERS.bob).address;
      const provA = privateKeyToAccount(devKey(20)).address;
      const provB = privateKeyToAccount(devKey(21)).address;
      const [aliceId, bobId, provAId, provBId] = [await account("user", alice), await account("user", bob), await account("provider", provA), await account("provider", provB)];
      const from = new Date("2026-03-01T00:00:00Z");
      const to = new Date("2026-03-02T00:00:00Z");
      const db = stack.app.db;
      for (const [id, request, cost, at] of [
        [aliceId, "r1", 3_000n, "2026-03-01T05:00:00Z"],
        [bobId, "r2", 1_000n, "2026-03-01T06:00:00Z"],
        [bobId, "r3", 9_999n, "2026-03-02T00:00:00Z"],
      ] as const) {
        await db.query(
          `insert into usage_events (request_id, account_id, endpoint, service, units_in, units_out, cost_ausd, cost_wei, billed_in, recorded_at)
           values ($1, $2, '/v1/chat', 'chat', 1, 1, $3, $3, 'cxpt', $4)`,
          [request, id, cost.toString(), at],
        );
      }
      await db.query(
        `insert into provider_requests (provider_account_id, tier, hour, requests) values
           ($1, 'mariana-depth', '2026-03-01T05:00:00Z', 10), ($2, 'tide-pool', '2026-03-01T05:00:00Z', 30)`,
        [provAId, provBId],
      );
      await db.query(`insert into provider_health (provider_account_id, day, uptime_bps, p50_ms) values ($1, '2026-03-01', 9995, 200), ($2, '2026-03-01', 9900, 800)`, [provAId, provBId]);

      await accrue(parseEther("100"));
      const epoch = (await read<bigint>("currentEpoch")) + 1n;
      const first = await runRewardsEpoch(stack.app, { epoch, from, to });
      assert.equal(first.status, "uploaded");
      assert.ok(first.sweepTx);
      assert.equal(first.upload?.sent, 4);
      assert.deepEqual(new Map(first.users.map((u) => [u.wallet, u.points])), new Map([[alice, 3000n], [bob, 1000n]])); // r3 is after the window
      const points = new Map(first.providers.map((p) => [p.wallet, p.points]));
      // 40 requests in 1 of 24 hours: demand clamps to 2.0. A: 10 × 15 × 2 × 1.30 × 1.15; B: 30 × 1 × 2 × 1.00 × 1.00.
      assert.equal(points.get(provA), 4_485_000n);
      assert.equal(points.get(provB), 600_000n);
      assert.equal(await publicClient.readContract({ address: stack.deployment.contracts.vault!, abi: vaultAbi, functionName: "accrued" }), 0n);

      const again = await runRewardsEpoch(stack.app, { epoch, from, to });
      assert.equal(again.sweepTx, null);
      assert.equal(again.upload?.sent, 0);
      assert.deepEqual(again.upload?.txHashes, []);

      const providersBudget = await read<bigint>("pendingFunding", [POOL_IDS.providers]);
      const usersBudget = await read<bigint>("pendingFunding", [POOL_IDS.users]);
      assert.ok(providersBudget > 0n && usersBudget > 0n);
      const rewards = await walletOf(devKey(DEV_KEYS.rewards));
      await publicClient.waitForTransactionReceipt({ hash: await rewards.writeContract({ address: distributor, abi: distributorAbi, functionName: "startEpoch", args: [epoch, BigInt(DAY)] }) });
      await networkHelpers.time.increase(DAY);
      await networkHelpers.mine();

      const providerTotal = 4_485_000n + 600_000n;
      const pending = (who: Address, pool: number) => read<bigint>("pendingOf", [who, pool]);
      assert.equal(await pending(provA, POOL_IDS.providers), (providersBudget * 4_485_000n) / providerTotal);
      assert.equal(await pending(provB, POOL_IDS.providers), (providersBudget * 600_000n) / providerTotal);
      assert.equal(await pending(alice, POOL_IDS.users), (usersBudget * 3000n) / 4000n);
      assert.equal(await pending(bob, POOL_IDS.users), (usersBudget * 1000n) / 4000n);

      const blockBefore = await publicClient.getBlockNumber();
      const started = await runRewardsEpoch(stack.app, { epoch, from, to });
      assert.equal(started.status, "started");
      assert.equal(await publicClient.getBlockNumber(), blockBefore);
    });
  });
}
