// The pay-as-you-go allowance: settlement (UsageBilling) collects PAYG charges through the Vault's
// collect, which pulls from the wallet's CXPT allowance to the Vault. So the PAYG allowance is
// `allowance(wallet, Vault)`, set with `approve`, and what settlement can take is the smaller of it
// and the wallet's balance.
import { useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useConfig } from "wagmi";
import { cxptAbi } from "../../chain/abis.ts";
import { ActionButton } from "../components/ActionButton.tsx";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading, StatusNote } from "../components/Notice.tsx";
import { TxLink } from "../components/TxLink.tsx";
import { useContractAddress } from "../lib/appConfig.ts";
import { formatCxpt } from "../lib/format.ts";
import { sendContractWrite } from "../lib/tx.ts";
import { parseCxptAmount } from "./DepositTokensModal.tsx";
import { useWalletFunds } from "../lib/funds.ts";

/** What settlement can collect now: min(balance, allowance to the Vault). */
export const paygCapacity = (balance: bigint, allowance: bigint): bigint => (balance < allowance ? balance : allowance);

/** The current allowance, the balance and the resulting PAYG capacity. */
export function AllowanceFacts({ balance, allowance }: { readonly balance: bigint; readonly allowance: bigint }) {
  return (
    <dl className="facts" aria-label="PAYG allowance">
      <dt>Current PAYG allowance</dt>
      <dd>{formatCxpt(allowance, 18)}</dd>
      <dt>Wallet balance</dt>
      <dd>{formatCxpt(balance, 18)}</dd>
      <dt>Settlement can collect</dt>
      <dd>{formatCxpt(paygCapacity(balance, allowance), 18)}</dd>
    </dl>
  );
}

export function PaygAllowance() {
  const config = useConfig();
  const cxpt = useContractAddress("cxpt");
  const vault = useContractAddress("vault");
  const queryClient = useQueryClient();
  const inputId = useId();
  const [text, setText] = useState("");
  const [done, setDone] = useState<{ hash: string; amount: bigint }>();
  const { funds, error } = useWalletFunds();
  const parsed = parseCxptAmount(text, { allowZero: true });
  const invalid = text !== "" && parsed.error !== undefined;

  const setAllowance = async () => {
    if (parsed.error !== undefined) throw new Error(parsed.error);
    setDone(undefined);
    try {
      const receipt = await sendContractWrite(config, { address: cxpt, abi: cxptAbi, functionName: "approve", args: [vault, parsed.wei] });
      setDone({ hash: receipt.transactionHash, amount: parsed.wei });
    } finally {
      void queryClient.invalidateQueries();
    }
  };

  return (
    <Card title="PAYG allowance">
      <p className="muted">Usage beyond your subscription and credits is settled nightly from your wallet, up to this allowance to the Vault.</p>
      {error ? <ErrorNote error={error} /> : funds === undefined ? <Loading what="the allowance" /> : <AllowanceFacts balance={funds.balance} allowance={funds.allowance} />}
      <p>
        <label htmlFor={inputId}>New PAYG allowance (CXPT)</label>{" "}
        <input id={inputId} inputMode="decimal" autoComplete="off" value={text} onChange={(event) => setText(event.target.value)} aria-invalid={invalid} />
      </p>
      {invalid ? (
        <p className="note error" role="alert">
          {parsed.error}
        </p>
      ) : null}
      <ActionButton onAction={setAllowance} pendingLabel="Setting the allowance…" disabled={parsed.error !== undefined}>
        Set allowance
      </ActionButton>
      {done ? (
        <StatusNote>
          PAYG allowance set to {formatCxpt(done.amount, 18)}: <TxLink hash={done.hash} />
        </StatusNote>
      ) : null}
    </Card>
  );
}
