// A paged table of ledger rows (newest first) with links to their transactions: the token history
// and the reward claims, on the user's and the provider's dashboards.
import { useInfiniteQuery, type QueryKey } from "@tanstack/react-query";
import { TYPE_LABELS, txHashOf, type TokenTransaction } from "../lib/ledger.ts";
import { formatCxpt, formatTime } from "../lib/format.ts";
import { useApi } from "../lib/session.tsx";
import { ActionButton } from "./ActionButton.tsx";
import { ErrorNote, Loading } from "./Notice.tsx";
import { TxLink } from "./TxLink.tsx";

/** The rows as a table (it scrolls inside itself on a phone, never the page). */
export function TransactionTable({ caption, transactions, empty }: { readonly caption: string; readonly transactions: readonly TokenTransaction[]; readonly empty: string }) {
  if (transactions.length === 0) return <p className="muted">{empty}</p>;
  return (
    <div className="table-wrap">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">What</th>
            <th scope="col">Amount</th>
            <th scope="col">When</th>
          </tr>
        </thead>
        <tbody>
          {transactions.map((t) => {
            const hash = txHashOf(t);
            return (
              <tr key={t.id}>
                <td>
                  {TYPE_LABELS[t.type]}
                  {t.status === "confirmed" ? null : <span className="muted"> ({t.status})</span>}
                  {hash ? (
                    <>
                      <br />
                      <TxLink hash={hash} />
                    </>
                  ) : null}
                </td>
                {/* Exact to the wei: a PAYG charge is often far below 0.0001 CXPT. */}
                <td>{formatCxpt(t.amountWei, 18)}</td>
                <td>{formatTime(t.createdAt)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export interface HistoryProps {
  /** The table's caption. */
  readonly title: string;
  /** The first page's path; later pages add `cursor`. */
  readonly path: string;
  /** Where the page's rows are in the answer. */
  readonly rows: "claims" | "transactions";
  readonly empty: string;
  readonly queryKey: QueryKey;
}

/** The rows of `path`, ten at a time, "Load more" following the API's cursor. */
export function History({ title, path, rows, empty, queryKey }: HistoryProps) {
  const api = useApi();
  const history = useInfiniteQuery({
    queryKey,
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      api<Record<typeof rows, TokenTransaction[]> & { nextCursor: string | null }>(
        pageParam === null ? path : `${path}${path.includes("?") ? "&" : "?"}cursor=${encodeURIComponent(pageParam)}`,
      ),
    getNextPageParam: (page) => page.nextCursor,
  });
  // A failed later page keeps the pages shown (its error is under "Load more"); a failed first page has nothing to show.
  if (history.data === undefined) return history.error ? <ErrorNote error={history.error} /> : <Loading what={title.toLowerCase()} />;
  return (
    <>
      <TransactionTable caption={title} transactions={history.data.pages.flatMap((page) => page[rows])} empty={empty} />
      {history.hasNextPage ? (
        <ActionButton variant="secondary" onAction={() => history.fetchNextPage({ throwOnError: true })} pendingLabel="Loading…">
          Load more
        </ActionButton>
      ) : null}
    </>
  );
}
