// API keys for the compute API (create, list, revoke; a key's secret is shown once), and a try-out
// of the metered endpoint from the page: a chat completion with a chosen key, its answer and what
// the meter charged.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { ActionButton } from "../components/ActionButton.tsx";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading, StatusNote } from "../components/Notice.tsx";
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
}

/** The answer of POST /api/v1/chat/completions, as far as the page shows it. */
export interface Completion {
  readonly choices: readonly { readonly message: { readonly content: string } }[];
  readonly usage: { readonly total_tokens: number };
  readonly cxpt?: { readonly requestId: string; readonly billedIn: "cxpt" | "legacy"; readonly costWei: string; readonly charged: boolean };
}

/** Sends `prompt` to the metered endpoint with API key `key` (not the session: the compute API takes keys). */
export const tryCompletion = (key: string, prompt: string): Promise<Completion> =>
  apiFetch<Completion>("/api/v1/chat/completions", { token: key, body: { model: "demo", messages: [{ role: "user", content: prompt }], max_tokens: 64 } });

/** What the meter said about a completion, for people. */
export function costLine(completion: Completion): string {
  const cxpt = completion.cxpt;
  if (cxpt === undefined) return `${completion.usage.total_tokens} tokens; no charge reported.`;
  if (!cxpt.charged) return `${completion.usage.total_tokens} tokens; not charged again (a repeated request).`;
  if (cxpt.billedIn === "legacy") return `${completion.usage.total_tokens} tokens, billed in legacy credits.`;
  return `${completion.usage.total_tokens} tokens, metered at ${formatCxpt(cxpt.costWei, 18)} (${cxpt.costWei} wei).`;
}

const keysKey = ["keys"] as const;

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
  const revoke = async (target: ApiKey) => {
    await api(`/api/v1/keys/${target.id}`, { method: "DELETE" });
    await queryClient.invalidateQueries({ queryKey: keysKey });
  };
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
        <ul>
          {active.map((k) => (
            <li key={k.id}>
              <strong>{k.name}</strong> <span className="mono">{k.prefix}…</span> <span className="muted">{formatTime(k.createdAt)}</span>{" "}
              <ActionButton variant="danger" onAction={() => revoke(k)} pendingLabel="Revoking…">
                Revoke {k.name}
              </ActionButton>
            </li>
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
