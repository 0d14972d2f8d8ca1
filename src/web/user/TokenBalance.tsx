// The user's CXPT at a glance: the wallet's balance and Vault allowance read on chain, the
// account's credits and unpaid usage from the API, deposit and withdraw, and the transaction
// history page by page with links to each transaction.
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { Address, Hex } from "viem";
import { useConfig, useConnection, useReadContracts } from "wagmi";
import { signTypedData } from "wagmi/actions";
import { cxptAbi } from "../../chain/abis.ts";
import { ActionButton } from "../components/ActionButton.tsx";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading, StatusNote } from "../components/Notice.tsx";
import { TxLink } from "../components/TxLink.tsx";
import { useContractAddress } from "../lib/appConfig.ts";
import { formatCxpt, formatTime } from "../lib/format.ts";
import { useApi } from "../lib/session.tsx";
import { DepositTokensModal } from "./DepositTokensModal.tsx";

/** GET /api/v1/tokens/balance */
export interface BalanceReply {
  readonly creditsWei: string;
  readonly pendingUsageWei: string;
  readonly billedIn: "cxpt" | "legacy";
}

/** One row of GET /api/v1/tokens/transactions. */
export interface TokenTransaction {
  readonly id: string;
  readonly type: "deposit" | "withdrawal" | "claim" | "usage_charge" | "subscription_payment" | "reward";
  readonly status: "pending" | "confirmed" | "failed";
  readonly amountWei: string;
  readonly txHash: Hex | null;
  readonly blockNumber: string | null;
  readonly ref: string | null;
  readonly details: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
}

export interface TransactionPage {
  readonly transactions: readonly TokenTransaction[];
  readonly nextCursor: string | null;
}

/** Balances change without this page (settlement, other devices): they are read again this often. */
export const REFRESH_MS = 15_000;

type Api = <T>(path: string, options?: { method?: "GET" | "POST" | "PUT" | "DELETE"; body?: unknown }) => Promise<T>;

const TYPE_LABELS: Readonly<Record<TokenTransaction["type"], string>> = {
  deposit: "Deposit",
  withdrawal: "Withdrawal",
  claim: "Reward claim",
  usage_charge: "Usage charge (PAYG)",
  subscription_payment: "Subscription",
  reward: "Reward",
};

/** The transaction a history row points at: its own hash, or (a settled PAYG charge) the collection's. */
export const txHashOf = (t: TokenTransaction): string | null => t.txHash ?? (typeof t.details.txHash === "string" ? t.details.txHash : null);

/** The query key of the history pages (shared with VerifyCharge's filtered list). */
export const transactionsKey = (filter?: string) => ["tokens", "transactions", filter ?? "all"] as const;

/** The history page path after `cursor`, optionally of one `type`. */
export function transactionsPath(cursor: string | null, type?: TokenTransaction["type"], limit = 10): string {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor !== null) query.set("cursor", cursor);
  if (type !== undefined) query.set("type", type);
  return `/api/v1/tokens/transactions?${query}`;
}

/** The wallet's on-chain figures (undefined while loading). */
export interface OnchainFunds {
  readonly balance: bigint;
  readonly allowance: bigint;
}

/** The four figures: on chain (wallet) and off chain (account), each with its own loading and error state. */
export function BalanceFacts({
  onchain,
  onchainError,
  offchain,
  offchainError,
}: {
  readonly onchain: OnchainFunds | undefined;
  readonly onchainError?: unknown;
  readonly offchain: BalanceReply | undefined;
  readonly offchainError?: unknown;
}) {
  // Exact to the wei: a PAYG charge is often far below 0.0001 CXPT.
  const onchainValue = (pick: (funds: OnchainFunds) => bigint) => (onchainError ? "—" : onchain === undefined ? "…" : formatCxpt(pick(onchain), 18));
  const offchainValue = (pick: (balance: BalanceReply) => string) => (offchainError ? "—" : offchain === undefined ? "…" : formatCxpt(pick(offchain), 18));
  return (
    <>
      <dl className="facts" aria-label="Balances">
        <dt>Wallet balance</dt>
        <dd>{onchainValue((f) => f.balance)}</dd>
        <dt>Vault allowance</dt>
        <dd>{onchainValue((f) => f.allowance)}</dd>
        <dt>Credits</dt>
        <dd>{offchainValue((b) => b.creditsWei)}</dd>
        <dt>Pending usage</dt>
        <dd>{offchainValue((b) => b.pendingUsageWei)}</dd>
      </dl>
      {onchain === undefined && offchain === undefined && !onchainError && !offchainError ? <Loading what="balances" /> : null}
      <ErrorNote error={onchainError} />
      <ErrorNote error={offchainError} />
    </>
  );
}

/** The history rows as a table (scrolls inside itself on a phone, never the page). */
export function TransactionTable({ transactions }: { readonly transactions: readonly TokenTransaction[] }) {
  if (transactions.length === 0) return <p className="muted">No transactions yet.</p>;
  return (
    <div className="table-wrap">
      <table>
        <caption className="muted">Newest first</caption>
        <thead>
          <tr>
            <th scope="col">What</th>
            <th scope="col">Amount</th>
            <th scope="col">When</th>
          </tr>
        </thead>
        <tbody>
          {transactions.map((t) => {
            const hash = txHashOf(t);
            return (
              <tr key={t.id}>
                <td>
                  {TYPE_LABELS[t.type]}
                  {t.status === "confirmed" ? null : <span className="muted"> ({t.status === "failed" ? "failed" : "pending"})</span>}
                  {hash ? (
                    <>
                      <br />
                      <TxLink hash={hash} />
                    </>
                  ) : null}
                </td>
                <td>{formatCxpt(t.amountWei, 18)}</td>
                <td>{formatTime(t.createdAt)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The account's history, ten at a time, "Load more" following the API's cursor. */
export function TransactionHistory({ api }: { readonly api: Api }) {
  const history = useInfiniteQuery({
    queryKey: transactionsKey(),
    queryFn: ({ pageParam }) => api<TransactionPage>(transactionsPath(pageParam)),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
  });
  if (history.error && history.data === undefined) return <ErrorNote error={history.error} />;
  if (history.data === undefined) return <Loading what="transactions" />;
  return (
    <>
      <TransactionTable transactions={history.data.pages.flatMap((page) => page.transactions)} />
      {history.hasNextPage ? (
        <ActionButton variant="secondary" onAction={() => history.fetchNextPage({ throwOnError: true })} pendingLabel="Loading…">
          Load more
        </ActionButton>
      ) : null}
    </>
  );
}

/** GET /api/v1/rewards/claim-request: the forward request to sign. */
interface ClaimRequest {
  readonly typedData: {
    readonly domain: { name: string; version: string; chainId: number; verifyingContract: Address };
    readonly types: Record<string, { name: string; type: string }[]>;
    readonly primaryType: "ForwardRequest";
    readonly message: { from: Address; to: Address; value: string; gas: string; nonce: string; deadline: number; data: Hex };
  };
}

/**
 * Withdrawing as the backend supports it: the Vault never pays out, so a withdrawal pays the wallet
 * its claimable earnings from the RewardDistributor, relayed gaslessly (sign, the backend sends).
 */
function WithdrawEarnings({ api }: { readonly api: Api }) {
  const config = useConfig();
  const queryClient = useQueryClient();
  const [done, setDone] = useState<{ claimedWei: string; txHash: Hex }>();
  const available = useQuery({ queryKey: ["rewards", "available"], queryFn: () => api<{ totalWei: string }>("/api/v1/rewards/available") });
  const withdraw = async () => {
    setDone(undefined);
    const { typedData } = await api<ClaimRequest>("/api/v1/rewards/claim-request");
    const { message } = typedData;
    const { EIP712Domain: _domain, ...types } = typedData.types;
    const signature = await signTypedData(config, {
      domain: typedData.domain,
      types,
      primaryType: typedData.primaryType,
      message: { ...message, value: BigInt(message.value), gas: BigInt(message.gas), nonce: BigInt(message.nonce), deadline: BigInt(message.deadline) },
    });
    setDone(await api<{ claimedWei: string; txHash: Hex }>("/api/v1/tokens/withdraw", { body: { request: message, signature } }));
    await queryClient.invalidateQueries();
  };
  const total = available.data === undefined ? undefined : BigInt(available.data.totalWei);
  return (
    <div>
      <ActionButton variant="secondary" onAction={withdraw} pendingLabel="Withdrawing…" disabled={total === undefined || total === 0n}>
        {total === undefined || total === 0n ? "Withdraw earnings" : `Withdraw ${formatCxpt(total)}`}
      </ActionButton>
      {total === 0n ? <span className="muted"> Nothing to withdraw yet.</span> : null}
      {available.error ? <ErrorNote error={available.error} /> : null}
      {done ? (
        <StatusNote>
          Withdrew {formatCxpt(done.claimedWei)} to your wallet: <TxLink hash={done.txHash} />
        </StatusNote>
      ) : null}
    </div>
  );
}

/** The balance card with deposit, withdraw and the history. */
export function TokenBalance() {
  const { address } = useConnection();
  const cxpt = useContractAddress("cxpt");
  const vault = useContractAddress("vault");
  const api = useApi();
  const [depositing, setDepositing] = useState(false);
  const wallet = address!; // the dashboard renders only with a connected wallet
  const reads = useReadContracts({
    contracts: [
      { address: cxpt, abi: cxptAbi, functionName: "balanceOf", args: [wallet] },
      { address: cxpt, abi: cxptAbi, functionName: "allowance", args: [wallet, vault] },
    ],
    allowFailure: false,
    query: { refetchInterval: REFRESH_MS },
  });
  const balance = useQuery({ queryKey: ["tokens", "balance", wallet], queryFn: () => api<BalanceReply>("/api/v1/tokens/balance"), refetchInterval: REFRESH_MS });
  const onchain = reads.data === undefined ? undefined : { balance: reads.data[0], allowance: reads.data[1] };
  return (
    <Card
      title="CXPT balance"
      actions={
        <button type="button" onClick={() => setDepositing(true)}>
          Deposit
        </button>
      }
    >
      <BalanceFacts onchain={onchain} onchainError={reads.error ?? undefined} offchain={balance.data} offchainError={balance.error ?? undefined} />
      <WithdrawEarnings api={api} />
      <h3>Transactions</h3>
      <TransactionHistory api={api} />
      <DepositTokensModal open={depositing} onClose={() => setDepositing(false)} />
    </Card>
  );
}
