// Tells the API about the transactions this browser kept for it (lib/reports.ts) once per session:
// a deposit, plan payment or claim whose report was cut off last time is booked now, and says so.
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useConnection } from "wagmi";
import { describeError } from "../lib/errors.ts";
import { redeliverReports, type Redelivery } from "../lib/reports.ts";
import { useApi, useSession } from "../lib/session.tsx";

export function PendingReports() {
  const { address } = useConnection();
  const token = useSession().session?.token;
  const api = useApi();
  const queryClient = useQueryClient();
  const [outcome, setOutcome] = useState<Redelivery>();
  useEffect(() => {
    if (address === undefined || token === undefined) return;
    let live = true;
    void redeliverReports(api, address).then((result) => {
      if (!live) return;
      setOutcome(result);
      if (result.delivered.length > 0) void queryClient.invalidateQueries();
    });
    return () => {
      live = false;
    };
  }, [address, token, api, queryClient]);
  if (outcome === undefined || (outcome.delivered.length === 0 && outcome.failed.length === 0)) return null;
  return (
    <>
      {outcome.delivered.length > 0 ? (
        <p className="note ok" role="status">
          Recorded {outcome.delivered.map((r) => r.what).join(", ")} from an earlier visit that had not reached Cxmpute yet.
        </p>
      ) : null}
      {outcome.failed.map(({ report, error }) => (
        <p key={report.txHash} className="note error" role="alert">
          Your {report.what} ({report.txHash.slice(0, 10)}…) is not recorded yet: {describeError(error)} It will be tried again on your next visit.
        </p>
      ))}
    </>
  );
}
