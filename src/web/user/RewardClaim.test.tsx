import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ContractFunctionExecutionError, ContractFunctionRevertedError, encodeErrorResult, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it, vi } from "vitest";
import { distributorAbi } from "../../chain/abis.ts";
import { claimRequestReply, DISTRIBUTOR, renderWithApp, stubApi, TEST_KEY, type Routes } from "../test/render.tsx";
import { claimable, ClaimButtons, RewardClaim, type AvailableRewards } from "./RewardClaim.tsx";

const CXPT = 10n ** 18n;
const WALLET: Address = privateKeyToAccount(TEST_KEY).address;
const TX = `0x${"ab".repeat(32)}`;
const AVAILABLE: AvailableRewards = {
  wallet: WALLET,
  providersWei: "0",
  usersWei: (12n * CXPT).toString(),
  totalWei: (12n * CXPT).toString(),
  totalEarningsWei: (3n * CXPT).toString(),
};
const CLAIM_REQUEST = claimRequestReply({ from: WALLET, to: DISTRIBUTOR }, { pendingWei: AVAILABLE.totalWei });
const HISTORY = {
  claims: [
    { id: "1", type: "claim", status: "confirmed", amountWei: (3n * CXPT).toString(), txHash: `0x${"12".repeat(32)}`, blockNumber: "5", ref: null, details: {}, createdAt: "2030-01-02T00:00:00.000Z" },
  ],
  nextCursor: null,
};

const routes = (claim: Routes[string], available: AvailableRewards = AVAILABLE): Routes => ({
  "GET /api/v1/rewards/available": [200, available],
  "GET /api/v1/rewards/history": [200, HISTORY],
  "GET /api/v1/rewards/claim-request": [200, CLAIM_REQUEST],
  "POST /api/v1/rewards/claim": claim,
});

/** A claim() that reverted with NothingToClaim, as viem reports it. */
const nothingToClaim = () =>
  new ContractFunctionExecutionError(
    new ContractFunctionRevertedError({ abi: distributorAbi, data: encodeErrorResult({ abi: distributorAbi, errorName: "NothingToClaim", args: [WALLET] }), functionName: "claim" }),
    { abi: distributorAbi, functionName: "claim", args: [] },
  );

const claimButton = async () => {
  const button = (await screen.findByRole("button", { name: "Claim without gas" })) as HTMLButtonElement;
  await waitFor(() => expect(button.disabled).toBe(false));
  return button;
};

describe("claimable", () => {
  it("trusts the chain's pendingOf first, else the API's total", () => {
    expect(claimable(5n, AVAILABLE)).toBe(5n);
    expect(claimable(0n, AVAILABLE)).toBe(0n);
    expect(claimable(undefined, AVAILABLE)).toBe(12n * CXPT);
    expect(claimable(undefined, undefined)).toBeUndefined();
  });
});

describe("RewardClaim", () => {
  it("shows what can be claimed, per pool, and the claim history with its transactions", async () => {
    stubApi(routes([500, {}]));
    await renderWithApp(<RewardClaim />);
    const card = screen.getByRole("region", { name: "Rewards" });
    await waitFor(() => expect(card.textContent).toContain("Claimable now12 CXPT"));
    expect(card.textContent).toContain("Cashback (users pool)12 CXPT");
    expect(card.textContent).toContain("Claimed so far3 CXPT");
    const history = await screen.findByRole("table", { name: "Reward history" });
    await waitFor(() => expect(within(history).getAllByRole("row")).toHaveLength(2));
    expect(within(history).getByRole("link").getAttribute("href")).toBe(`/tx/0x${"12".repeat(32)}`);
  });

  it("a gasless claim is signed by the wallet, relayed, and its result shown with the transaction", async () => {
    const calls = stubApi(routes([200, { claimedWei: AVAILABLE.totalWei, txHash: TX, blockNumber: "9", transaction: {}, totalEarningsWei: "0" }]));
    const prompts: string[] = [];
    await renderWithApp(<RewardClaim />, { approve: (question) => (prompts.push(question), true) });
    await userEvent.click(await claimButton());
    const status = await screen.findByRole("status");
    expect(status.textContent).toContain("Claimed 12 CXPT");
    expect(within(status).getByRole("link").getAttribute("href")).toBe(`/tx/${TX}`);
    expect(prompts[0]).toMatch(/Sign typed data "ForwardRequest"/);
    expect(calls).toContain("POST /api/v1/rewards/claim");
    // The figures are read again after the claim.
    await waitFor(() => expect(calls.filter((c) => c === "GET /api/v1/rewards/available").length).toBeGreaterThan(1));
  });

  it("a signature refused in the wallet is said as such and nothing is relayed", async () => {
    const calls = stubApi(routes([200, {}]));
    await renderWithApp(<RewardClaim />, { approve: () => false });
    await userEvent.click(await claimButton());
    expect((await screen.findByRole("alert")).textContent).toBe("You rejected the request in your wallet: nothing was signed or sent.");
    expect(calls).not.toContain("POST /api/v1/rewards/claim");
    expect((await claimButton()).disabled).toBe(false);
  });

  it("the relayer's refusal is shown as the API says it", async () => {
    stubApi(routes([409, { error: { code: "NOTHING_TO_CLAIM", message: "there is nothing to claim for this wallet", details: {} } }]));
    await renderWithApp(<RewardClaim />);
    await userEvent.click(await claimButton());
    expect((await screen.findByRole("alert")).textContent).toBe("there is nothing to claim for this wallet");
    expect(screen.queryByRole("status")).toBeNull();
  });

  it("nothing claimable: both claims are disabled and it says why", async () => {
    stubApi(routes([500, {}], { ...AVAILABLE, usersWei: "0", totalWei: "0" }));
    await renderWithApp(<RewardClaim />);
    expect(await screen.findByText(/There is nothing to claim yet/)).toBeTruthy();
    expect((screen.getByRole("button", { name: "Claim without gas" }) as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByRole("button", { name: "Claim from wallet (pays gas)" }) as HTMLButtonElement).disabled).toBe(true);
  });
});

describe("ClaimButtons", () => {
  it("a direct claim reverted with NothingToClaim says there is nothing to claim yet", async () => {
    const onDirect = vi.fn().mockRejectedValue(nothingToClaim());
    render(<ClaimButtons pendingWei={1n} onGasless={async () => undefined} onDirect={onDirect} />);
    await userEvent.click(screen.getByRole("button", { name: "Claim from wallet (pays gas)" }));
    expect((await screen.findByRole("alert")).textContent).toBe("There is nothing to claim yet.");
    expect(onDirect).toHaveBeenCalledOnce();
  });

  it("waits for the figures before offering a claim", () => {
    render(<ClaimButtons pendingWei={undefined} onGasless={async () => undefined} onDirect={async () => undefined} />);
    expect((screen.getByRole("button", { name: "Claim without gas" }) as HTMLButtonElement).disabled).toBe(true);
  });
});
