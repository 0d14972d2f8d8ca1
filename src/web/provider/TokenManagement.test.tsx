import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { earnings } from "./fixtures.ts";
import { claimRequestReply, renderWithApp, stubApi, type Routes } from "../test/render.tsx";
import { TokenManagement } from "./TokenManagement.tsx";

const CLAIM_REQUEST = claimRequestReply({ from: earnings.wallet, to: "0x00000000000000000000000000000000000000d1" }, { pendingWei: earnings.pendingWei });

const TX = `0x${"ab".repeat(32)}`;
const routes = (claim: Routes[string]): Routes => ({
  "GET /api/v1/rewards/earnings": [200, earnings],
  "GET /api/v1/tokens/balance": [200, { wallet: earnings.wallet, onchain: { balanceWei: "5000000000000000000", allowanceToVaultWei: "0", paygCapacityWei: "0" }, creditsWei: "0" }],
  "GET /api/v1/rewards/history": [200, { claims: [], nextCursor: null }],
  "GET /api/v1/tokens/transactions": [200, { transactions: [], nextCursor: null }],
  "GET /api/v1/rewards/claim-request": [200, CLAIM_REQUEST],
  "POST /api/v1/rewards/claim": claim,
});

describe("TokenManagement", () => {
  it("shows the wallet balance and what can be claimed", async () => {
    stubApi(routes([500, {}]));
    await renderWithApp(<TokenManagement />);
    const tokens = screen.getByRole("region", { name: "Tokens" });
    await waitFor(() => expect(tokens.textContent).toContain("Wallet balance5 CXPT"));
    await waitFor(() => expect(tokens.textContent).toContain("Claimable rewards12 CXPT"));
    expect(await screen.findByText("No claims yet.")).toBeTruthy();
  });

  it("a gasless claim signed by the wallet is relayed and its result shown with the transaction", async () => {
    const calls = stubApi(routes([200, { claimedWei: earnings.pendingWei, txHash: TX, blockNumber: "9", transaction: {}, totalEarningsWei: "0" }]));
    await renderWithApp(<TokenManagement />);
    await userEvent.click(await screen.findByRole("button", { name: "Claim without gas" }));
    const status = await screen.findByRole("status");
    expect(status.textContent).toContain("Claimed 12 CXPT");
    expect(within(status).getByRole("link").getAttribute("href")).toBe(`/tx/${TX}`);
    expect(calls).toContain("POST /api/v1/rewards/claim");
  });

  it("a failed claim says why, and the button is usable again", async () => {
    stubApi(routes([409, { error: { code: "NOTHING_TO_CLAIM", message: "0x1CBd has no rewards to claim", details: {} } }]));
    await renderWithApp(<TokenManagement />);
    const button = await screen.findByRole("button", { name: "Claim without gas" });
    await waitFor(() => expect((button as HTMLButtonElement).disabled).toBe(false));
    await userEvent.click(button);
    expect((await screen.findByRole("alert")).textContent).toBe("0x1CBd has no rewards to claim");
    expect((screen.getByRole("button", { name: "Claim without gas" }) as HTMLButtonElement).disabled).toBe(false);
    expect(screen.queryByRole("status")).toBeNull();
  });

  it("a signature refused in the wallet is said as such and nothing is posted", async () => {
    const calls = stubApi(routes([200, {}]));
    await renderWithApp(<TokenManagement />, { approve: () => false });
    const button = await screen.findByRole("button", { name: "Claim without gas" });
    await waitFor(() => expect((button as HTMLButtonElement).disabled).toBe(false));
    await userEvent.click(button);
    expect((await screen.findByRole("alert")).textContent).toMatch(/you rejected the request in your wallet/i);
    expect(calls).not.toContain("POST /api/v1/rewards/claim");
  });
});
