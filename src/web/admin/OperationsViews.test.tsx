import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { AccountsPanel, formatAusd } from "./AccountsPanel.tsx";
import { AuditLog, auditQuery, filterProblem } from "./AuditLog.tsx";
import { describeRun, JobsPanel } from "./JobsPanel.tsx";
import { SafeQueue } from "./ProtocolBalanceCard.tsx";
import { recordBodies, renderWithApp, stubApi, treasury, withdrawal } from "./testing.tsx";

const run = (over: object = {}) => ({
  id: "3",
  job: "settle",
  trigger: "schedule",
  scheduledFor: null,
  startedAt: "2026-11-21T10:00:00.000Z",
  finishedAt: "2026-11-21T10:00:01.500Z",
  outcome: "ok",
  summary: { batches: 1 },
  error: null,
  ...over,
});
const job = { name: "settle", description: "Settles PAYG usage on chain", schedule: "0 * * * *", nextRunAt: "2026-11-21T11:00:00.000Z", running: false, runs: [run()], nextCursor: null };
const WALLET = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const account = {
  id: "6c1f3c2e-1111-4a4a-8888-000000000001",
  kind: "user",
  role: "member",
  wallet: WALLET,
  email: null,
  creditsWei: "99750000000000000000000",
  legacyCreditsAusd: "12500000000000000000",
  legacyDebtAusd: "0",
  keysSuspendedAt: "2026-11-20T10:00:00.000Z",
  totalEarningsWei: "0",
  createdAt: "2026-11-01T10:00:00.000Z",
};

describe("JobsPanel", () => {
  it("lists each job's schedule, next and last run, and runs one now with its outcome", async () => {
    let runs = [run()];
    const calls = stubApi({
      "GET /api/v1/admin/jobs": () => [200, { scheduler: "embedded", jobs: [{ ...job, runs }] }],
      "POST /api/v1/admin/jobs/settle/run": () => ((runs = [run({ id: "4", trigger: "manual", outcome: "failed", error: "chain unreachable", summary: null })]), [200, runs[0]]),
    });
    await renderWithApp(<JobsPanel />);
    const table = await screen.findByRole("table", { name: "Jobs" });
    const row = within(table).getAllByRole("row")[1]!;
    expect(row.textContent).toContain("0 * * * *");
    expect(row.textContent).toContain("ok in 1.5 s");
    await userEvent.click(screen.getByRole("button", { name: "Run settle now" }));
    expect((await screen.findByText(/^settle: failed in 1\.5 s: chain unreachable/)).textContent).toBeTruthy();
    await waitFor(() => expect(within(screen.getByRole("table", { name: "Jobs" })).getAllByRole("row")[1]!.textContent).toContain("manual"));
    expect(calls).toContain("POST /api/v1/admin/jobs/settle/run");
  });

  it("says a run that has not finished is running", () => {
    expect(describeRun(run({ finishedAt: null, outcome: null }) as never)).toBe("running");
  });
});

describe("AuditLog", () => {
  it("builds the filter's query, the end day included", () => {
    expect(auditQuery({ admin: WALLET, action: "set_split", from: "2026-11-01", to: "2026-11-30" })).toBe(`limit=20&admin=${WALLET}&action=set_split&from=2026-11-01&to=2026-12-01`);
    expect(filterProblem({ admin: "0x12", action: "", from: "", to: "" })).toMatch(/wallet address/);
    expect(filterProblem({ admin: "", action: "Set Split", from: "", to: "" })).toMatch(/snake_case/);
    expect(filterProblem({ admin: "", action: "", from: "2026-12-02", to: "2026-12-01" })).toMatch(/after the end/);
  });

  it("shows the entries, filters by action and pages to older ones", async () => {
    const entry = (id: string, action: string) => ({ id, actorId: null, actorWallet: WALLET, action, params: { id }, outcome: { status: "executed" }, createdAt: "2026-11-21T10:00:00.000Z" });
    const calls = stubApi({
      "GET /api/v1/admin/audit": () => {
        const last = calls.at(-1)!;
        if (last.includes("action=resolve_alert")) return [200, { entries: [entry("5", "resolve_alert")], nextCursor: null }];
        if (last.includes("cursor=8")) return [200, { entries: [entry("7", "set_split")], nextCursor: null }];
        return [200, { entries: [entry("9", "set_split"), entry("8", "grant_legacy_credits")], nextCursor: "8" }];
      },
    });
    await renderWithApp(<AuditLog />);
    const table = await screen.findByRole("table", { name: "Audit entries" });
    expect(within(table).getAllByRole("row")).toHaveLength(3);
    await userEvent.click(screen.getByRole("button", { name: "Older entries" }));
    await waitFor(() => expect(within(screen.getByRole("table", { name: "Audit entries" })).getAllByRole("row")).toHaveLength(4));
    await userEvent.type(screen.getByLabelText("Action"), "resolve_alert");
    await userEvent.click(screen.getByRole("button", { name: "Filter" }));
    await waitFor(() => expect(within(screen.getByRole("table", { name: "Audit entries" })).getAllByRole("row")).toHaveLength(2));
    expect(calls).toContain("GET /api/v1/admin/audit?limit=20&action=resolve_alert");
  });
});

describe("AccountsPanel", () => {
  it("finds an account by wallet with its balances and suspension, and grants legacy credits", async () => {
    const calls = stubApi({
      "GET /api/v1/admin/accounts": [200, { accounts: [account], nextCursor: null }],
      [`POST /api/v1/admin/accounts/${account.id}/legacy-credits`]: [200, { legacyCreditsAusd: "25000000000000000000" }],
    });
    const bodies = recordBodies();
    await renderWithApp(<AccountsPanel />);
    await screen.findByRole("list", { name: "Accounts found" });
    await userEvent.type(screen.getByLabelText("Wallet"), "0x12");
    await userEvent.click(screen.getByRole("button", { name: "Search" }));
    expect((await screen.findByRole("alert")).textContent).toMatch(/0x followed by 40 hex digits/);
    await userEvent.clear(screen.getByLabelText("Wallet"));
    expect(screen.queryByRole("alert")).toBeNull();
    await userEvent.type(screen.getByLabelText("Wallet"), WALLET.toLowerCase());
    await userEvent.click(screen.getByRole("button", { name: "Search" }));
    await waitFor(() => expect(calls).toContain(`GET /api/v1/admin/accounts?limit=20&wallet=${WALLET}`));
    const found = screen.getByRole("list", { name: "Accounts found" });
    expect(found.textContent).toContain("99,750 CXPT");
    expect(found.textContent).toContain("$12.50");
    expect(found.textContent).toMatch(/suspended since/);
    await userEvent.type(screen.getByLabelText("Grant (USD)"), "12,50");
    await userEvent.type(screen.getByLabelText("Reason"), "support ticket 42");
    await userEvent.click(screen.getByRole("button", { name: "Grant legacy credits" }));
    expect((await screen.findByRole("status")).textContent).toContain("legacy credits now $25.00");
    expect(bodies[`POST /api/v1/admin/accounts/${account.id}/legacy-credits`]).toEqual({ usd: "12.50", reason: "support ticket 42" });
  });

  it("formats atto-USD as dollars", () => {
    expect(formatAusd("12500000000000000000")).toBe("$12.50");
    expect(formatAusd("1")).toBe("$0.00+");
  });
});

describe("SafeQueue", () => {
  it("lists the open proposals by nonce with their confirmations and whether each can run now", async () => {
    const base = treasury([withdrawal(2), { ...withdrawal(1), id: "2", safeNonce: "5" }]);
    await renderWithApp(<SafeQueue treasury={{ ...base, safe: { ...base.safe, nonce: "4" } }} />);
    const rows = within(screen.getByRole("table", { name: "Safe queue" })).getAllByRole("row").slice(1).map((r) => within(r).getAllByRole("cell").map((c) => c.textContent));
    expect(rows.map((r) => [r[0], r[2], r[3]])).toEqual([
      ["4", "2 of 2", "Executable"],
      ["5", "1 of 2", "Needs 1 more confirmation"],
    ]);
  });
});
