// Component-test scaffolding for the dashboards: the app's providers (configuration, wagmi
// with a connected development wallet, React Query, the session) around a component, and an API
// stand-in answering fetch by method and path.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { defineChain, type Address } from "viem";
import { vi } from "vitest";
import { createConfig, http, WagmiProvider } from "wagmi";
import { connect } from "wagmi/actions";
import { FORWARD_REQUEST_TYPES } from "../../rewards/forwarder.ts";
import type { AppConfig } from "../lib/appConfig.ts";
import { AppConfigContext } from "../lib/appConfig.ts";
import { devWallet } from "../lib/devWallet.ts";
import type { TokenTransaction } from "../lib/ledger.ts";
import { SessionProvider } from "../lib/session.tsx";

/** Hardhat's public development key 13 (the demo provider). */
export const TEST_KEY = "0x47c99abed3324a2707c28affff1267e45918ec8c3f20b8aa892e8b065d2942dd" as const;
export const DISTRIBUTOR: Address = "0x00000000000000000000000000000000000000d1";

const chain = defineChain({ id: 31337, name: "Local chain", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: ["http://127.0.0.1:9/rpc"] } } });

const appConfig: AppConfig = {
  stage: "testnet",
  phase: 3,
  features: {},
  chain: { chainId: 31337, rpcUrl: "http://127.0.0.1:9/rpc", explorerUrl: null, addresses: { distributor: DISTRIBUTOR } },
  walletConnectProjectId: null,
  devWallets: [],
};

/** An API answer: status and JSON body. */
export type Answer = readonly [status: number, body: unknown];
/** "GET /api/v1/rewards/earnings" → its answer (the path without the query). */
export type Routes = Readonly<Record<string, Answer | (() => Answer)>>;

/** Stubs fetch with `routes`; an unknown route answers 404. Returns the calls made ("METHOD path?query"). */
export function stubApi(routes: Routes): string[] {
  const calls: string[] = [];
  vi.stubGlobal("fetch", async (input: string, init?: RequestInit) => {
    const method = init?.method ?? "GET";
    const url = new URL(input, "http://localhost");
    calls.push(`${method} ${url.pathname}${url.search}`);
    const route = routes[`${method} ${url.pathname}`];
    const [status, body] = route === undefined ? [404, { error: { code: "NOT_FOUND", message: `no ${url.pathname}` } }] : typeof route === "function" ? route() : route;
    // A 204 has no body (the Response constructor refuses one).
    return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  });
  return calls;
}

/** Renders `ui` inside the dashboards' providers with the development wallet connected; `approve` answers its prompts. */
export async function renderWithApp(ui: ReactNode, options: { readonly approve?: (question: string) => boolean } = {}) {
  const wagmi = createConfig({
    chains: [chain],
    connectors: [devWallet({ name: "Test", privateKey: TEST_KEY, approve: options.approve ?? (() => true) })],
    transports: { [chain.id]: http() },
  });
  await connect(wagmi, { connector: wagmi.connectors[0]! });
  const queries = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <AppConfigContext.Provider value={appConfig}>
      <WagmiProvider config={wagmi}>
        <QueryClientProvider client={queries}>
          <SessionProvider>{ui}</SessionProvider>
        </QueryClientProvider>
      </WagmiProvider>
    </AppConfigContext.Provider>,
  );
}

/** GET /api/v1/rewards/claim-request's answer: the forwarder's EIP-712 request for `from` to call claim() on `to`. */
export function claimRequestReply(request: { readonly from: Address; readonly to: Address; readonly forwarder?: Address; readonly gas?: string }, extra: Readonly<Record<string, unknown>> = {}) {
  return {
    typedData: {
      domain: { name: "CxpForwarder", version: "1", chainId: 31337, verifyingContract: request.forwarder ?? "0x00000000000000000000000000000000000000f1" },
      types: {
        EIP712Domain: [
          { name: "name", type: "string" },
          { name: "version", type: "string" },
          { name: "chainId", type: "uint256" },
          { name: "verifyingContract", type: "address" },
        ],
        ...FORWARD_REQUEST_TYPES,
      },
      primaryType: "ForwardRequest",
      message: { from: request.from, to: request.to, value: "0", gas: request.gas ?? "150000", nonce: "0", deadline: 2_000_000_000, data: "0x4e71d92d" },
    },
    ...extra,
  };
}

/** A ledger row n (n CXPT, tx hash n) as the API shows it, with `over` changed. */
export function ledgerRow(n: number, over: Partial<TokenTransaction> = {}): TokenTransaction {
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    type: "deposit",
    status: "confirmed",
    amountWei: (BigInt(n) * 10n ** 18n).toString(),
    txHash: `0x${n.toString(16).padStart(64, "0")}`,
    blockNumber: String(n),
    ref: null,
    details: {},
    createdAt: "2026-11-20T10:00:00.000Z",
    ...over,
  };
}
