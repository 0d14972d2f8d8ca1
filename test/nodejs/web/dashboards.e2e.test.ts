// The dashboards added for issue 15 in headless Chromium, each screenshotted light and dark: the
// theme (following prefers-color-scheme, pinned by the toggle), the receipt page decoding a CXPT
// transfer, the API keys (copy, use this month, monthly limit, revoke confirmation) with the usage
// view and the monthly statement (printable, CSV), and the admin operations views (jobs run now,
// accounts search with a legacy-credit grant, the audit log filtered).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { privateKeyToAccount } from "viem/accounts";
import { cxptAbi } from "../../../src/chain/abis.ts";
import { insertChecks } from "../../../src/providers/store.ts";
import { devKey, DEV_KEYS } from "../../../src/devstack/keys.ts";
import { signIn, USERS, viem, walletOf } from "../api/harness.ts";
import { launchBrowser, openDashboard, screenshot, startWebStack, type WebStack } from "./browser.ts";

const demoUser = privateKeyToAccount(devKey(DEV_KEYS.demoUser)).address;
const demoProvider = privateKeyToAccount(devKey(DEV_KEYS.demoProvider)).address;
const E18 = 10n ** 18n;

/** Screenshots `page` as <name>-light.png and <name>-dark.png (the system preference emulated). */
async function lightAndDark(page: Page, name: string): Promise<void> {
  await page.emulateMedia({ colorScheme: "light" });
  await screenshot(page, `${name}-light`);
  await page.emulateMedia({ colorScheme: "dark" });
  await screenshot(page, `${name}-dark`);
  await page.emulateMedia({ colorScheme: "light" });
}

const background = (page: Page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);

describe("web: issue 15 dashboards (Chromium)", () => {
  let web: WebStack;
  let browser: Browser;
  before(async () => {
    web = await startWebStack();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await web?.close();
  });

  it("follows the system's colour scheme, pins one with the toggle, and reads a transaction like an explorer", async () => {
    const distribution = await walletOf(devKey(DEV_KEYS.distribution));
    const hash = await distribution.writeContract({ address: web.deployment.contracts.cxpt!, abi: cxptAbi, functionName: "transfer", args: [demoUser, 5n * E18] });
    await (await viem.getPublicClient()).waitForTransactionReceipt({ hash });
    const { page, pageErrors } = await openDashboard(browser, web, `/tx/${hash}`, { wallet: "Demo user", signIn: false });
    await page.getByText("Succeeded").waitFor();

    const receipt = page.getByRole("region", { name: "Transaction" });
    await receipt.getByText("transfer", { exact: true }).waitFor();
    assert.match(await receipt.innerText(), /CXPT token\s+0x[0-9a-fA-F]{40}/, "the called contract is named");
    assert.match(await receipt.innerText(), /Fee\s+[0-9.,]+ ETH/);
    const transfers = page.getByRole("region", { name: "CXPT transfers" });
    assert.match(await transfers.getByRole("row").nth(1).innerText(), /5 CXPT/);
    await page.getByRole("region", { name: /^Events/ }).getByText("Transfer", { exact: true }).waitFor();
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: web.url });
    await receipt.getByRole("button", { name: "Copy transaction hash" }).click();
    await receipt.getByRole("button", { name: "Copy transaction hash" }).filter({ hasText: "Copied" }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), hash);

    // The system's scheme, then the toggle: system → light → dark, kept across a reload.
    await page.emulateMedia({ colorScheme: "dark" });
    const darkSystem = await background(page);
    await page.emulateMedia({ colorScheme: "light" });
    const lightSystem = await background(page);
    assert.notEqual(darkSystem, lightSystem);
    await page.getByRole("button", { name: "Theme: system (change)" }).click();
    await page.getByRole("button", { name: "Theme: light (change)" }).click();
    assert.equal(await background(page), darkSystem, "pinned dark while the system is light");
    await page.reload();
    await page.getByText("Succeeded").waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    await page.getByRole("button", { name: "Theme: dark (change)" }).click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), undefined, "back to the system's");
    await lightAndDark(page, "receipt");
    assert.deepEqual(pageErrors, []);
    await page.context().close();
  });

  it("connects through the wallet modal: icons, the development wallet, balance and chain, recent transactions", async () => {
    // openDashboard picks the development wallet in the modal (and signs in); a transaction, then the modal again.
    const { page, pageErrors } = await openDashboard(browser, web, "/user", { wallet: "Spare 1" });
    const card = page.getByRole("region", { name: "PAYG allowance" });
    await card.getByLabel("New PAYG allowance (CXPT)").fill("7");
    await card.getByRole("button", { name: "Set allowance" }).click();
    await card.getByRole("status").getByText(/PAYG allowance set to 7 CXPT/).waitFor();

    await page.getByRole("banner").getByRole("button", { name: /^Wallet 0x/ }).click();
    const modal = page.getByRole("dialog", { name: "Your wallet" });
    await modal.getByText("Development wallet: Spare 1").waitFor();
    const facts = await modal.locator("dl").innerText();
    assert.match(facts, /Network\s+Local chain \(31337\)/);
    await modal.getByText(/^[0-9][0-9,.]* ETH$/).waitFor(); // the balance, in the chain's currency
    assert.equal(await modal.getByRole("alert").count(), 0, "no wrong-network prompt on the right chain");
    const recent = modal.getByRole("list", { name: "Recent transactions" });
    await recent.getByRole("listitem").filter({ hasText: /approve\s+confirmed/ }).waitFor();
    assert.match((await recent.getByRole("link").first().getAttribute("href"))!, /^\/tx\/0x[0-9a-f]{64}$/);
    await lightAndDark(page, "wallet-modal");

    await modal.getByRole("button", { name: "Disconnect" }).click();
    await page.getByRole("banner").getByRole("button", { name: "Connect wallet" }).click();
    const chooser = page.getByRole("dialog", { name: "Connect a wallet" });
    const wallets = chooser.getByRole("list", { name: "Wallets" }).getByRole("button");
    assert.ok((await wallets.allInnerTexts()).includes("Development wallet: Demo user"));
    for (const icon of await chooser.locator("img").all()) assert.match((await icon.getAttribute("src"))!, /^data:image\//, "icons are built in: nothing fetched");
    await lightAndDark(page, "wallet-modal-choose");
    assert.deepEqual(pageErrors, []);
    await page.context().close();
  });

  it("prompts a wallet on another chain to switch, and switches it", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // A browser wallet announced through EIP-6963, on chain 1 until asked to switch; reads go to the stack's RPC.
    // Plain JavaScript (a TypeScript function's source may not survive the test's transpiler intact).
    await context.addInitScript({
      content: `(() => {
        const account = ${JSON.stringify(demoUser)}, rpc = ${JSON.stringify(`${web.url}/rpc`)};
        let chainId = "0x1";
        let allowed = false;
        const listeners = {};
        const emit = (event, value) => (listeners[event] || []).forEach((listener) => listener(value));
        const provider = {
          on: (event, listener) => { listeners[event] = [...(listeners[event] || []), listener]; },
          removeListener: (event, listener) => { listeners[event] = (listeners[event] || []).filter((l) => l !== listener); },
          async request({ method, params }) {
            // Like a real wallet: no accounts until the page asked for them.
            if (method === "eth_requestAccounts" || method === "wallet_requestPermissions") allowed = true;
            if (method === "eth_requestAccounts" || method === "eth_accounts") return allowed ? [account] : [];
            if (method === "eth_chainId") return chainId;
            if (method === "wallet_requestPermissions" || method === "wallet_getPermissions") return allowed ? [{ parentCapability: "eth_accounts" }] : [];
            if (method === "wallet_switchEthereumChain") {
              chainId = params[0].chainId;
              setTimeout(() => emit("chainChanged", chainId));
              return null;
            }
            const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method, params });
            const answer = await (await fetch(rpc, { method: "POST", headers: { "content-type": "application/json" }, body })).json();
            if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
            return answer.result;
          },
        };
        const icon = "data:image/svg+xml," + encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#e8590c"/></svg>');
        const info = { uuid: "6f1c1a59-7c67-4c5e-9a8e-1f0e0b6b7a11", name: "Test Wallet", icon, rdns: "org.example.testwallet" };
        const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
        window.addEventListener("eip6963:requestProvider", announce);
        announce();
      })();`,
    });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(`${web.url}/user`);
    await page.getByRole("banner").getByRole("button", { name: "Connect wallet" }).click();
    const chooser = page.getByRole("dialog", { name: "Connect a wallet" });
    const testWallet = chooser.getByRole("button", { name: "Test Wallet" });
    assert.match((await testWallet.locator("img").getAttribute("src"))!, /^data:image\/svg\+xml,.*e8590c/i, "the wallet's own EIP-6963 icon");
    await testWallet.click();
    await chooser.waitFor({ state: "detached" });

    await page.getByRole("banner").getByRole("button", { name: "Wrong network" }).click();
    const modal = page.getByRole("dialog", { name: "Your wallet" });
    const prompt = modal.getByRole("alert").filter({ hasText: "Wrong network: your wallet is on chain 1; these dashboards use Local chain (31337)." });
    await prompt.waitFor();
    await lightAndDark(page, "wallet-modal-wrong-network");
    await prompt.getByRole("button", { name: "Switch to Local chain" }).click();
    await prompt.waitFor({ state: "detached" });
    assert.match(await modal.locator("dl").innerText(), /Network\s+Local chain \(31337\)/);
    assert.equal(await page.getByRole("banner").getByRole("button", { name: "Wrong network" }).count(), 0);
    assert.deepEqual(pageErrors, []);
    await context.close();
  });

  it("manages API keys, shows usage per day and per key, recent requests and the monthly statement", async () => {
    const { page, pageErrors } = await openDashboard(browser, web, "/user", { wallet: "Demo user" });
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: web.url });
    const keys = page.getByRole("region", { name: "API keys" });
    await keys.getByLabel("Key name").fill("dashboard app");
    await keys.getByRole("button", { name: "Create key" }).click();
    const created = keys.getByRole("status").filter({ hasText: /New key “dashboard app”: cxk_/ });
    await created.waitFor();
    await created.getByRole("button", { name: "Copy the new API key" }).click();
    assert.match(await page.evaluate(() => navigator.clipboard.readText()), /^cxk_/);

    // Usage as the drain writes it, with the key and model the gateway records.
    const accountId = (await web.app.db.query<{ id: string }>("select id from accounts where wallet = $1", [demoUser.toLowerCase()])).rows[0]!.id;
    const keyId = (await web.app.db.query<{ id: string }>("select id from api_keys where account_id = $1 and name = 'dashboard app'", [accountId])).rows[0]!.id;
    const now = Date.now();
    for (const [i, [model, costWei, paygWei]] of ([["llama-3-8b", 2n * E18, 0n], ["llama-3-8b", 3n * E18, 3n * E18], ["mistral-7b", E18 / 2n, 0n]] as const).entries()) {
      await web.app.db.query(
        `insert into usage_events (request_id, account_id, endpoint, service, units_in, units_out, cost_ausd, cost_wei, billed_in, credits_wei, payg_wei, recorded_at, api_key_id, model)
         values ($1, $2, '/v1/chat/completions', 'chat', 100, 50, 1, $3, 'cxpt', $4, $5, $6, $7, $8)`,
        [`req-${randomBytes(6).toString("hex")}`, accountId, costWei, costWei - paygWei, paygWei, new Date(now - i * 3_600_000 * 30), keyId, model],
      );
    }
    await page.reload();
    const item = page.getByRole("list", { name: "Your API keys" }).getByRole("listitem").filter({ hasText: "dashboard app" });
    await item.getByText("5.5 CXPT").waitFor();
    assert.match(await item.innerText(), /Requests this month\s+\d/);
    await item.getByLabel(/Monthly limit/).fill("10,5");
    await item.getByRole("button", { name: "Save limit for dashboard app" }).click();
    await item.getByRole("alert").filter({ hasText: "plain number" }).waitFor();
    await item.getByLabel(/Monthly limit/).fill("10.5");
    await item.getByRole("button", { name: "Save limit for dashboard app" }).click();
    await item.getByRole("status").filter({ hasText: "Limit 10.5 CXPT a month." }).waitFor();
    const { rows } = await web.app.db.query<{ monthly_limit_wei: string }>("select monthly_limit_wei from api_keys where id = $1", [keyId]);
    assert.equal(rows[0]!.monthly_limit_wei, (10n * E18 + E18 / 2n).toString());
    await item.getByRole("button", { name: "Revoke dashboard app" }).click();
    await item.getByRole("alertdialog", { name: "Revoke dashboard app?" }).getByRole("button", { name: "Cancel" }).click();

    const usage = page.getByRole("region", { name: "Usage and spend" });
    const daily = usage.getByRole("table", { name: "Usage per day" });
    await daily.waitFor();
    await usage.locator(".chart canvas").first().waitFor();
    await usage.getByLabel("Show").selectOption("model");
    await daily.getByText("mistral-7b").waitFor();
    await usage.getByLabel("Show").selectOption("key");
    await daily.getByText("dashboard app").first().waitFor();
    const recent = usage.getByRole("table", { name: "Recent requests" });
    assert.equal(await recent.getByRole("row").count(), 4);
    assert.match(await recent.getByRole("row").nth(2).innerText(), /\tPAYG\tnot yet settled/);
    await lightAndDark(page, "user-keys-usage");

    const download = page.waitForEvent("download");
    await usage.getByRole("button", { name: "Download CSV" }).click();
    const csv = await readFile((await (await download).path())!, "utf8");
    assert.match(csv, /^section,date,description,amount_wei,amount_cxpt,tx_hash,reference\r\n/);
    assert.match(csv, /\nusage,/);

    await usage.getByRole("link", { name: "Printable statement" }).click();
    await page.getByRole("heading", { name: /^Statement for / }).waitFor();
    await page.getByRole("region", { name: "Totals" }).getByText(/for \d+ requests/).waitFor();
    await lightAndDark(page, "statement");
    assert.deepEqual(pageErrors, []);
    await page.context().close();
  });

  it("shows a provider the requests and tokens served per day and node, and node health over time", async () => {
    const { page, pageErrors } = await openDashboard(browser, web, "/provider", { wallet: "Demo provider" });
    const accountId = (await web.app.db.query<{ id: string }>("select id from accounts where wallet = $1", [demoProvider.toLowerCase()])).rows[0]!.id;
    const day = (ago: number) => new Date(Date.now() - ago * 86_400_000).toISOString().slice(0, 10);
    for (const [ago, tier, requests, uptime, p50] of [[2, "tide-pool", 120, 9990, 410], [1, "ocean", 80, 9875, 520], [1, "tide-pool", 40, 9875, 520], [0, "tide-pool", 200, 10000, 380]] as const) {
      await web.app.db.query(
        "insert into provider_requests (provider_account_id, tier, hour, requests) values ($1, $2, $3, $4) on conflict do nothing",
        [accountId, tier, `${day(ago)}T00:00:00Z`, requests],
      );
      await web.app.db.query("insert into provider_health (provider_account_id, day, uptime_bps, p50_ms) values ($1, $2, $3, $4) on conflict do nothing", [accountId, day(ago), uptime, p50]);
    }
    // Work served through the gateway per node, and the node's health checks.
    const nodeId = (
      await web.app.db.query<{ id: string }>(
        `insert into provider_nodes (provider_account_id, base_url, models, tier, max_concurrency, paused)
         values ($1, 'http://gpu-a.invalid:8000/v1', '{llama-3.1-8b-instruct}', 'tide-pool', 4, true) returning id`,
        [accountId],
      )
    ).rows[0]!.id;
    const at = (ago: number, hour: number) => Date.parse(`${day(ago)}T0${hour}:00:00Z`);
    const { served } = web.app.providers;
    for (const [ago, hour, tokens, latencyMs] of [[2, 1, 1000, 100], [2, 2, 500, 300], [1, 3, 2500, 50]] as const) {
      served.record({ requestId: randomBytes(8).toString("hex"), nodeId, providerAccountId: accountId, tier: "tide-pool", at: at(ago, hour), tokens, latencyMs });
    }
    await served.flush();
    const check = (ago: number, hour: number, up: boolean, latencyMs: number) => ({ nodeId, providerAccountId: accountId, at: new Date(at(ago, hour)), up, latencyMs, error: up ? null : "timeout" });
    await insertChecks(web.app.db, [check(2, 1, true, 40), check(2, 2, true, 60), check(2, 3, false, 5000), check(1, 1, true, 30)]);
    await page.reload();
    const nodes = page.getByRole("region", { name: "Your nodes: served work and health" });
    const perNode = nodes.getByRole("table", { name: "Served work and health per day and node" });
    await perNode.waitFor();
    const nodeRow = (ago: number) => perNode.getByRole("row").filter({ hasText: day(ago) }).filter({ hasText: "gpu-a.invalid:8000" });
    assert.match(await nodeRow(2).innerText(), /gpu-a\.invalid:8000 \(tide-pool\)\s+2\s+1,500\s+200 ms\s+3\s+66\.66 %\s+40 ms$/);
    assert.match(await nodeRow(1).innerText(), /\s+1\s+2,500\s+50 ms\s+1\s+100 %\s+30 ms$/);
    await nodes.locator(".chart canvas").nth(3).waitFor(); // requests, tokens, uptime and p50 per node are drawn
    const card = page.getByRole("region", { name: "Served work and health", exact: true });
    const table = card.getByRole("table", { name: "Served work and health per day" });
    await table.waitFor();
    assert.match(await table.getByRole("row").nth(2).innerText(), /^\d{4}-\d{2}-\d{2}\s+120\s+ocean 80, tide-pool 40\s+98\.75 %\s+520 ms$/);
    await card.locator(".chart canvas").nth(2).waitFor(); // the three charts are drawn
    await lightAndDark(page, "provider-activity");
    assert.deepEqual(pageErrors, []);
    await page.context().close();
  });

  it("runs a job now, finds an account by wallet and grants it legacy credits, and filters the audit log", async () => {
    const admin = await signIn(web.api, USERS.admin);
    await web.app.db.query("update accounts set role = 'admin' where id = $1", [admin.accountId]);
    const { page, pageErrors } = await openDashboard(browser, web, "/admin", { wallet: "Demo admin" });

    const jobs = page.getByRole("region", { name: "Jobs" });
    await jobs.getByRole("table", { name: "Jobs" }).waitFor();
    await jobs.getByRole("button", { name: "Run monitor now" }).click();
    await jobs.getByRole("status").filter({ hasText: /^monitor: (ok|skipped|failed)/ }).waitFor();
    assert.match(await jobs.getByRole("row").filter({ hasText: "monitor" }).innerText(), /manual/);

    const accounts = page.getByRole("region", { name: "Accounts" });
    await accounts.getByLabel("Wallet").fill("0x1234");
    await accounts.getByRole("button", { name: "Search" }).click();
    await accounts.getByRole("alert").filter({ hasText: "40 hex digits" }).waitFor();
    await accounts.getByLabel("Wallet").fill(demoUser.toLowerCase());
    assert.equal(await accounts.getByRole("alert").count(), 0, "the stale error is cleared once the input changes");
    await accounts.getByRole("button", { name: "Search" }).click();
    const found = accounts.getByRole("list", { name: "Accounts found" }).getByRole("listitem");
    await found.filter({ hasText: demoUser }).waitFor();
    assert.equal(await found.count(), 1);
    await found.getByLabel("Grant (USD)").fill("5");
    await found.getByLabel("Reason").fill("e2e goodwill");
    await found.getByRole("button", { name: "Grant legacy credits" }).click();
    await accounts.getByRole("status").filter({ hasText: "legacy credits now $5.00" }).waitFor();

    const audit = page.getByRole("region", { name: "Audit log" });
    await audit.getByLabel("Action").fill("grant_legacy_credits");
    await audit.getByRole("button", { name: "Filter" }).click();
    const entries = audit.getByRole("table", { name: "Audit entries" }).getByRole("row");
    await entries.nth(1).getByText("grant_legacy_credits").waitFor();
    assert.equal(await entries.count(), 2, "one entry and the header");
    await page.getByRole("region", { name: "Stage" }).getByRole("button", { name: /is current$/ }).waitFor();
    await lightAndDark(page, "admin-operations");
    assert.deepEqual(pageErrors, []);
    await page.context().close();
  });
});
