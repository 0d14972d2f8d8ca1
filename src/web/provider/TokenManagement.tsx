// A provider's CXPT: the wallet's balance, Vault credits, what it can claim, the two ways to claim
// (gasless through the relayer, or from the wallet paying gas), and the claim and token history.
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useConfig } from "wagmi";
import { ActionButton } from "../components/ActionButton.tsx";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading, StatusNote } from "../components/Notice.tsx";
import { TxLink } from "../components/TxLink.tsx";
import { useContractAddress } from "../lib/appConfig.ts";
import { describeError } from "../lib/errors.ts";
import { formatCxpt } from "../lib/format.ts";
import { useApi, useSession } from "../lib/session.tsx";
import { claimDirect, claimGasless, type Claimed } from "../lib/claims.ts";
import { CLAIMS_PATH, transactionsPath } from "../lib/ledger.ts";
import { providerKeys, useEarnings, useTokenBalance } from "./data.ts";
import { History } from "../components/History.tsx";

function Balances() {
  const balance = useTokenBalance();
  const earnings = useEarnings();
  if (balance.isError) return <ErrorNote error={balance.error} />;
  if (balance.isPending) return <Loading what="your balance" />;
  const credits = BigInt(balance.data.creditsWei);
  return (
    <>
      <dl className="facts">
        <dt>Wallet balance</dt>
        <dd>{balance.data.onchain === null ? "no wallet linked" : formatCxpt(balance.data.onchain.balanceWei)}</dd>
        <dt>Claimable rewards</dt>
        <dd>{earnings.data ? formatCxpt(earnings.data.pendingWei) : earnings.isError ? "unavailable" : "…"}</dd>
        {credits > 0n ? (
          <>
            <dt>Vault credits</dt>
            <dd>{formatCxpt(credits)}</dd>
          </>
        ) : null}
      </dl>
      {credits > 0n ? (
        <p className="muted">
          Vault credits pay for your own compute usage; the Vault never pays CXPT out. Your earnings reach your wallet by claiming them.
        </p>
      ) : null}
    </>
  );
}

function Claim() {
  const api = useApi();
  const config = useConfig();
  const queryClient = useQueryClient();
  const distributor = useContractAddress("distributor");
  const earnings = useEarnings();
  const [claimed, setClaimed] = useState<Claimed | null>(null);
  const wallet = earnings.data?.wallet;
  const nothing = earnings.data !== undefined && BigInt(earnings.data.pendingWei) === 0n;

  const run = (claim: () => Promise<Claimed>) => async () => {
    setClaimed(null);
    try {
      setClaimed(await claim());
    } finally {
      // Whatever happened, the figures may have moved: read them again.
      await queryClient.invalidateQueries({ queryKey: providerKeys.all });
    }
  };
  return (
    <div>
      {nothing ? <p className="muted">Nothing to claim right now: rewards are released over each epoch.</p> : null}
      <div style={{ display: "flex", flexWrap: "wrap", gap: 12, alignItems: "flex-start" }}>
        <ActionButton onAction={run(() => claimGasless(api, config))} pendingLabel="Claiming…" disabled={earnings.data === undefined || nothing}>
          Claim without gas
        </ActionButton>
        <ActionButton
          variant="secondary"
          onAction={run(() => claimDirect(config, distributor, wallet!, api))}
          pendingLabel="Claiming from wallet…"
          disabled={wallet === undefined || nothing}
        >
          Claim from wallet (pays gas)
        </ActionButton>
      </div>
      {claimed ? (
        <StatusNote>
          Claimed {formatCxpt(claimed.claimedWei)} to your wallet: <TxLink hash={claimed.txHash} />
        </StatusNote>
      ) : null}
      {claimed?.bookingError !== undefined ? (
        <p className="note error" role="alert">
          The claim is paid, but recording it in your history failed: {describeError(claimed.bookingError)}
        </p>
      ) : null}
    </div>
  );
}

export function TokenManagement() {
  const token = useSession().session?.token;
  return (
    <>
      <Card title="Tokens">
        <Balances />
        <Claim />
      </Card>
      {/* The full row of the grid: four columns of history need the width. */}
      <div style={{ gridColumn: "1 / -1", minWidth: 0 }}>
        <Card title="History">
          <History title="Reward claims" path={CLAIMS_PATH} rows="claims" empty="No claims yet." queryKey={providerKeys.history(token, CLAIMS_PATH)} />
          <History title="Token transactions" path={transactionsPath(null)} rows="transactions" empty="No token transactions yet." queryKey={providerKeys.history(token, "transactions")} />
        </Card>
      </div>
    </>
  );
}
