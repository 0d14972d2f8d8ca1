import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { encodeFunctionData, getAddress, isAddressEqual, parseEther, parseUnits, toHex, type Address } from "viem";
import { usdToCxpt } from "../../../../deploy/config.ts";
import { cxptAbi } from "../../../../src/chain/abis.ts";
import { activateForFiat } from "../../../../src/subscriptions/chain.ts";
import { localSwap, zeroExSwap, type SwapProvider } from "../../../../src/subscriptions/swap.ts";
import { backendKey, deployProxy, type Suite } from "../../helpers/fixture.ts";
import { jsonServer, rejectsWith, type JsonAnswer, type JsonRequest } from "../../tokens/helpers.ts";
import { PLAN, PLANS, loadPlans } from "./helpers.ts";

const usd = (dollars: string) => parseUnits(dollars, 18); // atto-USD

describe("localSwap", () => {
  const provider = (s: Suite, cxptUsd = "0.10", taker: Address = s.wallets.operator.account.address): SwapProvider =>
    localSwap({ publicClient: s.publicClient, treasury: backendKey(s.wallets.distribution), taker, cxpt: s.cxpt.address, cxptUsd });

  it("prices exactly at the CXPT/USD rate, exact in rounding down and exact out rounding up", async () => {
    const s = await loadPlans();
    const swap = provider(s);
    assert.deepEqual(await swap.quote({ sellAmount: usd("15") }), { sellAmount: usd("15"), buyAmount: parseEther("150"), minBuyAmount: parseEther("150") });
    assert.equal((await swap.quote({ sellAmount: usd("15") })).buyAmount, usdToCxpt("15", "0.10"));
    // Exact out: the Pro plan's price costs its USD price.
    assert.equal((await swap.quote({ buyAmount: PLANS[1]!.price })).sellAmount, usd("69"));
    // 1 wei CXPT costs 0.1 atto-USD: rounded up to 1; 1 atto-USD buys 10 wei.
    assert.deepEqual(await swap.quote({ buyAmount: 1n }), { sellAmount: 1n, buyAmount: 1n, minBuyAmount: 1n });
    assert.equal((await swap.quote({ sellAmount: 1n })).buyAmount, 10n);
    // An awkward rate: 0.07 USD per CXPT.
    const odd = provider(s, "0.07");
    const { sellAmount } = await odd.quote({ buyAmount: parseEther("100") });
    assert.equal(sellAmount, usd("7"));
    assert.equal((await odd.quote({ sellAmount: usd("1") })).buyAmount, (usd("1") * 10n ** 18n) / usd("0.07"));
    assert.ok((await odd.quote({ sellAmount: (await odd.quote({ buyAmount: 3n })).sellAmount })).buyAmount >= 3n);
  });

  it("delivers the CXPT from the treasury to the operator; no transaction when they are the same wallet", async () => {
    const s = await loadPlans();
    const { distribution, operator } = s.wallets;
    const before = await s.cxpt.read.balanceOf([operator.account.address]);
    const result = await provider(s).swap({ sellAmount: usd("15") });
    assert.equal(result.cxptAmount, parseEther("150"));
    assert.equal(result.sellAmount, usd("15"));
    assert.equal(await s.cxpt.read.balanceOf([operator.account.address]), before + parseEther("150"));
    assert.ok((await s.publicClient.getTransactionReceipt({ hash: result.txHash! })).status === "success");

    const self = await provider(s, "0.10", distribution.account.address).swap({ buyAmount: 5n });
    assert.deepEqual(self, { cxptAmount: 5n, sellAmount: 1n });
  });

  it("SWAP_NO_LIQUIDITY beyond the treasury's holdings; INVALID_SWAP_AMOUNT for zero", async () => {
    const s = await loadPlans();
    const held = await s.cxpt.read.balanceOf([s.wallets.distribution.account.address]);
    await rejectsWith(provider(s).swap({ buyAmount: held + 1n }), "SWAP_NO_LIQUIDITY", 503);
    await rejectsWith(provider(s).quote({ sellAmount: 0n }), "INVALID_SWAP_AMOUNT", 400);
  });

  it("the fiat path end to end: swap the plan's USD price, then activate with the CXPT", async () => {
    const s = await loadPlans();
    const { carol, operator } = s.wallets;
    const pro = PLANS[1]!;
    const swapped = await provider(s).swap({ buyAmount: pro.price });
    assert.equal(swapped.sellAmount, usd("69"), "the user is charged the plan's USD price");
    const activation = await activateForFiat({
      publicClient: s.publicClient,
      operator: backendKey(operator),
      contracts: { cxpt: s.cxpt.address, vault: s.vault.address, subscriptions: s.subscriptions.address },
      user: carol.account.address,
      planId: PLAN.pro,
      ref: toHex("stripe:pi_9", { size: 32 }),
    });
    assert.equal(activation.price, swapped.cxptAmount);
  });
});

describe("zeroExSwap (0x Swap API v2 served locally)", () => {
  const API_KEY = "0x-test-key";
  /** The local "AllowanceHolder": approvals go to it, as 0x names it in issues.allowance. */
  const ALLOWANCE_HOLDER = getAddress("0x0000000000001ff3684f28c67538d4d072c22734");
  const RATE = 10n; // CXPT per sell token

  let s: Suite;
  let usdc: Address;
  let mode: "fill" | "no-liquidity" | "revert" | "error" | "not-json" | "no-transaction" = "fill";
  let api: Awaited<ReturnType<typeof jsonServer>>;

  /**
   * Speaks the 0x v2 price/quote shape. A quote's transaction delivers the CXPT from a market maker
   * (the distribution wallet, which approved the taker) by `transferFrom`.
   */
  async function zeroEx({ url, headers }: JsonRequest): Promise<JsonAnswer> {
    if (headers["0x-api-key"] !== API_KEY || headers["0x-version"] !== "v2") {
      return { status: 401, json: { name: "UNAUTHORIZED", message: "invalid api key or version" } };
    }
    const endpoint = url.pathname.match(/^\/swap\/allowance-holder\/(price|quote)$/)?.[1];
    const q = url.searchParams;
    if (endpoint === undefined || q.get("chainId") !== "31337") return { status: 400, json: { name: "INPUT_INVALID", message: "bad request", data: {} } };
    if (mode === "error") return { status: 400, json: { name: "TOKEN_NOT_SUPPORTED", message: "buyToken is not supported", data: {} } };
    if (mode === "not-json") return { status: 502, text: "<html>bad gateway</html>" };
    if (mode === "no-liquidity") return { status: 200, json: { liquidityAvailable: false, zid: "0x1" } };
    const sellAmount = q.has("sellAmount") ? BigInt(q.get("sellAmount")!) : (BigInt(q.get("buyAmount")!) + RATE - 1n) / RATE;
    const buyAmount = q.has("buyAmount") ? BigInt(q.get("buyAmount")!) : sellAmount * RATE;
    const taker = q.get("taker") as Address;
    const actual = await s.publicClient.readContract({ address: usdc, abi: cxptAbi, functionName: "allowance", args: [taker, ALLOWANCE_HOLDER] });
    const maker = s.wallets.distribution.account.address;
    const deliver = mode === "revert" ? buyAmount * 1_000_000n : buyAmount;
    return {
      status: 200,
      json: {
        liquidityAvailable: true,
        chainId: 31337,
        buyToken: q.get("buyToken"),
        sellToken: q.get("sellToken"),
        buyAmount: buyAmount.toString(),
        sellAmount: sellAmount.toString(),
        minBuyAmount: ((buyAmount * (10_000n - BigInt(q.get("slippageBps")!))) / 10_000n).toString(),
        allowanceTarget: ALLOWANCE_HOLDER,
        issues: {
          allowance: actual < sellAmount ? { actual: actual.toString(), spender: ALLOWANCE_HOLDER } : null,
          balance: null,
          simulationIncomplete: false,
          invalidSourcesPassed: [],
        },
        ...(endpoint === "quote" && mode !== "no-transaction"
          ? {
              transaction: {
                to: s.cxpt.address,
                data: encodeFunctionData({ abi: cxptAbi, functionName: "transferFrom", args: [maker, taker, deliver] }),
                gas: "120000",
                gasPrice: "1000000000",
                value: "0",
              },
            }
          : {}),
        zid: "0x2",
      },
    };
  }

  before(async () => {
    api = await jsonServer((request) => zeroEx(request));
  });
  after(() => api.close());

  /** The suite, a stand-in stablecoin held by the operator, and the market maker's approval. */
  async function market() {
    s = await loadPlans();
    mode = "fill";
    const { admin, distribution, operator } = s.wallets;
    usdc = (await deployProxy("CXPT", [admin.account.address, operator.account.address])).address;
    await s.cxpt.write.approve([operator.account.address, parseEther("1000000")], { account: distribution.account });
    return zeroExSwap({
      apiUrl: `${api.url}/`,
      apiKey: API_KEY,
      chainId: 31337,
      publicClient: s.publicClient,
      taker: backendKey(operator),
      sellToken: usdc,
      buyToken: s.cxpt.address,
      slippageBps: 50,
    });
  }

  it("quote asks /price with the v2 headers and the trade in the query", async () => {
    const swap = await market();
    const seen = api.requests.length;
    assert.deepEqual(await swap.quote({ sellAmount: parseEther("15") }), {
      sellAmount: parseEther("15"),
      buyAmount: parseEther("150"),
      minBuyAmount: (parseEther("150") * 9_950n) / 10_000n,
    });
    const [request] = api.requests.slice(seen);
    assert.equal(request!.url.pathname, "/swap/allowance-holder/price");
    assert.equal(request!.headers["0x-api-key"], API_KEY);
    assert.equal(request!.headers["0x-version"], "v2");
    const q = request!.url.searchParams;
    assert.deepEqual(
      [q.get("chainId"), q.get("sellToken"), q.get("buyToken"), q.get("sellAmount"), q.get("taker"), q.get("slippageBps")],
      // The taker as its local account names it (checksummed).
      ["31337", usdc, s.cxpt.address, parseEther("15").toString(), getAddress(s.wallets.operator.account.address), "50"],
    );
    assert.equal((await swap.quote({ buyAmount: parseEther("690") })).sellAmount, parseEther("69"));
  });

  it("swap approves the AllowanceHolder when short, sends the quote's transaction and counts the CXPT received", async () => {
    const swap = await market();
    const operator = s.wallets.operator.account.address;
    const before = await s.cxpt.read.balanceOf([operator]);

    const first = await swap.swap({ sellAmount: parseEther("15") });
    assert.equal(first.cxptAmount, parseEther("150"));
    assert.equal(first.sellAmount, parseEther("15"));
    assert.equal(await s.cxpt.read.balanceOf([operator]), before + parseEther("150"));
    const allowance = () => s.publicClient.readContract({ address: usdc, abi: cxptAbi, functionName: "allowance", args: [operator, ALLOWANCE_HOLDER] });
    assert.equal(await allowance(), parseEther("15"), "approved the spender 0x named, for the sell amount");
    const receipt = await s.publicClient.getTransactionReceipt({ hash: first.txHash! });
    assert.ok(isAddressEqual(receipt.from, operator) && isAddressEqual(receipt.to!, s.cxpt.address));

    // Exact out, allowance already in place: no new approval.
    const nonce = await s.publicClient.getTransactionCount({ address: operator });
    const second = await swap.swap({ buyAmount: parseEther("100") });
    assert.equal(second.cxptAmount, parseEther("100"));
    assert.equal(second.sellAmount, parseEther("10"));
    assert.equal(await s.publicClient.getTransactionCount({ address: operator }), nonce + 1, "only the swap transaction");
  });

  it("SWAP_NO_LIQUIDITY, SWAP_API_ERROR (error answer, wrong key, not JSON, no transaction) and SWAP_FAILED", async () => {
    const swap = await market();
    const trade = { sellAmount: parseEther("1") };
    mode = "no-liquidity";
    await rejectsWith(swap.quote(trade), "SWAP_NO_LIQUIDITY", 503);
    mode = "error";
    const error = await rejectsWith(swap.swap(trade), "SWAP_API_ERROR", 502);
    assert.deepEqual(error.details, { status: 400, name: "TOKEN_NOT_SUPPORTED" });
    mode = "not-json";
    await rejectsWith(swap.quote(trade), "SWAP_API_ERROR", 502);
    mode = "no-transaction";
    await rejectsWith(swap.swap(trade), "SWAP_API_ERROR", 502);
    mode = "fill";
    const unauthorized = zeroExSwap({
      apiUrl: api.url,
      apiKey: "wrong",
      chainId: 31337,
      publicClient: s.publicClient,
      taker: backendKey(s.wallets.operator),
      sellToken: usdc,
      buyToken: s.cxpt.address,
    });
    assert.equal((await rejectsWith(unauthorized.quote(trade), "SWAP_API_ERROR", 502)).details?.name, "UNAUTHORIZED");
    mode = "revert";
    const failed = await rejectsWith(swap.swap(trade), "SWAP_FAILED", 502);
    assert.equal(failed.details?.reason, "ERC20InsufficientAllowance");
    await rejectsWith(swap.swap({ buyAmount: 0n }), "INVALID_SWAP_AMOUNT", 400);
  });
});
