import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { encodeErrorResult, encodeFunctionResult, getAddress, toFunctionSelector, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it, vi } from "vitest";
import { cxptAbi, vaultAbi } from "../../chain/abis.ts";
import { ApiError } from "../lib/api.ts";
import { AppConfigContext, type AppConfig } from "../lib/appConfig.ts";
import { renderWithApp, stubApi, TEST_KEY, type Routes } from "../test/render.tsx";
import type { PlanView, SubscriptionStatus } from "./subscriptionData.ts";
import { SubscriptionManager } from "./SubscriptionManager.tsx";
import { bucketCapacity, formatPeriod, formatTokens } from "./subscriptionMath.ts";
import { untilConfirmed } from "../lib/api.ts";

const CXPT = 10n ** 18n;
const WALLET = privateKeyToAccount(TEST_KEY).address;
const ADDRESSES = {
  cxpt: "0x00000000000000000000000000000000000000c1",
  vault: "0x00000000000000000000000000000000000000c2",
  subscriptions: "0x00000000000000000000000000000000000000c3",
  distributor: "0x00000000000000000000000000000000000000d1",
} as const satisfies Record<string, Address>;
const APP: AppConfig = {
  stage: "testnet",
  phase: 3,
  features: {},
  chain: { chainId: 31337, rpcUrl: "http://127.0.0.1:9/rpc", explorerUrl: null, addresses: ADDRESSES },
  walletConnectProjectId: null,
  devWallets: [],
};

const plan = (id: number, name: string, usd: number, bucket: bigint, active = true): PlanView => ({
  id,
  name,
  priceWei: (BigInt(usd) * 10n * CXPT).toString(),
  priceUsd: String(usd),
  periodSeconds: 30 * 86_400,
  bucketTokens: bucket.toString(),
  requestsPerMinute: 40 * id,
  concurrency: id,
  active,
});
const PLANS = [plan(1, "Starter", 15, 20_000_000n), plan(2, "Pro", 69, 100_000_000n), plan(3, "Legacy", 5, 1_000n, false)];

const NONE: SubscriptionStatus = {
  wallet: WALLET,
  subscribed: false,
  active: false,
  planId: null,
  planName: null,
  passId: null,
  periodEnd: null,
  autoRenew: false,
  cancelled: false,
  bucketRemaining: "0",
  overageRemaining: "0",
  overageUsed: "0",
  unsettledBucketTokens: "0",
  usableTokens: "0",
  tranches: [],
};
const PRO: SubscriptionStatus = {
  ...NONE,
  subscribed: true,
  active: true,
  planId: 2,
  planName: "Pro",
  passId: "7",
  periodEnd: "2030-01-31T00:00:00.000Z",
  autoRenew: true,
  bucketRemaining: "61700000",
  overageRemaining: "10000000",
  usableTokens: "71700000",
  tranches: [{ tokens: "100000000", expiresAt: "2030-04-30T00:00:00.000Z" }],
};

const routes = (status: SubscriptionStatus, extra: Routes = {}): Routes => ({
  "GET /api/v1/subscriptions/plans": [200, { cxptUsd: "0.1", plans: PLANS }],
  "GET /api/v1/subscriptions/status": [200, status],
  ...extra,
});

const render = (approve?: (question: string) => boolean) =>
  renderWithApp(
    <AppConfigContext.Provider value={APP}>
      <SubscriptionManager />
    </AppConfigContext.Provider>,
    approve === undefined ? {} : { approve },
  );

/** Answers the chain's JSON-RPC calls with `answer(method, params)`; the API keeps going to `stubApi`. */
function stubChain(answer: (method: string, params: readonly unknown[]) => { result?: unknown; error?: unknown }) {
  const api = globalThis.fetch;
  const methods: string[] = [];
  vi.stubGlobal("fetch", async (input: string, init?: RequestInit) => {
    if (!String(input).endsWith("/rpc")) return api(input, init);
    const { id, method, params } = JSON.parse(String(init!.body)) as { id: number; method: string; params: unknown[] };
    methods.push(method);
    return new Response(JSON.stringify({ jsonrpc: "2.0", id, ...answer(method, params) }), { headers: { "content-type": "application/json" } });
  });
  return methods;
}

const selector = (name: "balanceOf" | "allowance" | "approve") => toFunctionSelector(cxptAbi.find((i) => i.type === "function" && i.name === name)! as never);

/**
 * A chain where the wallet holds `balance` CXPT and has allowed the Vault nothing: approve would
 * succeed, activatePlan reverts with `revert`, and nothing can be sent.
 */
const chainWith = (balance: bigint, revert: `0x${string}`) =>
  stubChain((method, params) => {
    if (method === "eth_chainId") return { result: "0x7a69" };
    if (method !== "eth_call") return { error: { code: -32601, message: `no ${method} here` } };
    const data = (params[0] as { data: string }).data;
    if (data.startsWith(selector("balanceOf"))) return { result: encodeFunctionResult({ abi: cxptAbi, functionName: "balanceOf", result: balance }) };
    if (data.startsWith(selector("allowance"))) return { result: encodeFunctionResult({ abi: cxptAbi, functionName: "allowance", result: 0n }) };
    if (data.startsWith(selector("approve"))) return { result: encodeFunctionResult({ abi: cxptAbi, functionName: "approve", result: true }) };
    return { error: { code: 3, message: "execution reverted", data: revert } };
  });

describe("subscription figures", () => {
  it("measures the bucket against the plan's, or the tranches when rollover holds more", () => {
    expect(bucketCapacity(100n, [{ tokens: "40" }])).toBe(100n);
    expect(bucketCapacity(100n, [{ tokens: "100" }, { tokens: "60" }])).toBe(160n);
    expect(bucketCapacity(10n ** 30n, [{ tokens: (10n ** 30n).toString() }, { tokens: "1" }])).toBe(10n ** 30n + 1n);
  });

  it("says token counts and periods for people", () => {
    expect(formatTokens(123456789012345678901234567890n)).toBe("123,456,789,012,345,678,901,234,567,890");
    expect(formatTokens("999")).toBe("999");
    expect(formatPeriod(30 * 86_400)).toBe("30 days");
    expect(formatPeriod(86_400)).toBe("1 day");
    expect(formatPeriod(7_200)).toBe("2 hours");
    expect(formatPeriod(90)).toBe("90 seconds");
  });

  it("records a CXPT payment once its transaction has the confirmations the API waits for", async () => {
    const pending = new ApiError(409, "TX_PENDING", "transaction 0x… has 1 of 3 confirmations");
    const post = vi.fn().mockRejectedValueOnce(pending).mockRejectedValueOnce(pending).mockResolvedValue("recorded");
    const waits: number[] = [];
    await expect(untilConfirmed(post, { waitMs: 5, wait: async (ms) => void waits.push(ms) })).resolves.toBe("recorded");
    expect(waits).toEqual([5, 5]);

    const refused = new ApiError(422, "PLAN_MISMATCH", "paid for plan 1");
    await expect(untilConfirmed(vi.fn().mockRejectedValue(refused), { wait: async () => undefined })).rejects.toBe(refused);
    const stuck = vi.fn().mockRejectedValue(pending);
    await expect(untilConfirmed(stuck, { tries: 3, wait: async () => undefined })).rejects.toBe(pending);
    expect(stuck).toHaveBeenCalledTimes(3);
  });
});

describe("SubscriptionManager", () => {
  it("lists the plans with price, period, bucket and rate limits; the chosen one is bought", async () => {
    stubApi(routes(NONE));
    await render();
    const plans = await screen.findByRole("group", { name: "Choose a plan" });
    const radios = within(plans).getAllByRole("radio") as HTMLInputElement[];
    expect(radios).toHaveLength(3);
    expect(radios.map((r) => r.checked)).toEqual([true, false, false]);
    expect(radios[2]!.disabled).toBe(true);
    const pro = within(plans).getByRole("radio", { name: /^Pro/ });
    expect(pro.closest("label")!.textContent).toBe("Pro · 690 CXPT (≈ $69) per 30 days100,000,000 tokens · 80 requests/min · 2 concurrent");
    expect(within(plans).getByRole("radio", { name: /Legacy/ }).closest("label")!.textContent).toContain("retired");
    expect(screen.getByRole("button", { name: "Pay 150 CXPT from wallet" })).toBeTruthy();

    await userEvent.click(pro);
    expect((pro as HTMLInputElement).checked).toBe(true);
    expect(screen.getByRole("button", { name: "Pay 690 CXPT from wallet" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Pay $69 by card" })).toBeTruthy();
    expect(screen.getByText(/No plan yet/)).toBeTruthy();
  });

  it("shows the current plan, its expiry and the bucket left as a bar; no second plan while it runs", async () => {
    stubApi(routes(PRO));
    await render();
    const card = await screen.findByRole("region", { name: "Subscription" });
    await waitFor(() => expect(card.textContent).toContain("PlanPro"));
    const bar = within(card).getByRole("progressbar", { name: "Bucket remaining" }) as HTMLProgressElement;
    expect(bar.value).toBe(617);
    expect(card.textContent).toContain("61,700,000 of 100,000,000 tokens left, then 10,000,000 overage tokens");
    expect(card.textContent).toMatch(/Active; renews .*2030/);
    expect(card.textContent).toMatch(/Expires.*2030/);
    expect(await screen.findByText(/a new plan can be bought once it ends/)).toBeTruthy();
    expect(screen.queryByRole("button", { name: /from wallet/ })).toBeNull();
  });

  it("draws huge buckets with integer math", async () => {
    const huge = 10n ** 30n;
    stubApi(routes({ ...PRO, bucketRemaining: (huge / 4n).toString(), tranches: [{ tokens: huge.toString(), expiresAt: "2030-04-30T00:00:00.000Z" }] }));
    await render();
    const bar = (await screen.findByRole("progressbar", { name: "Bucket remaining" })) as HTMLProgressElement;
    expect(bar.value).toBe(250);
    expect(screen.getByRole("region", { name: "Subscription" }).textContent).toContain(`${formatTokens(huge / 4n)} of ${formatTokens(huge)} tokens left`);
  });

  it("says so when the fiat path is not available on this chain", async () => {
    const message = "fiat payments need a payment processor to confirm them and none is configured; chain 8453 takes CXPT payments only";
    const calls = stubApi(routes(NONE, { "POST /api/pay/subscription": [503, { error: { code: "FIAT_NOT_AVAILABLE", message, details: {} } }] }));
    await render();
    await userEvent.click(await screen.findByRole("button", { name: "Pay $15 by card" }));
    expect((await screen.findByRole("alert")).textContent).toBe(message);
    expect(calls).toContain("POST /api/pay/subscription");
    expect((screen.getByRole("button", { name: "Pay $15 by card" }) as HTMLButtonElement).disabled).toBe(false);
  });

  it("a fiat purchase shows the new pass; a retry of a failed one reuses its payment reference", async () => {
    const bodies: { paymentRef: string; usd: string }[] = [];
    let fail = true;
    stubApi(routes(NONE));
    const api = globalThis.fetch;
    vi.stubGlobal("fetch", async (input: string, init?: RequestInit) => {
      if (!String(input).endsWith("/api/pay/subscription")) return api(input, init);
      bodies.push(JSON.parse(String(init!.body)));
      if (fail) return new Response(JSON.stringify({ error: { code: "SWAP_FAILED", message: "the swap failed", details: {} } }), { status: 502 });
      const payment = { method: "fiat", txHash: `0x${"cd".repeat(32)}`, amountWei: PLANS[0]!.priceWei, periodEnd: "2030-01-31T00:00:00.000Z" };
      return new Response(JSON.stringify({ payment, subscription: { ...PRO, planId: 1, planName: "Starter" } }), { status: 201 });
    });
    await render();
    const buy = await screen.findByRole("button", { name: "Pay $15 by card" });
    await userEvent.click(buy);
    expect((await screen.findByRole("alert")).textContent).toBe("the swap failed");
    fail = false;
    await userEvent.click(buy);
    const status = await screen.findByRole("status");
    expect(status.textContent).toMatch(/Paid: Starter is active until .*2030/);
    expect(within(status).getByRole("link").getAttribute("href")).toBe(`/tx/0x${"cd".repeat(32)}`);
    expect(bodies).toHaveLength(2);
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[0]).toMatchObject({ planId: 1, payment: "fiat", usd: "15" });
    expect(screen.getByRole("region", { name: "Subscription" }).textContent).toContain("PlanStarter");
  });

  it("refuses a sanctioned wallet by the contract's revert before asking it to sign anything", async () => {
    stubApi(routes(NONE));
    const revert = encodeErrorResult({ abi: vaultAbi, errorName: "SanctionedAddress", args: [WALLET] });
    const methods = chainWith(500n * CXPT, revert);
    const prompts: string[] = [];
    await render(() => (prompts.push("asked"), true));
    await userEvent.click(await screen.findByRole("button", { name: "Pay 150 CXPT from wallet" }));
    expect((await screen.findByRole("alert")).textContent).toBe(`Blocked: ${getAddress(WALLET)} is on the sanctions list, so CXPT cannot move to or from it.`);
    expect(prompts).toEqual([]);
    expect(methods).not.toContain("eth_sendRawTransaction");
    expect(screen.queryByRole("status")).toBeNull();
  });

  it("a short allowance is approved first, raised by the price; a refused approval is said as such", async () => {
    stubApi(routes(NONE));
    const short = encodeErrorResult({ abi: cxptAbi, errorName: "ERC20InsufficientAllowance", args: [ADDRESSES.vault, 0n, 150n * CXPT] });
    const methods = chainWith(500n * CXPT, short);
    const prompts: string[] = [];
    await render((question) => (prompts.push(question), false));
    await userEvent.click(await screen.findByRole("button", { name: "Pay 150 CXPT from wallet" }));
    expect((await screen.findByRole("alert")).textContent).toBe("You rejected the request in your wallet: nothing was signed or sent.");
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain(`Send a transaction to ${ADDRESSES.cxpt}`);
    expect(methods).not.toContain("eth_sendRawTransaction");
    expect(screen.queryByRole("status")).toBeNull();
  });

  it("says the wallet holds too little CXPT before approving anything", async () => {
    stubApi(routes(NONE));
    chainWith(5n * CXPT, "0x");
    await render();
    await userEvent.click(await screen.findByRole("button", { name: "Pay 150 CXPT from wallet" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Insufficient CXPT balance: the wallet holds 5 CXPT and the plan costs 150 CXPT.");
  });

  it("cancels the renewal only after a confirmation, then shows the pass running out", async () => {
    const calls = stubApi(
      routes(PRO, { "POST /api/v1/subscriptions/cancel": [200, { txHash: `0x${"ef".repeat(32)}`, subscription: { ...PRO, autoRenew: false, cancelled: true } }] }),
    );
    await render();
    await userEvent.click(await screen.findByRole("button", { name: "Cancel renewal…" }));
    const confirm = screen.getByRole("group", { name: "Confirm cancellation" });
    expect(confirm.textContent).toMatch(/stays usable until .*2030/);
    await userEvent.click(within(confirm).getByRole("button", { name: "Keep my plan" }));
    expect(calls).not.toContain("POST /api/v1/subscriptions/cancel");

    await userEvent.click(screen.getByRole("button", { name: "Cancel renewal…" }));
    await userEvent.click(screen.getByRole("button", { name: "Yes, cancel renewal" }));
    expect((await screen.findByRole("status")).textContent).toContain("Renewal cancelled");
    expect(calls).toContain("POST /api/v1/subscriptions/cancel");
    const card = screen.getByRole("region", { name: "Subscription" });
    expect(card.textContent).toMatch(/Active until .*2030.*; renewal off/);
    expect(screen.queryByRole("button", { name: "Cancel renewal…" })).toBeNull();
  });

  it("a failed status read says why and offers to try again", async () => {
    stubApi({ ...routes(NONE), "GET /api/v1/subscriptions/status": [409, { error: { code: "WALLET_NOT_LINKED", message: "link a wallet first", details: {} } }] });
    await render();
    expect((await screen.findByRole("alert")).textContent).toBe("link a wallet first");
    expect(screen.getByRole("button", { name: "Try again" })).toBeTruthy();
  });
});
