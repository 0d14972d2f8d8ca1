// Subscription plans: the list as it is on chain, and a form to create a plan or change one. Each
// change runs through the Safe and the timelock (executed, or proposed to the owners).
import { useState, type FormEvent } from "react";
import { formatEther } from "viem";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading, StatusNote } from "../components/Notice.tsx";
import { formatCxpt } from "../lib/format.ts";
import { useApi } from "../lib/session.tsx";
import { describeChange, useRefreshAdmin, useSettings, type ChangeResult, type PlanView } from "./data.ts";
import { parseCxptAmount } from "./ProtocolBalanceCard.tsx";

const DAY = 86_400;

interface PlanForm {
  price: string;
  days: string;
  bucketTokens: string;
  requestsPerMinute: string;
  concurrency: string;
  active: boolean;
}

const EMPTY: PlanForm = { price: "", days: "30", bucketTokens: "", requestsPerMinute: "60", concurrency: "2", active: true };

const formOf = (p: PlanView): PlanForm => ({
  price: formatEther(BigInt(p.priceWei)),
  days: String(p.periodSeconds / DAY),
  bucketTokens: p.bucketTokens,
  requestsPerMinute: String(p.requestsPerMinute),
  concurrency: String(p.concurrency),
  active: p.active,
});

/** The API body for `form`, or the list of what is wrong with it. */
export function planBody(form: PlanForm): Omit<PlanView, "id"> | string[] {
  const problems: string[] = [];
  const price = parseCxptAmount(form.price);
  if (typeof price === "string") problems.push(`Price: ${price}`);
  const days = Number(form.days);
  if (!(days >= 1) || !Number.isInteger(days * DAY)) problems.push("Period: at least 1 day.");
  if (!/^[1-9]\d{0,28}$/.test(form.bucketTokens.trim())) problems.push("Bucket: a positive whole number of tokens.");
  const whole = (text: string) => (/^[1-9]\d{0,9}$/.test(text.trim()) ? Number(text) : NaN);
  if (Number.isNaN(whole(form.requestsPerMinute))) problems.push("Requests per minute: a positive whole number.");
  if (Number.isNaN(whole(form.concurrency))) problems.push("Concurrency: a positive whole number.");
  if (problems.length > 0 || typeof price === "string") return problems;
  return {
    priceWei: price.toString(),
    periodSeconds: days * DAY,
    bucketTokens: form.bucketTokens.trim(),
    requestsPerMinute: whole(form.requestsPerMinute),
    concurrency: whole(form.concurrency),
    active: form.active,
  };
}

export function PlansEditor() {
  const api = useApi();
  const refresh = useRefreshAdmin();
  const settings = useSettings();
  const [editing, setEditing] = useState<number | null>(null);
  const [form, setForm] = useState<PlanForm>(EMPTY);
  const [problems, setProblems] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [pending, setPending] = useState(false);
  const [done, setDone] = useState<string | null>(null);

  if (settings.error) return <Card title="Plans"><ErrorNote error={settings.error} /></Card>;
  if (!settings.data) return <Card title="Plans"><Loading what="the plans" /></Card>;
  const chain = settings.data.chain;
  if (chain === null) return <Card title="Plans"><p className="note">The chain is off: plans live on chain.</p></Card>;

  const field = (key: keyof PlanForm, label: string, extra: Record<string, string> = {}) => (
    <label>
      {label}
      <input value={String(form[key])} onChange={(e) => setForm({ ...form, [key]: e.target.value })} size={8} {...extra} />
    </label>
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setDone(null);
    const body = planBody(form);
    if (Array.isArray(body)) return setProblems(body);
    setProblems([]);
    setPending(true);
    try {
      const result =
        editing === null
          ? await api<ChangeResult>("/api/v1/admin/plans", { body })
          : await api<ChangeResult>(`/api/v1/admin/plans/${editing}`, { method: "PUT", body });
      setDone(describeChange(result));
      setEditing(null);
      setForm(EMPTY);
      await refresh();
    } catch (failure) {
      setError(failure);
    } finally {
      setPending(false);
    }
  };
  return (
    <Card title="Plans">
      <div className="stack">
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Plan</th>
                <th scope="col">Price</th>
                <th scope="col">Period</th>
                <th scope="col">Bucket</th>
                <th scope="col">Limits</th>
                <th scope="col">Active</th>
                <th scope="col">Edit</th>
              </tr>
            </thead>
            <tbody>
              {chain.plans.map((p) => (
                <tr key={p.id}>
                  <td>{p.id}</td>
                  <td>{formatCxpt(p.priceWei)}</td>
                  <td>{p.periodSeconds / DAY} d</td>
                  <td>{p.bucketTokens}</td>
                  <td>
                    {p.requestsPerMinute} rpm · {p.concurrency} at once
                  </td>
                  <td>{p.active ? "yes" : "no"}</td>
                  <td>
                    <button type="button" className="secondary" onClick={() => (setEditing(p.id), setForm(formOf(p)), setProblems([]), setDone(null))}>
                      Edit plan {p.id}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <form onSubmit={submit} className="form-row" noValidate aria-label={editing === null ? "New plan" : `Plan ${editing}`}>
          {field("price", "Price (CXPT)", { inputMode: "decimal" })}
          {field("days", "Period (days)", { inputMode: "numeric" })}
          {field("bucketTokens", "Bucket (tokens)", { inputMode: "numeric" })}
          {field("requestsPerMinute", "Requests per minute", { inputMode: "numeric" })}
          {field("concurrency", "Concurrency", { inputMode: "numeric" })}
          <label>
            <input type="checkbox" checked={form.active} onChange={(e) => setForm({ ...form, active: e.target.checked })} />
            Active
          </label>
          <button type="submit" disabled={pending}>
            {pending ? "Saving…" : editing === null ? "Create plan" : `Save plan ${editing}`}
          </button>
          {editing !== null && (
            <button type="button" className="secondary" onClick={() => (setEditing(null), setForm(EMPTY), setProblems([]))}>
              Cancel
            </button>
          )}
        </form>
        {problems.length > 0 && (
          <ul className="note error" role="alert">
            {problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        )}
        <ErrorNote error={error} />
        {done && <StatusNote>{done}</StatusNote>}
      </div>
    </Card>
  );
}
