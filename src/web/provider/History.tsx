// A paged list of the account's token transactions (the ledger's rows, newest first) with links to
// the transactions: used for the reward claims and for the whole token history.
import { useInfiniteQuery } from "@tanstack/react-query";
import { ErrorNote, Loading } from "../components/Notice.tsx";
import { TxLink } from "../components/TxLink.tsx";
import { formatCxpt, formatTime } from "../lib/format.ts";
import { useApi, useSession } from "../lib/session.tsx";
import { providerKeys, type TokenTransaction } from "./data.ts";

const TYPES: Readonly<Record<TokenTransaction["type"], string>> = {
  deposit: "Deposit",
  withdrawal: "Withdrawal",
  claim: "Claim",
  usage_charge: "Usage",
  subscription_payment: "Subscription",
  reward: "Reward",
};

export interface HistoryProps {
  /** The table's caption. */
  readonly title: string;
  /** The API path (…/rewards/history or …/tokens/transactions). */
  readonly path: string;
  /** Where the page's rows are in the answer. */
  readonly rows: "claims" | "transactions";
  readonly empty: string;
}

export function History({ title, path, rows, empty }: HistoryProps) {
  const api = useApi();
  const token = useSession().session?.token;
  const history = useInfiniteQuery({
    queryKey: providerKeys.history(token, path),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      api<Record<typeof rows, TokenTransaction[]> & { nextCursor: string | null }>(`${path}?limit=10${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ""}`),
    getNextPageParam: (page) => page.nextCursor,
  });
  if (history.isPending) return <Loading what={title.toLowerCase()} />;
  // A failed later page keeps the pages already shown; only a failed first page has nothing to show.
  if (history.data === undefined) return <ErrorNote error={history.error} />;
  const items = history.data.pages.flatMap((page) => page[rows]);
  return (
    <div className="table-wrap">
      <table>
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">What</th>
            <th scope="col">Amount</th>
            <th scope="col">Transaction</th>
          </tr>
        </thead>
        <tbody>
          {items.length === 0 ? (
            <tr>
              <td colSpan={4} className="muted">
                {empty}
              </td>
            </tr>
          ) : (
            items.map((t) => (
              <tr key={t.id}>
                <td>{formatTime(t.createdAt)}</td>
                <td>
                  {TYPES[t.type]}
                  {t.status === "confirmed" ? "" : ` (${t.status})`}
                </td>
                <td>{formatCxpt(t.amountWei)}</td>
                <td>{t.txHash ? <TxLink hash={t.txHash} /> : "—"}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
      {history.hasNextPage ? (
        <button type="button" className="secondary" onClick={() => void history.fetchNextPage()} disabled={history.isFetchingNextPage}>
          {history.isFetchingNextPage ? "Loading…" : `More of ${title.toLowerCase()}`}
        </button>
      ) : null}
      {history.isError ? <ErrorNote error={history.error} /> : null}
    </div>
  );
}
