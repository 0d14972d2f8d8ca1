import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeFunctionData, encodeFunctionData, parseEther, type Address } from "viem";
import { HOUR } from "../../../deploy/index.ts";
import { distributorAbi, safeAbi } from "../../../src/chain/abis.ts";
import { executeViaSafe, operationId, scheduleViaSafe } from "../../../src/chain/timelock.ts";
import type { SuiteDeployment } from "../../../src/chain/types.ts";
import { AppError } from "../../../src/errors.ts";
import {
  createPlanCall,
  setBurnRateCall,
  setSplitCall,
  submitAdminCall,
  updatePlanCall,
  type AdminContext,
  type Plan,
} from "../../../src/admin/governance.ts";
import { accounts, addressOf, contractsOf, deploy, governanceOf, loadDeployment, networkHelpers, viem } from "../deploy/helpers.ts";
import { backendKey } from "../helpers/keys.ts";

const PLAN: Plan = { price: parseEther("500"), period: 7 * 86_400, active: true, bucket: 5_000_000n, requestsPerMinute: 60, concurrency: 2 };

/** The admin context as the backend builds it; `keys` all development wallets unless given, held as the backend holds keys. */
async function contextOf(d: SuiteDeployment, keys?: AdminContext["keys"]): Promise<AdminContext> {
  return {
    publicClient: await viem.getPublicClient(),
    safe: addressOf(d, "safe"),
    timelock: addressOf(d, "timelock"),
    keys: (keys ?? (await viem.getWalletClients())).map(backendKey),
  };
}

const isAppError = (code: string, status: number, message?: RegExp) => (error: unknown) => {
  assert.ok(error instanceof AppError, String(error));
  assert.equal(error.code, code);
  assert.equal(error.status, status);
  if (message) assert.match(error.message, message);
  return true;
};

async function setup() {
  const { deployment } = await loadDeployment();
  return { deployment, c: await contractsOf(deployment), ctx: await contextOf(deployment), at: (key: "distributor" | "vault" | "subscriptions") => addressOf(deployment, key) };
}

describe("submitAdminCall with the Safe owners' keys and no delay (local)", () => {
  it("executes a split change through the Safe and the timelock", async () => {
    const { c, ctx, at } = await setup();
    const result = await submitAdminCall(ctx, setSplitCall(at("distributor"), { protocol: 2_000n, providers: 6_000n, users: 2_000n }));
    assert.equal(result.status, "executed");
    assert.deepEqual(await c.distributor.read.split(), [2_000n, 6_000n, 2_000n]);
    const publicClient = await viem.getPublicClient();
    const receipts = await Promise.all(result.txHashes.map((hash) => publicClient.getTransactionReceipt({ hash })));
    assert.deepEqual(receipts.map((r) => [r.status, r.to?.toLowerCase()]), [
      ["success", ctx.safe.toLowerCase()],
      ["success", ctx.safe.toLowerCase()],
    ]);
    assert.equal(await c.timelock.read.isOperationDone([result.operationId]), true);
    assert.match(result.label, /split protocol\/providers\/users 2000\/6000\/2000 bps/);
  });

  it("makes the same change again later (each submission has its own salt)", async () => {
    const { c, ctx, at } = await setup();
    for (const split of [{ protocol: 1n, providers: 9_998n, users: 1n }, { protocol: 3_000n, providers: 5_500n, users: 1_500n }, { protocol: 1n, providers: 9_998n, users: 1n }]) {
      assert.equal((await submitAdminCall(ctx, setSplitCall(at("distributor"), split))).status, "executed");
      assert.deepEqual(await c.distributor.read.split(), [split.protocol, split.providers, split.users]);
    }
  });

  it("creates and updates a plan and sets the burn rate", async () => {
    const { c, ctx, at } = await setup();
    assert.equal((await submitAdminCall(ctx, createPlanCall(at("subscriptions"), PLAN))).status, "executed");
    assert.equal(await c.subscriptions.read.lastPlanId(), 4n);
    assert.deepEqual(await c.subscriptions.read.planOf([4n]), PLAN);
    const cheaper = { ...PLAN, price: parseEther("400"), active: false };
    assert.equal((await submitAdminCall(ctx, updatePlanCall(at("subscriptions"), 4n, cheaper))).status, "executed");
    assert.deepEqual(await c.subscriptions.read.planOf([4n]), cheaper);
    assert.equal((await submitAdminCall(ctx, setBurnRateCall(at("vault"), 1_000n))).status, "executed");
    assert.equal(await c.vault.read.burnBps(), 1_000n);
  });

  it("lets a given executor submit and pay for the Safe transactions", async () => {
    const { ctx, at } = await setup();
    const { stranger } = await accounts();
    const result = await submitAdminCall({ ...ctx, executor: backendKey(stranger) }, setBurnRateCall(at("vault"), 0n));
    assert.equal(result.status, "executed");
    const publicClient = await viem.getPublicClient();
    for (const hash of result.txHashes) {
      assert.equal((await publicClient.getTransaction({ hash })).from.toLowerCase(), stranger.account.address.toLowerCase());
    }
  });

  it("refuses a call that would revert, before sending or proposing anything (422 ADMIN_CALL_REVERTS)", async () => {
    const { ctx, at } = await setup();
    const publicClient = await viem.getPublicClient();
    const blockBefore = await publicClient.getBlockNumber();
    await assert.rejects(submitAdminCall(ctx, updatePlanCall(at("subscriptions"), 99n, PLAN)),
      isAppError("ADMIN_CALL_REVERTS", 422, /update plan 99 .*: the call reverts when the timelock makes it: UnknownPlan\(99\)$/));
    // The Safe's owners change it with Safe transactions: the timelock is no authority there.
    const threshold = { label: "Safe: threshold 1", target: ctx.safe, data: encodeFunctionData({ abi: safeAbi, functionName: "changeThreshold", args: [1n] }) };
    await assert.rejects(submitAdminCall(ctx, threshold), isAppError("ADMIN_CALL_REVERTS", 422, /^Safe: threshold 1: the call reverts when the timelock makes it: Error\(GS031\)$/));
    assert.equal(await publicClient.getBlockNumber(), blockBefore);
  });
});

describe("submitAdminCall without enough keys (production)", () => {
  it("returns the exact timelock proposal and runs nothing; the Safe carrying it out makes the change", async () => {
    const { deployment, c, at } = await setup();
    const { owners } = await accounts();
    const ctx = await contextOf(deployment, [owners[0]]);
    const publicClient = await viem.getPublicClient();
    const blockBefore = await publicClient.getBlockNumber();

    const result = await submitAdminCall(ctx, setSplitCall(at("distributor"), { protocol: 2_500n, providers: 6_000n, users: 1_500n }));
    assert.equal(result.status, "proposed");
    assert.equal(result.reason, "the backend holds 1 of the 2 Safe owner signatures needed");
    assert.equal(await publicClient.getBlockNumber(), blockBefore);
    assert.deepEqual(await c.distributor.read.split(), [3_000n, 5_500n, 1_500n]);

    const { proposal } = result;
    assert.equal(proposal.timelock, addressOf(deployment, "timelock"));
    assert.equal(proposal.delay, 0n);
    assert.equal(proposal.operation.target, at("distributor"));
    assert.equal(proposal.id, operationId(proposal.operation));
    assert.deepEqual(decodeFunctionData({ abi: distributorAbi, data: proposal.operation.data }), { functionName: "setSplit", args: [2_500n, 6_000n, 1_500n] });
    assert.match(result.text, /^timelock proposal: RewardDistributor: split/);
    assert.ok(result.text.includes(proposal.schedule.data) && result.text.includes(proposal.execute.data));

    const governance = await governanceOf(deployment);
    await scheduleViaSafe(governance, proposal.operation);
    await executeViaSafe(governance, proposal.operation);
    assert.deepEqual(await c.distributor.read.split(), [2_500n, 6_000n, 1_500n]);
  });

  it("keys that do not own the Safe count for nothing", async () => {
    const { deployment, at } = await setup();
    const { operator, rewards, stranger } = await accounts();
    const result = await submitAdminCall(await contextOf(deployment, [operator, rewards, stranger]), setBurnRateCall(at("vault"), 100n));
    assert.equal(result.status, "proposed");
    assert.equal(result.reason, "the backend holds 0 of the 2 Safe owner signatures needed");
  });

  it("with a timelock delay, proposes even with every key", async () => {
    const { deployment } = await deploy({ config: { timelockDelay: 48n * HOUR } });
    const c = await contractsOf(deployment);
    const result = await submitAdminCall(await contextOf(deployment), setBurnRateCall(addressOf(deployment, "vault"), 100n));
    assert.equal(result.status, "proposed");
    assert.equal(result.reason, "the timelock delay is 172800 s: the Safe schedules now and executes once it has passed");
    assert.equal(result.proposal.delay, 48n * HOUR);
    const governance = await governanceOf(deployment);
    await scheduleViaSafe(governance, result.proposal.operation);
    await networkHelpers.time.increase(48n * HOUR);
    await executeViaSafe(governance, result.proposal.operation);
    assert.equal(await c.vault.read.burnBps(), 100n);
  });
});

describe("admin call validation", () => {
  const distributor = "0x0000000000000000000000000000000000000001" as Address;

  it("a split must be non-negative integers summing to 10,000 bps (400 INVALID_SPLIT)", () => {
    assert.throws(() => setSplitCall(distributor, { protocol: 3_000n, providers: 5_500n, users: 1_501n }),
      isAppError("INVALID_SPLIT", 400, /must sum to 10000 basis points, got 3000 \+ 5500 \+ 1501 = 10001/));
    assert.throws(() => setSplitCall(distributor, { protocol: -1n, providers: 10_001n, users: 0n }), isAppError("INVALID_SPLIT", 400, /between 0 and 10000/));
    assert.throws(() => setSplitCall(distributor, { protocol: 3_000, providers: 5_500n, users: 1_500n } as never), isAppError("INVALID_SPLIT", 400));
    assert.ok(setSplitCall(distributor, { protocol: 0n, providers: 10_000n, users: 0n }).data.startsWith("0x"));
  });

  it("the burn rate is at most MAX_BURN_BPS, 1000 (400 INVALID_BURN_RATE)", () => {
    assert.throws(() => setBurnRateCall(distributor, 1_001n), isAppError("INVALID_BURN_RATE", 400, /between 0 and 1000 basis points, got 1001/));
    assert.throws(() => setBurnRateCall(distributor, -1n), isAppError("INVALID_BURN_RATE", 400));
    assert.equal(setBurnRateCall(distributor, 1_000n).label, "Vault: burn rate 1000 bps");
  });

  it("a plan names every field the contract would refuse (400 INVALID_PLAN)", () => {
    const bad = { price: 0n, period: 3_600, active: "yes", bucket: 2n ** 96n, requestsPerMinute: 0, concurrency: 1.5 } as unknown as Plan;
    assert.throws(() => createPlanCall(distributor, bad), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, "INVALID_PLAN");
      assert.equal(error.status, 400);
      assert.deepEqual(error.details?.errors, [
        "price must be a positive amount of CXPT wei (uint128)",
        "period must be whole seconds, at least 86400 (one day)",
        "bucket must be a positive number of tokens (uint96)",
        "requestsPerMinute must be a positive integer (uint32)",
        "concurrency must be a positive integer (uint32)",
        "active must be true or false",
      ]);
      return true;
    });
    assert.throws(() => updatePlanCall(distributor, 0n, PLAN), isAppError("INVALID_PLAN", 400, /plan id must be a positive integer, got 0/));
    assert.throws(() => createPlanCall(distributor, { ...PLAN, price: 2n ** 128n }), isAppError("INVALID_PLAN", 400, /uint128/));
  });
});
