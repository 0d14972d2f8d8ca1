import { afterEach, describe, expect, it } from "vitest";
import type { Hash } from "viem";
import { ApiError } from "./api.ts";
import { deliverReport, keepReport, pendingReports, redeliverReports, REPORT_TTL_MS } from "./reports.ts";

const WALLET = "0x00000000000000000000000000000000000000aa";
const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hash;
const report = (n: number) => ({ txHash: hash(n), what: "deposit", path: "/api/v1/tokens/deposit", body: { txHash: hash(n) } });

afterEach(() => localStorage.clear());

describe("reports kept for the API", () => {
  it("keeps a report per hash until the API takes it", async () => {
    keepReport(WALLET, report(1));
    keepReport(WALLET, report(1));
    keepReport(WALLET, report(2));
    expect(pendingReports(WALLET).map((r) => r.txHash)).toEqual([hash(1), hash(2)]);
    const asked: unknown[] = [];
    const api = async <T,>(path: string, options?: { body?: unknown }) => {
      asked.push([path, options?.body]);
      return { credited: true } as T;
    };
    await expect(deliverReport(api, WALLET, report(1))).resolves.toEqual({ credited: true });
    expect(asked).toEqual([["/api/v1/tokens/deposit", { txHash: hash(1) }]]);
    expect(pendingReports(WALLET).map((r) => r.txHash)).toEqual([hash(2)]);
  });

  it("keeps it through failures that may pass (network, server, session, unknown yet) and drops what the API refuses for good", async () => {
    const failing = (error: unknown) => async <T,>(): Promise<T> => {
      throw error;
    };
    for (const error of [new ApiError(0, "NETWORK_ERROR", "down"), new ApiError(502, "RPC", "x"), new ApiError(401, "UNAUTHENTICATED", "x"), new ApiError(404, "TX_NOT_FOUND", "x")]) {
      keepReport(WALLET, report(3));
      await expect(deliverReport(failing(error), WALLET, report(3))).rejects.toBe(error);
      expect(pendingReports(WALLET)).toHaveLength(1);
    }
    const refused = new ApiError(422, "NOT_A_VAULT_DEPOSIT", "not a deposit");
    await expect(deliverReport(failing(refused), WALLET, report(3))).rejects.toBe(refused);
    expect(pendingReports(WALLET)).toEqual([]);
  });

  it("gives up a report after REPORT_TTL_MS", () => {
    keepReport(WALLET, report(4));
    expect(pendingReports(WALLET, Date.now() + REPORT_TTL_MS + 1)).toEqual([]);
  });

  it("redelivers every kept report and says which went through", async () => {
    keepReport(WALLET, report(5));
    keepReport(WALLET, report(6));
    const api = async <T,>(_path: string, options?: { body?: unknown }) => {
      if ((options?.body as { txHash: Hash }).txHash === hash(6)) throw new ApiError(0, "NETWORK_ERROR", "down");
      return {} as T;
    };
    const outcome = await redeliverReports(api, WALLET);
    expect(outcome.delivered.map((r) => r.txHash)).toEqual([hash(5)]);
    expect(outcome.failed.map((f) => f.report.txHash)).toEqual([hash(6)]);
    expect(pendingReports(WALLET).map((r) => r.txHash)).toEqual([hash(6)]);
  });
});
