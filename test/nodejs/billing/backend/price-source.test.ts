import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fixedPriceSource, openHttpPriceSource, valueAtPath } from "../../../../src/billing/price-source.ts";
import { parseDecimal } from "../../../../src/billing/pricing.ts";

describe("price source: fixed", () => {
  it("serves the configured rate", async () => {
    const source = fixedPriceSource("0.10");
    assert.equal(source.cxptUsd(), 10n ** 17n);
    await source.refresh();
    assert.equal(source.cxptUsd(), 10n ** 17n);
  });

  it("refuses a non-positive or malformed rate", () => {
    for (const bad of ["0", "0.0", "-0.1", "ten"]) assert.throws(() => fixedPriceSource(bad), bad);
  });
});

describe("price source: HTTP JSON feed", () => {
  let server: http.Server;
  let url: string;
  let status = 200;
  let body = "";
  let hits = 0;
  const reply = (json: unknown) => (body = JSON.stringify(json));

  before(async () => {
    server = http.createServer((_, res) => {
      hits++;
      res.writeHead(status, { "content-type": "application/json" }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/price`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("reads the price at a JSON path, string or number", async () => {
    status = 200;
    reply({ data: { cxpt: { usd: "0.25" } } });
    const source = await openHttpPriceSource({ url, path: "data.cxpt.usd" });
    try {
      assert.equal(source.cxptUsd(), parseDecimal("0.25"));
      reply({ data: { cxpt: { usd: 0.5 } } });
      await source.refresh();
      assert.equal(source.cxptUsd(), parseDecimal("0.5"));
    } finally {
      source.close();
    }
  });

  it("keeps the last good value on errors, zero, negative, garbage and missing paths", async () => {
    status = 200;
    reply({ usd: "0.2" });
    const source = await openHttpPriceSource({ url, path: "usd" });
    try {
      const good = parseDecimal("0.2");
      const failures: (() => void)[] = [
        () => reply({ usd: "0" }),
        () => reply({ usd: -1 }),
        () => reply({ usd: "abc" }),
        () => reply({ other: "0.3" }),
        () => (body = "not json"),
        () => {
          status = 500;
          reply({ usd: "0.3" });
        },
      ];
      for (const fail of failures) {
        fail();
        await assert.rejects(source.refresh());
        assert.equal(source.cxptUsd(), good);
        status = 200;
      }
      reply({ usd: "0.3" });
      await source.refresh();
      assert.equal(source.cxptUsd(), parseDecimal("0.3"));
    } finally {
      source.close();
    }
  });

  it("refreshes on its interval", async () => {
    status = 200;
    reply({ prices: [{ usd: "0.1" }] });
    const source = await openHttpPriceSource({ url, path: "prices.0.usd", intervalMs: 10 });
    try {
      assert.equal(source.cxptUsd(), parseDecimal("0.1"));
      reply({ prices: [{ usd: "0.15" }] });
      for (let i = 0; i < 500 && source.cxptUsd() !== parseDecimal("0.15"); i++) await sleep(10);
      assert.equal(source.cxptUsd(), parseDecimal("0.15"));
    } finally {
      source.close();
    }
    const count = hits;
    await sleep(50);
    assert.ok(hits - count <= 1, "closed: no more requests (at most one in flight)");
  });

  it("fails to open without a first price, unless a fallback is configured", async () => {
    status = 503;
    reply({});
    await assert.rejects(openHttpPriceSource({ url, path: "usd" }));
    const errors: unknown[] = [];
    const source = await openHttpPriceSource({ url, path: "usd", initialUsd: "0.1", onError: (e) => errors.push(e) });
    try {
      assert.equal(source.cxptUsd(), parseDecimal("0.1"));
      assert.equal(errors.length, 1);
      status = 200;
      reply({ usd: "0.12" });
      await source.refresh();
      assert.equal(source.cxptUsd(), parseDecimal("0.12"));
    } finally {
      source.close();
    }
  });

  it("walks dot paths", () => {
    assert.equal(valueAtPath({ a: { b: [1, { c: "x" }] } }, "a.b.1.c"), "x");
    assert.equal(valueAtPath({ a: 1 }, "a.b"), undefined);
    assert.equal(valueAtPath("0.1", ""), "0.1");
  });
});
