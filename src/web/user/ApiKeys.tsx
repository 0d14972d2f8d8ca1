// API keys for the compute API (create, list, revoke; a key's secret is shown once), and a try-out
// of the metered endpoint from the page: a chat completion with a chosen key, its answer and what
// the meter charged.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { formatUnits } from "viem";
import { ActionButton } from "../components/ActionButton.tsx";
import { CopyButton } from "../components/CopyButton.tsx";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading, StatusNote } from "../components/Notice.tsx";
import { parseCxptAmount } from "../lib/amount.ts";
import { apiFetch, type Api } from "../lib/api.ts";
import { formatCxpt, formatTime } from "../lib/format.ts";
import { useApi } from "../lib/session.tsx";

/** GET /api/v1/keys row. */
export interface ApiKey {
  readonly id: string;
  readonly name: string;
  readonly prefix: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
  /** The optional monthly spend limit (wei); the compute API refuses the key once it is reached. */
  readonly monthlyLimitWei?: string | null;
  readonly lastUsedAt?: string | null;
  readonly requestsThisMonth?: number;
  readonly spentThisMonthWei?: string;
}

/** The answer of POST /api/v1/chat/completions, as far as the page shows it. */
export interface Completion {
  readonly choices: readonly { readonly message: { readonly content: string } }[];
  readonly usage: { readonly total_tokens: number };
  readonly cxpt?: { readonly requestId: string; readonly billedIn: "cxpt" | "legacy"; readonly costWei: string; readonly charged: boolean };
}

/**
 * Sends `prompt` to the metered endpoint with API key `key` (not the session: the compute API takes
 * keys), to the first model a provider node serves (GET /api/v1/models).
 */
export async function tryCompletion(key: string, prompt: string): Promise<Completion> {
  const models = await apiFetch<{ readonly data: readonly { readonly id: string }[] }>("/api/v1/models", { token: key });
  const model = models.data[0]?.id;
  if (model === undefined) throw new Error("No provider node serves a model right now: there is nothing to try the API on.");
  return apiFetch<Completion>("/api/v1/chat/completions", { token: key, body: { model, messages: [{ role: "user", content: prompt }], max_tokens: 64 } });
}

/** What the meter said about a completion, for people. */
export function costLine(completion: Completion): string {
  const cxpt = completion.cxpt;
  if (cxpt === undefined) return `${completion.usage.total_tokens} tokens; no charge reported.`;
  if (!cxpt.charged) return `${completion.usage.total_tokens} tokens; not charged again (a repeated request).`;
  if (cxpt.billedIn === "legacy") return `${completion.usage.total_tokens} tokens, billed in legacy credits.`;
  return `${completion.usage.total_tokens} tokens, metered at ${formatCxpt(cxpt.costWei, 18)} (${cxpt.costWei} wei).`;
}

const keysKey = ["keys"] as const;

/** One key: its use this month, its spend limit (set, changed or removed) and revoking after a confirmation. */
function KeyRow({ apiKey: k, api, onChange }: { readonly apiKey: ApiKey; readonly api: Api; readonly onChange: () => Promise<void> }) {
  const limitId = useId();
  const [confirming, setConfirming] = useState(false);
  const [limit, setLimit] = useState(k.monthlyLimitWei ? formatUnits(BigInt(k.monthlyLimitWei), 18) : "");
  const [saved, setSaved] = useState<string | null>(null);
  const saveLimit = async () => {
    setSaved(null);
    let wei: bigint | null = null;
    if (limit.trim() !== "") {
      const parsed = parseCxptAmount(limit);
      if (parsed.error !== undefined) throw new Error(parsed.error);
      wei = parsed.wei;
    }
    await api(`/api/v1/keys/${k.id}/limit`, { method: "PUT", body: { monthlyLimitWei: wei?.toString() ?? null } });
    setSaved(wei === null ? "No limit." : `Limit ${formatCxpt(wei, 18)} a month.`);
    await onChange();
  };
  const spent = BigInt(k.spentThisMonthWei ?? "0");
  const cap = k.monthlyLimitWei ? BigInt(k.monthlyLimitWei) : null;
  return (
    <li className="key">
      <div>
        <strong>{k.name}</strong> <span className="mono">{k.prefix}…</span> <span className="muted">created {formatTime(k.createdAt)}</span>
      </div>
      <dl className="facts">
        <dt>Last used</dt>
        <dd>{k.lastUsedAt ? formatTime(k.lastUsedAt) : "never"}</dd>
        <dt>Requests this month</dt>
        <dd>{(k.requestsThisMonth ?? 0).toLocaleString()}</dd>
        <dt>Spent this month</dt>
        <dd>
          {formatCxpt(spent)}
          {cap !== null ? ` of ${formatCxpt(cap)}${spent >= cap ? " — limit reached: the key is refused until next month" : ""}` : ""}
        </dd>
      </dl>
      <div className="form-row">
        <label htmlFor={limitId}>Monthly limit (CXPT, empty for none)</label>
        <input id={limitId} value={limit} inputMode="decimal" size={10} onChange={(e) => (setLimit(e.target.value), setSaved(null))} />
        <ActionButton onAction={saveLimit} pendingLabel="Saving…" variant="secondary">
          Save limit for {k.name}
        </ActionButton>
        {saved && <span role="status" className="muted">{saved}</span>}
      </div>
      {confirming ? (
        <div role="alertdialog" aria-label={`Revoke ${k.name}?`} className="note error">
          <p>Revoke “{k.name}”? Apps using it are refused from their next request, and it cannot be undone.</p>
          <ActionButton variant="danger" onAction={async () => (await api(`/api/v1/keys/${k.id}`, { method: "DELETE" }), await onChange())} pendingLabel="Revoking…">
            Yes, revoke {k.name}
          </ActionButton>{" "}
          <button type="button" className="secondary" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      ) : (
        <button type="button" className="danger" onClick={() => setConfirming(true)}>
          Revoke {k.name}
        </button>
      )}
    </li>
  );
}

/** The keys card over `api` (the session's client; a stand-in in tests). */
export function ApiKeysView({ api, send = tryCompletion }: { readonly api: Api; readonly send?: typeof tryCompletion }) {
  const queryClient = useQueryClient();
  const nameId = useId();
  const keyId = useId();
  const promptId = useId();
  const [name, setName] = useState("");
  const [created, setCreated] = useState<{ name: string; key: string }>();
  const [key, setKey] = useState("");
  const [prompt, setPrompt] = useState("Hello, Cxmpute!");
  const [answer, setAnswer] = useState<Completion>();
  const keys = useQuery({ queryKey: keysKey, queryFn: () => api<{ keys: ApiKey[] }>("/api/v1/keys") });

  const create = async () => {
    if (name.trim() === "") throw new Error("Name the key first (e.g. the app that uses it).");
    const reply = await api<{ key: string; apiKey: ApiKey }>("/api/v1/keys", { body: { name: name.trim() } });
    setCreated({ name: reply.apiKey.name, key: reply.key });
    setKey(reply.key);
    setName("");
    await queryClient.invalidateQueries({ queryKey: keysKey });
  };
  const refresh = () => queryClient.invalidateQueries({ queryKey: keysKey });
  const run = async () => {
    if (!key.trim().startsWith("cxk_")) throw new Error("Paste an API key (it starts with cxk_), or create one above.");
    setAnswer(undefined);
    setAnswer(await send(key.trim(), prompt));
    // The charge shows up as pending usage on the balance card.
    void queryClient.invalidateQueries({ queryKey: ["tokens"] });
  };

  const active = keys.data?.keys.filter((k) => k.revokedAt === null) ?? [];
  return (
    <Card title="API keys">
      {keys.error ? <ErrorNote error={keys.error} /> : keys.data === undefined ? <Loading what="your API keys" /> : active.length === 0 ? <p className="muted">No API keys yet.</p> : (
        <ul className="keys" aria-label="Your API keys">
          {active.map((k) => (
            <KeyRow key={k.id} apiKey={k} api={api} onChange={refresh} />
          ))}
        </ul>
      )}
      <div>
        <label htmlFor={nameId}>Key name</label> <input id={nameId} value={name} maxLength={64} onChange={(event) => setName(event.target.value)} />{" "}
        <ActionButton onAction={create} pendingLabel="Creating…">
          Create key
        </ActionButton>
      </div>
      {created ? (
        <StatusNote>
          New key “{created.name}”: <code className="mono wrap">{created.key}</code>. Copy it now: it is not shown again.
          <CopyButton text={created.key} label="the new API key" />
        </StatusNote>
      ) : null}
      <h3>Try the compute API</h3>
      <p>
        <label htmlFor={keyId}>API key to use</label>{" "}
        <input id={keyId} className="mono" autoComplete="off" spellCheck={false} value={key} onChange={(event) => setKey(event.target.value)} placeholder="cxk_…" />
      </p>
      <p>
        <label htmlFor={promptId}>Prompt</label> <input id={promptId} value={prompt} onChange={(event) => setPrompt(event.target.value)} />
      </p>
      <ActionButton onAction={run} pendingLabel="Asking…">
        Try the compute API
      </ActionButton>
      {answer ? (
        <div role="status" className="note ok">
          <p className="wrap">{answer.choices[0]?.message.content ?? "(no answer)"}</p>
          <p>{costLine(answer)}</p>
        </div>
      ) : null}
    </Card>
  );
}

export function ApiKeys() {
  return <ApiKeysView api={useApi()} />;
}
