import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { createPublicClient, http, type PublicClient } from "viem";
import { buildServer } from "../../../src/api/server.ts";
import { BACKENDS, startStack, viem, type Stack } from "./harness.ts";

const health = async (stack: Stack) => {
  const response = await stack.api.inject({ method: "GET", url: "/api/health" });
  return { status: response.statusCode, body: response.json() };
};

/** The stack's chain as reached through `url` instead (an RPC that is down or hangs). */
function swapChainTo(stack: Stack, url: string): () => void {
  const chain = stack.app.chain!;
  stack.app.chain = { ...chain, client: createPublicClient({ transport: http(url, { retryCount: 0 }) }) as PublicClient };
  return () => {
    stack.app.chain = chain;
  };
}

for (const backend of BACKENDS) {
  describe(`health (${backend})`, () => {
    let stack: Stack;
    let off: Stack;
    before(async () => {
      stack = await startStack(backend);
      off = await startStack(backend, { CHAIN_STAGE: "off" });
    });
    after(async () => Promise.all([stack.close(), off.close()]));

    it("answers 200 without auth: the stage, its features, the chain's head, the database and the meter", async () => {
      const { status, body } = await health(stack);
      assert.equal(status, 200);
      const head = await (await viem.getPublicClient()).getBlockNumber();
      assert.deepEqual(body, {
        status: "ok",
        stage: "testnet",
        phase: 3,
        features: { deposits: true, claims: true, paygInCxpt: true, subscriptions: true, faucet: true, legacyCredits: false },
        chain: { chainId: 31337, blockNumber: head.toString(), status: "ok" },
        database: "ok",
        meter: "ok",
      });
    });

    it("has no chain with the stage off, and bills legacy credits", async () => {
      const { status, body } = await health(off);
      assert.equal(status, 200);
      assert.deepEqual(body, {
        status: "ok",
        stage: "off",
        phase: 3, // as configured (the harness's default); it gates nothing while the chain is off
        features: { deposits: false, claims: false, paygInCxpt: false, subscriptions: false, faucet: false, legacyCredits: true },
        chain: null,
        database: "ok",
        meter: "ok",
      });
    });

    it("answers 503 degraded when the chain cannot be reached, or does not answer in time", async () => {
      let restore = swapChainTo(stack, "http://127.0.0.1:1");
      try {
        const { status, body } = await health(stack);
        assert.equal(status, 503);
        assert.equal(body.status, "degraded");
        assert.deepEqual([body.chain.chainId, body.chain.blockNumber, body.database, body.meter], [31337, null, "ok", "ok"]);
        assert.notEqual(body.chain.status, "ok");
      } finally {
        restore();
      }

      // An RPC that accepts the request and never answers: the probe gives up, the health answers.
      const sockets = new Set<Socket>();
      const hanging: Server = createServer(() => {});
      hanging.on("connection", (socket) => sockets.add(socket));
      await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
      restore = swapChainTo(stack, `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`);
      try {
        const { status, body } = await health(stack);
        assert.equal(status, 503);
        assert.deepEqual([body.status, body.chain.blockNumber, body.chain.status], ["degraded", null, "no answer within 1000 ms"]);
      } finally {
        restore();
        sockets.forEach((socket) => socket.destroy());
        await new Promise((resolve) => hanging.close(resolve));
      }
      assert.equal((await health(stack)).status, 200);
    });

    it("answers 503 degraded naming the meter when its Redis cannot be reached", async () => {
      // The same backend, its API told that the metering store's Redis is at a closed port.
      const api = await buildServer({ ...stack.app, config: { ...stack.app.config, redisUrl: "redis://127.0.0.1:1" } }, { silent: true });
      try {
        const response = await api.inject({ method: "GET", url: "/api/health" });
        assert.equal(response.statusCode, 503);
        const body = response.json();
        assert.deepEqual([body.status, body.database, body.chain.status], ["degraded", "ok", "ok"]);
        assert.match(body.meter, /^Redis: .*ECONNREFUSED/);
      } finally {
        await api.close();
      }
    });

    it("answers 503 degraded naming the database once it is gone", async () => {
      const { db } = off.app;
      await db.close();
      db.close = async () => {}; // closed here already: the stack's own close must not close it twice
      const { status, body } = await health(off);
      assert.equal(status, 503);
      assert.deepEqual([body.status, body.meter, body.chain], ["degraded", "ok", null]);
      assert.notEqual(body.database, "ok");
      assert.match(body.database, /\w/);
    });

    it("is documented in the OpenAPI document", async () => {
      const doc = (await stack.api.inject({ method: "GET", url: "/api/docs/json" })).json();
      assert.ok(doc.paths["/api/health"].get.responses["503"]);
    });
  });
}
