import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ToggleMainnet } from "./ToggleMainnet.tsx";
import { recordBodies, renderWithApp, settings, stubApi } from "./testing.tsx";

const check = (ok: boolean) => ({
  stage: "testnet",
  phase: 2,
  ok,
  chainId: 31337,
  checks: [
    { contract: "chain", check: "chainId", ok: true, message: "CHAIN_STAGE testnet accepts chain 31337" },
    { contract: "vault", check: "code", ok, message: ok ? "Vault 0xabc: contract code present" : "Vault 0xabc: no contract code at this address" },
  ],
});

describe("ToggleMainnet", () => {
  it("lists each check with ✓ or ✗ and keeps the switch disabled while one fails", async () => {
    stubApi({ "GET /api/v1/admin/settings": [200, settings], "POST /api/v1/admin/stage/check": [200, check(false)] });
    await renderWithApp(<ToggleMainnet />);
    await userEvent.selectOptions(await screen.findByLabelText("Phase"), "2");
    const switchButton = screen.getByRole("button", { name: "Switch to testnet, phase 2" });
    expect((switchButton as HTMLButtonElement).disabled).toBe(true);
    await userEvent.click(screen.getByRole("button", { name: "Run the checks" }));
    const list = await screen.findByRole("list", { name: "Checks" });
    expect(within(list).getAllByRole("listitem").map((li) => li.textContent)).toEqual([
      "✓ passed: chain · chainId: CHAIN_STAGE testnet accepts chain 31337",
      "✗ failed: vault · code: Vault 0xabc: no contract code at this address",
    ]);
    expect(screen.getByRole("alert").textContent).toBe("1 of 2 checks failed on chain 31337: the switch would be refused.");
    expect((screen.getByRole("button", { name: "Switch to testnet, phase 2" }) as HTMLButtonElement).disabled).toBe(true);
  });

  it("enables the switch once every check passed, and switches", async () => {
    stubApi({
      "GET /api/v1/admin/settings": [200, settings],
      "POST /api/v1/admin/stage/check": [200, check(true)],
      "PUT /api/v1/admin/stage": [200, { previous: { stage: "testnet", phase: 3 }, stage: "testnet", phase: 2, features: {}, chainId: 31337 }],
    });
    const bodies = recordBodies();
    await renderWithApp(<ToggleMainnet />);
    await userEvent.selectOptions(await screen.findByLabelText("Phase"), "2");
    await userEvent.click(screen.getByRole("button", { name: "Run the checks" }));
    expect((await screen.findByRole("status")).textContent).toBe("All 2 checks passed on chain 31337.");
    const switchButton = screen.getByRole("button", { name: "Switch to testnet, phase 2" });
    await waitFor(() => expect((switchButton as HTMLButtonElement).disabled).toBe(false));
    await userEvent.click(switchButton);
    expect((await screen.findByRole("status")).textContent).toBe("Switched to testnet, phase 2.");
    expect(bodies["PUT /api/v1/admin/stage"]).toEqual({ stage: "testnet", phase: 2 });
    expect(bodies["POST /api/v1/admin/stage/check"]).toEqual({ stage: "testnet", phase: 2 });
  });

  it("says which stage is current instead of offering to switch to it", async () => {
    stubApi({ "GET /api/v1/admin/settings": [200, settings] });
    await renderWithApp(<ToggleMainnet />);
    const current = await screen.findByRole("button", { name: `${settings.stage}, phase ${settings.phase} is current` });
    expect((current as HTMLButtonElement).disabled).toBe(true);
    expect(within(screen.getByRole("combobox", { name: "Stage" })).getByRole("option", { name: `${settings.stage} (current)` })).toBeTruthy();
    expect(within(screen.getByRole("combobox", { name: "Phase" })).getByRole("option", { name: `${settings.phase} (current)` })).toBeTruthy();
  });

  it("shows why the check could not run", async () => {
    stubApi({
      "GET /api/v1/admin/settings": [200, settings],
      "POST /api/v1/admin/stage/check": [502, { error: { code: "CHAIN_UNREACHABLE", message: "cannot reach the chain for testnet: HTTP request failed" } }],
    });
    await renderWithApp(<ToggleMainnet />);
    await userEvent.click(await screen.findByRole("button", { name: "Run the checks" }));
    expect((await screen.findByRole("alert")).textContent).toBe("cannot reach the chain for testnet: HTTP request failed");
  });
});
