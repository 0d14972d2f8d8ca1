// Accounts (GET /api/v1/admin/accounts): the newest, or the one with a wallet searched for, with
// their balances and whether their keys are suspended; a legacy-credit grant in USD for one of them
// (POST /api/v1/admin/accounts/:id/legacy-credits, audited).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { getAddress, isAddress } from "viem";
import { ActionButton } from "../components/ActionButton.tsx";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading, StatusNote } from "../components/Notice.tsx";
import { formatCxpt, formatTime, shortHex } from "../lib/format.ts";
import { useApi } from "../lib/session.tsx";
import type { AdminAccount } from "./data.ts";

/** atto-USD (1e-18 USD, a decimal string) as dollars for people: "$12.50". */
export function formatAusd(ausd: string): string {
  const value = BigInt(ausd);
  const cents = value / 10n ** 16n;
  const dollars = Number(cents) / 100;
  return dollars.toLocaleString(undefined, { style: "currency", currency: "USD" }) + (value % 10n ** 16n !== 0n ? "+" : "");
}

function GrantForm({ account, onGranted }: { readonly account: AdminAccount; readonly onGranted: (message: string) => Promise<void> }) {
  const api = useApi();
  const [usd, setUsd] = useState("");
  const [reason, setReason] = useState("");
  const grant = async () => {
    const amount = usd.trim().replace(",", ".");
    if (!/^\d+(\.\d{1,18})?$/.test(amount) || Number(amount) <= 0) throw new Error("Enter the grant in US dollars, such as 12.50.");
    if (reason.trim() === "") throw new Error("Say why, for the audit log.");
    const result = await api<{ legacyCreditsAusd: string }>(`/api/v1/admin/accounts/${account.id}/legacy-credits`, { body: { usd: amount, reason: reason.trim() } });
    setUsd("");
    setReason("");
    await onGranted(`Granted $${amount} to ${account.wallet ? shortHex(account.wallet) : account.id}: legacy credits now ${formatAusd(result.legacyCreditsAusd)}.`);
  };
  return (
    <div className="form-row">
      <label>
        Grant (USD)
        <input value={usd} onChange={(e) => setUsd(e.target.value)} inputMode="decimal" size={8} />
      </label>
      <label>
        Reason
        <input value={reason} onChange={(e) => setReason(e.target.value)} size={18} maxLength={500} />
      </label>
      <ActionButton onAction={grant} pendingLabel="Granting…" variant="secondary">
        Grant legacy credits
      </ActionButton>
    </div>
  );
}

export function AccountsPanel() {
  const api = useApi();
  const queries = useQueryClient();
  const [search, setSearch] = useState("");
  const [wallet, setWallet] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const accounts = useQuery({
    queryKey: ["admin", "accounts", wallet],
    queryFn: () => api<{ accounts: AdminAccount[] }>(`/api/v1/admin/accounts?limit=20${wallet ? `&wallet=${wallet}` : ""}`),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const text = search.trim();
    if (text !== "" && !isAddress(text, { strict: false })) return setProblem("Search by wallet: 0x followed by 40 hex digits.");
    setProblem(null);
    setWallet(text === "" ? null : getAddress(text.toLowerCase()));
  };
  const granted = async (message: string) => {
    setDone(message);
    await queries.invalidateQueries({ queryKey: ["admin", "accounts"] });
  };
  return (
    <Card title="Accounts">
      <form className="form-row" onSubmit={submit} role="search" aria-label="Search accounts" noValidate>
        <label>
          Wallet
          <input
            className="mono"
            size={30}
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              setProblem(null);
            }}
            placeholder="0x… (empty: the newest)"
            autoComplete="off"
          />
        </label>
        <button type="submit" className="secondary">
          Search
        </button>
        {problem && (
          <p className="note error wide" role="alert">
            {problem}
          </p>
        )}
      </form>
      {done && <StatusNote>{done}</StatusNote>}
      {accounts.error ? (
        <ErrorNote error={accounts.error} />
      ) : !accounts.data ? (
        <Loading what="the accounts" />
      ) : accounts.data.accounts.length === 0 ? (
        <p className="muted">{wallet ? `No account has the wallet ${wallet}.` : "No accounts yet."}</p>
      ) : (
        <ul className="stack plain" aria-label="Accounts found">
          {accounts.data.accounts.map((a) => (
            <li key={a.id} className="account">
              <strong className="mono wrap" title={a.wallet ?? undefined}>
                {a.wallet ?? a.email ?? a.id}
              </strong>{" "}
              <span className="muted">
                {a.kind} · {a.role} · since {formatTime(a.createdAt)}
              </span>
              <dl className="facts">
                <dt>Credits</dt>
                <dd>{formatCxpt(a.creditsWei)}</dd>
                <dt>Legacy credits</dt>
                <dd>{formatAusd(a.legacyCreditsAusd)}</dd>
                <dt>Legacy debt</dt>
                <dd>{formatAusd(a.legacyDebtAusd)}</dd>
                <dt>Earnings</dt>
                <dd>{formatCxpt(a.totalEarningsWei)}</dd>
                <dt>API keys</dt>
                <dd className={a.keysSuspendedAt ? "bad" : undefined}>{a.keysSuspendedAt ? `suspended since ${formatTime(a.keysSuspendedAt)} (unpaid settlement)` : "active"}</dd>
              </dl>
              <GrantForm account={a} onGranted={granted} />
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
