import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { renderWithApp, stubApi } from "../test/render.tsx";
import StatementPage from "./StatementPage.tsx";
import { UsageCard } from "./UsageCard.tsx";
import { chargedTo, chartColumns, recentMonths } from "./usageData.ts";

const E18 = 10n ** 18n;
const day = (d: string, over: object = {}) => ({ day: d, group: null, label: null, requests: 3, tokens: "1234", costWei: (99_750n * E18).toString(), bucketTokens: "0", creditsWei: "0", paygWei: "0", ...over });
const request = (n: number, over: object = {}) => ({
  requestId: `req-${n}`,
  recordedAt: "2026-12-01T10:00:00.000Z",
  key: { id: "k1", name: "web app" },
  model: "llama-3-8b",
  endpoint: "/v1/chat/completions",
  tokensIn: 10,
  tokensOut: 5,
  costWei: "12000000000000",
  billedIn: "cxpt",
  bucketTokens: "0",
  creditsWei: "0",
  paygWei: "12000000000000",
  legacyAusd: "0",
  batchId: null,
  settledAt: null,
  ...over,
});

describe("usage data", () => {
  it("says how a request was charged", () => {
    expect(chargedTo({ billedIn: "cxpt", bucketTokens: "15", creditsWei: "0", paygWei: "0" })).toBe("bucket");
    expect(chargedTo({ billedIn: "cxpt", bucketTokens: "0", creditsWei: "5", paygWei: "7" })).toBe("credits + PAYG");
    expect(chargedTo({ billedIn: "legacy", bucketTokens: "0", creditsWei: "0", paygWei: "0" })).toBe("legacy credits");
  });

  it("lays the days out as chart columns, one series per group, gaps as null", () => {
    const columns = chartColumns([day("2026-12-01", { group: "a", label: "llama" }), day("2026-12-02", { group: "b", label: "mistral", costWei: E18.toString() })]);
    expect(columns.days).toEqual(["2026-12-01", "2026-12-02"]);
    expect(columns.series).toEqual([
      { label: "llama", values: [99750, null] },
      { label: "mistral", values: [null, 1] },
    ]);
  });

  it("lists the last months, newest first, across a year's end", () => {
    expect(recentMonths(new Date("2026-01-15T00:00:00Z"), 3)).toEqual(["2026-01", "2025-12", "2025-11"]);
  });
});

describe("UsageCard", () => {
  it("shows usage per day beside its chart, per key on demand, and the recent requests page by page", async () => {
    const calls = stubApi({
      "GET /api/v1/usage/daily": () =>
        calls.at(-1)!.includes("by=key")
          ? [200, { from: "2026-11-08", to: "2026-12-07", by: "key", days: [day("2026-12-01", { group: "k1", label: "web app" })] }]
          : [200, { from: "2026-11-08", to: "2026-12-07", by: "total", days: [day("2026-12-01")] }],
      "GET /api/v1/usage/requests": () =>
        calls.at(-1)!.includes("cursor=req-1")
          ? [200, { requests: [request(2, { batchId: "4", settledAt: "2026-12-02T00:00:00.000Z", bucketTokens: "15", paygWei: "0" })], nextCursor: null }]
          : [200, { requests: [request(1)], nextCursor: "req-1" }],
    });
    await renderWithApp(<UsageCard />);
    const daily = await screen.findByRole("table", { name: "Usage per day" });
    expect(within(daily).getAllByRole("row")[1]!.textContent).toBe("2026-12-0131,23499,750 CXPT");
    await userEvent.selectOptions(screen.getByLabelText("Show"), "key");
    await waitFor(() => expect(within(screen.getByRole("table", { name: "Usage per day" })).getAllByRole("row")[1]!.textContent).toContain("web app"));

    const recent = await screen.findByRole("table", { name: "Recent requests" });
    expect(within(recent).getAllByRole("row")[1]!.textContent).toContain("PAYGnot yet settled");
    await userEvent.click(screen.getByRole("button", { name: "Older requests" }));
    await waitFor(() => expect(within(screen.getByRole("table", { name: "Recent requests" })).getAllByRole("row")).toHaveLength(3));
    expect(within(screen.getByRole("table", { name: "Recent requests" })).getAllByRole("row")[2]!.textContent).toContain("bucket#4, settled");
    expect(screen.getByRole("link", { name: "Printable statement" }).getAttribute("href")).toMatch(/^\/statement\/\d{4}-\d{2}$/);
  });

  it("says when there is no usage yet", async () => {
    stubApi({ "GET /api/v1/usage/daily": [200, { from: "2026-11-08", to: "2026-12-07", by: "total", days: [] }], "GET /api/v1/usage/requests": [200, { requests: [], nextCursor: null }] });
    await renderWithApp(<UsageCard />);
    expect((await screen.findByText(/No metered requests from 2026-11-08 to 2026-12-07/)).textContent).toBeTruthy();
    expect(await screen.findByText("No metered requests yet.")).toBeTruthy();
  });
});

describe("StatementPage", () => {
  it("shows the month's totals and sections, amounts grouped and exact", async () => {
    const entry = { at: "2026-12-01T10:00:00.000Z", amountWei: (99_750n * E18 + 1n).toString(), txHash: `0x${"ab".repeat(32)}`, status: "confirmed", details: {} };
    stubApi({
      "GET /api/v1/usage/statements/2026-12": [
        200,
        {
          month: "2026-12",
          deposits: [entry],
          planPayments: [],
          withdrawals: [],
          claims: [],
          usageByDay: [day("2026-12-01")],
          settlements: [{ batchId: "4", chainBatchId: "1", state: "settled", amountWei: E18.toString(), leafStatus: "collected", commitTx: null, collectTx: `0x${"cd".repeat(32)}`, at: "2026-12-02T00:00:00.000Z", proofPath: "/api/v1/billing/batches/4/proof" }],
          totals: { depositsWei: entry.amountWei, planPaymentsWei: "0", withdrawalsWei: "0", claimsWei: "0", requests: 3, tokens: "1234", usageWei: (99_750n * E18).toString(), settledWei: E18.toString() },
        },
      ],
    });
    await renderWithApp(<StatementPage month="2026-12" />);
    expect((await screen.findByRole("heading", { level: 1 })).textContent).toBe("Statement for December 2026");
    const totals = screen.getByRole("region", { name: "Totals" });
    expect(totals.textContent).toContain("99,750.000000000000000001 CXPT");
    expect(totals.textContent).toContain("for 3 requests, 1,234 tokens");
    expect(within(screen.getByRole("region", { name: "Settlements" })).getByText("/api/v1/billing/batches/4/proof")).toBeTruthy();
    expect(within(screen.getByRole("region", { name: "Plan payments" })).getByText("None.")).toBeTruthy();
  });
});
