import { screen, within, fireEvent } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { transactionsKey, transactionsPath } from "../lib/ledger.ts";
import { ledgerRow, renderWithApp, stubApi } from "../test/render.tsx";
import { History, TransactionTable } from "./History.tsx";

const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as const;
const row = ledgerRow;

describe("TransactionTable", () => {
  it("lists each transaction with a link to it; a settled charge links its collection", async () => {
    await renderWithApp(
      <TransactionTable caption="Newest first" empty="No transactions yet." transactions={[row(1), row(2, { type: "usage_charge", txHash: null, details: { txHash: hash(9), batchId: "1" } }), row(3, { txHash: null })]} />,
    );
    const rows = screen.getAllByRole("row").slice(1);
    expect(within(rows[0]!).getByRole("link").getAttribute("href")).toBe(`/tx/${hash(1)}`);
    expect(within(rows[1]!).getByText("Usage charge (PAYG)")).toBeTruthy();
    expect(within(rows[1]!).getByRole("link").getAttribute("href")).toBe(`/tx/${hash(9)}`);
    expect(within(rows[2]!).queryByRole("link")).toBeNull();
  });

  it("says when there is nothing yet", async () => {
    await renderWithApp(<TransactionTable caption="Newest first" empty="No transactions yet." transactions={[]} />);
    expect(screen.getByText("No transactions yet.")).toBeTruthy();
  });
});

describe("History", () => {
  it("pages with the API's cursor until there is no more", async () => {
    const calls = stubApi({
      "GET /api/v1/tokens/transactions": () => (calls.at(-1)!.includes("cursor=c1") ? [200, { transactions: [row(1)], nextCursor: null }] : [200, { transactions: [row(3), row(2)], nextCursor: "c1" }]),
    });
    await renderWithApp(<History title="Newest first" path={transactionsPath(null)} rows="transactions" empty="No transactions yet." queryKey={transactionsKey()} />);
    await screen.findByText("3 CXPT");
    expect(screen.getAllByRole("row")).toHaveLength(3);
    fireEvent.click(screen.getByRole("button", { name: "Load more" }));
    await screen.findByText("1 CXPT");
    expect(screen.getAllByRole("row")).toHaveLength(4);
    expect(screen.queryByRole("button", { name: "Load more" })).toBeNull();
    expect(calls).toEqual(["GET /api/v1/tokens/transactions?limit=10", "GET /api/v1/tokens/transactions?limit=10&cursor=c1"]);
  });

  it("shows the API's message when the history cannot be read", async () => {
    stubApi({ "GET /api/v1/rewards/history": [401, { error: { code: "UNAUTHORIZED", message: "Your session has expired: sign in again." } }] });
    await renderWithApp(<History title="Reward claims" path="/api/v1/rewards/history?limit=10" rows="claims" empty="No claims yet." queryKey={["claims"]} />);
    expect((await screen.findByRole("alert")).textContent).toBe("Your session has expired: sign in again.");
  });
});
