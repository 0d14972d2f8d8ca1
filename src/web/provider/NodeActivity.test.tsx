import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderWithApp, stubApi } from "../test/render.tsx";
import { NodeActivity, nodeColumns, nodeLabel, type NodeDay } from "./NodeActivity.tsx";

const A = "11111111-1111-4111-8111-111111111111";
const B = "22222222-2222-4222-8222-222222222222";
const row = (
  day: string,
  nodeId: string,
  baseUrl: string | null,
  requests: number,
  tokens: string,
  uptimeBps: number | null,
  p50Ms: number | null,
): NodeDay => ({
  day,
  nodeId,
  baseUrl,
  tier: baseUrl === null ? null : "tide-pool",
  requests,
  tokens,
  avgLatencyMs: requests === 0 ? null : 120,
  checks: uptimeBps === null ? 0 : 4,
  uptimeBps,
  p50Ms,
});
const rows = [
  row("2026-12-01", A, "http://gpu1.example:8000/v1", 10, "1500", 7500, 40),
  row("2026-12-01", B, null, 2, "12345678901234567890", null, null),
  row("2026-12-02", A, "http://gpu1.example:8000/v1", 0, "0", 10_000, 35),
];

describe("NodeActivity", () => {
  it("names nodes by host, removed ones by their id", () => {
    expect(nodeLabel(rows[0]!)).toBe("gpu1.example:8000");
    expect(nodeLabel(rows[1]!)).toBe("removed node 22222222");
  });

  it("lays out one series per node and one value per day, gaps as null", () => {
    const columns = nodeColumns(rows);
    expect(columns.days).toEqual(["2026-12-01", "2026-12-02"]);
    expect(columns.requests).toEqual([
      { label: "gpu1.example:8000", values: [10, 0] },
      { label: "removed node 22222222", values: [2, null] },
    ]);
    expect(columns.tokens[0]!.values).toEqual([1500, 0]);
    expect(columns.uptime[0]!.values).toEqual([75, 100]);
    expect(columns.uptime[1]!.values).toEqual([null, null]);
    expect(columns.latency[0]!.values).toEqual([40, 35]);
  });

  it("reads every page and shows the figures per day and node beside the charts, tokens exact", async () => {
    const calls = stubApi({
      "GET /api/v1/provider/nodes/daily": () =>
        calls.some((c) => c.includes("cursor="))
          ? [200, { from: "2026-11-03", to: "2026-12-02", days: rows.slice(2), nextCursor: null }]
          : [200, { from: "2026-11-03", to: "2026-12-02", days: rows.slice(0, 2), nextCursor: `2026-12-01_${B}` }],
    });
    await renderWithApp(<NodeActivity />);
    const table = await screen.findByRole("table", { name: "Served work and health per day and node" });
    expect(
      within(table)
        .getAllByRole("row")
        .slice(1)
        .map((r) => r.textContent),
    ).toEqual([
      "2026-12-01gpu1.example:8000 (tide-pool)101,500120 ms475 %40 ms",
      "2026-12-01removed node 22222222212,345,678,901,234,567,890120 ms0——",
      "2026-12-02gpu1.example:8000 (tide-pool)00—4100 %35 ms",
    ]);
    expect(calls.some((c) => c.includes(`cursor=2026-12-01_${B}`) && c.includes("from=2026-11-03"))).toBe(true);
  });

  it("says when nothing was served or checked", async () => {
    stubApi({ "GET /api/v1/provider/nodes/daily": [200, { from: "2026-11-03", to: "2026-12-02", days: [], nextCursor: null }] });
    await renderWithApp(<NodeActivity />);
    expect(await screen.findByText(/Nothing served or checked from 2026-11-03 to 2026-12-02/)).toBeTruthy();
  });
});
