// Acting on settlement shortfalls, over both backends: a payer the chain could not collect from has
// its API keys refused by the billing gate (402 ACCOUNT_SUSPENDED, saying what is owed and how to
// pay) and an alert raised; a later run that collects the leaf reinstates the keys and resolves
// the alert. Repeated calls change nothing.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { maxUint256, type Hex } from "viem";
import { createApiKey } from "../../../src/accounts/store.ts";
import { listAlerts } from "../../../src/monitoring/alerts.ts";
import { runSettlement } from "../../../src/settlement/settle.ts";
import { keySuspension } from "../../../src/accounts/suspension.ts";
import { shortfallAlertKey, suspendShortfalls } from "../../../src/settlement/shortfalls.ts";
import { approveVault, auth, BACKENDS, expectReply, fundCxpt, paygUsage, signIn, startStack, USERS, viem, type Stack } from "../api/harness.ts";

const CXPT = 10n ** 18n;

for (const backend of BACKENDS) {
  describe(`settlement shortfalls (${backend})`, () => {
    let stack: Stack;
    afterEach(async () => stack?.close());

    const approve = (key: Hex, amount: bigint) => approveVault(stack.deployment, key, amount);
    /** A signed-in user with 100 CXPT approved to the Vault and an API key. */
    async function user(key: Hex) {
      const session = await signIn(stack.api, key);
      await fundCxpt(stack.deployment, session.wallet, 100n * CXPT);
      await approve(key, maxUint256);
      return { ...session, apiKey: (await createApiKey(stack.app.db, session.accountId, "test")).key };
    }
    const usage = (accountId: string, paygWei: bigint) => paygUsage(stack.app.db, accountId, paygWei);
    const chat = (apiKey: string) =>
      stack.api.inject({ method: "POST", url: "/api/v1/chat/completions", headers: auth(apiKey), payload: { model: "demo", messages: [{ role: "user", content: "hi" }] } });
    const suspendedAt = async (accountId: string) =>
      (await stack.app.db.query<{ at: unknown }>("select keys_suspended_at as at from accounts where id = $1", [accountId])).rows[0]!.at;
    const openAlerts = async () => (await listAlerts(stack.app.db, { open: true, limit: 100, offset: 0 })).filter((a) => a.kind === "settlement_shortfall");

    it("suspends a short payer's keys with 402 ACCOUNT_SUSPENDED and an alert, and reinstates both once a later run collects", async () => {
      stack = await startStack(backend);
      const alice = await user(USERS.alice);
      const carol = await user(USERS.carol);
      // Her key is now cached by the gate as active.
      await stack.app.billing.gate.identify(carol.apiKey);
      await usage(alice.accountId, CXPT);
      await usage(carol.accountId, 5n * CXPT);
      await approve(USERS.carol, 0n); // she withdraws the allowance before the nightly run

      await runSettlement(stack.app);
      const report = await suspendShortfalls(stack.app);
      assert.deepEqual(report, {
        owing: [{ accountId: carol.accountId, wallet: carol.wallet.toLowerCase(), owedWei: 5n * CXPT, batches: [1n] }],
        suspended: [carol.accountId],
        reinstated: [],
      });
      const refused = expectReply(await chat(carol.apiKey), 402, "ACCOUNT_SUSPENDED");
      assert.ok(refused.error.message.includes(`could not collect 5 CXPT from wallet ${carol.wallet} (batch 1)`), refused.error.message);
      assert.match(refused.error.message, /approve the Vault/);
      assert.match(refused.error.message, /next settlement run/);
      assert.deepEqual(refused.error.details, { owedWei: (5n * CXPT).toString(), wallet: carol.wallet, batches: ["1"] });
      // Every key of the account, one created while suspended too; other accounts are not affected.
      expectReply(await chat((await createApiKey(stack.app.db, carol.accountId, "new")).key), 402, "ACCOUNT_SUSPENDED");
      expectReply(await chat(alice.apiKey), 200);
      const [alert] = await openAlerts();
      assert.equal(alert!.key, shortfallAlertKey(carol.accountId));
      assert.equal(alert!.severity, "warning");
      assert.match(alert!.message, /suspended until it pays/);
      assert.deepEqual(alert!.details, { account: carol.accountId, wallet: carol.wallet.toLowerCase(), batches: ["1"], amount: (5n * CXPT).toString() });

      // Again, and after a run that is still short: nothing new is suspended, the one alert is counted again.
      const since = await suspendedAt(carol.accountId);
      assert.deepEqual((await suspendShortfalls(stack.app)).suspended, []);
      await usage(carol.accountId, 2n * CXPT); // metered before the suspension, drained late: short in batch 2
      await runSettlement(stack.app);
      const still = await suspendShortfalls(stack.app);
      assert.deepEqual(still.owing, [{ accountId: carol.accountId, wallet: carol.wallet.toLowerCase(), owedWei: 7n * CXPT, batches: [1n, 2n] }]);
      assert.deepEqual([still.suspended, still.reinstated], [[], []]);
      assert.deepEqual(await suspendedAt(carol.accountId), since);
      const alerts = await openAlerts();
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0]!.count, 3);
      // The gate's cached refusal was dropped: it states what is owed now.
      assert.equal(expectReply(await chat(carol.apiKey), 402, "ACCOUNT_SUSPENDED").error.details.owedWei, (7n * CXPT).toString());

      // She pays: the next run collects both leaves; the keys work again and the alert is resolved.
      await approve(USERS.carol, maxUint256);
      await runSettlement(stack.app);
      assert.equal(await keySuspension(stack.app.db, carol.accountId), undefined, "nothing is owed once collected");
      const paid = await suspendShortfalls(stack.app);
      assert.deepEqual(paid, { owing: [], suspended: [], reinstated: [carol.accountId] });
      expectReply(await chat(carol.apiKey), 200);
      assert.deepEqual(await openAlerts(), []);
      assert.equal(await suspendedAt(carol.accountId), null);
      const [resolved] = await listAlerts(stack.app.db, { limit: 10, offset: 0 });
      assert.equal(resolved!.key, shortfallAlertKey(carol.accountId));
      assert.notEqual(resolved!.resolvedAt, null);
      assert.deepEqual(await suspendShortfalls(stack.app), { owing: [], suspended: [], reinstated: [] });
    });
  });
}
