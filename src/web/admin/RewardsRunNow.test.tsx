import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { RewardsRunNow } from "./RewardsRunNow.tsx";
import { renderWithApp, stubApi } from "./testing.tsx";

const started = {
  outcome: "ok",
  error: null,
  summary: { epoch: "3", status: "started", from: "2026-03-01T00:00:00.000Z", to: "2026-03-01T10:30:00.000Z", providers: 2, users: 5, closedNow: true },
};

describe("RewardsRunNow", () => {
  it("runs the rewards job with the window closed now and says what it did", async () => {
    const calls = stubApi({ "POST /api/v1/admin/rewards/run-now": [200, started] });
    await renderWithApp(<RewardsRunNow />);
    await userEvent.click(screen.getByRole("button", { name: "Run now (close the window now)" }));
    const status = await screen.findByRole("status");
    expect(status.textContent).toContain("Epoch 3: the epoch started");
    expect(status.textContent).toContain("2 provider(s), 5 user(s)");
    expect(calls).toEqual(["POST /api/v1/admin/rewards/run-now"]);
  });

  it("says why a run failed or was refused", async () => {
    stubApi({ "POST /api/v1/admin/rewards/run-now": [200, { outcome: "failed", error: "the backend has no rewards key", summary: null }] });
    await renderWithApp(<RewardsRunNow />);
    await userEvent.click(screen.getByRole("button", { name: "Run now (close the window now)" }));
    expect((await screen.findByRole("alert")).textContent).toBe("The run failed: the backend has no rewards key");

    stubApi({ "POST /api/v1/admin/rewards/run-now": [409, { error: { code: "JOB_RUNNING", message: "job rewards is already running" } }] });
    await userEvent.click(screen.getByRole("button", { name: "Run now (close the window now)" }));
    expect((await screen.findByText("job rewards is already running")).getAttribute("role")).toBe("alert");
  });
});
