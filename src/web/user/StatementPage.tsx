// A month's statement as a page to print or save as PDF (/statement/YYYY-MM): totals, deposits, plan
// payments, usage by day, settlements with their transactions and proof, withdrawals and claims.
import { useQuery } from "@tanstack/react-query";
import { TxLink } from "../components/TxLink.tsx";
import { ErrorNote, Loading } from "../components/Notice.tsx";
import { formatCxpt, formatTime } from "../lib/format.ts";
import { useApi, useSession } from "../lib/session.tsx";
import { monthName, type Statement, type StatementEntry } from "./usageData.ts";

function Entries({ title, entries }: { readonly title: string; readonly entries: readonly StatementEntry[] }) {
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      {entries.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Date</th>
              <th>Amount</th>
              <th>Status</th>
              <th>Transaction</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e, i) => (
              <tr key={i}>
                <td>{formatTime(e.at)}</td>
                <td>{formatCxpt(e.amountWei, 18)}</td>
                <td>{e.status}</td>
                <td>{e.txHash ? <TxLink hash={e.txHash} /> : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export default function StatementPage({ month }: { readonly month: string }) {
  const api = useApi();
  const wallet = useSession().session?.account.wallet;
  const statement = useQuery({ queryKey: ["usage", "statement", month], queryFn: () => api<Statement>(`/api/v1/usage/statements/${month}`) });
  if (statement.error) return <ErrorNote error={statement.error} />;
  if (!statement.data) return <Loading what="the statement" />;
  const s = statement.data;
  const t = s.totals;
  return (
    <article className="statement">
      <header className="card-header">
        <h1>Statement for {monthName(s.month)}</h1>
        <button type="button" className="no-print" onClick={() => window.print()}>
          Print
        </button>
      </header>
      <p className="muted">
        Account {wallet ?? ""} · CXPT on the Cxmpute network · days in UTC · amounts exact to the wei
      </p>
      <section aria-label="Totals">
        <h2>Totals</h2>
        <dl className="facts">
          <dt>Deposits</dt>
          <dd>{formatCxpt(t.depositsWei, 18)}</dd>
          <dt>Plan payments</dt>
          <dd>{formatCxpt(t.planPaymentsWei, 18)}</dd>
          <dt>Usage</dt>
          <dd>
            {formatCxpt(t.usageWei, 18)} for {t.requests.toLocaleString()} requests, {BigInt(t.tokens).toLocaleString()} tokens
          </dd>
          <dt>Settled on chain (PAYG)</dt>
          <dd>{formatCxpt(t.settledWei, 18)}</dd>
          <dt>Withdrawals</dt>
          <dd>{formatCxpt(t.withdrawalsWei, 18)}</dd>
          <dt>Reward claims</dt>
          <dd>{formatCxpt(t.claimsWei, 18)}</dd>
        </dl>
      </section>
      <Entries title="Deposits" entries={s.deposits} />
      <Entries title="Plan payments" entries={s.planPayments} />
      <section aria-label="Usage by day">
        <h2>Usage by day</h2>
        {s.usageByDay.length === 0 ? (
          <p className="muted">None.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Day</th>
                <th>Requests</th>
                <th>Tokens</th>
                <th>Bucket tokens</th>
                <th>Credits</th>
                <th>PAYG</th>
                <th>Cost</th>
              </tr>
            </thead>
            <tbody>
              {s.usageByDay.map((d) => (
                <tr key={d.day}>
                  <td>{d.day}</td>
                  <td>{d.requests.toLocaleString()}</td>
                  <td>{BigInt(d.tokens).toLocaleString()}</td>
                  <td>{BigInt(d.bucketTokens).toLocaleString()}</td>
                  <td>{formatCxpt(d.creditsWei, 18)}</td>
                  <td>{formatCxpt(d.paygWei, 18)}</td>
                  <td>{formatCxpt(d.costWei, 18)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-label="Settlements">
        <h2>Settlements</h2>
        {s.settlements.length === 0 ? (
          <p className="muted">None.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Batch</th>
                <th>Date</th>
                <th>Amount</th>
                <th>Status</th>
                <th>Transaction</th>
                <th>Proof</th>
              </tr>
            </thead>
            <tbody>
              {s.settlements.map((b) => (
                <tr key={b.batchId}>
                  <td>#{b.batchId}</td>
                  <td>{formatTime(b.at)}</td>
                  <td>{formatCxpt(b.amountWei, 18)}</td>
                  <td>{b.leafStatus}</td>
                  <td>{b.collectTx ? <TxLink hash={b.collectTx} /> : b.commitTx ? <TxLink hash={b.commitTx} /> : "—"}</td>
                  <td>
                    <span className="mono">{b.proofPath}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <Entries title="Withdrawals" entries={s.withdrawals} />
      <Entries title="Reward claims" entries={s.claims} />
    </article>
  );
}
