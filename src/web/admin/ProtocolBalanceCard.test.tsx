import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { getAddress } from "viem";
import { describe, expect, it } from "vitest";
import { ProtocolBalanceCard } from "./ProtocolBalanceCard.tsx";
import { recordBodies, renderWithApp, stubApi, treasury, TX, withdrawal } from "./testing.tsx";

const card = () => screen.getByRole("region", { name: "Protocol balance" });

describe("ProtocolBalanceCard", () => {
  it("shows the unclaimed protocol CXPT and each proposal's confirmations k of threshold with the owners", async () => {
    stubApi({ "GET /api/v1/admin/protocol/withdrawals": [200, treasury([withdrawal(1)])] });
    await renderWithApp(<ProtocolBalanceCard />);
    await waitFor(() => expect(card().textContent).toContain("Unclaimed protocol CXPT300 CXPT"));
    const item = screen.getByRole("article", { name: "Withdrawal #1" });
    expect(item.textContent).toContain("Proposed: 1 of 2 confirmations");
    const owners = within(within(item).getByRole("list", { name: "Owners of withdrawal #1" })).getAllByRole("listitem").map((li) => li.textContent);
    expect(owners).toEqual(["✓ confirmed · 0x7099…79C8", "… waiting · 0x3C44…93BC", "… waiting · 0x90F7…b906"]);
    expect(within(item).queryByRole("button", { name: "Execute" })).toBeNull();
  });

  it("proposes a withdrawal, refusing an amount above the balance before asking the API", async () => {
    const calls = stubApi({
      "GET /api/v1/admin/protocol/withdrawals": [200, treasury([])],
      "POST /api/v1/admin/protocol/withdrawals": [201, withdrawal(0)],
    });
    const bodies = recordBodies();
    await renderWithApp(<ProtocolBalanceCard />);
    const amount = await screen.findByLabelText("Amount (CXPT)");
    await userEvent.clear(screen.getByLabelText("Recipient"));
    await userEvent.type(screen.getByLabelText("Recipient"), "0x00000000000000000000000000000000000000aa");
    await userEvent.type(amount, "301");
    await userEvent.click(screen.getByRole("button", { name: "Propose withdrawal" }));
    expect((await screen.findByRole("alert")).textContent).toBe("The protocol balance is 300 CXPT: ask for at most that.");
    expect(calls).not.toContain("POST /api/v1/admin/protocol/withdrawals");

    await userEvent.clear(amount);
    await userEvent.type(amount, "100");
    await userEvent.click(screen.getByRole("button", { name: "Propose withdrawal" }));
    expect((await screen.findByRole("status")).textContent).toBe("Withdrawal #1 proposed: it needs 2 owner confirmations.");
    expect(bodies["POST /api/v1/admin/protocol/withdrawals"]).toEqual({ to: getAddress("0x00000000000000000000000000000000000000aa"), amountWei: "100000000000000000000" });
  });

  it("confirms with a backend key, then executes at the threshold and links the transaction", async () => {
    let state = withdrawal(1);
    const calls = stubApi({
      "GET /api/v1/admin/protocol/withdrawals": () => [200, treasury([state])],
      "POST /api/v1/admin/protocol/withdrawals/1/confirm-held": () => [200, (state = withdrawal(2))],
      "POST /api/v1/admin/protocol/withdrawals/1/execute": () => [200, (state = withdrawal(2, "executed"))],
      "GET /api/v1/admin/settings": [200, {}],
    });
    await renderWithApp(<ProtocolBalanceCard />);
    await userEvent.click(await screen.findByRole("button", { name: "Confirm with backend key" }));
    const item = screen.getByRole("article", { name: "Withdrawal #1" });
    await waitFor(() => expect(item.textContent).toContain("Proposed: 2 of 2 confirmations"));
    await userEvent.click(within(item).getByRole("button", { name: "Execute" }));
    await waitFor(() => expect(screen.getByRole("article", { name: "Withdrawal #1" }).textContent).toContain("Executed: 2 of 2 confirmations"));
    expect(screen.getByRole("status").textContent).toBe("Withdrawal #1 executed.");
    expect(within(screen.getByRole("article", { name: "Withdrawal #1" })).getByRole("link").getAttribute("href")).toBe(`/tx/${TX}`);
    expect(screen.queryByRole("button", { name: "Confirm with my wallet" })).toBeNull();
    expect(calls).toContain("POST /api/v1/admin/protocol/withdrawals/1/execute");
  });

  it("signs the SafeTx with the connected wallet and shows why the API refused the signature", async () => {
    stubApi({
      "GET /api/v1/admin/protocol/withdrawals": [200, treasury([withdrawal(0)], [])],
      "POST /api/v1/admin/protocol/withdrawals/1/confirmations": [403, { error: { code: "NOT_SAFE_OWNER", message: "the signature is by 0x9965…, who is not an owner of the Safe" } }],
    });
    const bodies = recordBodies();
    await renderWithApp(<ProtocolBalanceCard />);
    expect(screen.queryByRole("button", { name: "Confirm with backend key" })).toBeNull();
    await userEvent.click(await screen.findByRole("button", { name: "Confirm with my wallet" }));
    expect((await screen.findByRole("alert")).textContent).toBe("the signature is by 0x9965…, who is not an owner of the Safe");
    expect((bodies["POST /api/v1/admin/protocol/withdrawals/1/confirmations"] as { signature: string }).signature).toMatch(/^0x[0-9a-f]{130}$/);
  });

  it("says a rejected signature was rejected, and posts nothing", async () => {
    const calls = stubApi({ "GET /api/v1/admin/protocol/withdrawals": [200, treasury([withdrawal(0)], [])] });
    await renderWithApp(<ProtocolBalanceCard />, { approve: () => false });
    await userEvent.click(await screen.findByRole("button", { name: "Confirm with my wallet" }));
    expect((await screen.findByRole("alert")).textContent).toBe("You rejected the request in your wallet: nothing was signed or sent.");
    expect(calls.filter((c) => c.startsWith("POST"))).toEqual([]);
  });

  it("marks a stale proposal and offers no action on it", async () => {
    stubApi({ "GET /api/v1/admin/protocol/withdrawals": [200, treasury([withdrawal(1, "stale")])] });
    await renderWithApp(<ProtocolBalanceCard />);
    const item = await screen.findByRole("article", { name: "Withdrawal #1" });
    expect(item.textContent).toContain("another Safe transaction used nonce 4: propose it again");
    expect(within(item).queryAllByRole("button")).toEqual([]);
  });
});
