import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ApiError } from "../lib/api.ts";
import { ActionButton } from "./ActionButton.tsx";
import { ProgressBar } from "./ProgressBar.tsx";

describe("ActionButton", () => {
  it("is disabled while its action runs and shows the failure below it, then can be pressed again", async () => {
    let fail!: (error: unknown) => void;
    render(
      <ActionButton onAction={() => new Promise((_, reject) => (fail = reject))} pendingLabel="Depositing…">
        Deposit
      </ActionButton>,
    );
    fireEvent.click(screen.getByRole("button", { name: "Deposit" }));
    const pending = await screen.findByRole("button", { name: "Depositing…" });
    expect((pending as HTMLButtonElement).disabled).toBe(true);
    fail(new ApiError(402, "INSUFFICIENT_CREDITS", "Not enough credits"));
    expect((await screen.findByRole("alert")).textContent).toBe("Not enough credits");
    expect((screen.getByRole("button", { name: "Deposit" }) as HTMLButtonElement).disabled).toBe(false);
  });
});

describe("ActionButton's stale errors", () => {
  it("clears its error once the input it acted on changes", async () => {
    const view = (amount: string) => (
      <ActionButton onAction={() => Promise.reject(new Error(`Insufficient balance for ${amount}`))} clearOn={amount}>
        Deposit
      </ActionButton>
    );
    const { rerender } = render(view("1000"));
    fireEvent.click(screen.getByRole("button", { name: "Deposit" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Insufficient balance for 1000");
    rerender(view("1000"));
    expect(screen.queryByRole("alert")).not.toBeNull();
    rerender(view("10"));
    expect(screen.queryByRole("alert")).toBeNull();
  });
});

describe("ProgressBar", () => {
  it("draws bigints far above 2^53 in integer per-mille", () => {
    render(<ProgressBar label="Bucket left" value={2n ** 80n} max={2n ** 82n} />);
    expect((screen.getByRole("progressbar", { name: "Bucket left" }) as HTMLProgressElement).value).toBe(250);
    expect(screen.getByText("25.0 %")).toBeTruthy();
  });
});
