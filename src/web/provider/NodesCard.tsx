// A provider's nodes: each with its health (status, last check, p50 latency, uptime over 24 hours),
// pause / resume, removal after a confirmation, and a form to register another one. Every failure
// (a refused URL, a duplicate, an address outside the operator's allow-list) is said as the API says it.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { ActionButton } from "../components/ActionButton.tsx";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading } from "../components/Notice.tsx";
import { useApi, useSession } from "../lib/session.tsx";
import { providerKeys } from "./data.ts";

export const TIERS = ["tide-pool", "blue-surge", "open-ocean", "mariana-depth"] as const;
const NODES_PATH = "/api/v1/provider/nodes";

/** GET /api/v1/provider/nodes, one node. */
export interface ProviderNode {
  readonly id: string;
  readonly baseUrl: string;
  readonly models: readonly string[];
  readonly tier: (typeof TIERS)[number];
  readonly maxConcurrency: number;
  readonly paused: boolean;
  readonly status: "up" | "down";
  readonly lastCheckAt: string | null;
  readonly p50Ms: number | null;
  readonly uptimeBps: number | null;
  readonly outstanding: number;
}

const nodesKey = (token: string | undefined) => [...providerKeys.all, "nodes", token] as const;

function useNodes() {
  const api = useApi();
  const token = useSession().session?.token;
  // Health moves on its own: read it again every 15 s, as often as the backend checks.
  return useQuery({ queryKey: nodesKey(token), queryFn: () => api<{ nodes: ProviderNode[] }>(NODES_PATH), refetchInterval: 15_000 });
}

const uptime = (bps: number | null) => (bps === null ? "–" : `${(bps / 100).toFixed(2)} %`);
const time = (at: string | null) => (at === null ? "never" : new Date(at).toLocaleTimeString());

function NodeRow({ node }: { readonly node: ProviderNode }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const refresh = () => queryClient.invalidateQueries({ queryKey: [...providerKeys.all, "nodes"] });
  const act = (work: () => Promise<unknown>) => async () => {
    try {
      await work();
    } finally {
      await refresh();
    }
  };
  const state = node.paused ? "paused" : node.status;
  return (
    <tr>
      <td>
        <code>{node.baseUrl}</code>
        <div className="muted">{node.models.join(", ")}</div>
      </td>
      <td>{node.tier}</td>
      <td>
        <span className={`status-${state}`}>{state}</span>
      </td>
      <td>{time(node.lastCheckAt)}</td>
      <td>{node.p50Ms === null ? "–" : `${node.p50Ms} ms`}</td>
      <td>{uptime(node.uptimeBps)}</td>
      <td>
        {node.outstanding} / {node.maxConcurrency}
      </td>
      <td>
        <ActionButton variant="secondary" onAction={act(() => api(`${NODES_PATH}/${node.id}`, { method: "PATCH", body: { paused: !node.paused } }))}>
          {node.paused ? "Resume" : "Pause"}
        </ActionButton>
        {confirming ? (
          <>
            <ActionButton variant="danger" pendingLabel="Removing…" onAction={act(() => api(`${NODES_PATH}/${node.id}`, { method: "DELETE" }))}>
              Yes, remove
            </ActionButton>
            <button type="button" className="secondary" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </>
        ) : (
          <button type="button" className="secondary" onClick={() => setConfirming(true)}>
            Remove
          </button>
        )}
      </td>
    </tr>
  );
}

function AddNode() {
  const api = useApi();
  const queryClient = useQueryClient();
  const [baseUrl, setBaseUrl] = useState("");
  const [models, setModels] = useState("");
  const [tier, setTier] = useState<(typeof TIERS)[number]>("tide-pool");
  const [maxConcurrency, setMaxConcurrency] = useState("4");
  const [error, setError] = useState<unknown>(undefined);
  const [pending, setPending] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setPending(true);
    try {
      const list = models.split(",").map((m) => m.trim()).filter(Boolean);
      await api(NODES_PATH, { method: "POST", body: { baseUrl: baseUrl.trim(), models: list, tier, maxConcurrency: Number(maxConcurrency) } });
      setBaseUrl("");
      setModels("");
      await queryClient.invalidateQueries({ queryKey: [...providerKeys.all, "nodes"] });
    } catch (failure) {
      setError(failure);
    } finally {
      setPending(false);
    }
  };
  return (
    <form onSubmit={submit} aria-label="Add a node" className="node-form">
      <label>
        Base URL <input value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} placeholder="https://gpu1.example.com/v1" required />
      </label>
      <label>
        Models (comma-separated) <input value={models} onChange={(e) => setModels(e.target.value)} placeholder="llama-3.1-8b-instruct" required />
      </label>
      <label>
        Tier{" "}
        <select value={tier} onChange={(e) => setTier(e.target.value as (typeof TIERS)[number])}>
          {TIERS.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <label>
        Max concurrency <input type="number" min={1} max={10000} value={maxConcurrency} onChange={(e) => setMaxConcurrency(e.target.value)} required />
      </label>
      <button type="submit" className="primary" disabled={pending} aria-busy={pending}>
        {pending ? "Adding…" : "Add node"}
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

export function NodesCard() {
  const nodes = useNodes();
  return (
    <div style={{ gridColumn: "1 / -1", minWidth: 0 }}>
      <Card title="Nodes">
        {nodes.isError ? <ErrorNote error={nodes.error} /> : null}
        {nodes.isPending ? <Loading what="your nodes" /> : null}
        {nodes.data?.nodes.length === 0 ? (
          <p className="muted">No nodes yet: add the OpenAI-compatible server you run, and the gateway routes requests to it while it is up.</p>
        ) : null}
        {nodes.data && nodes.data.nodes.length > 0 ? (
          <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Node</th>
                <th>Tier</th>
                <th>Status</th>
                <th>Last check</th>
                <th>p50</th>
                <th>Uptime (24 h)</th>
                <th>In flight</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {nodes.data.nodes.map((node) => (
                <NodeRow key={node.id} node={node} />
              ))}
            </tbody>
          </table>
          </div>
        ) : null}
        <AddNode />
      </Card>
    </div>
  );
}
