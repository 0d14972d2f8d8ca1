import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { AlertsList } from "./AlertsList.tsx";
import { renderWithApp, stubApi } from "./testing.tsx";

const alert = { id: "7", key: "low_balance:settler", kind: "low_balance", severity: "critical", message: "the settler key has 0.01 ETH left", details: {}, count: 3, firstAt: "2026-11-21T08:00:00.000Z", lastAt: "2026-11-21T10:00:00.000Z", resolvedAt: null };

describe("AlertsList", () => {
  it("lists the open alerts and resolves one", async () => {
    let open = [alert];
    const calls = stubApi({
      "GET /api/v1/admin/alerts": () => [200, { alerts: open, nextOffset: null }],
      "POST /api/v1/admin/alerts/7/resolve": () => ((open = []), [200, { ...alert, resolvedAt: "2026-11-21T11:00:00.000Z" }]),
    });
    await renderWithApp(<AlertsList />);
    expect((await screen.findByRole("list", { name: "Alerts" })).textContent).toContain("critical · the settler key has 0.01 ETH left");
    await userEvent.click(screen.getByRole("button", { name: "Resolve alert 7" }));
    await waitFor(() => expect(screen.getByText("No open alerts.")).toBeTruthy());
    expect(calls).toContain("GET /api/v1/admin/alerts?open=true&limit=50");
  });

  it("says why the alerts could not be read", async () => {
    stubApi({ "GET /api/v1/admin/alerts": [403, { error: { code: "ADMIN_ONLY", message: "admins only" } }] });
    await renderWithApp(<AlertsList />);
    expect((await screen.findByRole("alert")).textContent).toBe("admins only");
  });
});
