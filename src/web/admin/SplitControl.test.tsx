import { fireEvent, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { SplitControl } from "./SplitControl.tsx";
import { recordBodies, renderWithApp, stubApi } from "./testing.tsx";

const current = { protocolBps: 3000, providersBps: 5500, usersBps: 1500 };
const percents = () => ["Protocol %", "Providers %", "Users %"].map((name) => Number((screen.getByLabelText(name) as HTMLInputElement).value));

describe("SplitControl", () => {
  it("keeps the three shares at 100 % when a slider or a field moves, and saves the split", async () => {
    stubApi({ "PUT /api/v1/admin/split": [200, { status: "executed", label: "RewardDistributor: split protocol/providers/users 0/2500/7500 bps", operationId: `0x${"00".repeat(32)}`, txHashes: [] }] });
    const bodies = recordBodies();
    await renderWithApp(<SplitControl current={current} />);
    expect((screen.getByRole("button", { name: "Save split" }) as HTMLButtonElement).disabled).toBe(true);

    fireEvent.change(screen.getByRole("slider", { name: "Protocol" }), { target: { value: "5000" } });
    expect(percents()).toEqual([50, 39.28, 10.72]);
    expect(percents().reduce((a, b) => a + b, 0)).toBeCloseTo(100, 10);

    fireEvent.change(screen.getByLabelText("Users %"), { target: { value: "100" } });
    expect(percents()).toEqual([0, 0, 100]);
    fireEvent.change(screen.getByRole("slider", { name: "Providers" }), { target: { value: "2500" } });
    expect(percents()).toEqual([0, 25, 75]);
    expect(screen.getByText(/^Total 100 %/)).toBeTruthy();

    await userEvent.click(screen.getByRole("button", { name: "Save split" }));
    expect((await screen.findByRole("status")).textContent).toContain("Done: RewardDistributor: split");
    await waitFor(() => expect(bodies["PUT /api/v1/admin/split"]).toEqual({ protocolBps: 0, providersBps: 2500, usersBps: 7500 }));
  });

  it("shows why a save was refused", async () => {
    stubApi({ "PUT /api/v1/admin/split": [422, { error: { code: "ADMIN_CALL_REVERTS", message: "the call reverts when the timelock makes it: InvalidSplit(0, 0, 0)" } }] });
    await renderWithApp(<SplitControl current={current} />);
    fireEvent.change(screen.getByRole("slider", { name: "Users" }), { target: { value: "2000" } });
    await userEvent.click(screen.getByRole("button", { name: "Save split" }));
    expect((await screen.findByRole("alert")).textContent).toBe("the call reverts when the timelock makes it: InvalidSplit(0, 0, 0)");
  });
});
