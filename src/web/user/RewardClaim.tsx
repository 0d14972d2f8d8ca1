// The user's rewards (the ClaimRewardsPage part of the dashboard): what the RewardDistributor holds
// for the wallet (pendingOf, read on chain, and the API's split per pool), the gasless claim through
// the relayer or a direct claim() from the wallet, and the history of claims.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { Address } from "viem";
import { useConfig, useConnection, useReadContract } from "wagmi";
import { distributorAbi } from "../../chain/abis.ts";
import { ActionButton } from "../components/ActionButton.tsx";
import { Card } from "../components/Card.tsx";
import { ErrorNote, StatusNote } from "../components/Notice.tsx";
import { TxLink } from "../components/TxLink.tsx";
import { useAppConfig } from "../lib/appConfig.ts";
import { formatCxpt } from "../lib/format.ts";
import { useApi, useSession } from "../lib/session.tsx";
import { claimDirect, claimGasless, type Claimed } from "../lib/claims.ts";
import { History } from "../components/History.tsx";
import { CLAIMS_PATH } from "../lib/ledger.ts";

/** GET /api/v1/rewards/available */
export interface AvailableRewards {
  readonly wallet: Address;
  readonly providersWei: string;
  readonly usersWei: string;
  readonly totalWei: string;
  readonly totalEarningsWei: string;
}

/** What can be claimed now: the chain's pendingOf when read, else the API's total; undefined while unknown. */
export function claimable(onchainWei: bigint | undefined, available: AvailableRewards | undefined): bigint | undefined {
  return onchainWei ?? (available === undefined ? undefined : BigInt(available.totalWei));
}

/** The figures: claimable now, per pool, claimed so far. */
export function PendingRewards({ pendingWei, available }: { readonly pendingWei: bigint | undefined; readonly available: AvailableRewards | undefined }) {
  return (
    <dl className="facts">
      <dt>Claimable now</dt>
      <dd>
        <strong>{pendingWei === undefined ? "…" : formatCxpt(pendingWei)}</strong>
      </dd>
      {available === undefined ? null : (
        <>
          <dt>Cashback (users pool)</dt>
          <dd>{formatCxpt(available.usersWei)}</dd>
          {BigInt(available.providersWei) > 0n ? (
            <>
              <dt>Providers pool</dt>
              <dd>{formatCxpt(available.providersWei)}</dd>
            </>
          ) : null}
          <dt>Claimed so far</dt>
          <dd>{formatCxpt(available.totalEarningsWei)}</dd>
        </>
      )}
    </dl>
  );
}

/** The two ways to claim; disabled while nothing is known to be claimable. */
export function ClaimButtons({
  pendingWei,
  onGasless,
  onDirect,
}: {
  readonly pendingWei: bigint | undefined;
  readonly onGasless: () => Promise<unknown>;
  readonly onDirect: () => Promise<unknown>;
}) {
  const nothing = pendingWei === 0n;
  return (
    <>
      {nothing ? <p className="muted">There is nothing to claim yet: rewards are released over each epoch.</p> : null}
      <div className="purchase">
        <ActionButton onAction={onGasless} pendingLabel="Claiming…" disabled={pendingWei === undefined || nothing}>
          Claim without gas
        </ActionButton>
        <ActionButton variant="secondary" onAction={onDirect} pendingLabel="Claiming from wallet…" disabled={pendingWei === undefined || nothing}>
          Claim from wallet (pays gas)
        </ActionButton>
      </div>
    </>
  );
}

export function RewardClaim() {
  const api = useApi();
  const config = useConfig();
  const queryClient = useQueryClient();
  const { address } = useConnection();
  const token = useSession().session?.token;
  const distributor = useAppConfig().chain?.addresses.distributor;
  const onchain = useReadContract({
    address: distributor,
    abi: distributorAbi,
    functionName: "pendingOf",
    args: address === undefined ? undefined : [address],
    query: { enabled: address !== undefined && distributor !== undefined },
  });
  const available = useQuery({ queryKey: ["rewards", "available", token], queryFn: () => api<AvailableRewards>("/api/v1/rewards/available") });
  const [claimed, setClaimed] = useState<Claimed | null>(null);
  const pendingWei = claimable(onchain.data, available.data);

  const run = (claim: () => Promise<Claimed>) => async () => {
    setClaimed(null);
    try {
      setClaimed(await claim());
    } finally {
      // Balances, pendingOf (a wagmi read), history: every figure on the page may have moved.
      await queryClient.invalidateQueries();
    }
  };
  const direct = () => {
    if (distributor === undefined || address === undefined) throw new Error("Connect a wallet first.");
    return claimDirect(config, distributor, address, api);
  };

  return (
    <Card title="Rewards">
      <PendingRewards pendingWei={pendingWei} available={available.data} />
      {/* One source is enough to claim; only with both failing is there nothing to show but why. */}
      {onchain.isError && available.isError ? <ErrorNote error={available.error} /> : null}
      <ClaimButtons pendingWei={pendingWei} onGasless={run(() => claimGasless(api, config))} onDirect={run(direct)} />
      {claimed ? (
        <StatusNote>
          Claimed {formatCxpt(claimed.claimedWei)} to your wallet: <TxLink hash={claimed.txHash} />
        </StatusNote>
      ) : null}
      <History title="Reward history" path={CLAIMS_PATH} rows="claims" empty="No claims yet." queryKey={["rewards", "history"]} />
    </Card>
  );
}
