// The admin dashboard in headless Chromium against the embedded stack: payments into the Vault give
// the next epoch a budget and the protocol a balance; the admin signs in with the development
// wallet, uploads a points CSV (one bad row reported, then fixed), publishes the epoch's shares and
// watches the upload reach the end, sets the reward split, proposes a protocol withdrawal to the Safe, confirms it
// (its own wallet is refused: it is no owner; the backend's owner keys confirm) and executes it,
// and runs the stage check before switching the phase; each effect is read back from the chain.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseEther, toHex, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Browser } from "playwright-core";
import { cxptAbi, distributorAbi, vaultAbi } from "../../../src/chain/abis.ts";
import { POOL_IDS } from "../../../src/rewards/points.ts";
import { fundCxpt, signIn, USERS, viem, walletOf } from "../api/harness.ts";
import { launchBrowser, openDashboard, overflowing, PHONE, screenshot, scrollsSideways, startWebStack, type WebStack } from "./browser.ts";

const ADMIN: Address = privateKeyToAccount(USERS.admin).address;
const [ALICE, BOB, CAROL] = [USERS.alice, USERS.bob, USERS.carol].map((key) => privateKeyToAccount(key).address) as [Address, Address, Address];

describe("admin dashboard in the browser", () => {
  let web: WebStack;
  let browser: Browser;
  const distributor = () => ({ address: web.deployment.contracts.distributor!, abi: distributorAbi }) as const;

  /** `amount` CXPT paid into the Vault by carol; swept into the distributor when `sweep`. */
  async function pay(amount: bigint, sweep: boolean) {
    const { cxpt, vault } = web.deployment.contracts;
    const payer = await walletOf(USERS.carol);
    const client = await viem.getPublicClient();
    await fundCxpt(web.deployment, payer.account.address, amount);
    await client.waitForTransactionReceipt({ hash: await payer.writeContract({ address: cxpt!, abi: cxptAbi, functionName: "approve", args: [vault!, amount] }) });
    await client.waitForTransactionReceipt({ hash: await payer.writeContract({ address: vault!, abi: vaultAbi, functionName: "deposit", args: [amount, toHex(0n, { size: 32 })] }) });
    if (sweep) await client.waitForTransactionReceipt({ hash: await payer.writeContract({ address: vault!, abi: vaultAbi, functionName: "sweep" }) });
  }

  before(async () => {
    web = await startWebStack("embedded");
    browser = await launchBrowser();
    const admin = await signIn(web.api, USERS.admin);
    await web.app.db.query("update accounts set role = 'admin' where id = $1", [admin.accountId]);
    await pay(parseEther("1000"), true);
    await pay(parseEther("200"), false);
  });
  after(async () => {
    await browser?.close();
    await web?.close();
  });

  it("uploads a CSV, dispatches shares with progress, withdraws protocol CXPT through the Safe and checks the stage", async () => {
    const client = await viem.getPublicClient();
    const { page, prompts, pageErrors } = await openDashboard(browser, web, "/admin", { wallet: "Demo admin" });
    const airdrop = page.getByRole("region", { name: "Airdrop console" });
    await airdrop.getByText("Points for epoch 1").waitFor();

    // A CSV with one bad row: the report names it, and nothing can be dispatched.
    const file = (text: string) => ({ name: "points.csv", mimeType: "text/csv", buffer: Buffer.from(text) });
    const good = [`${ALICE},100,providers`, `${BOB},300,providers`, `${CAROL},40,users`];
    await airdrop.getByLabel("Points CSV").setInputFiles(file(["wallet,points,pool", ...good, "0x1234,5,users"].join("\n")));
    await airdrop.getByRole("alert").filter({ hasText: "3 rows ok, 1 refused" }).waitFor();
    const badRow = airdrop.getByRole("row").filter({ hasText: "✗" });
    assert.match(await badRow.innerText(), /5\s+✗ "0x1234" is not an address/);
    assert.equal(await airdrop.getByRole("button", { name: /Publish epoch/ }).count(), 0);

    // Fixed: every row ok, each account's share of its pool's budget shown, then dispatched.
    await airdrop.getByLabel("Points CSV").setInputFiles(file(["wallet,points,pool", ...good].join("\n")));
    await airdrop.getByRole("status").filter({ hasText: "3 rows ok: ready to dispatch" }).waitFor();
    assert.equal(await airdrop.getByRole("row").filter({ hasText: "✓ ok" }).count(), 3);
    assert.match(await airdrop.getByRole("row").filter({ hasText: ALICE.slice(0, 6) }).innerText(), /\d CXPT/);
    await airdrop.getByRole("button", { name: "Publish epoch 1 shares" }).click();
    await airdrop.getByText("3 of 3 rows of epoch 1 on chain: done.").waitFor();
    await airdrop.getByRole("status").filter({ hasText: "Uploaded epoch 1: 3 rows sent, 0 unchanged, in 2 transactions" }).waitFor();
    assert.equal(await airdrop.getByRole("progressbar", { name: "Upload progress" }).getAttribute("value"), "1000");
    const links = await airdrop.getByRole("status").getByRole("link").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    assert.equal(links.length, 2);
    const shares = (who: Address, pool: keyof typeof POOL_IDS) => client.readContract({ ...distributor(), functionName: "sharesOf", args: [who, POOL_IDS[pool], 1n] });
    assert.deepEqual([await shares(ALICE, "providers"), await shares(BOB, "providers"), await shares(CAROL, "users")], [100n, 300n, 40n]);
    for (const href of links) assert.equal((await client.getTransactionReceipt({ hash: href!.replace("/tx/", "") as `0x${string}` })).status, "success");

    // The split: one share moved, the other two follow so the three stay at 100 %, saved on chain.
    await airdrop.getByLabel("Protocol %").fill("20");
    assert.deepEqual(await Promise.all(["Providers %", "Users %"].map((name) => airdrop.getByLabel(name).inputValue())), ["62.85", "17.15"]);
    await airdrop.getByRole("button", { name: "Save split" }).click();
    await airdrop.getByRole("status").filter({ hasText: "Done: RewardDistributor: split protocol/providers/users 2000/6285/1715 bps." }).waitFor();
    assert.deepEqual(await client.readContract({ ...distributor(), functionName: "split" }), [2000n, 6285n, 1715n]);
    await airdrop.getByText("3 of 3 rows of epoch 1 on chain: done.").waitFor();

    // A protocol withdrawal: proposed, refused from the admin's own wallet (no owner), confirmed by
    // the backend's two owner keys one at a time, executed.
    const protocol = page.getByRole("region", { name: "Protocol balance" });
    const balanceBefore = await client.readContract({ ...distributor(), functionName: "protocolBalance" });
    const adminCxpt = () => client.readContract({ address: web.deployment.contracts.cxpt!, abi: cxptAbi, functionName: "balanceOf", args: [ADMIN] });
    const cxptBefore = await adminCxpt();
    assert.equal(await protocol.getByLabel("Recipient").inputValue(), ADMIN);
    await protocol.getByLabel("Amount (CXPT)").fill("10");
    await protocol.getByRole("button", { name: "Propose withdrawal" }).click();
    await protocol.getByRole("status").filter({ hasText: "Withdrawal #1 proposed: it needs 2 owner confirmations." }).waitFor();
    const proposal = protocol.getByRole("article", { name: "Withdrawal #1" });
    await proposal.getByText("Proposed: 0 of 2 confirmations").waitFor();
    await proposal.getByRole("button", { name: "Confirm with my wallet" }).click();
    await proposal.getByRole("alert").filter({ hasText: "is not an owner of the Safe" }).waitFor();
    assert.ok(prompts.some((p) => p.includes('Sign typed data "SafeTx"')), prompts.join("\n"));
    await proposal.getByRole("button", { name: "Confirm with backend key" }).click();
    await proposal.getByText("Proposed: 1 of 2 confirmations").waitFor();
    await proposal.getByRole("button", { name: "Confirm with backend key" }).click();
    await proposal.getByText("Proposed: 2 of 2 confirmations").waitFor();
    await proposal.getByRole("button", { name: "Execute" }).click();
    await proposal.getByText("Executed: 2 of 2 confirmations").waitFor();
    assert.equal(await proposal.getByRole("link").count(), 1);
    assert.equal(await client.readContract({ ...distributor(), functionName: "protocolBalance" }), balanceBefore - parseEther("10"));
    assert.equal(await adminCxpt(), cxptBefore + parseEther("10"));

    // The stage check: every check listed with its result; the switch waits for a passing check.
    const stage = page.getByRole("region", { name: "Stage" });
    await stage.getByLabel("Phase").selectOption("2");
    const switchButton = stage.getByRole("button", { name: "Switch to testnet, phase 2" });
    assert.equal(await switchButton.isDisabled(), true);
    await stage.getByRole("button", { name: "Run the checks" }).click();
    await stage.getByRole("status").filter({ hasText: /^All \d+ checks passed on chain 31337\.$/ }).waitFor();
    const checks = stage.getByRole("list", { name: "Checks" }).getByRole("listitem");
    assert.ok((await checks.count()) > 40);
    assert.match(await checks.first().innerText(), /^✓/);
    await screenshot(page, "admin");
    assert.equal(await switchButton.isDisabled(), false);
    await switchButton.click();
    await stage.getByRole("status").filter({ hasText: "Switched to testnet, phase 2." }).waitFor();
    assert.deepEqual(web.app.stage, { stage: "testnet", phase: 2 });
    assert.deepEqual(pageErrors, []);
  });

  it("fits a phone's width and names its controls", async () => {
    const { page, pageErrors } = await openDashboard(browser, web, "/admin", { wallet: "Demo admin", viewport: PHONE });
    await page.getByRole("region", { name: "Protocol balance" }).getByText("Unclaimed protocol CXPT").waitFor();
    await page.getByRole("region", { name: "Airdrop console" }).getByRole("slider", { name: "Protocol" }).waitFor();
    // The operations views too, once loaded.
    await page.getByRole("table", { name: "Jobs" }).waitFor();
    await page.getByRole("list", { name: "Accounts found" }).waitFor();
    await page.getByRole("table", { name: "Audit entries" }).waitFor();
    assert.equal(await scrollsSideways(page), false, (await overflowing(page)).join("\n"));
    assert.deepEqual(pageErrors, []);
  });
});
