import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { EarningsChart, earningsColumns } from "./EarningsChart.tsx";
import { earnings } from "./fixtures.ts";

describe("EarningsChart", () => {
  it("draws one named bar per epoch, labelled with its number, and the same figures as a table", () => {
    render(<EarningsChart epochs={earnings.epochs} />);
    const chart = screen.getByRole("list", { name: "Earnings per epoch (CXPT)" });
    const bars = within(chart).getAllByRole("listitem");
    expect(bars.map((bar) => bar.getAttribute("aria-label"))).toEqual(["Epoch 1: 30 CXPT", "Epoch 2: 8 CXPT", "Epoch 3: 4 CXPT"]);
    expect(bars.map((bar) => bar.textContent!.split(":")[0])).toEqual(["#1", "#2", "#3"]);
    // The chart's bars: one per epoch, labelled with its number, the entitlement behind the released part.
    const columns = earningsColumns(earnings.epochs);
    expect(columns.categories).toEqual(["#1", "#2", "#3"]);
    expect(columns.series[0]!.values).toEqual([30, 8, 4]);
    expect(columns.series[1]!.values).toEqual(earnings.epochs.map((e) => Number(BigInt(e.releasedWei) / 10n ** 18n)));
    const table = screen.getByRole("table", { name: /per epoch/i });
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(3);
    expect(within(rows[2]!).getByRole("rowheader").textContent).toBe("3");
    expect(rows[2]!.textContent).toContain("448.5"); // points × 10^-4
    expect(rows[2]!.textContent).toContain("2 CXPT"); // released so far
  });

  it("says so when no epoch has started", () => {
    render(<EarningsChart epochs={[]} />);
    expect(screen.getByText(/no reward epoch has started yet/i)).toBeTruthy();
    expect(screen.queryByRole("list")).toBeNull();
  });
});
