import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import type { ReactNode } from "react";
import { decodeFunctionData, defineChain, encodeAbiParameters, verifyTypedData, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it, vi } from "vitest";
import { createConfig, http, WagmiProvider } from "wagmi";
import { connect } from "wagmi/actions";
import { cxptAbi } from "../../chain/abis.ts";
import { ApiError } from "../lib/api.ts";
import { AppConfigContext, type AppConfig } from "../lib/appConfig.ts";
import { devWallet } from "../lib/devWallet.ts";
import { SessionProvider } from "../lib/session.tsx";
import { claimRequestReply, ledgerRow } from "../test/render.tsx";
import { BalanceFacts, TokenBalance } from "./TokenBalance.tsx";

const CXPT = 10n ** 18n;
const config: AppConfig = { stage: "testnet", phase: 3, features: {}, chain: { chainId: 31337, rpcUrl: "http://127.0.0.1:9/rpc", explorerUrl: null, addresses: {} }, walletConnectProjectId: null, devWallets: [] };
const show = (ui: ReactNode) =>
  render(
    <AppConfigContext.Provider value={config}>
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>{ui}</QueryClientProvider>
    </AppConfigContext.Provider>,
  );
const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as const;
const row = ledgerRow;
const fact = (name: string) => screen.getByText(name).nextElementSibling!.textContent;

describe("BalanceFacts", () => {
  it("shows loading, then the on-chain and off-chain figures", () => {
    const { rerender } = show(<BalanceFacts onchain={undefined} offchain={undefined} />);
    expect(screen.getByText(/Loading balances/)).toBeTruthy();
    rerender(
      <BalanceFacts onchain={{ balance: 1234n * CXPT, allowance: CXPT / 4n }} offchain={{ creditsWei: (10n * CXPT).toString(), pendingUsageWei: "1000000000000000", billedIn: "cxpt" }} />,
    );
    expect(fact("Wallet balance")).toBe("1,234 CXPT");
    expect(fact("PAYG allowance")).toBe("0.25 CXPT");
    expect(fact("Credits")).toBe("10 CXPT");
    expect(fact("Pending usage")).toBe("0.001 CXPT");
    expect(screen.queryByText(/Loading/)).toBeNull();
  });

  it("says why a side failed and still shows the other", () => {
    show(
      <BalanceFacts
        onchain={undefined}
        onchainError={new TypeError("Failed to fetch")}
        offchain={{ creditsWei: "0", pendingUsageWei: "0", billedIn: "cxpt" }}
      />,
    );
    expect(fact("Wallet balance")).toBe("—");
    expect(fact("Credits")).toBe("0 CXPT");
    expect(screen.getByRole("alert").textContent).toMatch(/network request failed/);
  });
});

describe("TokenBalance (wired: wagmi with the development wallet, API and RPC stubbed)", () => {
  const KEY = "0x701b615bbdfb9de65240bc28bd21bbc0d996645a3dd57e7b12bc2bdf6f192c82" as const; // a public Hardhat development key
  const CXPT_ADDRESS = "0x00000000000000000000000000000000000000c1" as const;
  const VAULT_ADDRESS = "0x00000000000000000000000000000000000000c2" as const;
  const RPC = "http://127.0.0.1:9/rpc";
  const FORWARDER = "0x00000000000000000000000000000000000000f1" as const;

  /** Answers fetch: JSON-RPC eth_call for balanceOf/allowance, and the API routes the card calls. */
  function stubFetch(wallet: Address, posted: unknown[]) {
    vi.stubGlobal("fetch", async (input: string, init?: RequestInit) => {
      const url = new URL(input, "http://localhost");
      const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
      if (url.href === RPC) {
        const { id, method, params } = JSON.parse(String(init!.body)) as { id: number; method: string; params: [{ data: Hex }] };
        if (method === "eth_chainId") return json(200, { jsonrpc: "2.0", id, result: "0x7a69" });
        const call = decodeFunctionData({ abi: cxptAbi, data: params[0].data });
        const result = call.functionName === "balanceOf" ? 100n * CXPT : call.functionName === "allowance" ? 3n * CXPT : 0n;
        return json(200, { jsonrpc: "2.0", id, result: encodeAbiParameters([{ type: "uint256" }], [result]) });
      }
      const route = `${init?.method ?? "GET"} ${url.pathname}`;
      if (route === "GET /api/v1/tokens/balance") return json(200, { wallet, onchain: null, creditsWei: (7n * CXPT).toString(), legacyCreditsAusd: "0", pendingUsageWei: "0", billedIn: "cxpt" });
      if (route === "GET /api/v1/tokens/transactions") return json(200, { transactions: [row(7)], nextCursor: null });
      if (route === "GET /api/v1/rewards/available") return json(200, { wallet, providersWei: "0", usersWei: (2n * CXPT).toString(), totalWei: (2n * CXPT).toString(), totalEarningsWei: "0" });
      if (route === "GET /api/v1/rewards/claim-request") {
        return json(200, claimRequestReply({ from: wallet, to: FORWARDER, forwarder: FORWARDER, gas: "200000" }));
      }
      if (route === "POST /api/v1/tokens/withdraw") {
        posted.push(JSON.parse(String(init!.body)));
        return json(200, { claimedWei: (2n * CXPT).toString(), txHash: hash(5) });
      }
      return json(404, { error: { code: "NOT_FOUND", message: `no ${route}` } });
    });
  }

  async function renderCard() {
    const wallet = privateKeyToAccount(KEY).address;
    const chain = defineChain({ id: 31337, name: "Local chain", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [RPC] } } });
    const wagmi = createConfig({ chains: [chain], connectors: [devWallet({ name: "Test", privateKey: KEY, approve: () => true })], transports: { [chain.id]: http() } });
    await connect(wagmi, { connector: wagmi.connectors[0]! });
    sessionStorage.setItem(`cxpt.session.${wallet.toLowerCase()}`, JSON.stringify({ token: "cxs_test", account: { id: "a", kind: "user", role: "member", displayName: null, wallet, creditsWei: "0" } }));
    const app: AppConfig = { ...config, chain: { ...config.chain!, rpcUrl: RPC, addresses: { cxpt: CXPT_ADDRESS, vault: VAULT_ADDRESS } } };
    render(
      <AppConfigContext.Provider value={app}>
        <WagmiProvider config={wagmi}>
          <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
            <SessionProvider>
              <TokenBalance />
            </SessionProvider>
          </QueryClientProvider>
        </WagmiProvider>
      </AppConfigContext.Provider>,
    );
    return wallet;
  }

  it("shows the chain's and the API's figures, the history, and withdraws earnings gaslessly", async () => {
    const posted: { request: Record<string, unknown>; signature: Hex }[] = [];
    const wallet = privateKeyToAccount(KEY).address;
    stubFetch(wallet, posted);
    await renderCard();
    await waitFor(() => expect(fact("Wallet balance")).toBe("100 CXPT"));
    expect(fact("PAYG allowance")).toBe("3 CXPT");
    await waitFor(() => expect(fact("Credits")).toBe("7 CXPT"));
    expect(await screen.findByRole("cell", { name: /^Deposit/ })).toBeTruthy();

    fireEvent.click(await screen.findByRole("button", { name: "Withdraw 2 CXPT" }));
    expect((await screen.findByRole("status")).textContent).toMatch(/Withdrew 2 CXPT to your wallet/);
    expect(posted).toHaveLength(1);
    expect(posted[0]!.request.from).toBe(wallet);
    // The wallet signed the forward request as the API handed it out.
    const types = { ForwardRequest: [["from", "address"], ["to", "address"], ["value", "uint256"], ["gas", "uint256"], ["nonce", "uint256"], ["deadline", "uint48"], ["data", "bytes"]].map(([name, type]) => ({ name: name!, type: type! })) };
    expect(
      await verifyTypedData({
        address: wallet,
        domain: { name: "CxpForwarder", version: "1", chainId: 31337, verifyingContract: FORWARDER },
        types,
        primaryType: "ForwardRequest",
        message: { from: wallet, to: FORWARDER, value: 0n, gas: 200_000n, nonce: 0n, deadline: 2_000_000_000, data: "0x4e71d92d" },
        signature: posted[0]!.signature,
      }),
    ).toBe(true);
  });

  it("opens the deposit dialog from its button", async () => {
    stubFetch(privateKeyToAccount(KEY).address, []);
    await renderCard();
    fireEvent.click(screen.getByRole("button", { name: "Deposit" }));
    expect(screen.getByRole("dialog", { name: "Deposit CXPT" })).toBeTruthy();
    expect(screen.getByLabelText("Amount (CXPT)")).toBeTruthy();
  });
});
