// The pay-as-you-go allowance: settlement (UsageBilling) collects PAYG charges through the Vault's
// collect, which pulls from the wallet's CXPT allowance to the Vault. So the PAYG allowance is
// `allowance(wallet, Vault)`, set with `approve`. On top, the wallet's spending cap on UsageBilling
// bounds what settlement may take per period (no cap: no PAYG at all), whatever the backend's key
// asks: settlement takes at most the smallest of the balance, the allowance and the cap left.
import { useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useConfig, useConnection, useReadContracts } from "wagmi";
import { billingAbi, cxptAbi } from "../../chain/abis.ts";
import { ActionButton } from "../components/ActionButton.tsx";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading, StatusNote } from "../components/Notice.tsx";
import { TxLink } from "../components/TxLink.tsx";
import { useContractAddress } from "../lib/appConfig.ts";
import { formatCxpt } from "../lib/format.ts";
import { sendContractWrite } from "../lib/tx.ts";
import { parseCxptAmount } from "./DepositTokensModal.tsx";
import { REFRESH_MS, useWalletFunds } from "../lib/funds.ts";

const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** What settlement can collect now: min(balance, allowance to the Vault, spending cap left when known). */
export const paygCapacity = (balance: bigint, allowance: bigint, capLeft?: bigint): bigint =>
  min(min(balance, allowance), capLeft ?? allowance);

/** Spending cap periods the card offers, in seconds. */
export const CAP_PERIODS = { day: 86_400n, week: 604_800n } as const;
type CapPeriod = keyof typeof CAP_PERIODS;

/** The wallet's spending cap as UsageBilling holds it, with what is left in the current period. */
export interface CapFacts {
  readonly amount: bigint;
  readonly period: bigint;
  readonly left: bigint;
}

const periodName = (seconds: bigint) =>
  seconds === CAP_PERIODS.day ? "day" : seconds === CAP_PERIODS.week ? "week" : `${seconds} s`;

/** The current allowance, the balance, the spending cap and the resulting PAYG capacity. */
export function AllowanceFacts({ balance, allowance, cap }: { readonly balance: bigint; readonly allowance: bigint; readonly cap?: CapFacts }) {
  return (
    <dl className="facts" aria-label="PAYG allowance">
      <dt>Current PAYG allowance</dt>
      <dd>{formatCxpt(allowance, 18)}</dd>
      <dt>Wallet balance</dt>
      <dd>{formatCxpt(balance, 18)}</dd>
      {cap ? (
        <>
          <dt>Spending cap</dt>
          <dd>{cap.amount === 0n ? "none: PAYG is off" : `${formatCxpt(cap.amount, 18)} per ${periodName(cap.period)} (${formatCxpt(cap.left, 18)} left)`}</dd>
        </>
      ) : null}
      <dt>Settlement can collect</dt>
      <dd>{formatCxpt(paygCapacity(balance, allowance, cap?.left), 18)}</dd>
    </dl>
  );
}

/** The wallet's spending cap on UsageBilling (undefined while loading). */
function useSpendingCap(): CapFacts | undefined {
  const { address } = useConnection();
  const billing = useContractAddress("billing");
  const reads = useReadContracts({
    contracts: [
      { address: billing, abi: billingAbi, functionName: "spendingCapOf", args: [address!] },
      { address: billing, abi: billingAbi, functionName: "remainingCap", args: [address!] },
    ],
    allowFailure: false,
    query: { refetchInterval: REFRESH_MS },
  });
  if (reads.data === undefined) return undefined;
  const [cap, left] = reads.data;
  return { amount: cap.amount, period: BigInt(cap.period), left };
}

/** Sets the wallet's PAYG spending cap: at most this much per day or week, whatever is billed. */
function SpendingCapForm() {
  const config = useConfig();
  const billing = useContractAddress("billing");
  const queryClient = useQueryClient();
  const inputId = useId();
  const periodId = useId();
  const [text, setText] = useState("");
  const [period, setPeriod] = useState<CapPeriod>("day");
  const [done, setDone] = useState<{ hash: string; amount: bigint; period: CapPeriod }>();
  const parsed = parseCxptAmount(text, { allowZero: true });
  const invalid = text !== "" && parsed.error !== undefined;

  const setCap = async () => {
    if (parsed.error !== undefined) throw new Error(parsed.error);
    setDone(undefined);
    try {
      const receipt = await sendContractWrite(config, { address: billing, abi: billingAbi, functionName: "setSpendingCap", args: [parsed.wei, CAP_PERIODS[period]] });
      setDone({ hash: receipt.transactionHash, amount: parsed.wei, period });
    } finally {
      void queryClient.invalidateQueries();
    }
  };

  return (
    <>
      <p>
        <label htmlFor={inputId}>PAYG spending cap (CXPT)</label>{" "}
        <input id={inputId} inputMode="decimal" autoComplete="off" value={text} onChange={(event) => setText(event.target.value)} aria-invalid={invalid} />{" "}
        <label htmlFor={periodId}>per</label>{" "}
        <select id={periodId} value={period} onChange={(event) => setPeriod(event.target.value as CapPeriod)}>
          <option value="day">day</option>
          <option value="week">week</option>
        </select>
      </p>
      {invalid ? (
        <p className="note error" role="alert">
          {parsed.error}
        </p>
      ) : null}
      <ActionButton onAction={setCap} pendingLabel="Setting the spending cap…" disabled={parsed.error !== undefined}>
        Set spending cap
      </ActionButton>
      {done ? (
        <StatusNote>
          Spending cap set to {formatCxpt(done.amount, 18)} per {done.period}: <TxLink hash={done.hash} />
        </StatusNote>
      ) : null}
    </>
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
  const cap = useSpendingCap();
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
      <p className="muted">
        Usage beyond your subscription and credits is settled nightly from your wallet, up to this allowance to the Vault and never more than your spending cap
        per period. Without a cap, nothing is settled from your wallet (PAYG is off).
      </p>
      {error ? <ErrorNote error={error} /> : funds === undefined ? <Loading what="the allowance" /> : <AllowanceFacts balance={funds.balance} allowance={funds.allowance} cap={cap} />}
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
      <SpendingCapForm />
    </Card>
  );
}
