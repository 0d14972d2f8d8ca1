// A transaction read like a block explorer shows it (/tx/<hash>): status, the method called, when,
// the fee, the CXPT transfers, and every event decoded with the suite's ABIs under its contract's
// name; addresses checksummed, with copy buttons. The link target on a chain without an explorer.
import { formatUnits, getAddress, isHash, type Address, type Hex } from "viem";
import { useBlock, useChains, useTransaction, useTransactionReceipt } from "wagmi";
import { Card } from "../components/Card.tsx";
import { CopyButton } from "../components/CopyButton.tsx";
import { ErrorNote, Loading } from "../components/Notice.tsx";
import { useAppConfig } from "../lib/appConfig.ts";
import { formatCxpt, formatTime } from "../lib/format.ts";
import { contractAt, cxptTransfers, decodeCall, decodeEvents, formatArg, type Addresses } from "../lib/receipt.ts";

/** An address checksummed, named when it is a suite contract, with a copy button. */
function AddressLine({ address, addresses }: { readonly address: Address; readonly addresses: Addresses }) {
  const checksummed = getAddress(address);
  const contract = contractAt(addresses, checksummed);
  return (
    <span className="wrap">
      {contract ? <strong>{contract.label} </strong> : null}
      <span className="mono">{checksummed}</span>
      <CopyButton text={checksummed} label={`address ${checksummed}`} />
    </span>
  );
}

export default function TxPage({ hash }: { readonly hash: string }) {
  const valid = isHash(hash);
  const addresses = useAppConfig().chain?.addresses ?? {};
  const native = useChains()[0]?.nativeCurrency.symbol ?? "ETH";
  const receipt = useTransactionReceipt({ hash: valid ? hash : undefined, query: { enabled: valid } });
  const tx = useTransaction({ hash: valid ? hash : undefined, query: { enabled: valid } });
  const block = useBlock({ blockNumber: receipt.data?.blockNumber, query: { enabled: receipt.data !== undefined } });
  const title = (
    <span className="wrap">
      <span className="mono">{hash}</span>
      {valid ? <CopyButton text={hash} label="transaction hash" /> : null}
    </span>
  );
  if (!valid) {
    return (
      <Card title="Transaction">
        <p className="mono wrap">{hash}</p>
        <p role="alert" className="note error">
          This is not a transaction hash.
        </p>
      </Card>
    );
  }
  if (receipt.isPending) return <Card title="Transaction">{title}<Loading what="the receipt" /></Card>;
  if (receipt.error) return <Card title="Transaction">{title}<ErrorNote error={receipt.error} /></Card>;
  const r = receipt.data;
  const call = tx.data ? decodeCall(addresses, tx.data.to ?? null, tx.data.input as Hex) : undefined;
  const events = decodeEvents(addresses, r.logs);
  const transfers = cxptTransfers(addresses, events);
  const feeWei = r.gasUsed * r.effectiveGasPrice;
  return (
    <div className="stack-page">
      <Card title="Transaction">
        {title}
        <dl className="facts">
          <dt>Status</dt>
          <dd className={r.status === "success" ? "good" : "bad"}>{r.status === "success" ? "Succeeded" : "Reverted"}</dd>
          <dt>Method</dt>
          <dd>
            {call === undefined ? (
              "…"
            ) : call === null ? (
              "Transfer of the native currency"
            ) : "selector" in call ? (
              <span className="mono">{call.selector}</span>
            ) : (
              <>
                <strong className="mono">{call.name}</strong>
                {call.args.length > 0 ? (
                  <ul className="args">
                    {call.args.map((a) => (
                      <li key={a.name}>
                        <span className="muted">{a.name}:</span> <span className="mono wrap">{formatArg(a.value)}</span>
                      </li>
                    ))}
                  </ul>
                ) : null}
              </>
            )}
          </dd>
          <dt>Block</dt>
          <dd>{r.blockNumber.toLocaleString()}</dd>
          <dt>Time</dt>
          <dd>{block.data ? formatTime(block.data.timestamp) : "…"}</dd>
          <dt>From</dt>
          <dd>
            <AddressLine address={r.from} addresses={addresses} />
          </dd>
          <dt>To</dt>
          <dd>{r.to ? <AddressLine address={r.to} addresses={addresses} /> : r.contractAddress ? <>New contract <AddressLine address={r.contractAddress} addresses={addresses} /></> : "—"}</dd>
          <dt>Fee</dt>
          <dd>
            {Number(formatUnits(feeWei, 18)).toLocaleString(undefined, { maximumFractionDigits: 8 })} {native}{" "}
            <span className="muted">({r.gasUsed.toLocaleString()} gas)</span>
          </dd>
        </dl>
      </Card>
      <Card title="CXPT transfers">
        {transfers.length === 0 ? (
          <p className="muted">No CXPT moved in this transaction.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>From</th>
                  <th>To</th>
                  <th>Amount</th>
                </tr>
              </thead>
              <tbody>
                {transfers.map((t, i) => (
                  <tr key={i}>
                    <td>{t.from === "0x0000000000000000000000000000000000000000" ? "Minted" : <AddressLine address={t.from} addresses={addresses} />}</td>
                    <td>{t.to === "0x0000000000000000000000000000000000000000" ? "Burned" : <AddressLine address={t.to} addresses={addresses} />}</td>
                    <td>{formatCxpt(t.valueWei, 18)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      <Card title={`Events (${events.length})`}>
        {events.length === 0 ? (
          <p className="muted">No events.</p>
        ) : (
          <ol className="events">
            {events.map((e) => (
              <li key={e.index}>
                <strong>{e.contract ?? "Contract"}</strong> · <strong className="mono">{e.name ?? "unknown event"}</strong>
                <div className="mono wrap muted">{e.address}</div>
                {e.args.length > 0 ? (
                  <ul className="args">
                    {e.args.map((a) => (
                      <li key={a.name}>
                        <span className="muted">{a.name}:</span> <span className="mono wrap">{formatArg(a.value)}</span>
                      </li>
                    ))}
                  </ul>
                ) : null}
              </li>
            ))}
          </ol>
        )}
      </Card>
    </div>
  );
}
