// The fiat path's conversion step: a user's fiat payment becomes CXPT in the operator wallet,
// which then pays `Vault.depositFor` (see chain.ts). A SwapProvider trades one configured asset for
// CXPT delivered to the operator ("taker"):
//  - zeroExSwap: the 0x Swap API v2 (AllowanceHolder flow), selling a stablecoin the operator holds;
//  - localSwap: development; a treasury wallet that holds CXPT "sells" it at the configured
//    CXPT/USD rate, the sell side being USD in atto-USD (1e-18 USD).
import { formatUnits, isAddress, isAddressEqual, isHex, parseEventLogs, parseUnits, type Address, type Hex, type PublicClient } from "viem";
import { DEFAULT_ECONOMICS, usdToCxpt } from "../../deploy/config.ts";
import { cxptAbi } from "../chain/abis.ts";
import { emittedBy } from "../chain/receipts.ts";
import { send, sendRaw, succeeded, type Signer, type TransactionCounter } from "../chain/send.ts";
import { AppError, badRequest } from "../errors.ts";

/** How much to trade, in base units: a fixed sell amount (exact in) or a fixed CXPT amount (exact out). */
export type SwapAmount =
  | { readonly sellAmount: bigint; readonly buyAmount?: undefined }
  | { readonly buyAmount: bigint; readonly sellAmount?: undefined };

/** A price for a trade. `buyAmount` and `minBuyAmount` are CXPT wei. */
export interface SwapQuote {
  readonly sellAmount: bigint;
  readonly buyAmount: bigint;
  /** The least CXPT the trade may deliver (slippage). */
  readonly minBuyAmount: bigint;
}

/** A completed trade: `cxptAmount` CXPT wei reached the taker for `sellAmount` of the sell asset. */
export interface SwapResult {
  readonly cxptAmount: bigint;
  readonly sellAmount: bigint;
  /** The transaction that delivered the CXPT; undefined when nothing had to move. */
  readonly txHash?: Hex;
}

/**
 * Converts the provider's sell asset (its base units) into CXPT for the taker.
 * Errors: 400 `INVALID_SWAP_AMOUNT`, 503 `SWAP_NO_LIQUIDITY`, 502 `SWAP_API_ERROR`, 502 `SWAP_FAILED`.
 */
export interface SwapProvider {
  /** An indicative price; nothing moves. */
  quote(amount: SwapAmount): Promise<SwapQuote>;
  /** Trades now and reports what the taker received. */
  swap(amount: SwapAmount): Promise<SwapResult>;
}

function requirePositive(amount: SwapAmount): void {
  const value = amount.sellAmount ?? amount.buyAmount;
  if (value <= 0n) throw badRequest("INVALID_SWAP_AMOUNT", "the amount to swap must be positive");
}

const noLiquidity = (message: string) => new AppError("SWAP_NO_LIQUIDITY", message, 503);

// ───────────────────────────── 0x ─────────────────────────────

export interface ZeroExOptions {
  /** Default https://api.0x.org. */
  readonly apiUrl?: string;
  readonly apiKey: string;
  readonly chainId: number;
  readonly publicClient: PublicClient;
  /** The wallet that sells and receives the CXPT (the operator). */
  readonly taker: Signer;
  /** The ERC-20 the taker sells (e.g. USDC). */
  readonly sellToken: Address;
  /** CXPT. */
  readonly buyToken: Address;
  /** Default 100 (1 %), as 0x. */
  readonly slippageBps?: number;
  readonly fetch?: typeof fetch;
  /** Where the taker's transactions are counted. */
  readonly counter?: TransactionCounter;
}

/** The parts of a 0x v2 price / quote answer this module uses. */
interface ZeroExAnswer {
  readonly liquidityAvailable: boolean;
  readonly sellAmount?: string;
  readonly buyAmount?: string;
  readonly minBuyAmount?: string;
  readonly issues?: { readonly allowance?: { readonly actual: string; readonly spender: string } | null };
  readonly transaction?: { readonly to: string; readonly data: string; readonly gas?: string | null; readonly value?: string };
}

const DECIMAL = /^[0-9]+$/;

/**
 * 0x Swap API v2, AllowanceHolder flow: `quote` asks `/swap/allowance-holder/price` (indicative),
 * `swap` asks `/swap/allowance-holder/quote` (firm), approves the AllowanceHolder named in
 * `issues.allowance.spender` when the taker's allowance is short, sends the quote's transaction
 * from the taker and counts the CXPT `Transfer`s to the taker in its receipt. Every request sends
 * the headers `0x-api-key` and `0x-version: v2`.
 */
export function zeroExSwap(options: ZeroExOptions): SwapProvider {
  const { apiKey, chainId, publicClient, taker, sellToken, buyToken, counter } = options;
  const apiUrl = (options.apiUrl ?? "https://api.0x.org").replace(/\/+$/, "");
  const doFetch = options.fetch ?? fetch;
  const takerAddress = taker.account.address;

  async function ask(endpoint: "price" | "quote", amount: SwapAmount) {
    requirePositive(amount);
    const query = new URLSearchParams({
      chainId: String(chainId),
      sellToken,
      buyToken,
      ...(amount.sellAmount !== undefined ? { sellAmount: amount.sellAmount.toString() } : { buyAmount: amount.buyAmount.toString() }),
      taker: takerAddress,
      slippageBps: String(options.slippageBps ?? 100),
    });
    const url = `${apiUrl}/swap/allowance-holder/${endpoint}?${query}`;
    const apiError = (message: string, details: Record<string, unknown> = {}) =>
      new AppError("SWAP_API_ERROR", `0x ${endpoint}: ${message}`, 502, details);
    let response: Response;
    try {
      response = await doFetch(url, { headers: { "0x-api-key": apiKey, "0x-version": "v2", accept: "application/json" } });
    } catch (error) {
      throw apiError(error instanceof Error ? error.message : String(error));
    }
    const text = await response.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw apiError(`HTTP ${response.status}, not JSON`, { status: response.status, body: text.slice(0, 500) });
    }
    // 0x errors are { name, message, data }: INPUT_INVALID, TOKEN_NOT_SUPPORTED, UNAUTHORIZED, …
    if (!response.ok) {
      throw apiError(`${body.name ?? `HTTP ${response.status}`}: ${body.message ?? ""}`, { status: response.status, name: body.name });
    }
    const answer = body as unknown as ZeroExAnswer;
    if (answer.liquidityAvailable !== true) throw noLiquidity("0x found no liquidity for this trade");
    const amounts = [answer.sellAmount, answer.buyAmount, answer.minBuyAmount];
    if (!amounts.every((v) => typeof v === "string" && DECIMAL.test(v))) throw apiError("amounts missing from the answer");
    return { answer, sellAmount: BigInt(answer.sellAmount!), buyAmount: BigInt(answer.buyAmount!), minBuyAmount: BigInt(answer.minBuyAmount!) };
  }

  return {
    async quote(amount) {
      const { sellAmount, buyAmount, minBuyAmount } = await ask("price", amount);
      return { sellAmount, buyAmount, minBuyAmount };
    },

    async swap(amount) {
      const { answer, sellAmount } = await ask("quote", amount);
      const tx = answer.transaction;
      if (tx === undefined || !isAddress(tx.to) || !isHex(tx.data)) {
        throw new AppError("SWAP_API_ERROR", "0x quote: no transaction in the answer", 502);
      }
      const failure = { code: "SWAP_FAILED", message: "the 0x swap failed" };
      const chain = { client: publicClient, signer: taker };
      const allowance = answer.issues?.allowance;
      // Approve only the spender 0x names (AllowanceHolder), never the transaction's target.
      if (allowance && isAddress(allowance.spender) && BigInt(allowance.actual) < sellAmount) {
        const approve = { address: sellToken, abi: cxptAbi, functionName: "approve", args: [allowance.spender, sellAmount] } as const;
        await succeeded(send(chain, approve, { purpose: "swap_approve", counter }), failure);
      }
      const trade = { to: tx.to, data: tx.data, value: BigInt(tx.value ?? "0"), ...(tx.gas ? { gas: BigInt(tx.gas) } : {}) };
      const { receipt } = await succeeded(sendRaw(chain, trade, { purpose: "swap", counter }), failure);
      const transfers = parseEventLogs({
        abi: cxptAbi,
        eventName: "Transfer",
        logs: emittedBy(receipt.logs, buyToken),
        args: { to: takerAddress },
      });
      return { cxptAmount: transfers.reduce((sum, t) => sum + t.args.value, 0n), sellAmount, txHash: receipt.transactionHash };
    },
  };
}

// ───────────────────────────── local ─────────────────────────────

export interface LocalSwapOptions {
  readonly publicClient: PublicClient;
  /** The dev wallet holding the CXPT it sells. */
  readonly treasury: Signer;
  /** Who receives the CXPT (the operator); the treasury itself when omitted. */
  readonly taker?: Address;
  readonly cxpt: Address;
  /** USD per CXPT as a decimal string, as deploy/config.ts (default its "0.10"). */
  readonly cxptUsd?: string;
  /** Where the treasury's transfers are counted. */
  readonly counter?: TransactionCounter;
}

const AUSD = 18;

/**
 * Development swap: sells the treasury's CXPT at the fixed CXPT/USD rate, exactly (integer
 * arithmetic). The sell side is atto-USD: `{ sellAmount }` buys `usdToCxpt(sellAmount)` CXPT
 * (rounded down); `{ buyAmount }` costs the least atto-USD that buys it (rounded up). The CXPT moves
 * by a plain transfer from the treasury to the taker (no transaction when they are the same wallet).
 */
export function localSwap(options: LocalSwapOptions): SwapProvider {
  const { publicClient, treasury, cxpt } = options;
  const cxptUsd = options.cxptUsd ?? DEFAULT_ECONOMICS.cxptUsd;
  const rate = parseUnits(cxptUsd, AUSD); // atto-USD per CXPT
  if (rate <= 0n) throw new Error(`CXPT/USD rate must be positive, got ${cxptUsd}`);
  const taker = options.taker ?? treasury.account.address;

  function quote(amount: SwapAmount): SwapQuote {
    requirePositive(amount);
    const [sellAmount, buyAmount] =
      amount.sellAmount !== undefined
        ? [amount.sellAmount, usdToCxpt(formatUnits(amount.sellAmount, AUSD), cxptUsd)]
        : [(amount.buyAmount * rate + 10n ** 18n - 1n) / 10n ** 18n, amount.buyAmount];
    return { sellAmount, buyAmount, minBuyAmount: buyAmount };
  }

  return {
    quote: async (amount) => quote(amount),

    async swap(amount) {
      const { sellAmount, buyAmount } = quote(amount);
      const held = await publicClient.readContract({ address: cxpt, abi: cxptAbi, functionName: "balanceOf", args: [treasury.account.address] });
      if (held < buyAmount) throw noLiquidity(`the treasury holds ${held} wei CXPT, the swap needs ${buyAmount}`);
      if (isAddressEqual(taker, treasury.account.address)) return { cxptAmount: buyAmount, sellAmount };
      const transfer = { address: cxpt, abi: cxptAbi, functionName: "transfer", args: [taker, buyAmount] } as const;
      const sending = send({ client: publicClient, signer: treasury }, transfer, { purpose: "swap_transfer", counter: options.counter });
      const { hash } = await succeeded(sending, { code: "SWAP_FAILED", message: "the treasury transfer failed" });
      return { cxptAmount: buyAmount, sellAmount, txHash: hash };
    },
  };
}
