import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ApiError } from "../lib/api.ts";
import { ApiKeysView, costLine, type ApiKey, type Completion } from "./ApiKeys.tsx";

const key = (n: number, over: Partial<ApiKey> = {}): ApiKey => ({
  id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
  name: `key ${n}`,
  prefix: `cxk_k${n}`,
  createdAt: "2026-11-20T10:00:00.000Z",
  revokedAt: null,
  ...over,
});
const completion = (over: Partial<Completion> = {}): Completion => ({
  choices: [{ message: { content: "Hello from Cxmpute!" } }],
  usage: { total_tokens: 30 },
  cxpt: { requestId: "r1", billedIn: "cxpt", costWei: "12000000000000", charged: true },
  ...over,
});

/** A stand-in API holding keys; records each call as "METHOD path". */
function fakeApi(keys: ApiKey[]) {
  const calls: string[] = [];
  const api = async <T,>(path: string, options: { method?: string; body?: unknown } = {}): Promise<T> => {
    const method = options.method ?? (options.body === undefined ? "GET" : "POST");
    calls.push(`${method} ${path}`);
    if (method === "GET") return { keys: [...keys] } as T;
    if (method === "POST") {
      const created = key(keys.length + 1, { name: (options.body as { name: string }).name });
      keys.push(created);
      return { key: "cxk_secret_new", apiKey: created } as T;
    }
    if (method === "PUT") {
      const target = keys.findIndex((k) => path === `/api/v1/keys/${k.id}/limit`);
      keys[target] = { ...keys[target]!, monthlyLimitWei: (options.body as { monthlyLimitWei: string | null }).monthlyLimitWei };
      return { id: keys[target]!.id, monthlyLimitWei: keys[target]!.monthlyLimitWei } as T;
    }
    const id = path.split("/").at(-1);
    keys.splice(keys.findIndex((k) => k.id === id), 1);
    return undefined as T;
  };
  return { api, calls };
}

const show = (ui: React.ReactNode) => render(<QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>{ui}</QueryClientProvider>);

describe("costLine", () => {
  it("says what the meter charged", () => {
    expect(costLine(completion())).toBe("30 tokens, metered at 0.000012 CXPT (12000000000000 wei).");
    expect(costLine(completion({ cxpt: { requestId: "r", billedIn: "cxpt", costWei: "5", charged: false } }))).toMatch(/not charged again/);
    expect(costLine(completion({ cxpt: { requestId: "r", billedIn: "legacy", costWei: "0", charged: true } }))).toMatch(/legacy credits/);
  });
});

describe("ApiKeysView", () => {
  it("lists the active keys, creates one shown once, and revokes", async () => {
    const { api, calls } = fakeApi([key(1), key(2, { revokedAt: "2026-11-20T11:00:00.000Z" })]);
    show(<ApiKeysView api={api} />);
    await screen.findByText("key 1");
    expect(screen.queryByText("key 2")).toBeNull();

    fireEvent.change(screen.getByLabelText("Key name"), { target: { value: "my app" } });
    fireEvent.click(screen.getByRole("button", { name: "Create key" }));
    expect((await screen.findByRole("status")).textContent).toMatch(/New key “my app”: cxk_secret_new\. Copy it now/);
    expect((screen.getByLabelText("API key to use") as HTMLInputElement).value).toBe("cxk_secret_new");
    await screen.findByText("my app");

    fireEvent.click(screen.getByRole("button", { name: "Revoke key 1" }));
    // Revoking asks first; cancelling keeps the key.
    expect(screen.getByRole("alertdialog", { name: "Revoke key 1?" }).textContent).toMatch(/cannot be undone/);
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(calls.filter((c) => c.startsWith("DELETE"))).toEqual([]);
    fireEvent.click(screen.getByRole("button", { name: "Revoke key 1" }));
    fireEvent.click(screen.getByRole("button", { name: "Yes, revoke key 1" }));
    await waitFor(() => expect(screen.queryByText("key 1")).toBeNull());
    expect(screen.getByText("my app")).toBeTruthy();
    expect(calls).toContain(`DELETE /api/v1/keys/${key(1).id}`);
  });

  it("shows each key's use this month and sets, refuses and removes its monthly limit", async () => {
    const used = key(1, { lastUsedAt: "2026-11-21T10:00:00.000Z", requestsThisMonth: 1234, spentThisMonthWei: "99750000000000000000000", monthlyLimitWei: "99750000000000000000000" });
    const { api, calls } = fakeApi([used]);
    show(<ApiKeysView api={api} />);
    const item = (await screen.findByText("key 1")).closest("li")!;
    expect(item.textContent).toContain("1,234");
    expect(item.textContent).toContain("99,750 CXPT of 99,750 CXPT — limit reached");
    const field = within(item).getByLabelText(/Monthly limit/) as HTMLInputElement;
    expect(field.value).toBe("99750");
    fireEvent.change(field, { target: { value: "ten" } });
    fireEvent.click(within(item).getByRole("button", { name: "Save limit for key 1" }));
    expect((await within(item).findByRole("alert")).textContent).toMatch(/plain number/);
    fireEvent.change(field, { target: { value: "100000.5" } });
    fireEvent.click(within(item).getByRole("button", { name: "Save limit for key 1" }));
    expect((await within(item).findByRole("status")).textContent).toBe("Limit 100,000.5 CXPT a month.");
    await waitFor(() => expect(item.textContent).toContain("of 100,000.5 CXPT"));
    fireEvent.change(within(item).getByLabelText(/Monthly limit/), { target: { value: "" } });
    fireEvent.click(within(item).getByRole("button", { name: "Save limit for key 1" }));
    expect((await within(item).findByRole("status")).textContent).toBe("No limit.");
    expect(calls.filter((c) => c.startsWith("PUT"))).toEqual([`PUT /api/v1/keys/${used.id}/limit`, `PUT /api/v1/keys/${used.id}/limit`]);
  });

  it("refuses a key without a name", async () => {
    const { api, calls } = fakeApi([]);
    show(<ApiKeysView api={api} />);
    await screen.findByText("No API keys yet.");
    fireEvent.click(screen.getByRole("button", { name: "Create key" }));
    expect((await screen.findByRole("alert")).textContent).toMatch(/Name the key first/);
    expect(calls.filter((c) => c.startsWith("POST"))).toEqual([]);
  });

  it("tries the metered endpoint with the chosen key and shows the answer and its cost", async () => {
    const { api } = fakeApi([]);
    const sent: [string, string][] = [];
    const send = async (k: string, prompt: string) => {
      sent.push([k, prompt]);
      return completion();
    };
    show(<ApiKeysView api={api} send={send} />);
    fireEvent.click(screen.getByRole("button", { name: "Try the compute API" }));
    expect((await screen.findByRole("alert")).textContent).toMatch(/starts with cxk_/);

    fireEvent.change(screen.getByLabelText("API key to use"), { target: { value: "cxk_pasted" } });
    fireEvent.change(screen.getByLabelText("Prompt"), { target: { value: "Hi" } });
    fireEvent.click(screen.getByRole("button", { name: "Try the compute API" }));
    const answer = await screen.findByRole("status");
    expect(within(answer).getByText("Hello from Cxmpute!")).toBeTruthy();
    expect(answer.textContent).toMatch(/metered at 0.000012 CXPT/);
    expect(sent).toEqual([["cxk_pasted", "Hi"]]);
  });

  it("says why the endpoint refused (e.g. nothing to pay with)", async () => {
    const { api } = fakeApi([]);
    const send = async () => {
      throw new ApiError(402, "INSUFFICIENT_FUNDS", "Insufficient funds: deposit CXPT or raise your PAYG allowance.");
    };
    show(<ApiKeysView api={api} send={send} />);
    fireEvent.change(screen.getByLabelText("API key to use"), { target: { value: "cxk_x" } });
    fireEvent.click(screen.getByRole("button", { name: "Try the compute API" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Insufficient funds: deposit CXPT or raise your PAYG allowance.");
    expect(screen.getByRole("button", { name: "Try the compute API" }).hasAttribute("disabled")).toBe(false);
  });

  it("shows the API's message when the keys cannot be listed", async () => {
    const api = async () => {
      throw new ApiError(0, "NETWORK_ERROR", "The Cxmpute API could not be reached: check your connection and try again.");
    };
    show(<ApiKeysView api={api} />);
    expect(screen.getByText(/Loading your API keys/)).toBeTruthy();
    expect((await screen.findByRole("alert")).textContent).toMatch(/could not be reached/);
  });
});
