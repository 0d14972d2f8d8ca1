// A fuzz pass over every route of the OpenAPI document, as the outside probe ran it: malformed and
// hostile bodies (not JSON, wrong types, NUL bytes, lone surrogates, huge and deeply nested JSON),
// hostile path parameters and query strings, each signed in as an admin (so the input is looked
// at) and, for the compute API, with an API key. No answer may be a 5xx, and every error has the
// documented shape { error: { code, message } } (JSON-RPC's own for /rpc).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { auth, expectReply, signIn, startStack, USERS, type Stack } from "./harness.ts";

type Method = "GET" | "POST" | "PUT" | "DELETE" | "PATCH";
interface Operation {
  readonly security?: readonly Record<string, unknown>[];
  readonly requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
}

const deep = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
const deepObject = (levels: number) => '{"a":'.repeat(levels) + "1" + "}".repeat(levels);

/** Raw bodies every route with a body gets, as [label, payload, content type]. */
const RAW_BODIES: readonly (readonly [string, string, string])[] = [
  ["not JSON", "{not json", "application/json"],
  ["truncated", '{"a": [1, 2', "application/json"],
  ["empty", "", "application/json"],
  ["null", "null", "application/json"],
  ["[null]", "[null]", "application/json"],
  ["a number", "1e400", "application/json"],
  ["a NUL string", '"\\u0000"', "application/json"],
  ["a NUL key", '{"\\u0000": 1}', "application/json"],
  ["a lone surrogate", '{"x": "\\ud800"}', "application/json"],
  ["raw NUL bytes", '{"x": "a\u0000b"}', "application/json"],
  ["proto poisoning", '{"__proto__": {"admin": true}}', "application/json"],
  ["constructor poisoning", '{"constructor": {"prototype": {"admin": true}}}', "application/json"],
  ["deep array", deep(100_000), "application/json"],
  ["deep object", deepObject(50_000), "application/json"],
  ["huge string", JSON.stringify({ x: "a".repeat(900_000) }), "application/json"],
  ["over the body limit", JSON.stringify({ x: "a".repeat(1_100_000) }), "application/json"],
  ["plain text", "hello", "text/plain"],
  ["xml", "<a/>", "application/xml"],
  ["form", "a=1&b=%00", "application/x-www-form-urlencoded"],
];

/** Values put into every declared body field, one at a time and all at once. */
const FIELD_VALUES: readonly unknown[] = ["a\u0000b", "\ud800", "\udfff", "x\u001b[31m", "a".repeat(100_000), -1, 1e308, 1.5, true, null, [], {}, ["\u0000"], { nested: "\u0000" }, "0".repeat(80), "-1", "1e18", "0x"];

/** Values put into every path parameter (already encoded for the URL). */
const PARAM_VALUES: readonly string[] = ["%00", "%ED%A0%80", "%E0%A4%A", "%", "..%2F..%2Fetc%2Fpasswd", "a".repeat(150), "-1", "0", "00000000-0000-0000-0000-000000000000", "%F0%9F%98%80", "null", "1e400"];

/** Query strings every route gets. */
const QUERIES: readonly string[] = ["?limit=%00", "?cursor=%ED%A0%80", "?limit=-1&cursor=x", "?limit=99999999999999999999", "?a=%", "?limit[]=1", "?__proto__[x]=1", `?cursor=${"z".repeat(5_000)}`];

describe("fuzz: every OpenAPI route, hostile input, no 5xx", () => {
  let stack: Stack;
  let admin: string;
  let apiKey: string;
  let operations: { method: Method; path: string; op: Operation }[];

  before(async () => {
    // Generous limits: this test is about input, not rates.
    stack = await startStack("embedded", { RATE_LIMIT_NONCE: "0", RATE_LIMIT_SIWE: "0", RATE_LIMIT_RPC: "0", RATE_LIMIT_KEY_CREATION: "0", RATE_LIMIT_KEY_FAILURES: "0" });
    const signedIn = await signIn(stack.api, USERS.admin);
    await stack.app.db.query("update accounts set role = 'admin' where id = $1", [signedIn.accountId]);
    admin = signedIn.token;
    apiKey = expectReply(await stack.api.inject({ method: "POST", url: "/api/v1/keys", headers: auth(admin), payload: { name: "fuzz" } }), 201).key;
    const doc = expectReply(await stack.api.inject({ method: "GET", url: "/api/docs/json" }), 200) as { paths: Record<string, Record<string, Operation>> };
    operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([method]) => ["get", "post", "put", "delete", "patch"].includes(method))
        // Logging out would end the session the rest of the pass signs with; it reads no input.
        .filter(() => path !== "/api/v1/auth/logout")
        .map(([method, op]) => ({ method: method.toUpperCase() as Method, path, op })),
    );
  });
  after(async () => stack.close());

  /** How often each status was answered: the pass must reach the routes, not stop at the door. */
  const statuses = new Map<number, number>();

  /** Sends one request and checks the answer: below 500, and an error in its documented shape. */
  async function probe(label: string, method: Method, url: string, op: Operation, payload?: string, contentType?: string): Promise<number> {
    const usesKey = op.security?.some((s) => "apiKey" in s) === true;
    const response = await stack.api.inject({
      method,
      url,
      headers: { ...auth(usesKey ? apiKey : admin), ...(contentType ? { "content-type": contentType } : {}) },
      ...(payload === undefined ? {} : { payload }),
    });
    const where = `${method} ${url.slice(0, 120)} (${label})`;
    statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
    assert.ok(response.statusCode < 500, `${where}: ${response.statusCode} ${response.body.slice(0, 300)}`);
    if (response.statusCode >= 400) {
      const body = response.json() as { error?: { code?: unknown; message?: unknown } | { code?: unknown }; jsonrpc?: string };
      if (url.startsWith("/rpc")) {
        assert.equal(body.jsonrpc, "2.0", `${where}: ${response.body.slice(0, 300)}`);
      } else {
        const error = body.error as { code?: unknown; message?: unknown } | undefined;
        assert.match(String(error?.code), /^[A-Z][A-Z0-9_]*$/, `${where}: ${response.body.slice(0, 300)}`);
        assert.equal(typeof error?.message, "string", where);
      }
    }
    return response.statusCode;
  }

  /** `path` with every {param} replaced by `value`. */
  const fill = (path: string, value: string) => path.replace(/\{[^}]+\}/g, value);

  it("answers hostile bodies on every route with a 4xx in the error shape", async () => {
    let sent = 0;
    for (const { method, path, op } of operations) {
      if (method === "GET" || method === "DELETE") continue;
      const url = fill(path, "00000000-0000-4000-8000-000000000000");
      for (const [label, payload, type] of RAW_BODIES) {
        await probe(label, method, url, op, payload, type);
        sent++;
      }
      const fields = Object.keys(op.requestBody?.content?.["application/json"]?.schema?.properties ?? {});
      for (const value of FIELD_VALUES) {
        await probe(`all fields = ${JSON.stringify(value).slice(0, 20)}`, method, url, op, JSON.stringify(Object.fromEntries(fields.map((f) => [f, value]))), "application/json");
        for (const field of fields) {
          await probe(`${field} = ${JSON.stringify(value).slice(0, 20)}`, method, url, op, JSON.stringify({ [field]: value }), "application/json");
          sent++;
        }
      }
    }
    assert.ok(sent > 500, `only ${sent} requests sent`);
  });

  it("answers hostile path parameters and query strings on every route below 500", async () => {
    for (const { method, path, op } of operations) {
      const body = method === "GET" || method === "DELETE" ? undefined : "{}";
      const type = body === undefined ? undefined : "application/json";
      if (path.includes("{")) for (const value of PARAM_VALUES) await probe(`param ${value.slice(0, 20)}`, method, fill(path, value), op, body, type);
      for (const query of QUERIES) await probe(`query ${query.slice(0, 20)}`, method, fill(path, "00000000-0000-4000-8000-000000000000") + query, op, body, type);
    }
  });

  it("covers every route of the document, past authentication", () => {
    assert.ok(operations.length >= 40, `only ${operations.length} operations in the OpenAPI document`);
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    const refusedAtTheDoor = (statuses.get(401) ?? 0) + (statuses.get(403) ?? 0);
    assert.ok(refusedAtTheDoor < total / 10, `${refusedAtTheDoor} of ${total} answers were 401/403: ${JSON.stringify([...statuses])}`);
    console.log(`fuzz: ${operations.length} operations, ${total} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  });
});
