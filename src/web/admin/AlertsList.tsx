// What the checks and jobs raised (low key balances, failed jobs, …), newest first; an alert is
// resolved by hand once dealt with.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ActionButton } from "../components/ActionButton.tsx";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading } from "../components/Notice.tsx";
import { formatTime } from "../lib/format.ts";
import { useApi } from "../lib/session.tsx";
import { adminKeys, type Alert } from "./data.ts";

export function AlertsList() {
  const api = useApi();
  const queries = useQueryClient();
  const [all, setAll] = useState(false);
  const alerts = useQuery({
    queryKey: adminKeys.alerts(!all),
    queryFn: () => api<{ alerts: readonly Alert[] }>(`/api/v1/admin/alerts?open=${all ? "false" : "true"}&limit=50`),
  });
  const resolve = async (id: string) => {
    await api(`/api/v1/admin/alerts/${id}/resolve`, { method: "POST" });
    await queries.invalidateQueries({ queryKey: ["admin", "alerts"] });
  };
  return (
    <Card
      title="Alerts"
      actions={
        <label>
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} />
          Show resolved
        </label>
      }
    >
      {alerts.error ? (
        <ErrorNote error={alerts.error} />
      ) : !alerts.data ? (
        <Loading what="the alerts" />
      ) : alerts.data.alerts.length === 0 ? (
        <p className="muted">{all ? "No alerts." : "No open alerts."}</p>
      ) : (
        <ul className="stack plain" aria-label="Alerts">
          {alerts.data.alerts.map((a) => (
            <li key={a.id} className={a.severity === "critical" ? "note error" : "note"}>
              <strong>{a.severity}</strong> · {a.message}
              <br />
              <span className="muted">
                {a.kind} · raised {a.count}× · last {formatTime(a.lastAt)}
                {a.resolvedAt ? ` · resolved ${formatTime(a.resolvedAt)}` : ""}
              </span>
              {a.resolvedAt === null && (
                <div>
                  <ActionButton onAction={() => resolve(a.id)} pendingLabel="Resolving…" variant="secondary">
                    Resolve alert {a.id}
                  </ActionButton>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
