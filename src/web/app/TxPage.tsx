// A transaction's receipt, read from the chain: the link target on a chain without an explorer.
import { isHash } from "viem";
import { useTransactionReceipt } from "wagmi";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading } from "../components/Notice.tsx";

export default function TxPage({ hash }: { readonly hash: string }) {
  const valid = isHash(hash);
  const receipt = useTransactionReceipt({ hash: valid ? hash : undefined, query: { enabled: valid } });
  return (
    <Card title="Transaction">
      <p className="mono wrap">{hash}</p>
      {!valid ? (
        <p role="alert" className="note error">
          This is not a transaction hash.
        </p>
      ) : receipt.isPending ? (
        <Loading what="the receipt" />
      ) : receipt.error ? (
        <ErrorNote error={receipt.error} />
      ) : (
        <dl className="facts">
          <dt>Status</dt>
          <dd>{receipt.data.status === "success" ? "Succeeded" : "Reverted"}</dd>
          <dt>Block</dt>
          <dd>{receipt.data.blockNumber.toString()}</dd>
          <dt>From</dt>
          <dd className="mono wrap">{receipt.data.from}</dd>
          <dt>To</dt>
          <dd className="mono wrap">{receipt.data.to ?? "contract creation"}</dd>
          <dt>Gas used</dt>
          <dd>{receipt.data.gasUsed.toString()}</dd>
          <dt>Events</dt>
          <dd>{receipt.data.logs.length}</dd>
        </dl>
      )}
    </Card>
  );
}
