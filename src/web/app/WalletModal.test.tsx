import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it, vi } from "vitest";
import { rememberTx, settleTx } from "../lib/recentTxs.ts";
import { renderWithApp, stubApi, TEST_KEY } from "../test/render.tsx";
import WalletModal, { iconOf } from "./WalletModal.tsx";

const address = privateKeyToAccount(TEST_KEY).address;
const HASH = `0x${"ab".repeat(32)}` as const;

describe("WalletModal", () => {
  it("gives every wallet an icon: its own, else one for its kind", () => {
    expect(iconOf({ icon: "data:image/png;base64,AAAA", type: "injected" })).toBe("data:image/png;base64,AAAA");
    expect(iconOf({ icon: undefined, type: "walletConnect" })).toMatch(/^data:image\/svg\+xml,/);
    expect(iconOf({ icon: undefined, type: "something-else" })).toBe(iconOf({ icon: undefined, type: "injected" }));
  });

  it("shows the account, its wallet and chain, and the recent transactions as they settle", async () => {
    stubApi({});
    rememberTx(address, 31337, { hash: HASH, label: "deposit" });
    await renderWithApp(<WalletModal onClose={() => {}} />);
    const dialog = screen.getByRole("dialog", { name: "Your wallet" });
    expect(within(dialog).getByText(address)).toBeTruthy();
    expect(within(dialog).getByText("Development wallet: Test")).toBeTruthy();
    expect(within(dialog).getByText("Local chain (31337)")).toBeTruthy();
    expect(within(dialog).queryByRole("alert")).toBeNull();
    const recent = within(dialog).getByRole("list", { name: "Recent transactions" });
    expect(recent.textContent).toMatch(/deposit pending/);
    expect(within(recent).getByRole("link").getAttribute("href")).toBe(`/tx/${HASH}`);
    settleTx(address, 31337, HASH, "success");
    await within(recent).findByText("confirmed");
    // The test chain's RPC is unreachable: the balance says so instead of spinning.
    await within(dialog).findByText("could not be read", {}, { timeout: 5_000 });
  });

  it("disconnects, then lists the wallets with their icons and connects the one picked", async () => {
    stubApi({ "POST /api/v1/auth/logout": [204, null] });
    const onClose = vi.fn();
    await renderWithApp(<WalletModal onClose={onClose} />);
    await userEvent.click(screen.getByRole("button", { name: "Disconnect" }));
    const dialog = await screen.findByRole("dialog", { name: "Connect a wallet" });
    expect(onClose).toHaveBeenCalledTimes(1);
    const wallets = within(dialog).getByRole("list", { name: "Wallets" });
    const pick = within(wallets).getByRole("button", { name: "Development wallet: Test" });
    expect(pick.querySelector("img")?.getAttribute("src")).toMatch(/^data:image\/svg\+xml,/);
    await userEvent.click(pick);
    await waitFor(() => expect(onClose).toHaveBeenCalledTimes(2));
    await screen.findByRole("dialog", { name: "Your wallet" });
  });
});
