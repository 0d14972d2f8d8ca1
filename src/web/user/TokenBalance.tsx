// The user's CXPT at a glance: the wallet's balance and PAYG allowance (the Vault's allowance) read on chain, the
// account's credits and unpaid usage from the API, deposit and withdraw, and the transaction
// history page by page with links to each transaction.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useConfig, useConnection } from "wagmi";
import { ActionButton } from "../components/ActionButton.tsx";
import { Card } from "../components/Card.tsx";
import { History } from "../components/History.tsx";
import { ErrorNote, Loading, StatusNote } from "../components/Notice.tsx";
import { TxLink } from "../components/TxLink.tsx";
import { claimGasless, type Claimed } from "../lib/claims.ts";
import { formatCxpt } from "../lib/format.ts";
import { REFRESH_MS, useWalletFunds, type WalletFunds } from "../lib/funds.ts";
import { transactionsKey, transactionsPath } from "../lib/ledger.ts";
import { useApi } from "../lib/session.tsx";
import { DepositTokensModal } from "./DepositTokensModal.tsx";
import type { Api } from "../lib/api.ts";

/** GET /api/v1/tokens/balance */
export interface BalanceReply {
  readonly creditsWei: string;
  readonly pendingUsageWei: string;
  readonly billedIn: "cxpt" | "legacy";
}

/** The four figures: on chain (wallet) and off chain (account), each with its own loading and error state. */
export function BalanceFacts({
  onchain,
  onchainError,
  offchain,
  offchainError,
}: {
  readonly onchain: WalletFunds | undefined;
  readonly onchainError?: unknown;
  readonly offchain: BalanceReply | undefined;
  readonly offchainError?: unknown;
}) {
  // Exact to the wei: a PAYG charge is often far below 0.0001 CXPT.
  const onchainValue = (pick: (funds: WalletFunds) => bigint) => (onchainError ? "—" : onchain === undefined ? "…" : formatCxpt(pick(onchain), 18));
  const offchainValue = (pick: (balance: BalanceReply) => string) => (offchainError ? "—" : offchain === undefined ? "…" : formatCxpt(pick(offchain), 18));
  return (
    <>
      <dl className="facts" aria-label="Balances">
        <dt>Wallet balance</dt>
        <dd>{onchainValue((f) => f.balance)}</dd>
        <dt>PAYG allowance</dt>
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

/**
 * Withdrawing as the backend supports it: the Vault never pays out, so a withdrawal pays the wallet
 * its claimable earnings from the RewardDistributor, relayed gaslessly (sign, the backend sends).
 */
function WithdrawEarnings({ api }: { readonly api: Api }) {
  const config = useConfig();
  const queryClient = useQueryClient();
  const [done, setDone] = useState<Claimed>();
  const available = useQuery({ queryKey: ["rewards", "available"], queryFn: () => api<{ totalWei: string }>("/api/v1/rewards/available") });
  const withdraw = async () => {
    setDone(undefined);
    setDone(await claimGasless(api, config, "/api/v1/tokens/withdraw"));
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
  const api = useApi();
  const [depositing, setDepositing] = useState(false);
  const { funds, error } = useWalletFunds();
  const balance = useQuery({ queryKey: ["tokens", "balance", address], queryFn: () => api<BalanceReply>("/api/v1/tokens/balance"), refetchInterval: REFRESH_MS });
  return (
    <Card
      title="CXPT balance"
      actions={
        <button type="button" onClick={() => setDepositing(true)}>
          Deposit
        </button>
      }
    >
      <BalanceFacts onchain={funds} onchainError={error ?? undefined} offchain={balance.data} offchainError={balance.error ?? undefined} />
      <WithdrawEarnings api={api} />
      <h3>Transactions</h3>
      <History title="Newest first" path={transactionsPath(null)} rows="transactions" empty="No transactions yet." queryKey={transactionsKey()} />
      <DepositTokensModal open={depositing} onClose={() => setDepositing(false)} />
    </Card>
  );
}
