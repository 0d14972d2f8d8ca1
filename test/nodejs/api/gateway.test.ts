// The compute gateway as an outside client drives it: the official `openai` npm package against the
// API listening on a real port, in front of real demo provider nodes over HTTP. Every charge is
// checked to the wei against the price table and the tokens the node reported or delivered.
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { parseEther } from "viem";
import { drainOnce } from "../../../src/billing/index.ts";
import { demoAnswer, demoPromptTokens, startDemoNode, type DemoNode } from "../../../src/providers/demo-node.ts";
import type { NodeInput } from "../../../src/providers/store.ts";
import { auth, BACKENDS, signIn, startStack, TEST_MODELS, USERS, type Stack } from "./harness.ts";

const MODEL = "llama-3.1-8b-instruct";

for (const backend of BACKENDS) {
  describe(`compute gateway through the openai client (${backend})`, () => {
    let stack: Stack;
    let second: DemoNode;
    let slow: DemoNode;
    let doomed: DemoNode;
    let baseURL: string;

    before(async () => {
      second = await startDemoNode({ models: TEST_MODELS });
      slow = await startDemoNode({ models: ["slow-model"], tokenDelayMs: 40 });
      doomed = await startDemoNode({ models: ["doomed-model"], tokenDelayMs: 40 });
      stack = await startStack(backend, { PAYG_REQUESTS_PER_MINUTE: "1000", PAYG_CONCURRENCY: "500", API_MAX_CONNECTIONS_PER_IP: "1000", DRAIN_INTERVAL_MS: "3600000" }, {
        nodes: (node): NodeInput[] => [
          { baseUrl: node.baseUrl, models: TEST_MODELS, tier: "blue-surge", maxConcurrency: 256 },
          { baseUrl: second.baseUrl, models: TEST_MODELS, tier: "blue-surge", maxConcurrency: 256 },
          { baseUrl: slow.baseUrl, models: ["slow-model"], tier: "tide-pool", maxConcurrency: 8 },
          { baseUrl: doomed.baseUrl, models: ["doomed-model"], tier: "tide-pool", maxConcurrency: 8 },
          { baseUrl: "http://127.0.0.1:9/v1", models: ["ghost-model"], tier: "tide-pool", maxConcurrency: 8 },
        ],
      });
      await stack.api.listen({ host: "127.0.0.1", port: 0 });
      baseURL = `http://127.0.0.1:${(stack.api.server.address() as AddressInfo).port}/api/v1`;
    });
    after(async () => {
      await stack.close();
      await second.close();
      await slow.close();
      await doomed.close();
    });

    async function client(privateKey: `0x${string}`, credits: bigint) {
      const { token, accountId } = await signIn(stack.api, privateKey);
      const key = (await stack.api.inject({ method: "POST", url: "/api/v1/keys", headers: auth(token), payload: { name: "gw" } })).json().key as string;
      await stack.app.db.query("update accounts set credits_wei = $2 where id = $1", [accountId, credits]);
      stack.app.billing.gate.invalidateAccount(accountId);
      return { accountId, key, openai: new OpenAI({ apiKey: key, baseURL, maxRetries: 0 }) };
    }
    const drain = async () => {
      await stack.app.billing.meter.flush();
      while ((await drainOnce({ store: stack.app.billing.store, db: stack.app.db })).drained > 0);
    };
    const charged = async (accountId: string) =>
      (await stack.app.db.query<{ wei: string }>("select coalesce(sum(credits_wei + payg_wei), 0)::text as wei from usage_events where account_id = $1", [accountId])).rows[0]!.wei;
    /** What `unitsIn` + `unitsOut` tokens cost in a tier, in wei, by the price table. */
    const price = (tier: string, unitsIn: number, unitsOut: number, service = "chat") =>
      stack.app.billing.meter.quote({ service, tier, unitsIn, unitsOut }).wei;

    it("lists models, answers a completion and charges its tokens at the node's tier", async () => {
      const { openai, accountId } = await client(USERS.alice, parseEther("10"));
      const models = await openai.models.list();
      assert.ok(models.data.some((m) => m.id === MODEL));
      const messages = [{ role: "user" as const, content: "What is CXPT?" }];
      const answer = await openai.chat.completions.create({ model: MODEL, messages, max_tokens: 8, temperature: 0.2, top_p: 0.9, stop: ["\n"] });
      assert.equal(answer.choices[0]!.message.content, demoAnswer("What is CXPT?", 8).join(" "));
      assert.deepEqual(answer.usage, { prompt_tokens: demoPromptTokens(["What is CXPT?"]), completion_tokens: 8, total_tokens: demoPromptTokens(["What is CXPT?"]) + 8 });
      await drain();
      assert.equal(await charged(accountId), price("blue-surge", demoPromptTokens(["What is CXPT?"]), 8).toString());
    });

    it("streams server-sent events with the final usage, charged at the tokens used", async () => {
      const { openai, accountId } = await client(USERS.bob, parseEther("10"));
      const stream = await openai.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "stream please" }], max_tokens: 6, stream: true, stream_options: { include_usage: true } });
      let text = "";
      let usage: OpenAI.CompletionUsage | undefined | null;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? "";
        if (chunk.usage) usage = chunk.usage;
      }
      assert.equal(text, demoAnswer("stream please", 6).join(" "));
      assert.equal(usage?.completion_tokens, 6);
      await drain();
      assert.equal(await charged(accountId), price("blue-surge", demoPromptTokens(["stream please"]), 6).toString());
    });

    it("embeds (float and base64) at the embeddings rate", async () => {
      const { openai, accountId } = await client(USERS.carol, parseEther("10"));
      const floats = await openai.embeddings.create({ model: "nomic-embed-text", input: ["alpha", "beta"], encoding_format: "float" });
      assert.equal(floats.data.length, 2);
      assert.equal(floats.data[0]!.embedding.length, 16);
      const base64 = await openai.embeddings.create({ model: "nomic-embed-text", input: "alpha" }); // the client asks base64 and decodes
      assert.deepEqual(base64.data[0]!.embedding.map((x) => Math.round(x * 1e4)), floats.data[0]!.embedding.map((x) => Math.round(x * 1e4)));
      await drain();
      const tokens = demoPromptTokens(["alpha", "beta"]) + demoPromptTokens(["alpha"]);
      assert.equal(BigInt(await charged(accountId)), price("", demoPromptTokens(["alpha", "beta"]), 0, "embeddings") + price("", demoPromptTokens(["alpha"]), 0, "embeddings"));
      assert.ok(tokens > 0);
    });

    it("answers 404 MODEL_NOT_FOUND, 402 and 503 in OpenAI's shape, charging nothing", async () => {
      const { openai, accountId } = await client(USERS.admin, 0n);
      await assert.rejects(openai.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] }), (error: unknown) => {
        assert.ok(error instanceof OpenAI.NotFoundError);
        assert.equal(error.code, "MODEL_NOT_FOUND");
        assert.equal(error.type, "invalid_request_error");
        return true;
      });
      await assert.rejects(openai.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "x" }] }), (error: unknown) => {
        assert.ok(error instanceof OpenAI.APIError);
        assert.equal(error.status, 402);
        assert.equal(error.code, "INSUFFICIENT_FUNDS");
        assert.equal(error.type, "insufficient_quota");
        return true;
      });
      await stack.app.db.query("update accounts set credits_wei = $2 where id = $1", [accountId, parseEther("1")]);
      stack.app.billing.gate.invalidateAccount(accountId);
      // The only node serving ghost-model refuses connections: 503, nothing charged, the id not used up.
      const ghost = () => openai.chat.completions.create({ model: "ghost-model", messages: [{ role: "user", content: "x" }] }, { headers: { "x-request-id": "ghost-1" } });
      for (let i = 0; i < 2; i++)
        await assert.rejects(ghost(), (error: unknown) => {
          assert.ok(error instanceof OpenAI.APIError);
          assert.equal(error.status, 503);
          assert.equal(error.code, "NO_PROVIDER_AVAILABLE");
          assert.equal(error.type, "api_error");
          return true;
        });
      await drain();
      assert.equal(await charged(accountId), "0");
      const usage = await stack.app.billing.store.usage(accountId);
      assert.equal(usage.inFlight, 0, "every hold was released");
    });

    it("answers 409 REQUEST_ID_REUSED for a repeated id of one account, and bills two accounts using the same id", async () => {
      const one = await client(USERS.alice, parseEther("10"));
      const two = await client(USERS.bob, parseEther("10"));
      const ask = (openai: OpenAI) => openai.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "same id" }], max_tokens: 4 }, { headers: { "x-request-id": "shared-id-1" } });
      const before1 = BigInt(await charged(one.accountId));
      const before2 = BigInt(await charged(two.accountId));
      await ask(one.openai);
      await assert.rejects(ask(one.openai), (error: unknown) => error instanceof OpenAI.ConflictError && error.code === "REQUEST_ID_REUSED");
      await ask(two.openai);
      await drain();
      const each = price("blue-surge", demoPromptTokens(["same id"]), 4);
      assert.equal(BigInt(await charged(one.accountId)) - before1, each);
      assert.equal(BigInt(await charged(two.accountId)) - before2, each);
    });

    it("refuses control bytes, deep and huge bodies and bad ids with a 4xx, serving and charging nothing", async () => {
      const { key, accountId } = await client(USERS.carol, parseEther("10"));
      const before = await charged(accountId);
      const post = (body: string) => fetch(`${baseURL}/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...auth(key) }, body });
      const chat = (content: string) => JSON.stringify({ model: MODEL, messages: [{ role: "user", content }], max_tokens: 2 });
      let deep = "1";
      for (let i = 0; i < 200; i++) deep = `[${deep}]`;
      const probes = [
        chat("nul \u0000 byte"),
        chat("lone \ud800 surrogate"),
        JSON.stringify({ model: "bad\u0001model", messages: [{ role: "user", content: "x" }] }),
        `{"model":"${MODEL}","messages":[{"role":"user","content":"x"}],"extra":${deep}}`,
        chat("x".repeat(9 << 20)),
        "{not json",
      ];
      for (const body of probes) {
        const response = await post(body);
        assert.ok(response.status >= 400 && response.status < 500, `${response.status} for ${body.slice(0, 60)}`);
        const error = ((await response.json()) as { error: { code: string; message: string } }).error;
        assert.match(error.code, /^[A-Z_]+$/);
        assert.match(error.message, /\w/);
      }
      await drain();
      assert.equal(await charged(accountId), before);
    });

    it("fails over when one of two nodes dies, before any output", async () => {
      const { openai } = await client(USERS.carol, parseEther("10"));
      await second.close();
      for (let i = 0; i < 4; i++) {
        const answer = await openai.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: `failover ${i}` }], max_tokens: 3 });
        assert.equal(answer.usage?.completion_tokens, 3);
      }
    });

    it("charges only the tokens delivered when the node dies mid-stream, with an error event", async () => {
      const { openai, accountId } = await client(USERS.admin, parseEther("10"));
      const before = BigInt(await charged(accountId));
      const stream = await openai.chat.completions.create({ model: "doomed-model", messages: [{ role: "user", content: "cut me" }], max_tokens: 20, stream: true });
      let delivered = 0;
      await assert.rejects(
        (async () => {
          for await (const chunk of stream) {
            if (chunk.choices[0]?.delta?.content) delivered++;
            if (delivered === 3) doomed.server.closeAllConnections();
          }
        })(),
        (error: unknown) => error instanceof OpenAI.APIError && /charged only/.test(error.message),
      );
      await drain();
      assert.equal(BigInt(await charged(accountId)) - before, price("tide-pool", 0, delivered));
      assert.ok(delivered >= 3);
    });

    it("serves at most what the funds cover when 200 requests arrive at once (no PAYG debt without allowance)", async () => {
      const messages = [{ role: "user" as const, content: "burst" }];
      // Funds for exactly 50 requests at what one costs (the gate reserves each one's higher ceiling).
      const cost = price("blue-surge", demoPromptTokens(["burst"]), 4);
      const funds = cost * 50n;
      const { key, accountId } = await client(USERS.carol, funds);
      const before = BigInt(await charged(accountId));
      const credits = async () => BigInt((await stack.app.db.query<{ credits_wei: string }>("select credits_wei from accounts where id = $1", [accountId])).rows[0]!.credits_wei);
      const startCredits = await credits();
      const replies = await Promise.all(
        Array.from({ length: 200 }, () => fetch(`${baseURL}/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...auth(key) }, body: JSON.stringify({ model: MODEL, messages, max_tokens: 4 }) })),
      );
      const statuses = replies.map((r) => r.status);
      const served = statuses.filter((s) => s === 200).length;
      assert.ok(served <= 50, `served ${served}`);
      assert.ok(served >= 1);
      assert.ok(statuses.every((s) => s === 200 || s === 402), statuses.join(","));
      await drain();
      const total = BigInt(await charged(accountId)) - before;
      assert.ok(total <= funds, `captured ${total} > funds ${funds}`);
      const debt = (await stack.app.db.query<{ payg: string }>("select coalesce(sum(payg_wei), 0)::text as payg from usage_events where account_id = $1", [accountId])).rows[0]!.payg;
      assert.equal(debt, "0", "no PAYG debt without an allowance");
      assert.equal(await credits(), startCredits - total);
    });

    it("enforces the plan's requests per minute and concurrency with OpenAI's rate-limit headers", async () => {
      const { key, accountId } = await client(USERS.bob, parseEther("10"));
      // A tighter limit for this account only: its budget says 3 requests a minute, 1 in flight.
      const store = stack.app.billing.store;
      await store.invalidate(accountId);
      const probe = await store.hold({ accountId, requestId: "probe", mode: "cxpt", tokens: 0, cashUnits: 0, now: Date.now(), holdMs: 1 });
      assert.equal(probe.kind, "load");
      const budget = { mode: "cxpt" as const, bucketTokens: 0, cashUnits: 10_000_000_000, limits: { requestsPerMinute: 3, concurrency: 1 }, subscriber: false };
      assert.ok(await store.putBudget(accountId, budget, (probe as { generation: number }).generation, Date.now() + 60_000));
      const ask = (content: string, model = MODEL) =>
        fetch(`${baseURL}/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...auth(key) }, body: JSON.stringify({ model, messages: [{ role: "user", content }], max_tokens: 2 }) });
      // One in flight (a slow stream) refuses the next with 429 CONCURRENCY_LIMITED.
      const streaming = await fetch(`${baseURL}/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...auth(key) }, body: JSON.stringify({ model: "slow-model", messages: [{ role: "user", content: "hold" }], max_tokens: 10, stream: true }) });
      assert.equal(streaming.status, 200);
      const busy = await ask("busy");
      assert.equal(busy.status, 429);
      assert.equal(((await busy.json()) as { error: { code: string } }).error.code, "CONCURRENCY_LIMITED");
      assert.ok(Number(busy.headers.get("retry-after")) >= 1);
      await streaming.text();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const ok = await ask("second");
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get("x-ratelimit-limit-requests"), "3");
      assert.equal(ok.headers.get("x-ratelimit-remaining-requests"), "1");
      assert.match(ok.headers.get("x-ratelimit-reset-requests") ?? "", /^\d+s$/);
      assert.equal((await ask("third")).status, 200);
      const limited = await ask("fourth");
      assert.equal(limited.status, 429);
      const body = (await limited.json()) as { error: { code: string; type: string } };
      assert.equal(body.error.code, "RATE_LIMITED");
      assert.equal(body.error.type, "rate_limit_error");
      assert.equal(limited.headers.get("x-ratelimit-remaining-requests"), "0");
      assert.ok(Number(limited.headers.get("retry-after")) >= 1);
      // The openai client sees a RateLimitError.
      const openai = new OpenAI({ apiKey: key, baseURL, maxRetries: 0 });
      await assert.rejects(openai.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "x" }] }), OpenAI.RateLimitError);
    });

    it("charges the prompt and the tokens delivered when the client leaves mid-stream", async () => {
      const { key, accountId } = await client(USERS.alice, parseEther("10"));
      const before = BigInt(await charged(accountId));
      const controller = new AbortController();
      const response = await fetch(`${baseURL}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...auth(key) },
        body: JSON.stringify({ model: "slow-model", messages: [{ role: "user", content: "leave early" }], max_tokens: 20, stream: true }),
        signal: controller.signal,
      });
      let delivered = 0;
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      while (delivered < 3) {
        const { value, done } = await reader.read();
        assert.ok(!done, `the stream ended after ${delivered} tokens: ${buffer}`);
        buffer += decoder.decode(value, { stream: true });
        delivered = (buffer.match(/"content":"[^"]+"/g) ?? []).length;
      }
      controller.abort();
      // Wait for the gateway to see the client gone and capture.
      let total = 0n;
      for (let i = 0; i < 50 && total === 0n; i++) {
        await new Promise((resolve) => setTimeout(resolve, 40));
        await drain();
        total = BigInt(await charged(accountId)) - before;
      }
      const low = price("tide-pool", demoPromptTokens(["leave early"]), delivered);
      const high = price("tide-pool", demoPromptTokens(["leave early"]), delivered + 2);
      assert.ok(total >= low && total <= high, `charged ${total}, expected the prompt and ${delivered}–${delivered + 2} tokens`);
      assert.ok(total < price("tide-pool", demoPromptTokens(["leave early"]), 20));
    });
  });
}
