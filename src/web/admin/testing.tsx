// Component-test helpers for the admin dashboard: the app's providers and API stand-in (shared with
// the provider dashboard's tests), fixtures in the API's shapes, and a record of the bodies sent.
import { vi } from "vitest";
import { SAFE_TX_TYPES } from "../../chain/safe.ts";
import type { AdminSettings, PointsPreview, Treasury, Withdrawal } from "./data.ts";

export { renderWithApp, stubApi, type Routes } from "../test/render.tsx";

/** Records the JSON body of every request made through the stubbed fetch ("METHOD path" → body). */
export function recordBodies(): Record<string, unknown> {
  const bodies: Record<string, unknown> = {};
  const inner = globalThis.fetch;
  vi.stubGlobal("fetch", (input: string, init?: RequestInit) => {
    if (typeof init?.body === "string") bodies[`${init.method ?? "GET"} ${new URL(input, "http://localhost").pathname}`] = JSON.parse(init.body);
    return inner(input, init);
  });
  return bodies;
}

export const SAFE = "0x00000000000000000000000000000000000005a5";
export const OWNERS = ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "0x90F79bf6EB2c4f870365E785982E1f101E93b906"] as const;
export const TX = `0x${"cd".repeat(32)}`;

export const settings: AdminSettings = {
  stage: "testnet",
  phase: 3,
  features: {},
  chain: {
    chainId: 31337,
    split: { protocolBps: 3000, providersBps: 5500, usersBps: 1500 },
    burnBps: 500,
    plans: [{ id: 1, priceWei: "100000000000000000000", periodSeconds: 2_592_000, bucketTokens: "1000000", requestsPerMinute: 60, concurrency: 2, active: true }],
    protocolBalanceWei: "300000000000000000000",
    currentEpoch: 0,
    nextEpoch: { epoch: 1, uploaded: false, voided: false, reviewDelaySeconds: 0, currentEndsAt: "1970-01-01T00:00:00.000Z", reviewEndsAt: null, startableAt: "1970-01-01T00:00:00.000Z" },
    safe: SAFE,
    timelock: "0x0000000000000000000000000000000000000071",
  },
};

export function withdrawal(confirmed: number, status: Withdrawal["status"] = "proposed"): Withdrawal {
  return {
    id: "1",
    status,
    to: "0x00000000000000000000000000000000000000aa",
    amountWei: "100000000000000000000",
    safeNonce: "4",
    safeTxHash: `0x${"11".repeat(32)}`,
    confirmations: OWNERS.slice(0, confirmed).map((owner) => ({ owner, at: "2026-11-21T10:00:00.000Z" })),
    threshold: 2,
    owners: [...OWNERS],
    typedData: {
      domain: { chainId: 31337, verifyingContract: SAFE },
      types: {
        EIP712Domain: [{ name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" }],
        ...SAFE_TX_TYPES,
      },
      primaryType: "SafeTx",
      message: {
        to: "0x00000000000000000000000000000000000000d1",
        value: "0",
        data: "0x1234",
        operation: 0,
        safeTxGas: "0",
        baseGas: "0",
        gasPrice: "0",
        gasToken: "0x0000000000000000000000000000000000000000",
        refundReceiver: "0x0000000000000000000000000000000000000000",
        nonce: "4",
      },
    },
    txHash: status === "executed" ? TX : null,
    proposedAt: "2026-11-21T09:00:00.000Z",
  } as Withdrawal;
}

export const treasury = (w: readonly Withdrawal[], heldOwners: readonly string[] = OWNERS): Treasury =>
  ({ safe: { address: SAFE, owners: [...OWNERS], threshold: 2, nonce: "4", heldOwners }, protocolBalanceWei: "300000000000000000000", withdrawals: w }) as Treasury;

const pools = { accounts: 1, points: "100", pendingFundingWei: "0", accruedShareWei: "0", budgetWei: "0" };

export function preview(bad: boolean): PointsPreview {
  const good = [
    { line: 2, wallet: "0x00000000000000000000000000000000000000a1", pool: "providers", points: "100", ok: true, receivesWei: "25000000000000000000" },
    { line: 3, wallet: "0x00000000000000000000000000000000000000a2", pool: "providers", points: "300", ok: true, receivesWei: "75000000000000000000" },
  ];
  return {
    epoch: 1,
    ok: !bad,
    basis: "pendingFunding+accrued",
    problems: [],
    rows: bad ? [...good, { line: 4, wallet: "0x1234", pool: "users", points: "5", ok: false, error: '"0x1234" is not an address (or its checksum is wrong)' }] : good,
    pools: { providers: { ...pools, points: "400", budgetWei: "100000000000000000000" }, users: pools },
  };
}
