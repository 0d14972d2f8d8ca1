// "Verify my charge": for a committed PAYG charge, the API hands the user's leaf of the settlement
// batch and its Merkle proof; the page reads the batch's root from UsageBilling itself and checks
// the proof here in the browser (OpenZeppelin StandardMerkleTree, the encoding UsageBilling hashes:
// chain id, UsageBilling address and batch id come from the app's own configuration, not the API),
// so the user trusts the chain, not the API. It works from the commit on: during the batch's
// challenge window, before anything is collected, while the Safe can still cancel the batch.
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import { isAddressEqual, zeroHash, type Address, type Hex } from "viem";
import { useConfig, useConnection } from "wagmi";
import { readContract } from "wagmi/actions";
import { billingAbi } from "../../chain/abis.ts";
import { ActionButton } from "../components/ActionButton.tsx";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading } from "../components/Notice.tsx";
import { TxLink } from "../components/TxLink.tsx";
import { useAppConfig, useContractAddress } from "../lib/appConfig.ts";
import { formatCxpt, shortHex } from "../lib/format.ts";
import { useApi } from "../lib/session.tsx";
import { transactionsKey, transactionsPath, txHashOf, type TransactionPage, type TokenTransaction } from "../lib/ledger.ts";
import type { Api } from "../lib/api.ts";

/** UsageBilling's leaf, as StandardMerkleTree encodes it (src/settlement/tree.ts): chain id, contract, batch id, index, user, amount. */
const LEAF_ENCODING = ["uint256", "address", "uint256", "uint256", "address", "uint256"];

/** The chain and UsageBilling contract this app settles on: what every leaf must hash in. */
export interface BillingDomain {
  readonly chainId: number;
  readonly billing: Address;
}

/** GET /api/v1/billing/batches/:id/proof */
export interface ChargeProof {
  readonly batchId: string;
  readonly chainBatchId: string;
  readonly state: string;
  readonly root: Hex;
  readonly leaf: { readonly index: number; readonly user: Address; readonly amount: string; readonly status: string };
  readonly proof: readonly Hex[];
  readonly chainId: string;
  readonly billing: Address;
  /** End of the batch's challenge window, unix seconds. */
  readonly collectableAt: string;
  readonly cancelled: boolean;
}

/** The verdict on one charge. */
export type Verdict = { readonly ok: true; readonly proof: ChargeProof; readonly root: Hex } | { readonly ok: false; readonly why: string; readonly proof?: ChargeProof };

/**
 * Checks `proof` (from the API) against `onchainRoot` (read from UsageBilling at `where`): the leaf
 * must be `wallet`'s, of `expectedWei` when given, and its proof must lead to the on-chain root
 * with `where`'s chain, contract and the batch id hashed in.
 */
export function checkCharge(proof: ChargeProof, onchainRoot: Hex, wallet: Address, where: BillingDomain, expectedWei?: bigint): Verdict {
  const fail = (why: string): Verdict => ({ ok: false, why, proof });
  if (onchainRoot === zeroHash) return fail(`batch ${proof.chainBatchId} has no root committed on chain yet`);
  if (proof.chainId !== String(where.chainId) || !isAddressEqual(proof.billing, where.billing)) {
    return fail(`the proof is for UsageBilling ${proof.billing} on chain ${proof.chainId}, not ${where.billing} on chain ${where.chainId}`);
  }
  if (!isAddressEqual(proof.leaf.user, wallet)) return fail(`the leaf charges ${proof.leaf.user}, not your wallet ${wallet}`);
  if (expectedWei !== undefined && BigInt(proof.leaf.amount) !== expectedWei) {
    return fail(`the leaf's amount (${proof.leaf.amount} wei) differs from the charge in your history (${expectedWei} wei)`);
  }
  const leaf = [BigInt(where.chainId), where.billing, BigInt(proof.chainBatchId), BigInt(proof.leaf.index), proof.leaf.user, BigInt(proof.leaf.amount)];
  let proven: boolean;
  try {
    proven = StandardMerkleTree.verify(onchainRoot, LEAF_ENCODING, leaf, [...proof.proof]);
  } catch (error) {
    return fail(`the proof is malformed (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!proven) {
    return fail(
      proof.root.toLowerCase() === onchainRoot.toLowerCase()
        ? "the proof does not lead from your leaf to the on-chain root"
        : `the API's root ${shortHex(proof.root)} is not the on-chain root ${shortHex(onchainRoot)}, and the proof does not lead to the on-chain root`,
    );
  }
  return { ok: true, proof, root: onchainRoot };
}

/** Where the batch stands on chain: cancelled, in its challenge window, or collectable. */
export function windowNote(proof: ChargeProof, nowSeconds: number): string | null {
  if (proof.cancelled) return "The Safe cancelled this batch on chain: this charge will not be collected.";
  const openAt = Number(proof.collectableAt);
  if (openAt > nowSeconds) {
    return `In its challenge window until ${new Date(openAt * 1000).toISOString().replace(".000Z", "Z")}: nothing is collected before, and the Safe can cancel the batch.`;
  }
  return null;
}

/** ✓ or ✗ with the reason. */
export function VerdictNote({ verdict }: { readonly verdict: Verdict }) {
  if (verdict.ok) {
    const { proof, root } = verdict;
    const window = windowNote(proof, Date.now() / 1000);
    return (
      <p className="note ok wrap" role="status">
        ✓ Batch {proof.chainBatchId}: your leaf #{proof.leaf.index} of {formatCxpt(proof.leaf.amount, 18)} matches the on-chain root{" "}
        <span className="mono">{shortHex(root, 6)}</span>.{window ? ` ${window}` : null}
      </p>
    );
  }
  return (
    <p className="note error wrap" role="alert">
      ✗ Does not verify: {verdict.why}.
    </p>
  );
}

/** The batch number of a usage_charge history row (the indexer's details). */
const batchOf = (t: TokenTransaction): string | undefined => (typeof t.details.batchId === "string" ? t.details.batchId : undefined);

/** The card over `api` (the session's client), `readRoot` (UsageBilling.batchOf(id).root) and the `wallet`. */
export function VerifyChargeView({ api, readRoot, wallet, where }: {
  readonly api: Api;
  readonly readRoot: (chainBatchId: bigint) => Promise<Hex>;
  readonly wallet: Address;
  readonly where: BillingDomain;
}) {
  const batchInput = useId();
  const [batch, setBatch] = useState("");
  const [verdicts, setVerdicts] = useState<Readonly<Record<string, Verdict>>>({});
  const charges = useQuery({
    queryKey: transactionsKey("usage_charge"),
    queryFn: () => api<TransactionPage>(transactionsPath(null, "usage_charge", 20)),
  });

  const verify = async (batchId: string, expectedWei?: bigint) => {
    setVerdicts((all) => {
      const { [batchId]: _old, ...rest } = all;
      return rest;
    });
    const proof = await api<ChargeProof>(`/api/v1/billing/batches/${batchId}/proof`);
    const root = await readRoot(BigInt(proof.chainBatchId));
    const verdict = checkCharge(proof, root, wallet, where, expectedWei);
    setVerdicts((all) => ({ ...all, [batchId]: verdict }));
  };
  const verifyTyped = () => {
    const id = batch.trim();
    if (!/^[0-9]{1,18}$/.test(id)) return Promise.reject(new Error("Enter a batch number, like 1."));
    return verify(id);
  };

  const rows = charges.data?.transactions.filter((t) => batchOf(t) !== undefined) ?? [];
  return (
    <Card
      title="Verify my charge"
      actions={
        <button type="button" className="secondary" onClick={() => void charges.refetch()}>
          Refresh charges
        </button>
      }
    >
      <p className="muted">
        Each PAYG charge is a leaf of a batch whose Merkle root is on chain. Check yours here: the proof is verified in your browser against the chain, also during
        the batch&apos;s challenge window, before anything is collected.
      </p>
      {charges.error ? <ErrorNote error={charges.error} /> : charges.data === undefined ? <Loading what="your settled charges" /> : rows.length === 0 ? <p className="muted">No settled charges yet.</p> : (
        <ul>
          {rows.map((t) => {
            const id = batchOf(t)!;
            const hash = txHashOf(t);
            return (
              <li key={t.id}>
                Batch {id}: {formatCxpt(t.amountWei, 18)} ({t.status === "confirmed" ? "collected" : t.status === "failed" ? "short: not collected yet" : t.status}){hash ? <> · <TxLink hash={hash} /></> : null}{" "}
                <ActionButton variant="secondary" onAction={() => verify(id, BigInt(t.amountWei))} pendingLabel="Verifying…">
                  Verify batch {id}
                </ActionButton>
                {verdicts[id] ? <VerdictNote verdict={verdicts[id]} /> : null}
              </li>
            );
          })}
        </ul>
      )}
      <div>
        <label htmlFor={batchInput}>Batch number</label>{" "}
        <input id={batchInput} inputMode="numeric" autoComplete="off" value={batch} onChange={(event) => setBatch(event.target.value)} size={8} />{" "}
        <ActionButton variant="secondary" onAction={verifyTyped} pendingLabel="Verifying…">
          Verify
        </ActionButton>
      </div>
      {verdicts[batch.trim()] && !rows.some((t) => batchOf(t) === batch.trim()) ? <VerdictNote verdict={verdicts[batch.trim()]!} /> : null}
    </Card>
  );
}

export function VerifyCharge() {
  const config = useConfig();
  const billing = useContractAddress("billing");
  const { address } = useConnection();
  // useContractAddress has thrown already when the chain is off.
  const { chainId } = useAppConfig().chain!;
  const api = useApi();
  const readRoot = async (chainBatchId: bigint) => (await readContract(config, { address: billing, abi: billingAbi, functionName: "batchOf", args: [chainBatchId] })).root;
  return <VerifyChargeView api={api} readRoot={readRoot} wallet={address!} where={{ chainId, billing }} />;
}
