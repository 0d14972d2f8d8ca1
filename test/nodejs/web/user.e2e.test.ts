// The user dashboard end to end in headless Chromium: a funded wallet signs in (linking it), sets
// its PAYG allowance, creates an API key and calls the metered endpoint from the page, is settled
// by the settlement job and verifies its charge against the on-chain root in the browser, then
// deposits by approve-and-deposit and by permit (the burn checked on chain to the wei). Refusals
// (a rejected signature, an amount above the balance) show their messages; a phone has no
// sideways scroll.
import { demoAnswer } from "../../../src/providers/demo-node.ts";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { formatUnits } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { cxptAbi, vaultAbi } from "../../../src/chain/abis.ts";
import { DEV_KEYS, devKey } from "../../../src/devstack/keys.ts";
import { runJob } from "../../../src/jobs/run.ts";
import { fundCxpt, viem } from "../api/harness.ts";
import { launchBrowser, openDashboard, PHONE, screenshot, scrollsSideways, startWebStack, type DashboardPage, type WebStack } from "./browser.ts";

const CXPT = 10n ** 18n;
const USER = privateKeyToAccount(devKey(DEV_KEYS.demoUser)).address;

/** Polls `check` until it returns a value (not undefined), up to `ms`. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const found = await check();
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe("user dashboard (browser)", () => {
  let web: WebStack;
  let browser: Browser;
  let user: DashboardPage;
  let page: Page;
  const read = async <name extends "balanceOf" | "allowance">(functionName: name, args: name extends "balanceOf" ? [`0x${string}`] : [`0x${string}`, `0x${string}`]) =>
    (await viem.getPublicClient()).readContract({ address: web.deployment.contracts.cxpt!, abi: cxptAbi, functionName, args } as never) as Promise<bigint>;
  const vaultRead = async (functionName: "burnBps" | "totalBurned" | "accrued") =>
    (await viem.getPublicClient()).readContract({ address: web.deployment.contracts.vault!, abi: vaultAbi, functionName }) as Promise<bigint>;
  const dialog = () => page.getByRole("dialog", { name: "Deposit CXPT" });
  const credits = async () => {
    const { rows } = await web.app.db.query<{ credits_wei: string }>("select credits_wei::text from accounts where wallet = $1", [USER.toLowerCase()]);
    return BigInt(rows[0]!.credits_wei);
  };

  before(async () => {
    web = await startWebStack("embedded", { INDEXER_INTERVAL_MS: "200", GATE_TTL_MS: "100" });
    browser = await launchBrowser();
    await fundCxpt(web.deployment, USER, 100n * CXPT);
    user = await openDashboard(browser, web, "/user", { wallet: "Demo user" });
    page = user.page;
  });
  after(async () => {
    await browser?.close();
    await web?.close();
  });

  /** Deposits `amount` CXPT through the modal by `path`; returns the prompts the wallet showed. */
  async function deposit(amount: string, path: "Approve, then deposit" | "Permit and deposit") {
    const before = user.prompts.length;
    await page.getByRole("region", { name: "CXPT balance" }).getByRole("button", { name: "Deposit" }).click();
    await dialog().getByLabel("Amount (CXPT)").fill(amount);
    await dialog().getByLabel(new RegExp(path)).check();
    await dialog().getByRole("button", { name: "Deposit", exact: true }).click();
    return before;
  }

  it("shows the wallet's balance after signing in", async () => {
    const balances = page.getByRole("region", { name: "CXPT balance" });
    await balances.getByText("100 CXPT").first().waitFor();
    assert.match((await balances.getByLabel("Balances").textContent()) ?? "", /Wallet balance100 CXPT/);
  });

  it("sets the PAYG allowance (the Vault's allowance)", async () => {
    const card = page.getByRole("region", { name: "PAYG allowance" });
    await card.getByLabel("New PAYG allowance (CXPT)").fill("50");
    await card.getByRole("button", { name: "Set allowance" }).click();
    await card.getByRole("status").getByText(/PAYG allowance set to 50 CXPT/).waitFor();
    assert.equal(await read("allowance", [USER, web.deployment.contracts.vault!]), 50n * CXPT);
    await card.getByLabel("PAYG allowance").getByText("50 CXPT").first().waitFor();
    // Without a spending cap settlement takes nothing: PAYG needs one.
    await card.getByLabel("PAYG allowance").getByText("none: PAYG is off").waitFor();
    await card.getByLabel("PAYG spending cap (CXPT)").fill("20");
    await card.getByRole("button", { name: "Set spending cap" }).click();
    await card.getByRole("status").getByText(/Spending cap set to 20 CXPT per day/).waitFor();
    await card.getByLabel("PAYG allowance").getByText(/20 CXPT per day/).waitFor();
  });

  it("creates an API key, uses the metered endpoint from the page, is settled, and verifies the charge: ✓", async () => {
    // No credits yet, so the usage is PAYG: settlement collects it from the allowance just set.
    const keys = page.getByRole("region", { name: "API keys" });
    await keys.getByLabel("Key name").fill("e2e app");
    await keys.getByRole("button", { name: "Create key" }).click();
    await keys.getByRole("status").getByText(/New key “e2e app”: cxk_/).waitFor();
    await keys.getByRole("button", { name: "Revoke e2e app" }).waitFor();
    await keys.getByRole("button", { name: "Try the compute API" }).click();
    // The page asks the first model a node serves; the demo node answers deterministically.
    const answer = keys.getByRole("status").filter({ hasText: demoAnswer("Hello, Cxmpute!", 64).join(" ") });
    await answer.waitFor();
    assert.match((await answer.textContent()) ?? "", /metered at [0-9.]+ CXPT \(\d+ wei\)/);

    const accountId = (await web.app.db.query<{ id: string }>("select id from accounts where wallet = $1", [USER.toLowerCase()])).rows[0]!.id;
    const payg = await eventually("the drained PAYG usage", async () => {
      const usage = await web.app.db.query<{ payg: string | null }>("select sum(payg_wei)::text as payg from usage_events where account_id = $1", [accountId]);
      return usage.rows[0]?.payg ? BigInt(usage.rows[0].payg) : undefined;
    });
    assert.ok(payg > 0n);
    const before = await read("balanceOf", [USER]);
    const run = (await runJob(web.app, "settle", { trigger: "manual" }))!;
    assert.equal(run.outcome, "ok", run.error ?? "");
    assert.equal(await read("balanceOf", [USER]), before - payg, "settlement collected the PAYG charge");

    const batchId = await eventually("the indexed usage charge", async () => {
      const booked = await web.app.db.query<{ batch: string }>("select details->>'batchId' as batch from token_transactions where account_id = $1 and type = 'usage_charge'", [accountId]);
      return booked.rows[0]?.batch;
    });
    const verify = page.getByRole("region", { name: "Verify my charge" });
    await verify.getByRole("button", { name: "Refresh charges" }).click();
    await verify.getByRole("button", { name: `Verify batch ${batchId}` }).click();
    const verdict = verify.getByRole("status").filter({ hasText: "matches the on-chain root" });
    await verdict.waitFor();
    assert.match((await verdict.textContent()) ?? "", new RegExp(`^✓ Batch ${batchId}: your leaf #\\d+ of`));
  });

  it("deposits by approve-and-deposit (approving the amount on top of the PAYG allowance): burn shown before signing, exact on chain, credited", async () => {
    const bps = await vaultRead("burnBps");
    const [balance, burnedBefore, accruedBefore] = [await read("balanceOf", [USER]), await vaultRead("totalBurned"), await vaultRead("accrued")];
    const allowanceBefore = await read("allowance", [USER, web.deployment.contracts.vault!]);
    assert.ok(allowanceBefore > 0n && allowanceBefore < 60n * CXPT, "the PAYG allowance left after settlement");
    const promptsBefore = await deposit("60", "Approve, then deposit");
    const burn = (60n * CXPT * bps) / 10_000n;
    // The preview was on screen before the wallet was asked.
    assert.match((await dialog().getByLabel("What the deposit does").textContent()) ?? "", new RegExp(`${formatUnits(burn, 18)} CXPT burned \\(5 %\\)`));
    await dialog().getByText(/Your credits are now 60 CXPT/).waitFor();
    assert.match((await dialog().getByRole("status").first().textContent()) ?? "", new RegExp(`60 CXPT paid, ${formatUnits(burn, 18)} CXPT burned`));
    const prompts = user.prompts.slice(promptsBefore);
    assert.equal(prompts.length, 2, "an approval, then the deposit");
    assert.equal(await read("balanceOf", [USER]), balance - 60n * CXPT);
    assert.equal((await vaultRead("totalBurned")) - burnedBefore, burn);
    assert.equal((await vaultRead("accrued")) - accruedBefore, 60n * CXPT - burn);
    assert.equal(await credits(), 60n * CXPT);
    assert.equal(await read("allowance", [USER, web.deployment.contracts.vault!]), allowanceBefore, "the PAYG allowance survives the deposit");
    await page.keyboard.press("Escape");
    await dialog().waitFor({ state: "hidden" });
  });

  it("deposits with a permit: one signature and one transaction, burn exact", async () => {
    const bps = await vaultRead("burnBps");
    const [balance, burnedBefore] = [await read("balanceOf", [USER]), await vaultRead("totalBurned")];
    const allowanceBefore = await read("allowance", [USER, web.deployment.contracts.vault!]);
    assert.ok(allowanceBefore > 0n);
    const promptsBefore = await deposit("4.5", "Permit and deposit");
    await dialog().getByText(/Your credits are now 64.5 CXPT/).waitFor();
    const prompts = user.prompts.slice(promptsBefore);
    assert.equal(prompts.length, 2, prompts.join("\n---\n"));
    assert.match(prompts[0]!, /Sign typed data "Permit"/);
    assert.equal(await read("balanceOf", [USER]), balance - 45n * CXPT / 10n);
    assert.equal((await vaultRead("totalBurned")) - burnedBefore, (45n * CXPT * bps) / 100_000n);
    assert.equal(await read("allowance", [USER, web.deployment.contracts.vault!]), allowanceBefore, "the PAYG allowance survives the permit deposit");
    await dialog().getByRole("button", { name: "Close" }).click();
  });

  it("says so when the permit signature is rejected, and when the amount exceeds the balance", async () => {
    const balance = await read("balanceOf", [USER]);
    await page.getByRole("region", { name: "CXPT balance" }).getByRole("button", { name: "Deposit" }).click();
    await dialog().getByLabel("Amount (CXPT)").fill("2");
    await dialog().getByLabel(/Permit and deposit/).check();
    user.rejectNextPrompt();
    await dialog().getByRole("button", { name: "Deposit", exact: true }).click();
    await dialog().getByRole("alert").getByText("You rejected the request in your wallet: nothing was signed or sent.").waitFor();
    assert.equal(await read("balanceOf", [USER]), balance);

    const prompts = user.prompts.length;
    await dialog().getByLabel("Amount (CXPT)").fill("1000");
    await dialog().getByRole("button", { name: "Deposit", exact: true }).click();
    // Amounts in messages are grouped like everywhere else (the browser's locale is en-US here).
    const [whole, fraction] = formatUnits(balance, 18).split(".");
    const held = `${new Intl.NumberFormat("en-US").format(BigInt(whole!))}${fraction ? `.${fraction}` : ""}`;
    await dialog().getByRole("alert").getByText(`Insufficient CXPT balance: the wallet holds ${held} CXPT and this needs 1,000 CXPT.`).waitFor();
    assert.equal(user.prompts.length, prompts, "nothing was put to the wallet");

    await dialog().getByLabel("Amount (CXPT)").fill("1.2.3");
    await dialog().getByText("Enter the amount as a plain number of CXPT, like 12.5.").waitFor();
    // Esc closes the dialog and focus returns to the button that opened it.
    await page.keyboard.press("Escape");
    await dialog().waitFor({ state: "hidden" });
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Deposit");

    await page.getByRole("region", { name: "CXPT balance" }).getByRole("cell", { name: /^Usage charge \(PAYG\)/ }).waitFor();
    await screenshot(page, "user");
    assert.deepEqual(user.pageErrors, []);
  });

  it("credits a deposit whose report was cut off on the next visit", async () => {
    const allowance = await read("allowance", [USER, web.deployment.contracts.vault!]);
    const [balance, creditsBefore] = [await read("balanceOf", [USER]), await credits()];
    // The deposit is mined, then the network drops the report to the API.
    await page.route("**/api/v1/tokens/deposit", (route) => route.abort("connectionrefused"));
    await deposit("3", "Approve, then deposit");
    await dialog().getByRole("alert").getByText(/could not be reached/).waitFor();
    await dialog().getByText(/nothing is lost: this browser tells Cxmpute about it again/).waitFor();
    assert.equal(await read("balanceOf", [USER]), balance - 3n * CXPT);
    assert.equal(await credits(), creditsBefore, "not credited yet");
    assert.equal(await read("allowance", [USER, web.deployment.contracts.vault!]), allowance, "the PAYG allowance survives the deposit");

    await page.unroute("**/api/v1/tokens/deposit");
    await page.reload();
    await page.getByRole("status").filter({ hasText: "Recorded deposit from an earlier visit" }).waitFor();
    assert.equal(await credits(), creditsBefore + 3n * CXPT);
    // Delivered once: the next visit has nothing left to tell.
    await page.reload();
    await page.getByRole("region", { name: "CXPT balance" }).getByText("Wallet balance").waitFor();
    assert.equal(await page.getByText("from an earlier visit").count(), 0);
    assert.equal(await credits(), creditsBefore + 3n * CXPT);
  });

  it("fits a phone: one column, no sideways scroll", async () => {
    const phone = await openDashboard(browser, web, "/user", { wallet: "Demo user", viewport: PHONE });
    await phone.page.getByRole("region", { name: "Verify my charge" }).waitFor();
    await phone.page.getByRole("region", { name: "CXPT balance" }).getByText("Wallet balance").waitFor();
    assert.equal(await scrollsSideways(phone.page), false);
    await phone.page.getByRole("region", { name: "CXPT balance" }).getByRole("button", { name: "Deposit" }).click();
    assert.equal(await scrollsSideways(phone.page), false);
    await screenshot(phone.page, "user-phone");
    assert.deepEqual(phone.pageErrors, []);
    await phone.page.context().close();
  });
});
