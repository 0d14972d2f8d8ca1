import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { earnings } from "./fixtures.ts";
import { ProviderEarnings } from "./ProviderEarnings.tsx";
import { renderWithApp, stubApi } from "../test/render.tsx";

describe("ProviderEarnings", () => {
  it("shows earnings (claimable + claimed), the chart, the breakdown and the performance", async () => {
    stubApi({ "GET /api/v1/rewards/earnings": [200, earnings] });
    await renderWithApp(<ProviderEarnings />);
    const summary = await screen.findByRole("region", { name: "Earnings" });
    expect(summary.textContent).toContain("Earned so far42 CXPT");
    expect(summary.textContent).toContain("Claimable now12 CXPT");
    expect(summary.textContent).toContain("Claimed30 CXPT");
    expect(within(screen.getByRole("region", { name: "Earnings per epoch" })).getAllByRole("listitem")).toHaveLength(3);
    expect(within(screen.getByRole("region", { name: "Points by multiplier" })).getByLabelText("Points formula").textContent).toContain("= 448.5 points");
    const performance = screen.getByRole("region", { name: "Performance" }).textContent;
    expect(performance).toContain("Uptime99.95 %");
    expect(performance).toContain("250 ms");
    expect(performance).toContain("Requests served30");
  });

  it("says why earnings cannot be read, and tries again on request", async () => {
    let answer: [number, unknown] = [409, { error: { code: "CHAIN_OFF", message: "the chain is off: switch the stage to testnet or mainnet first", details: {} } }];
    stubApi({ "GET /api/v1/rewards/earnings": () => answer });
    await renderWithApp(<ProviderEarnings />);
    expect((await screen.findByRole("alert")).textContent).toContain("the chain is off");
    answer = [200, earnings];
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("region", { name: "Points by multiplier" })).toBeTruthy();
  });

  it("a user account sees its cashback epochs without the provider sections", async () => {
    stubApi({ "GET /api/v1/rewards/earnings": [200, { ...earnings, pool: "users", pointsBreakdown: null, performance: null }] });
    await renderWithApp(<ProviderEarnings />);
    expect((await screen.findByRole("note")).textContent).toContain("user account");
    expect(screen.queryByRole("region", { name: "Points by multiplier" })).toBeNull();
  });
});
