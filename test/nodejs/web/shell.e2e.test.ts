// The dashboards' frame in a real browser: connecting the development wallet, signing in (which
// opens or links the account), the messages for a refused signature and an unreachable API,
// keyboard navigation, the receipt page, unknown paths and the phone-width layout.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { privateKeyToAccount } from "viem/accounts";
import { devKey, DEV_KEYS } from "../../../src/devstack/keys.ts";
import { cxptAbi } from "../../../src/chain/abis.ts";
import { viem, walletOf } from "../api/harness.ts";
import { launchBrowser, openDashboard, PHONE, screenshot, scrollsSideways, startWebStack, type WebStack } from "./browser.ts";

const demoUser = privateKeyToAccount(devKey(DEV_KEYS.demoUser)).address;

describe("web: the dashboards' frame (Chromium)", () => {
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

  it("a refused sign-in signature says so; signing in opens the wallet's account", async () => {
    const { page, prompts, pageErrors, rejectNextPrompt } = await openDashboard(browser, web, "/user", { wallet: "Demo user", signIn: false });
    await page.getByText("Sign in with your wallet to see this dashboard").waitFor();
    rejectNextPrompt();
    await page.getByRole("banner").getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "You rejected the request in your wallet" }).first().waitFor();
    assert.match(prompts[0]!, /Sign this message\?[\s\S]*wants you to sign in with your Ethereum account/);
    const { rows: before } = await web.app.db.query("select id from accounts where lower(wallet) = lower($1)", [demoUser]);
    assert.equal(before.length, 0, "a refused signature opens no account");

    await page.getByRole("banner").getByRole("button", { name: "Sign in" }).click();
    await page.getByText("user · signed in").waitFor();
    const { rows } = await web.app.db.query<{ kind: string }>("select kind from accounts where lower(wallet) = lower($1)", [demoUser]);
    assert.deepEqual(rows, [{ kind: "user" }]);
    assert.deepEqual(pageErrors, []);
    await page.context().close();
  });

  it("an unreachable API is said plainly, and the action can be retried", async () => {
    const { page } = await openDashboard(browser, web, "/user", { wallet: "Spare 1", signIn: false });
    await page.route("**/api/v1/auth/nonce", (route) => route.abort("connectionrefused"));
    await page.getByRole("banner").getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "could not be reached" }).first().waitFor();
    await page.unroute("**/api/v1/auth/nonce");
    await page.getByRole("banner").getByRole("button", { name: "Sign in" }).click();
    await page.getByText("signed in").waitFor();
    await page.context().close();
  });

  it("works by keyboard: skip link, the dashboards' links, and a non-admin is told the admin page is not theirs", async () => {
    const { page } = await openDashboard(browser, web, "/user", { wallet: "Demo user" });
    // After a reload the wallet reconnects and the session is kept; focus starts at the top.
    await page.reload();
    await page.getByText("user · signed in").waitFor();
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to content");
    const admin = page.getByRole("navigation", { name: "Dashboards" }).getByRole("link", { name: "Admin" });
    await admin.focus();
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/admin$/);
    await page.getByRole("alert").filter({ hasText: "This dashboard is for admins" }).waitFor();
    await page.goto(`${web.url}/nowhere`);
    await page.getByRole("alert").filter({ hasText: "There is no page at /nowhere" }).waitFor();
    await page.context().close();
  });

  it("a deposit can be made with the keyboard alone, and the dialog gives focus back when it closes", async () => {
    const distribution = await walletOf(devKey(DEV_KEYS.distribution));
    const funded = await distribution.writeContract({ address: web.deployment.contracts.cxpt!, abi: cxptAbi, functionName: "transfer", args: [demoUser, 10n ** 19n] });
    await (await viem.getPublicClient()).waitForTransactionReceipt({ hash: funded });
    const { page } = await openDashboard(browser, web, "/user", { wallet: "Demo user" });
    const active = () => page.evaluate(() => ({ tag: document.activeElement?.tagName, text: document.activeElement?.textContent ?? "", label: (document.activeElement as HTMLInputElement | null)?.labels?.[0]?.textContent ?? "" }));
    /** Presses Tab until the focused element matches (at most 30 times): reachable by keyboard, or the test fails. */
    const tabTo = async (match: (el: Awaited<ReturnType<typeof active>>) => boolean, what: string) => {
      for (let i = 0; i < 30; i++) {
        if (match(await active())) return;
        await page.keyboard.press("Tab");
      }
      assert.fail(`${what} is not reachable with Tab`);
    };
    const opener = page.getByRole("button", { name: "Deposit", exact: true });
    await opener.focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    await tabTo((el) => el.tag === "INPUT" && el.label.startsWith("Amount"), "the amount field");
    await page.keyboard.type("2");
    await tabTo((el) => el.tag === "BUTTON" && el.text === "Deposit", "the dialog's Deposit button");
    await page.keyboard.press("Enter");
    await dialog.getByText(/Deposit confirmed: 2 CXPT paid, 0\.1 CXPT burned/).waitFor();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    assert.equal((await active()).text, "Deposit", "focus is back on the button that opened the dialog");
    await page.context().close();
  });

  it("shows a transaction's receipt read from the chain", async () => {
    const distribution = await walletOf(devKey(DEV_KEYS.distribution));
    const hash = await distribution.writeContract({ address: web.deployment.contracts.cxpt!, abi: cxptAbi, functionName: "transfer", args: [demoUser, 5n * 10n ** 18n] });
    await (await viem.getPublicClient()).waitForTransactionReceipt({ hash });
    const { page } = await openDashboard(browser, web, `/tx/${hash}`, { wallet: "Demo user", signIn: false });
    await page.getByText("Succeeded").waitFor();
    await page.goto(`${web.url}/tx/0x1234`);
    await page.getByRole("alert").filter({ hasText: "This is not a transaction hash" }).waitFor();
    await page.context().close();
  });

  it("offers the browser's wallet and says when there is none; WalletConnect only with a project id", async () => {
    /** The wallets the header's modal lists on `url`. */
    const walletsOn = async (page: Page, url: string) => {
      await page.goto(`${url}/user`);
      await page.getByRole("banner").getByRole("button", { name: "Connect wallet" }).click();
      const list = page.getByRole("dialog", { name: "Connect a wallet" }).getByRole("list", { name: "Wallets" });
      await list.getByRole("button", { name: "Injected" }).waitFor();
      return list.getByRole("button").allInnerTexts();
    };
    const page = await browser.newPage();
    const options = await walletsOn(page, web.url);
    assert.ok(options.includes("Injected"), options.join(", "));
    assert.ok(!options.some((o) => o.includes("WalletConnect")));
    const modal = page.getByRole("dialog", { name: "Connect a wallet" });
    await modal.getByRole("button", { name: "Injected" }).click();
    await modal.getByRole("alert").filter({ hasText: "No browser wallet was found" }).waitFor();
    await page.close();

    const withProject = await startWebStack("embedded", { WALLETCONNECT_PROJECT_ID: "0123456789abcdef0123456789abcdef" });
    try {
      const other = await browser.newPage();
      const listed = await walletsOn(other, withProject.url);
      assert.ok(listed.includes("WalletConnect"), listed.join(", "));
      await other.close();
    } finally {
      await withProject.close();
    }
  });

  it("fits a phone's width without sideways scrolling", async () => {
    const { page } = await openDashboard(browser, web, "/user", { wallet: "Demo user", viewport: PHONE });
    assert.equal(await scrollsSideways(page), false);
    await screenshot(page, "frame-phone");
    await page.context().close();
  });
});
