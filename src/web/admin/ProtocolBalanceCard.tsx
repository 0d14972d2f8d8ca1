// The protocol's unclaimed CXPT (RewardDistributor.protocolBalance) and its withdrawals: a
// withdrawal is a Safe transaction proposal; owners confirm it by signing its EIP-712 SafeTx (from
// their own wallet, or on a local chain with an owner key the backend holds), and once the Safe's
// threshold is reached it executes.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { getAddress, isAddress, isAddressEqual, type Address } from "viem";
import { useConfig, useConnection } from "wagmi";
import { signTypedData } from "wagmi/actions";
import { ActionButton } from "../components/ActionButton.tsx";
import { parseCxptAmount as parseAmount } from "../lib/amount.ts";
import { AddressLink } from "../components/AddressLink.tsx";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading, StatusNote } from "../components/Notice.tsx";
import { TxLink } from "../components/TxLink.tsx";
import { formatCxpt, formatTime, shortHex } from "../lib/format.ts";
import { useApi } from "../lib/session.tsx";
import { adminKeys, useRefreshAdmin, type SafeTypedData, type Treasury, type Withdrawal } from "./data.ts";

/** How many proposals the card shows (newest first). */
const SHOWN = 5;

/** The typed data as the wallet signs it: the uint256 fields the API sends as strings made bigints. */
export function signableSafeTx(typed: SafeTypedData) {
  const m = typed.message;
  return {
    domain: typed.domain,
    types: { SafeTx: typed.types.SafeTx!.map((f) => ({ ...f })) },
    primaryType: "SafeTx" as const,
    message: { ...m, value: BigInt(m.value), safeTxGas: BigInt(m.safeTxGas), baseGas: BigInt(m.baseGas), gasPrice: BigInt(m.gasPrice), nonce: BigInt(m.nonce) },
  };
}

/** Parses an amount of CXPT typed by a person into wei (lib/amount), or says why not. */
export function parseCxptAmount(text: string): bigint | string {
  const parsed = parseAmount(text);
  return parsed.wei ?? parsed.error;
}

function WithdrawalItem({ w, held, onChange }: { readonly w: Withdrawal; readonly held: readonly Address[]; readonly onChange: (w: Withdrawal) => Promise<void> }) {
  const api = useApi();
  const wagmi = useConfig();
  const confirmed = (owner: Address) => w.confirmations.some((c) => isAddressEqual(c.owner, owner));
  const open = w.status === "proposed";
  const heldLeft = held.filter((owner) => !confirmed(owner)).length;
  const path = `/api/v1/admin/protocol/withdrawals/${w.id}`;
  const id = `withdrawal-${w.id}`;
  const confirmWithWallet = async () => {
    const signature = await signTypedData(wagmi, signableSafeTx(w.typedData));
    await onChange(await api<Withdrawal>(`${path}/confirmations`, { body: { signature } }));
  };
  return (
    <article className="withdrawal" aria-labelledby={id}>
      <h3 id={id}>Withdrawal #{w.id}</h3>
      <p className="wrap">
        {formatCxpt(w.amountWei)} to <span className="mono">{w.to}</span> · Safe nonce {w.safeNonce} · proposed {formatTime(w.proposedAt)}
      </p>
      <p>
        <strong>
          {w.status === "executed" ? "Executed" : w.status === "stale" ? "Stale" : "Proposed"}: {w.confirmations.length} of {w.threshold} confirmations
        </strong>
        {w.status === "stale" && <span className="muted"> (another Safe transaction used nonce {w.safeNonce}: propose it again)</span>}
      </p>
      <ul className="owners" aria-label={`Owners of withdrawal #${w.id}`}>
        {w.owners.map((owner) => (
          <li key={owner}>
            {confirmed(owner) ? "✓ confirmed" : "… waiting"} · <span className="mono">{shortHex(owner)}</span>
          </li>
        ))}
      </ul>
      {w.txHash && (
        <p>
          Transaction <TxLink hash={w.txHash} />
        </p>
      )}
      {open && (
        <div className="form-row">
          <ActionButton onAction={confirmWithWallet} pendingLabel="Waiting for the wallet…" variant="secondary">
            Confirm with my wallet
          </ActionButton>
          {held.length > 0 && (
            <ActionButton onAction={async () => onChange(await api<Withdrawal>(`${path}/confirm-held`, { method: "POST" }))} disabled={heldLeft === 0} pendingLabel="Confirming…" variant="secondary">
              Confirm with backend key
            </ActionButton>
          )}
          {w.confirmations.length >= w.threshold && (
            <ActionButton onAction={async () => onChange(await api<Withdrawal>(`${path}/execute`, { method: "POST" }))} pendingLabel="Executing…">
              Execute
            </ActionButton>
          )}
        </div>
      )}
    </article>
  );
}

function ProposeForm({ balanceWei, onProposed }: { readonly balanceWei: bigint; readonly onProposed: (w: Withdrawal) => Promise<void> }) {
  const api = useApi();
  const { address } = useConnection();
  const [to, setTo] = useState<string>(address ?? "");
  const [amount, setAmount] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    const wei = parseCxptAmount(amount);
    if (!isAddress(to.trim(), { strict: false })) return setProblem("Enter the recipient's address (0x followed by 40 hex digits).");
    if (typeof wei === "string") return setProblem(wei);
    if (wei > balanceWei) return setProblem(`The protocol balance is ${formatCxpt(balanceWei)}: ask for at most that.`);
    setProblem(null);
    setPending(true);
    try {
      await onProposed(await api<Withdrawal>("/api/v1/admin/protocol/withdrawals", { body: { to: getAddress(to.trim()), amountWei: wei.toString() } }));
      setAmount("");
    } catch (failure) {
      setError(failure);
    } finally {
      setPending(false);
    }
  };
  return (
    <form onSubmit={submit} className="form-row" noValidate>
      <label>
        Recipient
        <input value={to} onChange={(e) => setTo(e.target.value)} className="mono" size={24} autoComplete="off" />
      </label>
      <label>
        Amount (CXPT)
        <input value={amount} onChange={(e) => setAmount(e.target.value)} inputMode="decimal" size={10} />
      </label>
      <button type="submit" disabled={pending}>
        {pending ? "Proposing…" : "Propose withdrawal"}
      </button>
      {problem && (
        <p className="note error wide" role="alert">
          {problem}
        </p>
      )}
      <ErrorNote error={error} />
    </form>
  );
}

/**
 * The Safe's queue as a Safe{Wallet} user sees it: the open proposals by nonce, their confirmations,
 * and whether each can be executed now (enough confirmations and the Safe's next nonce) or what it waits for.
 */
export function SafeQueue({ treasury }: { readonly treasury: Treasury }) {
  const queued = treasury.withdrawals.filter((w) => w.status === "proposed").sort((a, b) => (BigInt(a.safeNonce) < BigInt(b.safeNonce) ? -1 : 1));
  if (queued.length === 0) return null;
  const next = BigInt(treasury.safe.nonce);
  const state = (w: Withdrawal) => {
    const missing = w.threshold - w.confirmations.length;
    if (missing > 0) return `Needs ${missing} more confirmation${missing === 1 ? "" : "s"}`;
    return BigInt(w.safeNonce) === next ? "Executable" : `Waits for nonce ${next}`;
  };
  return (
    <div className="table-wrap">
      <table aria-label="Safe queue">
        <caption className="muted">Queue (the Safe runs nonce {treasury.safe.nonce} next)</caption>
        <thead>
          <tr>
            <th>Nonce</th>
            <th>Transaction</th>
            <th>Confirmations</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {queued.map((w) => (
            <tr key={w.id}>
              <td>{w.safeNonce}</td>
              <td>
                Withdrawal #{w.id}: {formatCxpt(w.amountWei)} to <span className="mono">{shortHex(w.to)}</span>
              </td>
              <td>
                {w.confirmations.length} of {w.threshold}
              </td>
              <td className={state(w) === "Executable" ? "good" : undefined}>{state(w)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ProtocolBalanceCard() {
  const api = useApi();
  const queries = useQueryClient();
  const refresh = useRefreshAdmin();
  const [done, setDone] = useState<string | null>(null);
  const treasury = useQuery({ queryKey: adminKeys.treasury, queryFn: () => api<Treasury>("/api/v1/admin/protocol/withdrawals") });
  const changed = (what: (w: Withdrawal) => string) => async (w: Withdrawal) => {
    setDone(what(w));
    await queries.invalidateQueries({ queryKey: adminKeys.treasury });
    if (w.status === "executed") await refresh();
  };

  if (treasury.error) return <Card title="Protocol balance"><ErrorNote error={treasury.error} /></Card>;
  if (!treasury.data) return <Card title="Protocol balance"><Loading what="the protocol balance" /></Card>;
  const t = treasury.data;
  return (
    <Card title="Protocol balance">
      <div className="stack">
        <dl className="facts">
          <dt>Unclaimed protocol CXPT</dt>
          <dd>{formatCxpt(t.protocolBalanceWei)}</dd>
          <dt>Safe</dt>
          <dd>
            <AddressLink address={t.safe.address} label="the Safe's address" short />
          </dd>
          <dt>Safe nonce</dt>
          <dd>{t.safe.nonce}</dd>
          <dt>Confirmations needed</dt>
          <dd>
            {t.safe.threshold} of {t.safe.owners.length} owners
          </dd>
        </dl>
        <ProposeForm balanceWei={BigInt(t.protocolBalanceWei)} onProposed={changed((w) => `Withdrawal #${w.id} proposed: it needs ${w.threshold} owner confirmations.`)} />
        {done && <StatusNote>{done}</StatusNote>}
        <SafeQueue treasury={t} />
        {t.withdrawals.length === 0 && <p className="muted">No withdrawal proposed yet.</p>}
        {t.withdrawals.slice(0, SHOWN).map((w) => (
          <WithdrawalItem
            key={w.id}
            w={w}
            held={t.safe.heldOwners}
            onChange={changed((next) =>
              next.status === "executed" ? `Withdrawal #${next.id} executed.` : `Withdrawal #${next.id}: ${next.confirmations.length} of ${next.threshold} confirmations.`,
            )}
          />
        ))}
      </div>
    </Card>
  );
}
