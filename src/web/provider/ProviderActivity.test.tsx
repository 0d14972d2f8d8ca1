import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderWithApp, stubApi } from "../test/render.tsx";
import { activityColumns, ProviderActivity, type ProviderDay } from "./ProviderActivity.tsx";

const days: ProviderDay[] = [
  { day: "2026-12-01", requests: 22, byTier: { "tide-pool": 15, ocean: 7 }, uptimeBps: 9990, p50Ms: 420 },
  { day: "2026-12-02", requests: 1234, byTier: { ocean: 1234 }, uptimeBps: null, p50Ms: null },
];

describe("ProviderActivity", () => {
  it("lays out requests per tier and health as chart columns, gaps as null", () => {
    const columns = activityColumns(days);
    expect(columns.requests).toEqual([
      { label: "ocean", values: [7, 1234] },
      { label: "tide-pool", values: [15, null] },
    ]);
    expect(columns.uptime[0]!.values).toEqual([99.9, null]);
    expect(columns.latency[0]!.values).toEqual([420, null]);
  });

  it("shows the served work and health per day beside the charts", async () => {
    stubApi({ "GET /api/v1/usage/provider/daily": [200, { from: "2026-11-08", to: "2026-12-07", days }] });
    await renderWithApp(<ProviderActivity />);
    const rows = within(await screen.findByRole("table", { name: "Served work and health per day" })).getAllByRole("row").slice(1);
    expect(rows.map((r) => r.textContent)).toEqual(["2026-12-0122tide-pool 15, ocean 799.9 %420 ms", "2026-12-021,234ocean 1,234——"]);
  });

  it("says when nothing was served", async () => {
    stubApi({ "GET /api/v1/usage/provider/daily": [200, { from: "2026-11-08", to: "2026-12-07", days: [] }] });
    await renderWithApp(<ProviderActivity />);
    expect((await screen.findByText(/Nothing served from 2026-11-08 to 2026-12-07/)).textContent).toBeTruthy();
  });
});
