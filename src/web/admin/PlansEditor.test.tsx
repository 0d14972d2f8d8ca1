import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { PlansEditor, planBody } from "./PlansEditor.tsx";
import { recordBodies, renderWithApp, settings, stubApi } from "./testing.tsx";

describe("PlansEditor", () => {
  it("lists the plans and changes one through its form", async () => {
    stubApi({
      "GET /api/v1/admin/settings": [200, settings],
      "PUT /api/v1/admin/plans/1": [200, { status: "executed", label: "SubscriptionManager: update plan 1", operationId: `0x${"00".repeat(32)}`, txHashes: [] }],
    });
    const bodies = recordBodies();
    await renderWithApp(<PlansEditor />);
    const row = (await screen.findAllByRole("row"))[1]!;
    expect(within(row).getAllByRole("cell").map((c) => c.textContent).slice(0, 6)).toEqual(["1", "100 CXPT", "30 d", "1000000", "60 rpm · 2 at once", "yes"]);
    await userEvent.click(screen.getByRole("button", { name: "Edit plan 1" }));
    const price = screen.getByLabelText("Price (CXPT)");
    expect((price as HTMLInputElement).value).toBe("100");
    await userEvent.clear(price);
    await userEvent.type(price, "120");
    await userEvent.click(screen.getByRole("button", { name: "Save plan 1" }));
    expect((await screen.findByRole("status")).textContent).toBe("Done: SubscriptionManager: update plan 1.");
    expect(bodies["PUT /api/v1/admin/plans/1"]).toEqual({ priceWei: "120000000000000000000", periodSeconds: 2_592_000, bucketTokens: "1000000", requestsPerMinute: 60, concurrency: 2, active: true });
  });

  it("names every bad field before asking the API, and shows the API's refusal", async () => {
    stubApi({
      "GET /api/v1/admin/settings": [200, settings],
      "POST /api/v1/admin/plans": [422, { error: { code: "ADMIN_CALL_REVERTS", message: "SubscriptionManager: create plan: the call reverts when the timelock makes it" } }],
    });
    await renderWithApp(<PlansEditor />);
    await userEvent.click(await screen.findByRole("button", { name: "Create plan" }));
    expect((await screen.findByRole("alert")).textContent).toContain("Price: Enter an amount of CXPT");
    expect(screen.getByRole("alert").textContent).toContain("Bucket: a positive whole number of tokens.");
    await userEvent.type(screen.getByLabelText("Price (CXPT)"), "10");
    await userEvent.type(screen.getByLabelText("Bucket (tokens)"), "5000");
    await userEvent.click(screen.getByRole("button", { name: "Create plan" }));
    expect((await screen.findByRole("alert")).textContent).toBe("SubscriptionManager: create plan: the call reverts when the timelock makes it");
  });

  it("checks a plan's fields", () => {
    expect(planBody({ price: "1.5", days: "0.5", bucketTokens: "0", requestsPerMinute: "x", concurrency: "1", active: true })).toEqual([
      "Period: at least 1 day.",
      "Bucket: a positive whole number of tokens.",
      "Requests per minute: a positive whole number.",
    ]);
  });
});
