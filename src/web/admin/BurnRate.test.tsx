import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { BurnRate, burnBpsOf } from "./BurnRate.tsx";
import { recordBodies, renderWithApp, settings, stubApi } from "./testing.tsx";

describe("BurnRate", () => {
  it("refuses more than 10 % before asking the API, and saves a rate within the cap", async () => {
    stubApi({
      "GET /api/v1/admin/settings": [200, settings],
      "PUT /api/v1/admin/burn-rate": [202, { status: "proposed", label: "Vault: burn rate 250 bps", reason: "the backend holds 1 of the 2 Safe owner signatures needed" }],
    });
    const bodies = recordBodies();
    await renderWithApp(<BurnRate />);
    const input = await screen.findByLabelText("Burn rate (%)");
    expect((input as HTMLInputElement).value).toBe("5");
    await userEvent.clear(input);
    await userEvent.type(input, "12");
    expect(screen.getByRole("alert").textContent).toBe("The burn rate can be at most 10 %.");
    expect((screen.getByRole("button", { name: "Save burn rate" }) as HTMLButtonElement).disabled).toBe(true);
    await userEvent.clear(input);
    await userEvent.type(input, "2.5");
    await userEvent.click(screen.getByRole("button", { name: "Save burn rate" }));
    expect((await screen.findByRole("status")).textContent).toBe("Proposed to the Safe owners (the backend holds 1 of the 2 Safe owner signatures needed): Vault: burn rate 250 bps.");
    expect(bodies["PUT /api/v1/admin/burn-rate"]).toEqual({ burnBps: 250 });
  });

  it("turns a percentage into basis points", () => {
    expect(burnBpsOf("10")).toBe(1000);
    expect(burnBpsOf("0.05")).toBe(5);
    expect(burnBpsOf("10.01")).toBe("The burn rate can be at most 10 %.");
    expect(typeof burnBpsOf("abc")).toBe("string");
  });
});
