// "Get test CXPT": the testnet faucet (POST /api/v1/faucet) for the signed-in wallet, shown only when
// the API says the faucet is on (testnet with a faucet key). Within the waiting period it says when
// the wallet may ask again, from the API's answer.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ActionButton } from "../components/ActionButton.tsx";
import { Card } from "../components/Card.tsx";
import { StatusNote } from "../components/Notice.tsx";
import { TxLink } from "../components/TxLink.tsx";
import type { Api } from "../lib/api.ts";
import { formatCxpt, formatTime } from "../lib/format.ts";
import { useApi } from "../lib/session.tsx";

/** GET /api/v1/faucet. */
export interface FaucetStatus {
  readonly enabled: boolean;
  readonly amountWei: string;
  readonly gasWei: string;
  readonly cooldownSeconds: number;
  readonly nextAt: string | null;
}

/** POST /api/v1/faucet. */
export interface FaucetDrip {
  readonly amountWei: string;
  readonly gasWei: string;
  readonly cxptTxHash: string;
  readonly gasTxHash: string | null;
  readonly nextAt: string;
}

const faucetKey = ["faucet"] as const;

/** The faucet card over `api` (the session's client; a stand-in in tests); nothing when the faucet is off. */
export function FaucetCardView({ api }: { readonly api: Api }) {
  const queryClient = useQueryClient();
  const [drip, setDrip] = useState<FaucetDrip>();
  const status = useQuery({ queryKey: faucetKey, queryFn: () => api<FaucetStatus>("/api/v1/faucet") });
  if (!status.data?.enabled) return null;
  const { amountWei, nextAt } = status.data;
  const waiting = nextAt !== null && new Date(nextAt).getTime() > Date.now();

  const ask = async () => {
    try {
      setDrip(await api<FaucetDrip>("/api/v1/faucet", { method: "POST" }));
    } finally {
      // Balances changed (or the waiting period is news): every card reads them again.
      void queryClient.invalidateQueries();
    }
  };

  return (
    <Card title="Get test CXPT">
      <p className="muted">
        Testnet only: {formatCxpt(amountWei, 18)} of test CXPT and a little gas money for your wallet, once every{" "}
        {Math.round(status.data.cooldownSeconds / 3600) || 1} h.
      </p>
      {drip ? (
        <StatusNote>
          Sent {formatCxpt(drip.amountWei, 18)}: <TxLink hash={drip.cxptTxHash} />
          {drip.gasTxHash ? (
            <>
              {" "}
              and gas money: <TxLink hash={drip.gasTxHash} />
            </>
          ) : null}
          . Next request from {formatTime(drip.nextAt)}.
        </StatusNote>
      ) : waiting ? (
        <p>You can ask again from {formatTime(nextAt)}.</p>
      ) : null}
      <ActionButton onAction={ask} pendingLabel="Sending test CXPT…" disabled={waiting || drip !== undefined}>
        Get test CXPT
      </ActionButton>
    </Card>
  );
}

export function FaucetCard() {
  return <FaucetCardView api={useApi()} />;
}
