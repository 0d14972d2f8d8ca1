// The testnet faucet, over both backends: a signed-in wallet gets the configured CXPT and its gas
// topped up, once per period (429 with the time left, also for two requests at once and, on
// PostgreSQL, for two API instances); nothing sent gives the slot back; off testnet it is 409
// FEATURE_DISABLED; the monitor watches the faucet key's gas and CXPT.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { custom, parseEther, type Address } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { createApp } from "../../../src/app/create.ts";
import { buildServer } from "../../../src/api/server.ts";
import { cxptAbi } from "../../../src/chain/abis.ts";
import { devKey } from "../../../src/devstack/keys.ts";
import { runChecks } from "../../../src/monitoring/checks.ts";
import { listAlerts } from "../../../src/monitoring/alerts.ts";
import { auth, BACKENDS, connection, expectReply, fundCxpt, signIn, startStack, viem, type Stack } from "../api/harness.ts";

const CXPT = 10n ** 18n;
const FAUCET_KEY = devKey(17);
const FAUCET_ENV = { FAUCET_PRIVATE_KEY: FAUCET_KEY, FAUCET_AMOUNT_WEI: (100n * CXPT).toString(), FAUCET_GAS_WEI: parseEther("0.05").toString(), FAUCET_COOLDOWN_SECONDS: "3600" };

const cxptOf = async (stack: Stack, who: Address) =>
  (await viem.getPublicClient()).readContract({ address: stack.deployment.contracts.cxpt!, abi: cxptAbi, functionName: "balanceOf", args: [who] });
const nativeOf = async (who: Address) => (await viem.getPublicClient()).getBalance({ address: who });
const faucetAddress = async () => (await import("viem/accounts")).privateKeyToAccount(FAUCET_KEY).address;

/** A fresh wallet (no CXPT, no gas), signed in. */
const newcomer = (stack: Stack) => signIn(stack.api, generatePrivateKey());

for (const backend of BACKENDS) {
  describe(`faucet (${backend})`, () => {
    let stack: Stack;
    afterEach(async () => stack?.close());

    it("sends the CXPT and tops the gas up once; a second request within the period is 429 with the time left", async () => {
      stack = await startStack(backend, FAUCET_ENV);
      await fundCxpt(stack.deployment, await faucetAddress(), 1_000n * CXPT);
      const user = await newcomer(stack);
      const status = expectReply(await stack.api.inject({ method: "GET", url: "/api/v1/faucet", headers: auth(user.token) }), 200);
      assert.deepEqual(status, { enabled: true, amountWei: (100n * CXPT).toString(), gasWei: parseEther("0.05").toString(), cooldownSeconds: 3600, nextAt: null });

      const drip = expectReply(await stack.api.inject({ method: "POST", url: "/api/v1/faucet", headers: auth(user.token) }), 200);
      assert.equal(drip.wallet, user.wallet);
      assert.equal(drip.amountWei, (100n * CXPT).toString());
      assert.equal(drip.gasWei, parseEther("0.05").toString());
      assert.match(drip.cxptTxHash, /^0x[0-9a-f]{64}$/);
      assert.match(drip.gasTxHash, /^0x[0-9a-f]{64}$/);
      assert.equal(await cxptOf(stack, user.wallet), 100n * CXPT);
      assert.equal(await nativeOf(user.wallet), parseEther("0.05"));
      assert.ok(Math.abs(new Date(drip.nextAt).getTime() - Date.now() - 3600_000) < 60_000);

      const again = await stack.api.inject({ method: "POST", url: "/api/v1/faucet", headers: auth(user.token) });
      const refused = expectReply(again, 429, "FAUCET_COOLDOWN");
      assert.ok(refused.error.details.retryAfterSeconds > 3500 && refused.error.details.retryAfterSeconds <= 3600);
      assert.equal(again.headers["retry-after"], String(refused.error.details.retryAfterSeconds));
      assert.equal(refused.error.details.nextAt, drip.nextAt);
      assert.equal(await cxptOf(stack, user.wallet), 100n * CXPT); // paid once
      const after = expectReply(await stack.api.inject({ method: "GET", url: "/api/v1/faucet", headers: auth(user.token) }), 200);
      assert.equal(after.nextAt, drip.nextAt);

      const { rows } = await stack.app.db.query<{ status: string; cxpt_tx_hash: string; gas_wei: string }>("select status, cxpt_tx_hash, gas_wei::text from faucet_drips");
      assert.deepEqual(rows, [{ status: "sent", cxpt_tx_hash: drip.cxptTxHash, gas_wei: parseEther("0.05").toString() }]);
    });

    it("two requests at once from one wallet: one is paid, the other is 429", async () => {
      stack = await startStack(backend, FAUCET_ENV);
      await fundCxpt(stack.deployment, await faucetAddress(), 1_000n * CXPT);
      const user = await newcomer(stack);
      const replies = await Promise.all([1, 2].map(() => stack.api.inject({ method: "POST", url: "/api/v1/faucet", headers: auth(user.token) })));
      assert.deepEqual(replies.map((r) => r.statusCode).sort(), [200, 429]);
      assert.equal(await cxptOf(stack, user.wallet), 100n * CXPT);
    });

    it("a wallet already holding gas gets the CXPT only; without a session it is 401", async () => {
      stack = await startStack(backend, FAUCET_ENV);
      await fundCxpt(stack.deployment, await faucetAddress(), 1_000n * CXPT);
      const rich = await signIn(stack.api, devKey(18)); // a development account: 10,000 ETH of gas
      const drip = expectReply(await stack.api.inject({ method: "POST", url: "/api/v1/faucet", headers: auth(rich.token) }), 200);
      assert.equal(drip.gasWei, "0");
      assert.equal(drip.gasTxHash, null);
      expectReply(await stack.api.inject({ method: "POST", url: "/api/v1/faucet" }), 401);
    });

    it("an empty faucet answers 503 FAUCET_EMPTY and gives the slot back", async () => {
      stack = await startStack(backend, FAUCET_ENV);
      const user = await newcomer(stack);
      expectReply(await stack.api.inject({ method: "POST", url: "/api/v1/faucet", headers: auth(user.token) }), 503, "FAUCET_EMPTY");
      const status = expectReply(await stack.api.inject({ method: "GET", url: "/api/v1/faucet", headers: auth(user.token) }), 200);
      assert.equal(status.nextAt, null);
      await fundCxpt(stack.deployment, await faucetAddress(), 1_000n * CXPT);
      expectReply(await stack.api.inject({ method: "POST", url: "/api/v1/faucet", headers: auth(user.token) }), 200);
      const { rows } = await stack.app.db.query<{ status: string }>("select status from faucet_drips order by id");
      assert.deepEqual(rows.map((r) => r.status), ["failed", "sent"]);
    });

    it("off testnet it is 409 FEATURE_DISABLED; without a faucet key 409 FAUCET_NOT_CONFIGURED", async () => {
      stack = await startStack(backend, FAUCET_ENV);
      const user = await newcomer(stack);
      stack.app.stage.stage = "mainnet"; // the runtime stage an admin switch would set
      const disabled = expectReply(await stack.api.inject({ method: "POST", url: "/api/v1/faucet", headers: auth(user.token) }), 409, "FEATURE_DISABLED");
      assert.equal(disabled.error.details.feature, "faucet");
      assert.equal(expectReply(await stack.api.inject({ method: "GET", url: "/api/v1/faucet", headers: auth(user.token) }), 200).enabled, false);
      await stack.close();

      stack = await startStack(backend);
      const other = await newcomer(stack);
      expectReply(await stack.api.inject({ method: "POST", url: "/api/v1/faucet", headers: auth(other.token) }), 409, "FAUCET_NOT_CONFIGURED");
    });

    it("the monitor watches the faucet key: low_balance:faucet for gas, low_balance:faucet_cxpt for CXPT", async () => {
      stack = await startStack(backend, FAUCET_ENV);
      const faucet = await faucetAddress();
      const low = await runChecks(stack.app);
      assert.equal(low.balances.status, "ok");
      if (low.balances.status !== "ok") return;
      assert.ok(low.balances.signers.some((s) => s.role === "faucet" && s.address === faucet));
      assert.deepEqual(low.balances.faucet, { address: faucet, cxptWei: "0", low: true });
      let open = await listAlerts(stack.app.db, { open: true, limit: 50, offset: 0 });
      const alert = open.find((a) => a.key === "low_balance:faucet_cxpt");
      assert.ok(alert);
      assert.equal(alert.severity, "critical");

      await fundCxpt(stack.deployment, faucet, 1_000n * CXPT); // exactly ten requests' worth
      const funded = await runChecks(stack.app);
      assert.equal(funded.balances.status === "ok" && funded.balances.faucet?.low, false);
      open = await listAlerts(stack.app.db, { open: true, limit: 50, offset: 0 });
      assert.ok(!open.some((a) => a.key === "low_balance:faucet_cxpt"));

      // Gas: the faucet key below the threshold raises the signers' alert under its role.
      await connection.networkHelpers.setBalance(faucet, parseEther("0.001"));
      await runChecks(stack.app);
      open = await listAlerts(stack.app.db, { open: true, limit: 50, offset: 0 });
      assert.ok(open.some((a) => a.key === "low_balance:faucet"));
    });
  });
}

describe("faucet across API instances (servers)", () => {
  let stack: Stack;
  afterEach(async () => stack?.close());

  it("two instances on one PostgreSQL pay a wallet once", async () => {
    stack = await startStack("servers", FAUCET_ENV);
    await fundCxpt(stack.deployment, await faucetAddress(), 1_000n * CXPT);
    const second = await createApp(stack.app.config, { transport: custom(connection.provider), addresses: stack.deployment.contracts, deploymentBlock: BigInt(stack.deployment.deploymentBlock), follow: false });
    const secondApi = await buildServer(second, { silent: true });
    try {
      const user = await newcomer(stack);
      const replies = await Promise.all([stack.api, secondApi].map((api) => api.inject({ method: "POST", url: "/api/v1/faucet", headers: auth(user.token) })));
      assert.deepEqual(replies.map((r) => r.statusCode).sort(), [200, 429]);
      assert.equal(await cxptOf(stack, user.wallet), 100n * CXPT);
    } finally {
      await secondApi.close();
      await second.close();
    }
  });
});
