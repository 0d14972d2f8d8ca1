// The outside probe's findings, kept as regression tests: text no field may hold, malformed JSON-RPC,
// parser and router errors in the error shape, slow and silent connections, per-route rate limits,
// key and session caps, and the EIP-4361 fields of a sign-in message.
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { auditedTransaction } from "../../../src/audit/log.ts";
import { auth, BACKENDS, expectReply, signIn, startStack, USERS, type Stack } from "./harness.ts";

/** The demo admin, signed in with the admin role: its session token. */
async function adminToken(stack: Stack): Promise<string> {
  const { token, accountId } = await signIn(stack.api, USERS.admin);
  await stack.app.db.query("update accounts set role = 'admin' where id = $1", [accountId]);
  return token;
}

/** Listens on a free loopback port; returns it. */
async function listen(stack: Stack): Promise<number> {
  await stack.api.listen({ port: 0, host: "127.0.0.1" });
  const address = stack.api.server.address();
  assert.ok(address !== null && typeof address === "object");
  return address.port;
}

/** Opens a raw TCP connection; resolves once connected. */
const open = (port: number): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1" }, () => resolve(socket));
    socket.on("error", reject);
  });

/** What the server sends on `socket` until it closes it (or `timeoutMs` passes: then `closed` is false). */
const untilClosed = (socket: Socket, timeoutMs: number): Promise<{ closed: boolean; data: string; afterMs: number }> =>
  new Promise((resolve) => {
    const started = Date.now();
    let data = "";
    socket.on("data", (chunk) => (data += chunk.toString()));
    socket.on("error", () => {});
    const timer = setTimeout(() => resolve({ closed: false, data, afterMs: Date.now() - started }), timeoutMs);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ closed: true, data, afterMs: Date.now() - started });
    });
  });

/** The JSON body of a raw HTTP answer. */
const bodyOf = (raw: string) => JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4)) as { error: { code: string; message: string } };

describe("hardening: free text, JSON-RPC, parser errors (embedded)", () => {
  let stack: Stack;
  let admin: string;
  before(async () => {
    stack = await startStack("embedded", { RPC_MAX_BATCH: "3", RPC_MAX_LOG_RANGE: "100" });
    admin = await adminToken(stack);
  });
  after(async () => stack.close());

  it("refuses a NUL byte or a lone surrogate in a grant's reason with 400, granting nothing; a clean retry grants once", async () => {
    const { accountId } = await signIn(stack.api, USERS.alice);
    const grant = (reason: string) =>
      stack.api.inject({ method: "POST", url: `/api/v1/admin/accounts/${accountId}/legacy-credits`, headers: auth(admin), payload: { usd: "5", reason } });
    for (const reason of ["bad\u0000reason", "lone \ud800 surrogate", "trailing \udc00", "bell\u0007"]) {
      expectReply(await grant(reason), 400, "INVALID_TEXT");
    }
    const credits = async () => (await stack.app.db.query<{ c: string }>("select legacy_credits_ausd::text as c from accounts where id = $1", [accountId])).rows[0]!.c;
    assert.equal(await credits(), "0");
    expectReply(await grant("top-up\nwith a line break"), 200);
    assert.equal(await credits(), "5000000000000000000");
  });

  it("commits an audited change and its audit entry together: an entry that cannot be written undoes the change", async () => {
    const { accountId } = await signIn(stack.api, USERS.bob);
    await assert.rejects(
      auditedTransaction(stack.app.db, { actorId: null, action: "test_unwritable_entry", params: { why: "nul \u0000 in jsonb" } }, async (tx) => {
        await tx.query("update accounts set legacy_credits_ausd = legacy_credits_ausd + 7 where id = $1", [accountId]);
        return { result: undefined, outcome: { status: "executed" } };
      }),
    );
    const { rows } = await stack.app.db.query<{ c: string }>("select legacy_credits_ausd::text as c from accounts where id = $1", [accountId]);
    assert.equal(rows[0]!.c, "0");
  });

  it("refuses control characters in an API key's name, in query strings and in path parameters with 400", async () => {
    const { token } = await signIn(stack.api, USERS.carol);
    expectReply(await stack.api.inject({ method: "POST", url: "/api/v1/keys", headers: auth(token), payload: { name: "k\u0000" } }), 400, "INVALID_TEXT");
    expectReply(await stack.api.inject({ method: "POST", url: "/api/v1/keys", headers: auth(token), payload: { name: "\ud83d" } }), 400, "INVALID_TEXT");
    expectReply(await stack.api.inject({ method: "GET", url: "/api/v1/admin/accounts?cursor=%00", headers: auth(admin) }), 400, "INVALID_TEXT");
    expectReply(await stack.api.inject({ method: "GET", url: "/api/v1/admin/accounts/%00", headers: auth(admin) }), 400, "INVALID_TEXT");
    const deep = "[".repeat(10_000) + "]".repeat(10_000);
    expectReply(await stack.api.inject({ method: "POST", url: "/api/v1/keys", headers: { ...auth(token), "content-type": "application/json" }, payload: deep }), 400, "JSON_TOO_DEEP");
  });

  it("answers every malformed JSON-RPC body with a JSON-RPC error", async () => {
    const rpc = (payload: string, headers: Record<string, string> = { "content-type": "application/json" }) => stack.api.inject({ method: "POST", url: "/rpc", headers, payload });
    for (const body of ["[null]", "null", "[1, \"x\", []]", "\"text\"", "42", "{}", "[{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"eth_chainId\"}]"]) {
      const response = await rpc(body);
      assert.equal(response.statusCode, 200, `${body}: ${response.body}`);
      const answers = [response.json()].flat() as { jsonrpc: string; id: unknown; error?: { code: number }; result?: unknown }[];
      for (const answer of answers) {
        assert.equal(answer.jsonrpc, "2.0", body);
        if (answer.error === undefined) assert.equal(answer.id, null, body); // the object id answered as null
        else assert.equal(typeof answer.error.code, "number", body);
      }
    }
    for (const [payload, headers, status] of [
      ["{not json", { "content-type": "application/json" }, 400],
      ["[1,2", { "content-type": "application/json" }, 400],
      ["{\"jsonrpc\":\"2.0\",\"method\":\"x\\u0000\",\"id\":1}", { "content-type": "application/json" }, 400],
      ["<call/>", { "content-type": "application/xml" }, 415],
    ] as const) {
      const response = await rpc(payload, headers);
      assert.equal(response.statusCode, status, response.body);
      const body = response.json();
      assert.equal(body.jsonrpc, "2.0");
      assert.equal(typeof body.error.code, "number");
      assert.match(body.error.message, /\w/);
    }
  });

  it("caps JSON-RPC batches and eth_getLogs block ranges", async () => {
    const call = (id: number, method = "eth_chainId", params: unknown[] = []) => ({ jsonrpc: "2.0", id, method, params });
    const batch = await stack.api.inject({ method: "POST", url: "/rpc", payload: [call(1), call(2), call(3), call(4)] });
    assert.equal(batch.json().error.code, -32600);
    assert.equal((await stack.api.inject({ method: "POST", url: "/rpc", payload: [call(1), call(2), call(3)] })).json().length, 3);
    const logs = (filter: object) => stack.api.inject({ method: "POST", url: "/rpc", payload: call(9, "eth_getLogs", [filter]) });
    const wide = (await logs({ fromBlock: "earliest", toBlock: "latest" })).json();
    const head = BigInt((await stack.api.inject({ method: "POST", url: "/rpc", payload: call(1, "eth_blockNumber") })).json().result);
    if (head + 1n > 100n) assert.equal(wide.error.code, -32005, JSON.stringify(wide));
    assert.equal((await logs({ fromBlock: "0x0", toBlock: "0x2710" })).json().error.code, -32005);
    assert.ok(Array.isArray((await logs({ fromBlock: "0x0", toBlock: "0x63" })).json().result));
    assert.equal((await logs({ fromBlock: "soon" })).json().error.code, -32602);
    assert.equal((await stack.api.inject({ method: "POST", url: "/rpc", payload: call(9, "eth_getLogs", []) })).json().error.code, -32602);
  });

  it("gives the router's refusals the error shape: a bad URL encoding (400) and an over-long path parameter (414)", async () => {
    const bad = await stack.api.inject({ method: "GET", url: "/api/v1/admin/accounts/%E0%A4%A", headers: auth(admin) });
    expectReply(bad, 400, "INVALID_URL");
    const long = await stack.api.inject({ method: "POST", url: `/api/v1/admin/accounts/${"a".repeat(500)}/legacy-credits`, headers: auth(admin), payload: {} });
    expectReply(long, 414, "URI_TOO_LONG");
    // GET paths fall through to the dashboards' wildcard, so an over-long one is a plain 404 in the shape.
    expectReply(await stack.api.inject({ method: "GET", url: `/api/v1/admin/accounts/${"a".repeat(500)}`, headers: auth(admin) }), 404, "NOT_FOUND");
    expectReply(await stack.api.inject({ method: "PROPFIND", url: "/api/v1/accounts/me" }), 404, "NOT_FOUND");
  });

  it("gives the HTTP parser's refusals the error shape: 431, an unknown method, garbage", async () => {
    const port = await listen(stack);
    const send = async (raw: string) => {
      const socket = await open(port);
      const done = untilClosed(socket, 5_000);
      socket.write(raw);
      return done;
    };
    const big = await send(`GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    assert.match(big.data, /^HTTP\/1.1 431/);
    assert.equal(bodyOf(big.data).error.code, "HEADERS_TOO_LARGE");
    const method = await send("FROB /api/health HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(method.data, /^HTTP\/1.1 400/);
    assert.match(bodyOf(method.data).error.code, /^[A-Z_]+$/);
    const garbage = await send("\u0001\u0002 nonsense\r\n\r\n");
    assert.match(garbage.data, /^HTTP\/1.1 400/);
    assert.match(bodyOf(garbage.data).error.code, /^[A-Z_]+$/);
  });
});

describe("hardening: slow and silent connections, connections per client (embedded)", () => {
  let stack: Stack;
  let port: number;
  before(async () => {
    stack = await startStack("embedded", { API_REQUEST_TIMEOUT_MS: "1000", API_HEADERS_TIMEOUT_MS: "600", API_IDLE_TIMEOUT_MS: "1500", API_MAX_CONNECTIONS_PER_IP: "4" });
    port = await listen(stack);
  });
  after(async () => stack.close());

  it("closes a connection that trickles its body, one that trickles its headers and a silent one, within seconds", async () => {
    const trickleBody = await open(port);
    trickleBody.write("POST /api/v1/auth/nonce HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{");
    const ticker = setInterval(() => trickleBody.writable && trickleBody.write(" "), 200);
    const trickleHeaders = await open(port);
    trickleHeaders.write("GET /api/health HTTP/1.1\r\n");
    const ticker2 = setInterval(() => trickleHeaders.writable && trickleHeaders.write("X-A: b\r\n"), 200);
    const silent = await open(port);
    try {
      const [body, headers, quiet] = await Promise.all([untilClosed(trickleBody, 8_000), untilClosed(trickleHeaders, 8_000), untilClosed(silent, 8_000)]);
      for (const [name, result] of Object.entries({ body, headers, quiet })) {
        assert.ok(result.closed, `${name}: still open after ${result.afterMs} ms`);
        assert.ok(result.afterMs < 5_000, `${name}: closed after ${result.afterMs} ms`);
      }
      assert.match(body.data, /^HTTP\/1.1 408/);
      assert.equal(bodyOf(body.data).error.code, "REQUEST_TIMEOUT");
    } finally {
      clearInterval(ticker);
      clearInterval(ticker2);
      for (const socket of [trickleBody, trickleHeaders, silent]) socket.destroy();
    }
  });

  it("answers a client's connection over the cap with 429 and closes it; the others still work", async () => {
    const held = await Promise.all([0, 1, 2, 3].map(() => open(port)));
    try {
      const extra = await open(port);
      const refused = await untilClosed(extra, 3_000);
      assert.ok(refused.closed);
      assert.match(refused.data, /^HTTP\/1.1 429/);
      assert.equal(bodyOf(refused.data).error.code, "TOO_MANY_CONNECTIONS");
      const answer = untilClosed(held[0]!, 3_000);
      held[0]!.write("GET /api/v1/config HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      assert.doesNotMatch((await answer).data, /^HTTP\/1.1 429/);
    } finally {
      for (const socket of held) socket.destroy();
    }
  });
});

for (const backend of BACKENDS) {
  describe(`hardening: rate limits and caps (${backend})`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack(backend, {
        RATE_LIMIT_NONCE: "10",
        RATE_LIMIT_SIWE: "8",
        RATE_LIMIT_RPC: "3",
        RATE_LIMIT_KEY_CREATION: "3",
        RATE_LIMIT_KEY_FAILURES: "3",
        MAX_API_KEYS: "2",
        MAX_SESSIONS: "2",
        RATE_LIMIT_WINDOW_MS: "60000",
      });
    });
    after(async () => stack.close());

    /** Refused with 429 RATE_LIMITED and a Retry-After of at least a second. */
    const expectLimited = (response: Awaited<ReturnType<Stack["api"]["inject"]>>) => {
      assert.equal(response.statusCode, 429, response.body);
      assert.ok(Number(response.headers["retry-after"]) >= 1, `retry-after: ${response.headers["retry-after"]}`);
    };

    it("limits auth/nonce per IP", async () => {
      const nonce = (ip: string) => stack.api.inject({ method: "POST", url: "/api/v1/auth/nonce", remoteAddress: ip });
      for (let i = 0; i < 10; i++) expectReply(await nonce("10.1.0.1"), 200);
      const limited = await nonce("10.1.0.1");
      expectLimited(limited);
      expectReply(limited, 429, "RATE_LIMITED");
      expectReply(await nonce("10.1.0.2"), 200);
    });

    it("limits auth/siwe per IP, bad signatures included", async () => {
      const account = privateKeyToAccount(USERS.bob);
      const message = createSiweMessage({ address: account.address, chainId: 1, domain: "cxpt.test", nonce: "abcdefgh12345678", uri: "http://cxpt.test", version: "1" });
      const siwe = () => stack.api.inject({ method: "POST", url: "/api/v1/auth/siwe", remoteAddress: "10.2.0.1", payload: { message, signature: "0x" + "11".repeat(65) } });
      for (let i = 0; i < 8; i++) assert.equal((await siwe()).statusCode, 401);
      expectLimited(await siwe());
    });

    it("limits /rpc per IP, answering in JSON-RPC", async () => {
      const rpc = () => stack.api.inject({ method: "POST", url: "/rpc", remoteAddress: "10.3.0.1", payload: { jsonrpc: "2.0", id: 1, method: "eth_chainId" } });
      for (let i = 0; i < 3; i++) assert.equal((await rpc()).statusCode, 200);
      const limited = await rpc();
      expectLimited(limited);
      assert.equal(limited.json().jsonrpc, "2.0");
      assert.equal(limited.json().error.code, -32005);
    });

    it("limits key creation per account, caps active keys, and limits API-key guessing per IP", async () => {
      const carol = await signIn(stack.api, USERS.carol);
      const create = (token: string, name: string) => stack.api.inject({ method: "POST", url: "/api/v1/keys", headers: auth(token), payload: { name } });
      const first = expectReply(await create(carol.token, "one"), 201);
      expectReply(await create(carol.token, "two"), 201);
      expectReply(await create(carol.token, "three"), 409, "API_KEY_LIMIT");
      expectLimited(await create(carol.token, "four"));
      // Another account has its own allowance.
      const alice = await signIn(stack.api, USERS.alice);
      expectReply(await create(alice.token, "a"), 201);

      const chat = { model: "llama-3-8b", messages: [{ role: "user", content: "hi" }], max_tokens: 8 };
      const models = (key: string, ip: string) => stack.api.inject({ method: "POST", url: "/api/v1/chat/completions", remoteAddress: ip, headers: auth(key), payload: chat });
      const good = await models(first.key, "10.4.0.1");
      assert.notEqual(good.statusCode, 401, good.body);
      const guesses = await Promise.all([0, 1, 2, 3].map((i) => models(`cxk_guess${i}${"0".repeat(30)}`, "10.4.0.1")));
      assert.ok(guesses.every((g) => g.statusCode === 401 || g.statusCode === 429));
      expectLimited(await models(`cxk_guess9${"0".repeat(30)}`, "10.4.0.1"));
      // The guesser's IP is refused even with a good key; other IPs are not.
      expectLimited(await models(first.key, "10.4.0.1"));
      assert.notEqual((await models(first.key, "10.4.0.2")).statusCode, 429);
    });

    it("keeps at most MAX_SESSIONS sessions per account: signing in again ends the oldest", async () => {
      const sessions = [];
      for (let i = 0; i < 3; i++) sessions.push(await signIn(stack.api, USERS.admin));
      const me = (token: string) => stack.api.inject({ method: "GET", url: "/api/v1/accounts/me", headers: auth(token) });
      expectReply(await me(sessions[0]!.token), 401, "SESSION_EXPIRED");
      expectReply(await me(sessions[1]!.token), 200);
      expectReply(await me(sessions[2]!.token), 200);
    });
  });
}

describe("hardening: every EIP-4361 field is checked against what the server issued (embedded)", () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack("embedded");
  });
  after(async () => stack.close());

  it("refuses another uri, another scheme, an issuedAt in the future or older than a nonce, and accepts the issued fields", async () => {
    const account = privateKeyToAccount(USERS.alice);
    const attempt = async (over: Partial<Parameters<typeof createSiweMessage>[0]>) => {
      const n = (await stack.api.inject({ method: "POST", url: "/api/v1/auth/nonce" })).json() as { nonce: string; domain: string; uri: string; chainId: number };
      const message = createSiweMessage({ address: account.address, chainId: n.chainId, domain: n.domain, nonce: n.nonce, uri: n.uri, version: "1", ...over });
      return stack.api.inject({ method: "POST", url: "/api/v1/auth/siwe", payload: { message, signature: await account.signMessage({ message }) } });
    };
    const day = 24 * 3600 * 1000;
    expectReply(await attempt({ uri: "https://evil.example/login" }), 401, "SIWE_INVALID");
    expectReply(await attempt({ scheme: "https" }), 401, "SIWE_INVALID");
    expectReply(await attempt({ issuedAt: new Date(Date.now() + day) }), 401, "SIWE_INVALID");
    expectReply(await attempt({ issuedAt: new Date(Date.now() - day) }), 401, "SIWE_INVALID");
    expectReply(await attempt({ scheme: "http", issuedAt: new Date(Date.now() - 5_000) }), 200);
    expectReply(await attempt({}), 200);
  });
});
