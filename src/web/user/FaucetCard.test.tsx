import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ApiError } from "../lib/api.ts";
import { AppConfigContext, type AppConfig } from "../lib/appConfig.ts";
import { FaucetCardView, type FaucetDrip, type FaucetStatus } from "./FaucetCard.tsx";

const HASH = `0x${"ab".repeat(32)}`;
const status = (over: Partial<FaucetStatus> = {}): FaucetStatus => ({ enabled: true, amountWei: "1000000000000000000000", gasWei: "10000000000000000", cooldownSeconds: 86_400, nextAt: null, ...over });
const drip: FaucetDrip = { amountWei: "1000000000000000000000", gasWei: "10000000000000000", cxptTxHash: HASH, gasTxHash: null, nextAt: "2026-12-08T03:00:00.000Z" };

/** A stand-in API: GET answers `current`, POST answers `post` (or throws it); records each call. */
function fakeApi(current: FaucetStatus, post: () => FaucetDrip) {
  const calls: string[] = [];
  const api = async <T,>(path: string, options: { method?: string } = {}): Promise<T> => {
    const method = options.method ?? "GET";
    calls.push(`${method} ${path}`);
    return (method === "GET" ? current : post()) as T;
  };
  return { api, calls };
}

const appConfig: AppConfig = {
  stage: "testnet",
  phase: 0,
  features: {},
  chain: { chainId: 9990, rpcUrl: "http://127.0.0.1:9/rpc", explorerUrl: "https://agung.subscan.io", addresses: {} },
  walletConnectProjectId: null,
  devWallets: [],
};

const show = (ui: React.ReactNode) =>
  render(
    <AppConfigContext.Provider value={appConfig}>
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>{ui}</QueryClientProvider>
    </AppConfigContext.Provider>,
  );

describe("FaucetCardView", () => {
  it("shows nothing when the faucet is off (mainnet, or no faucet key)", async () => {
    const { api, calls } = fakeApi(status({ enabled: false }), () => drip);
    const { container } = show(<FaucetCardView api={api} />);
    await waitFor(() => expect(calls).toEqual(["GET /api/v1/faucet"]));
    expect(container.textContent).toBe("");
  });

  it("sends test CXPT on request and links the transaction", async () => {
    const { api, calls } = fakeApi(status(), () => drip);
    show(<FaucetCardView api={api} />);
    fireEvent.click(await screen.findByRole("button", { name: "Get test CXPT" }));
    expect(await screen.findByText(/Sent 1,?000 CXPT/)).toBeTruthy();
    expect(calls).toContain("POST /api/v1/faucet");
    expect(screen.getByRole("link").getAttribute("href")).toBe(`https://agung.subscan.io/tx/${HASH}`);
    expect((screen.getByRole("button", { name: "Get test CXPT" }) as HTMLButtonElement).disabled).toBe(true);
  });

  it("within the waiting period says when to ask again, and the button is off", async () => {
    const { api } = fakeApi(status({ nextAt: new Date(Date.now() + 3_600_000).toISOString() }), () => drip);
    show(<FaucetCardView api={api} />);
    expect(await screen.findByText(/You can ask again from/)).toBeTruthy();
    expect((screen.getByRole("button", { name: "Get test CXPT" }) as HTMLButtonElement).disabled).toBe(true);
  });

  it("says the API's refusal where it happened", async () => {
    const { api } = fakeApi(status(), () => {
      throw new ApiError(429, "FAUCET_COOLDOWN", "this wallet got test CXPT recently: ask again in 23 h 59 min");
    });
    show(<FaucetCardView api={api} />);
    fireEvent.click(await screen.findByRole("button", { name: "Get test CXPT" }));
    expect(await screen.findByText(/ask again in 23 h 59 min/)).toBeTruthy();
  });
});
