import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { earnings } from "./fixtures.ts";
import { PointsBreakdown } from "./PointsBreakdown.tsx";

describe("PointsBreakdown", () => {
  it("shows base points per tier, each multiplier in turn, and the multiplication that gives the points", () => {
    render(<PointsBreakdown breakdown={earnings.pointsBreakdown} />);
    const tiers = within(screen.getByRole("table", { name: "Base points by service tier" })).getAllByRole("row").slice(1);
    expect(tiers.map((row) => Array.from(row.children, (cell) => cell.textContent))).toEqual([
      ["open-ocean", "20", "140"],
      ["tide-pool", "10", "10"],
      ["All tiers", "", "150"],
    ]);
    const steps = within(screen.getByRole("table", { name: /multipliers/i })).getAllByRole("row").slice(1);
    expect(steps.map((row) => Array.from(row.children, (cell) => cell.textContent))).toEqual([
      ["Uptime", "×1.30", "195"],
      ["Latency (p50)", "×1.15", "224.25"],
      ["Network demand", "×2.00", "448.5"],
    ]);
    expect(screen.getByLabelText("Points formula").textContent).toBe("150 ×1.30 ×1.15 ×2.00 = 448.5 points");
    expect(screen.queryByRole("note")).toBeNull();
  });

  it("says when the distributor holds other points than the recomputation, and when nothing was computed", () => {
    const { unmount } = render(<PointsBreakdown breakdown={{ ...earnings.pointsBreakdown!, uploadedPoints: "4000000" }} />);
    expect(screen.getByRole("note").textContent).toContain("400 points");
    unmount();
    render(<PointsBreakdown breakdown={null} />);
    expect(screen.getByText(/no epoch has been computed yet/i)).toBeTruthy();
  });
});
