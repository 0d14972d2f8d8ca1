import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen } from "@testing-library/react";
import type { ReactNode } from "react";
import { zeroHash, type Address, type Hex } from "viem";
import { describe, expect, it } from "vitest";
import { ApiError } from "../lib/api.ts";
import { AppConfigContext, type AppConfig } from "../lib/appConfig.ts";
import { checkCharge, VerifyChargeView, windowNote, type BillingDomain, type ChargeProof } from "./VerifyCharge.tsx";

const ME: Address = "0x00000000000000000000000000000000000000a1";
const OTHER: Address = "0x00000000000000000000000000000000000000b2";
const BILLING: Address = "0x00000000000000000000000000000000000000e5";
const WHERE: BillingDomain = { chainId: 31337, billing: BILLING };
const ENCODING = ["uint256", "address", "uint256", "uint256", "address", "uint256"];
// Batch 1 as settlement builds it (src/settlement/tree.ts): leaves (chainId, billing, batch, index, user, amount) in index order.
const leaves: [bigint, Address, bigint, bigint, Address, bigint][] = [
  [31337n, BILLING, 1n, 0n, OTHER, 7n],
  [31337n, BILLING, 1n, 1n, ME, 12_345n],
  [31337n, BILLING, 1n, 2n, "0x00000000000000000000000000000000000000c3", 99n],
];
const tree = StandardMerkleTree.of(leaves, ENCODING, { sortLeaves: false });
const ROOT = tree.root as Hex;
const proofOf = (index: number, over: Partial<ChargeProof> = {}): ChargeProof => ({
  batchId: "1",
  chainBatchId: "1",
  state: "settled",
  root: ROOT,
  leaf: { index, user: leaves[index]![4], amount: String(leaves[index]![5]), status: "collected" },
  proof: tree.getProof(index) as Hex[],
  chainId: "31337",
  billing: BILLING,
  collectableAt: "0",
  cancelled: false,
  ...over,
});

describe("checkCharge", () => {
  it("accepts the user's leaf proven to the on-chain root", () => {
    expect(checkCharge(proofOf(1), ROOT, ME, WHERE, 12_345n)).toEqual({ ok: true, proof: proofOf(1), root: ROOT });
  });

  it("refuses, saying why", () => {
    const why = (verdict: ReturnType<typeof checkCharge>) => (verdict.ok ? "ok" : verdict.why);
    expect(why(checkCharge(proofOf(1), zeroHash, ME, WHERE))).toMatch(/no root committed on chain/);
    expect(why(checkCharge(proofOf(0), ROOT, ME, WHERE))).toMatch(/charges 0x0+b2, not your wallet/);
    expect(why(checkCharge(proofOf(1), ROOT, ME, WHERE, 1n))).toMatch(/differs from the charge in your history/);
    // An inflated amount: the API would claim more than the committed leaf.
    const inflated = proofOf(1, { leaf: { ...proofOf(1).leaf, amount: "99999" } });
    expect(why(checkCharge(inflated, ROOT, ME, WHERE))).toBe("the proof does not lead from your leaf to the on-chain root");
    // The API's root is not the chain's.
    const other = StandardMerkleTree.of([[31337n, BILLING, 1n, 0n, ME, 1n]], ENCODING).root as Hex;
    expect(why(checkCharge(proofOf(1), other, ME, WHERE))).toMatch(/is not the on-chain root/);
    expect(why(checkCharge(proofOf(1, { proof: ["0x12"] }), ROOT, ME, WHERE))).toMatch(/proof/);
    // A proof for another contract or chain, or the leaf replayed under another batch id.
    expect(why(checkCharge(proofOf(1), ROOT, ME, { ...WHERE, billing: OTHER }))).toMatch(/not 0x0+b2 on chain 31337/);
    expect(why(checkCharge(proofOf(1), ROOT, ME, { ...WHERE, chainId: 1 }))).toMatch(/on chain 31337, not .* on chain 1$/);
    expect(why(checkCharge(proofOf(1, { chainBatchId: "2" }), ROOT, ME, WHERE))).toBe("the proof does not lead from your leaf to the on-chain root");
  });

  it("says whether the batch is in its challenge window or was cancelled", () => {
    expect(windowNote(proofOf(1, { collectableAt: "2000" }), 1000)).toBe(
      "In its challenge window until 1970-01-01T00:33:20Z: nothing is collected before, and the Safe can cancel the batch.",
    );
    expect(windowNote(proofOf(1, { collectableAt: "2000" }), 2000)).toBeNull();
    expect(windowNote(proofOf(1, { cancelled: true }), 0)).toMatch(/cancelled this batch on chain/);
  });
});

const config: AppConfig = { stage: "testnet", phase: 3, features: {}, chain: { chainId: 31337, rpcUrl: "http://127.0.0.1:9/rpc", explorerUrl: null, addresses: {} }, walletConnectProjectId: null, devWallets: [] };
const show = (ui: ReactNode) =>
  render(
    <AppConfigContext.Provider value={config}>
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>{ui}</QueryClientProvider>
    </AppConfigContext.Provider>,
  );
const COLLECTION = `0x${"cd".repeat(32)}` as const;
const charge = {
  id: "00000000-0000-4000-8000-000000000001",
  type: "usage_charge",
  status: "confirmed",
  amountWei: "12345",
  txHash: null,
  blockNumber: "50",
  ref: "leaf:1:1",
  details: { txHash: COLLECTION, batchId: "1", index: "1" },
  createdAt: "2026-11-20T10:00:00.000Z",
};

/** The API: the usage charges and the batch proofs by id. */
const fakeApi = (proofs: Record<string, ChargeProof | Error>) => async <T,>(path: string): Promise<T> => {
  if (path.startsWith("/api/v1/tokens/transactions")) return { transactions: [charge], nextCursor: null } as T;
  const found = proofs[/batches\/(\d+)\/proof/.exec(path)![1]!];
  if (found === undefined) throw new ApiError(404, "LEAF_NOT_FOUND", "Settlement batch has no charge for this account");
  if (found instanceof Error) throw found;
  return found as T;
};

describe("VerifyChargeView", () => {
  it("lists the settled charges and verifies one against the root read on chain: ✓", async () => {
    const roots: bigint[] = [];
    show(<VerifyChargeView api={fakeApi({ 1: proofOf(1) })} readRoot={async (id) => (roots.push(id), ROOT)} wallet={ME} where={WHERE} />);
    expect(screen.getByText(/Loading your settled charges/)).toBeTruthy();
    await screen.findByText(/Batch 1: 0.000000000000012345 CXPT \(collected\)/);
    expect(screen.getByRole("link").getAttribute("href")).toBe(`/tx/${COLLECTION}`);
    fireEvent.click(screen.getByRole("button", { name: "Verify batch 1" }));
    expect((await screen.findByRole("status")).textContent).toMatch(/^✓ Batch 1: your leaf #1 of 0.000000000000012345 CXPT matches the on-chain root/);
    expect(roots).toEqual([1n]);
  });

  it("shows ✗ with why when the chain's root differs", async () => {
    show(<VerifyChargeView api={fakeApi({ 1: proofOf(1) })} readRoot={async () => zeroHash} wallet={ME} where={WHERE} />);
    fireEvent.click(await screen.findByRole("button", { name: "Verify batch 1" }));
    expect((await screen.findByRole("alert")).textContent).toBe("✗ Does not verify: batch 1 has no root committed on chain yet.");
  });

  it("verifies a typed batch number and says the API's refusal", async () => {
    show(<VerifyChargeView api={fakeApi({ 2: new ApiError(409, "BATCH_NOT_BUILT", "Settlement batch 2 has no committed root (state open)") })} readRoot={async () => ROOT} wallet={ME} where={WHERE} />);
    await screen.findByText(/Batch 1:/);
    fireEvent.change(screen.getByLabelText("Batch number"), { target: { value: "x" } });
    fireEvent.click(screen.getByRole("button", { name: "Verify" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Enter a batch number, like 1.");
    fireEvent.change(screen.getByLabelText("Batch number"), { target: { value: "2" } });
    fireEvent.click(screen.getByRole("button", { name: "Verify" }));
    expect((await screen.findByRole("alert")).textContent).toMatch(/no committed root/);
  });
});
