// The user dashboard's subscription and rewards in headless Chromium against the embedded stack:
// a user buys a plan in CXPT from the development wallet (approve, activatePlan, recorded by the
// API), sees the pass, its bucket and expiry, and cancels the renewal; a user with rewards claims
// them without gas and sees the claim in the history; a wallet on the sanctions list is refused
// with the message naming the list.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseAbi, parseEther, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Browser } from "playwright-core";
import { cxptAbi, distributorAbi, subscriptionsAbi, vaultAbi } from "../../../src/chain/abis.ts";
import { DEV_KEYS, devKey } from "../../../src/devstack/keys.ts";
import { POOL_IDS, uploadShares } from "../../../src/rewards/points.ts";
import { formatCxpt } from "../../../src/web/lib/format.ts";
import { approveVault, fundCxpt, networkHelpers, USERS, viem, walletOf } from "../api/harness.ts";
import { launchBrowser, openDashboard, PHONE, screenshot, scrollsSideways, startWebStack, type WebStack } from "./browser.ts";

const DAY = 86_400n;
const addressOf = (key: Hex): Address => privateKeyToAccount(key).address;
/** The development wallets the page offers: Spare 1…3 are the harness's alice, bob and carol. */
const SPARE_1 = USERS.alice;
const SPARE_2 = USERS.bob;
const SPARE_3 = USERS.carol;
const sanctionsAbi = parseAbi(["function setSanctioned(address account, bool sanctioned)"]);
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

interface PlanView {
  readonly id: number;
  readonly name: string | null;
  readonly priceWei: string;
  readonly priceUsd: string;
  readonly bucketTokens: string;
}

describe("user dashboard: plans and rewards in the browser", () => {
  let web: WebStack;
  let browser: Browser;
  let plans: PlanView[];
  const client = () => viem.getPublicClient();
  const mined = async (hash: Promise<Hex>) => assert.equal((await (await client()).waitForTransactionReceipt({ hash: await hash })).status, "success");
  const read = async <T>(contract: "subscriptions" | "distributor" | "cxpt" | "vault", abi: readonly unknown[], functionName: string, args: readonly unknown[]) =>
    (await client()).readContract({ address: web.deployment.contracts[contract]!, abi: abi as never, functionName: functionName as never, args: args as never }) as Promise<T>;
  const balanceOf = (who: Address) => read<bigint>("cxpt", cxptAbi, "balanceOf", [who]);

  before(async () => {
    web = await startWebStack("embedded");
    browser = await launchBrowser();
    plans = (await web.api.inject({ method: "GET", url: "/api/v1/subscriptions/plans" })).json().plans;
  });
  after(async () => {
    await browser?.close();
    await web?.close();
  });

  it("buys a plan in CXPT from the wallet, shows the pass, its bucket and expiry, and cancels the renewal", async () => {
    const pro = plans.find((p) => p.name === "Pro")!;
    const user = addressOf(SPARE_2);
    await fundCxpt(web.deployment, user, parseEther("1000"));
    // A PAYG allowance the user set before: buying the plan leaves it as it was.
    const payg = parseEther("50");
    await approveVault(web.deployment, SPARE_2, payg);
    const allowance = () => read<bigint>("cxpt", cxptAbi, "allowance", [user, web.deployment.contracts.vault!]);
    const before = await balanceOf(user);

    const { page, prompts, pageErrors } = await openDashboard(browser, web, "/user", { wallet: "Spare 2" });
    const subscription = page.getByRole("region", { name: "Subscription", exact: true });
    const plansCard = page.getByRole("region", { name: "Plans", exact: true });
    await subscription.getByText("No plan yet").waitFor();
    await plansCard.getByRole("radio", { name: /^Pro/ }).check();
    // Renewal from the wallet is the person's own opt-in.
    await plansCard.getByRole("checkbox", { name: /Renew automatically from my wallet/ }).check();
    const asked = prompts.length;
    await plansCard.getByRole("button", { name: `Pay ${formatCxpt(pro.priceWei)} from wallet` }).click();
    const paid = subscription.getByRole("status");
    await paid.waitFor({ timeout: 60_000 });
    assert.match(await paid.innerText(), /Paid: Pro is active until/);
    // The wallet asked three times: raise the Vault's allowance, send activatePlan, turn renewal on.
    assert.equal(prompts.length, asked + 3, prompts.slice(asked).join("\n---\n"));
    assert.match(prompts.at(-3)!, new RegExp(`Send a transaction to ${web.deployment.contracts.cxpt}`, "i"));
    assert.match(prompts.at(-2)!, new RegExp(`Send a transaction to ${web.deployment.contracts.subscriptions}`, "i"));
    assert.match(prompts.at(-1)!, new RegExp(`Send a transaction to ${web.deployment.contracts.subscriptions}`, "i"));

    // On chain: the wallet holds an active pass for Pro, paid with exactly the plan's price.
    const passId = await read<bigint>("subscriptions", subscriptionsAbi, "passOf", [user]);
    assert.ok(passId > 0n);
    assert.equal(await read<boolean>("subscriptions", subscriptionsAbi, "isActive", [passId]), true);
    const [planId, periodEnd, autoRenew] = await read<readonly [bigint, bigint, boolean, bigint]>("subscriptions", subscriptionsAbi, "passInfo", [passId]);
    assert.equal(planId, BigInt(pro.id));
    assert.equal(autoRenew, true, "the person opted in to renewals");
    assert.equal(await balanceOf(user), before - BigInt(pro.priceWei));
    assert.equal(await allowance(), payg);
    const tx = (await paid.getByRole("link").getAttribute("title")) as Hex;
    const receipt = await (await client()).getTransactionReceipt({ hash: tx });
    assert.equal(receipt.to?.toLowerCase(), web.deployment.contracts.subscriptions!.toLowerCase());

    // The card: plan, expiry, the full bucket as a bar; no second plan can be bought meanwhile.
    const facts = await subscription.innerText();
    assert.match(facts, /Plan\s+Pro/);
    assert.match(facts, /Status\s+Active; renews/);
    const expiry = new Date(Number(periodEnd) * 1000).getUTCFullYear();
    assert.match(facts, new RegExp(`Expires\\s+.*${expiry}`));
    const bar = subscription.getByRole("progressbar", { name: "Bucket remaining" });
    assert.equal(await bar.getAttribute("value"), "1000");
    assert.match(facts, new RegExp(`${BigInt(pro.bucketTokens).toLocaleString("en")} of ${BigInt(pro.bucketTokens).toLocaleString("en")} tokens left`));
    await plansCard.getByText("a new plan can be bought once it ends").waitFor();
    await screenshot(page, "user-plans");
    await page.setViewportSize(PHONE);
    assert.equal(await scrollsSideways(page), false, "no sideways scrolling at phone width");

    // Cancelling asks first, then the operator turns renewal off on chain.
    await subscription.getByRole("button", { name: "Cancel renewal…" }).click();
    await subscription.getByRole("button", { name: "Yes, cancel renewal" }).click();
    await subscription.getByText("Renewal cancelled: the pass runs until its period ends.").waitFor({ timeout: 30_000 });
    await subscription.getByText(/Active until .*; renewal off/).waitFor();
    const [, , renews] = await read<readonly [bigint, bigint, boolean, bigint]>("subscriptions", subscriptionsAbi, "passInfo", [passId]);
    assert.equal(renews, false);
    assert.equal(await read<boolean>("subscriptions", subscriptionsAbi, "isActive", [passId]), true, "the paid period runs on");
    assert.deepEqual(pageErrors, []);
    await page.context().close();
  });

  it("claims pending rewards without gas, or from the wallet: each receives exactly what was pending and the history shows it", async () => {
    // Payments into the Vault, swept into the distributor; Spare 1 and the demo user share the
    // users pool of the next epoch, which then runs to its end so the pending amounts stop moving.
    const user = addressOf(SPARE_1);
    const demoUser = addressOf(devKey(DEV_KEYS.demoUser));
    const { cxpt, vault, distributor } = web.deployment.contracts;
    const payer = await walletOf(USERS.admin);
    const amount = parseEther("1000");
    await fundCxpt(web.deployment, payer.account.address, amount);
    await mined(payer.writeContract({ address: cxpt!, abi: cxptAbi, functionName: "approve", args: [vault!, amount] }));
    await mined(payer.writeContract({ address: vault!, abi: vaultAbi, functionName: "deposit", args: [amount, toHex(0n, { size: 32 })] }));
    await mined(payer.writeContract({ address: vault!, abi: vaultAbi, functionName: "sweep" }));
    const rewards = web.app.chain!.signers.rewards!;
    const epoch = (await read<bigint>("distributor", distributorAbi, "currentEpoch", [])) + 1n;
    await uploadShares({ client: web.app.chain!.client, signer: rewards }, { distributor: distributor!, epoch, pool: "users", entries: [{ wallet: user, points: 1n }, { wallet: demoUser, points: 1n }] });
    await mined(rewards.writeContract({ address: distributor!, abi: distributorAbi, functionName: "startEpoch", args: [epoch, DAY] }));
    await networkHelpers.time.increase(DAY + 1n);
    const pending = await read<bigint>("distributor", distributorAbi, "pendingOf", [user, POOL_IDS.users]);
    assert.ok(pending > 0n);
    const before = await balanceOf(user);

    const { page, prompts, pageErrors, rejectNextPrompt } = await openDashboard(browser, web, "/user", { wallet: "Spare 1" });
    const card = page.getByRole("region", { name: "Rewards", exact: true });
    await card.getByText(new RegExp(`Claimable now\\s*${escape(formatCxpt(pending))}`)).waitFor();
    await card.getByText("No claims yet.").waitFor();
    // A refused signature is said as such and claims nothing; then the person signs.
    rejectNextPrompt();
    await card.getByRole("button", { name: "Claim without gas" }).click();
    await card.getByRole("alert").filter({ hasText: "You rejected the request in your wallet: nothing was signed or sent." }).waitFor();
    assert.equal(await balanceOf(user), before);
    const asked = prompts.length;
    await card.getByRole("button", { name: "Claim without gas" }).click();
    const status = card.getByRole("status");
    await status.waitFor({ timeout: 60_000 });
    assert.match(await status.innerText(), new RegExp(`Claimed ${escape(formatCxpt(pending))} to your wallet`));
    assert.equal(prompts.length, asked + 1, "the wallet signed the claim request and sent nothing");
    assert.match(prompts.at(-1)!, /Sign typed data "ForwardRequest"/);

    // On chain: exactly the pending amount, sent by the relayer.
    assert.equal(await balanceOf(user), before + pending);
    assert.equal(await read<bigint>("distributor", distributorAbi, "pendingOf", [user]), 0n);
    const txHash = (await status.getByRole("link").getAttribute("title")) as Hex;
    const tx = await (await client()).getTransaction({ hash: txHash });
    assert.notEqual(tx.from.toLowerCase(), user.toLowerCase());

    // The page follows: nothing left to claim, the claim in the history with its link.
    await card.getByText(/Claimable now\s*0 CXPT/).waitFor();
    const history = card.getByRole("table", { name: "Reward history" });
    await history.getByRole("link").first().waitFor();
    assert.equal(await history.getByRole("link").first().getAttribute("href"), `/tx/${txHash}`);
    assert.match(await history.innerText(), new RegExp(`Reward claim\\s+0x[0-9a-f]{6}…[0-9a-f]{6}\\s+${escape(formatCxpt(pending))}`));
    assert.deepEqual(pageErrors, []);
    await page.context().close();

    // The demo user claims straight from the wallet, paying the gas itself.
    const demoPending = await read<bigint>("distributor", distributorAbi, "pendingOf", [demoUser]);
    assert.ok(demoPending > 0n);
    const demoBefore = await balanceOf(demoUser);
    const demo = await openDashboard(browser, web, "/user", { wallet: "Demo user" });
    const demoCard = demo.page.getByRole("region", { name: "Rewards", exact: true });
    await demoCard.getByText(new RegExp(`Claimable now\\s*${escape(formatCxpt(demoPending))}`)).waitFor();
    const demoAsked = demo.prompts.length;
    await demoCard.getByRole("button", { name: "Claim from wallet (pays gas)" }).click();
    const demoStatus = demoCard.getByRole("status");
    await demoStatus.waitFor({ timeout: 60_000 });
    assert.match(await demoStatus.innerText(), new RegExp(`Claimed ${escape(formatCxpt(demoPending))} to your wallet`));
    assert.equal(demo.prompts.length, demoAsked + 1);
    assert.match(demo.prompts.at(-1)!, new RegExp(`Send a transaction to ${distributor}`, "i"));
    assert.equal(await balanceOf(demoUser), demoBefore + demoPending);
    const direct = await (await client()).getTransaction({ hash: (await demoStatus.getByRole("link").getAttribute("title")) as Hex });
    assert.equal(direct.from.toLowerCase(), demoUser.toLowerCase());
    await demoCard.getByText(/Claimable now\s*0 CXPT/).waitFor();
    assert.deepEqual(demo.pageErrors, []);
    await demo.page.context().close();
  });

  it("refuses a wallet on the sanctions list (a plan in CXPT or by card, a deposit) with the message naming the list", async () => {
    const user = addressOf(SPARE_3);
    await fundCxpt(web.deployment, user, parseEther("1000"));
    // The local sanctions oracle (SanctionsListMock) is owned by the deployer, the chain's first account.
    const [deployer] = await viem.getWalletClients();
    await mined(deployer!.writeContract({ address: web.deployment.contracts.sanctionsOracle!, abi: sanctionsAbi, functionName: "setSanctioned", args: [user, true] }));
    assert.equal(await read<boolean>("vault", vaultAbi, "isSanctioned", [user]), true);
    const before = await balanceOf(user);

    const { page, prompts, pageErrors } = await openDashboard(browser, web, "/user", { wallet: "Spare 3" });
    const plansCard = page.getByRole("region", { name: "Plans", exact: true });
    const starter = plans.find((p) => p.name === "Starter")!;
    const asked = prompts.length;
    await plansCard.getByRole("button", { name: `Pay ${formatCxpt(starter.priceWei)} from wallet` }).click();
    const refused = plansCard.getByRole("alert");
    await refused.waitFor({ timeout: 30_000 });
    assert.match(await refused.innerText(), new RegExp(`Blocked: ${user} is on the sanctions list`, "i"));
    assert.equal(prompts.length, asked, "refused before the wallet was asked to sign anything");

    await plansCard.getByRole("button", { name: `Pay $${starter.priceUsd} by card` }).click();
    await plansCard.getByRole("alert").filter({ hasText: new RegExp(`${user} is on the sanctions list`, "i") }).nth(1).waitFor({ timeout: 30_000 });

    // A Vault deposit is refused the same way.
    await page.getByRole("region", { name: "CXPT balance" }).getByRole("button", { name: "Deposit" }).click();
    const dialog = page.getByRole("dialog", { name: "Deposit CXPT" });
    await dialog.getByLabel("Amount (CXPT)").fill("10");
    await dialog.getByRole("button", { name: "Deposit", exact: true }).click();
    await dialog.getByRole("alert").filter({ hasText: /sanctions list/ }).waitFor({ timeout: 30_000 });

    assert.equal(await balanceOf(user), before, "no CXPT moved");
    assert.equal(await read<bigint>("subscriptions", subscriptionsAbi, "passOf", [user]), 0n, "no pass");
    assert.deepEqual(pageErrors, []);
    await page.context().close();
  });
});
