// The provider dashboard in headless Chromium against the embedded stack: the orchestrator reports
// the demo provider's statistics, a Vault deposit funds the distributor and the daily rewards job
// computes and starts the epoch; the provider signs in with the development wallet, sees its
// earnings per epoch and how its points came about, claims without gas and sees its balance move,
// as the chain confirms. Then it registers a node, sees its health, pauses, resumes and removes it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseEther, toHex, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Browser } from "playwright-core";
import { cxptAbi, distributorAbi, vaultAbi } from "../../../src/chain/abis.ts";
import { DEV_KEYS, devKey } from "../../../src/devstack/keys.ts";
import { runJob } from "../../../src/jobs/run.ts";
import { startDemoNode } from "../../../src/providers/demo-node.ts";
import { formatCxpt } from "../../../src/web/lib/format.ts";
import { auth, fundCxpt, networkHelpers, signIn, USERS, viem, walletOf } from "../api/harness.ts";
import { launchBrowser, openDashboard, overflowing, PHONE, screenshot, scrollsSideways, startWebStack, type WebStack } from "./browser.ts";

const DAY_MS = 86_400_000;
const PROVIDER = devKey(DEV_KEYS.demoProvider);
const wallet: Address = privateKeyToAccount(PROVIDER).address;
const yesterday = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS);
const hourOf = (hour: number) => new Date(yesterday.getTime() + hour * 3_600_000).toISOString();
/** An amount as the page shows it, escaped for a RegExp. */
const cxpt = (wei: bigint) => formatCxpt(wei).replace(/[.]/g, "\\.");

describe("provider dashboard in the browser", () => {
  let web: WebStack;
  let browser: Browser;
  const read = async <T>(functionName: string, args: readonly unknown[]) =>
    (await viem.getPublicClient()).readContract({ address: web.deployment.contracts.distributor!, abi: distributorAbi, functionName: functionName as never, args: args as never }) as Promise<T>;
  const balanceOf = async (who: Address) =>
    (await viem.getPublicClient()).readContract({ address: web.deployment.contracts.cxpt!, abi: cxptAbi, functionName: "balanceOf", args: [who] });

  /** A payment into the Vault: the rewards job sweeps it into the distributor as the epoch's budget. */
  async function deposit(amount: bigint) {
    const payer = await walletOf(USERS.admin);
    const client = await viem.getPublicClient();
    await fundCxpt(web.deployment, payer.account.address, amount);
    await client.waitForTransactionReceipt({ hash: await payer.writeContract({ address: web.deployment.contracts.cxpt!, abi: cxptAbi, functionName: "approve", args: [web.deployment.contracts.vault!, amount] }) });
    await client.waitForTransactionReceipt({ hash: await payer.writeContract({ address: web.deployment.contracts.vault!, abi: vaultAbi, functionName: "deposit", args: [amount, toHex(0n, { size: 32 })] }) });
  }

  before(async () => {
    web = await startWebStack("embedded", {}, { nodes: () => [] }); // no test nodes: the provider registers its own
    browser = await launchBrowser();
    // The provider's account, then the orchestrator's report of what it served yesterday.
    await signIn(web.api, PROVIDER, { kind: "provider" });
    const admin = await signIn(web.api, USERS.admin);
    await web.app.db.query("update accounts set role = 'admin' where id = $1", [admin.accountId]);
    const report = {
      served: [
        { provider: wallet, tier: "open-ocean", hour: hourOf(5), requests: "20" },
        { provider: wallet, tier: "tide-pool", hour: hourOf(6), requests: "10" },
      ],
      health: [{ provider: wallet, day: hourOf(0).slice(0, 10), uptimeBps: 9995, p50Ms: 250 }],
    };
    const recorded = await web.api.inject({ method: "PUT", url: "/api/v1/admin/providers/stats", headers: auth(admin.token), payload: report });
    assert.equal(recorded.statusCode, 200, recorded.body);
    await deposit(parseEther("1000"));
    const run = (await runJob(web.app, "rewards", { trigger: "manual" }))!;
    assert.equal(run.summary?.status, "started", run.error ?? JSON.stringify(run.summary));
    // Let the epoch run to its end: everything it earns is released.
    const [, end] = await read<[bigint, bigint]>("epochTimes", [BigInt(run.summary!.epoch as string)]);
    await networkHelpers.time.increaseTo(end);
  });
  after(async () => {
    await browser?.close();
    await web?.close();
  });

  it("shows earnings per epoch and the points by multiplier, claims gaslessly and the balance moves", async () => {
    const epoch = await read<bigint>("currentEpoch", []);
    const earned = await read<bigint>("entitlementOf", [wallet, 0, epoch]);
    const pending = await read<bigint>("pendingOf", [wallet]);
    assert.ok(earned > 0n && pending === earned);
    const before = await balanceOf(wallet);

    const { page, prompts, pageErrors } = await openDashboard(browser, web, "/provider", { wallet: "Demo provider" });
    const chart = page.getByRole("list", { name: "Earnings per epoch (CXPT)" });
    // The bars are a canvas; the list naming each epoch's figure is for screen readers (in the page, not shown).
    await chart.getByRole("listitem", { name: `Epoch ${epoch}: ${formatCxpt(earned)}` }).waitFor({ state: "attached" });
    await page.getByRole("region", { name: "Earnings per epoch" }).locator(".chart canvas").first().waitFor();
    assert.equal(await chart.getByRole("listitem").count(), Number(epoch));
    const earnings = page.getByRole("region", { name: "Earnings", exact: true });
    assert.match(await earnings.innerText(), new RegExp(`Claimable now\\s+${cxpt(pending)}`));
    assert.equal(await page.getByLabel("Points formula").innerText(), "150 ×1.30 ×1.15 ×2.00 = 448.5 points");
    const performance = await page.getByRole("region", { name: "Performance" }).innerText();
    assert.match(performance, /99\.95 %/);
    assert.match(performance, /250 ms/);
    const tokens = page.getByRole("region", { name: "Tokens" });
    await tokens.getByText(`Wallet balance`).waitFor();
    assert.match(await tokens.innerText(), new RegExp(`Wallet balance\\s+${cxpt(before)}`));

    const signed = prompts.length;
    await tokens.getByRole("button", { name: "Claim without gas" }).click();
    const status = tokens.getByRole("status");
    await status.waitFor({ timeout: 30_000 });
    assert.match(await status.innerText(), new RegExp(`Claimed ${cxpt(earned)}`));
    assert.equal(prompts.length, signed + 1, "the wallet asked once: to sign the claim request");
    assert.match(prompts.at(-1)!, /ForwardRequest/);

    // On chain: paid exactly what was pending, by the relayer (the provider paid no gas).
    assert.equal(await balanceOf(wallet), before + earned);
    assert.equal(await read<bigint>("pendingOf", [wallet]), 0n);
    const txHash = (await status.getByRole("link").getAttribute("title"))!;
    const tx = await (await viem.getPublicClient()).getTransaction({ hash: txHash as `0x${string}` });
    assert.notEqual(tx.from.toLowerCase(), wallet.toLowerCase());
    // The page follows: the new balance, nothing left to claim, the claim in the history with its link.
    await tokens.getByText(new RegExp(`Wallet balance\\s*${cxpt(before + earned)}`)).waitFor();
    await earnings.getByText(/Claimable now\s*0 CXPT/).waitFor();
    const claims = page.getByRole("table", { name: "Reward claims" });
    await claims.getByRole("link", { name: /0x/ }).first().waitFor();
    assert.equal(await claims.getByRole("link").first().getAttribute("href"), `/tx/${txHash}`);
    await screenshot(page, "provider");

    await page.setViewportSize(PHONE);
    assert.equal(await scrollsSideways(page), false, `no sideways scrolling at phone width: ${(await overflowing(page)).join("; ")}`);
    assert.deepEqual(pageErrors, []);
    await page.context().close();
  });

  it("claims from the wallet, paying gas: paid on chain and booked into the history", async () => {
    // A second epoch over the same window (the job recomputes a window it has not closed).
    await deposit(parseEther("500"));
    await web.app.db.query("delete from job_runs where job = 'rewards'");
    const run = (await runJob(web.app, "rewards", { trigger: "manual" }))!;
    assert.equal(run.summary?.status, "started", run.error ?? JSON.stringify(run.summary));
    const [, end] = await read<[bigint, bigint]>("epochTimes", [BigInt(run.summary!.epoch as string)]);
    await networkHelpers.time.increaseTo(end);
    const pending = await read<bigint>("pendingOf", [wallet]);
    assert.ok(pending > 0n);
    const before = await balanceOf(wallet);

    const { page, prompts, pageErrors } = await openDashboard(browser, web, "/provider", { wallet: "Demo provider" });
    const tokens = page.getByRole("region", { name: "Tokens" });
    // Enabled once the earnings are in (Playwright waits for that before clicking).
    await tokens.getByRole("button", { name: "Claim from wallet (pays gas)" }).click();
    const status = tokens.getByRole("status");
    await status.waitFor({ timeout: 30_000 });
    assert.match(await status.innerText(), new RegExp(`Claimed ${cxpt(pending)}`));
    assert.match(prompts.at(-1)!, new RegExp(`Send a transaction to ${web.deployment.contracts.distributor}`, "i"));

    const txHash = (await status.getByRole("link").getAttribute("title")) as `0x${string}`;
    const tx = await (await viem.getPublicClient()).getTransaction({ hash: txHash });
    assert.equal(tx.from.toLowerCase(), wallet.toLowerCase(), "the wallet sent it itself");
    assert.equal(await read<bigint>("pendingOf", [wallet]), 0n);
    assert.equal(await balanceOf(wallet), before + pending, "paid in CXPT (the gas was paid in ETH)");
    // Booked: the newest claim in the history is this transaction.
    const claims = page.getByRole("table", { name: "Reward claims" });
    await claims.locator(`a[href="/tx/${txHash}"]`).waitFor();
    assert.equal(await claims.getByRole("link").count(), 2);
    assert.equal(await page.getByRole("alert").count(), 0);
    assert.deepEqual(pageErrors, []);
    await page.context().close();
  });

  it("registers a node and sees its health, pauses and resumes it, and removes it after confirming", async () => {
    const node = await startDemoNode({});
    try {
      const { page, pageErrors } = await openDashboard(browser, web, "/provider", { wallet: "Demo provider" });
      const card = page.getByRole("region", { name: "Nodes" });
      await card.getByText(/No nodes yet/).waitFor();
      const form = card.getByRole("form", { name: "Add a node" });
      // Refused first: an address outside the development allow-list (loopback only).
      await form.getByLabel(/Base URL/).fill("http://10.0.0.1:8000/v1");
      await form.getByLabel(/Models/).fill("llama-3.1-8b-instruct, nomic-embed-text");
      await form.getByLabel(/Tier/).selectOption("blue-surge");
      await form.getByRole("button", { name: "Add node" }).click();
      await form.getByRole("alert").getByText(/allow-list/).waitFor();

      await form.getByLabel(/Base URL/).fill(node.baseUrl);
      await form.getByRole("button", { name: "Add node" }).click();
      const row = card.getByRole("row").filter({ hasText: node.baseUrl });
      await row.waitFor();
      assert.match(await row.innerText(), /blue-surge\s+up/);
      assert.match(await row.innerText(), /100\.00 %/);
      assert.equal(await form.getByRole("alert").count(), 0);
      const [stored] = (await web.app.db.query<{ tier: string }>("select tier from provider_nodes")).rows;
      assert.equal(stored?.tier, "blue-surge");

      await row.getByRole("button", { name: "Pause" }).click();
      await row.getByText("paused").waitFor();
      assert.equal(web.app.providers.router.acquire("llama-3.1-8b-instruct"), undefined, "a paused node gets no requests");
      await row.getByRole("button", { name: "Resume" }).click();
      await row.getByRole("button", { name: "Pause" }).waitFor();
      const lease = web.app.providers.router.acquire("llama-3.1-8b-instruct");
      assert.ok(lease);
      lease.release();

      await row.getByRole("button", { name: "Remove" }).click();
      await row.getByRole("button", { name: "Yes, remove" }).click();
      await card.getByText(/No nodes yet/).waitFor();
      assert.equal((await web.app.db.query("select 1 from provider_nodes")).rows.length, 0);
      assert.deepEqual(pageErrors, []);
      await page.context().close();
    } finally {
      await node.close();
    }
  });
});
