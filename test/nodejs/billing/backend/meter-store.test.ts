import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { JOURNAL_FILE } from "../../../../src/billing/meter-store-embedded.ts";
import { decodeEvent, encodeEvent, type MeterStore } from "../../../../src/billing/meter-store.ts";
import { STORE_KINDS, usageEvent, type StoreHarness } from "./helpers.ts";

describe("meter store: event encoding", () => {
  it("round-trips every field exactly, including amounts beyond 2^64", () => {
    const event = usageEvent({ costWei: 10n ** 40n + 7n, costAusd: 123n, billedIn: "legacy", endpoint: 'a|"b",\n' });
    assert.deepEqual(decodeEvent(encodeEvent(event)), event);
  });

  it("refuses malformed input", () => {
    for (const bad of ["[]", "{}", '["a"]', "null", JSON.stringify(JSON.parse(encodeEvent(usageEvent())).with(9, "x"))])
      assert.throws(() => decodeEvent(bad), bad);
  });
});

for (const kind of STORE_KINDS) {
  describe(`meter store: ${kind.name}`, () => {
    let harness: StoreHarness;
    let store: MeterStore;
    beforeEach(async () => {
      harness = kind.create();
      store = await harness.open();
    });
    afterEach(async () => {
      await store.close();
      await harness.cleanup();
    });

    it("records new request ids once, even twice in one batch", async () => {
      const [a, b] = [usageEvent(), usageEvent()];
      assert.deepEqual(await store.record([a, a, b, { ...a, unitsIn: 999 }]), [true, false, true, false]);
      assert.deepEqual(await store.record([b, usageEvent({ requestId: a.requestId })]), [false, false]);
      assert.deepEqual(await store.record([]), []);
      const { events } = await store.pull(100);
      assert.deepEqual(events, [a, b]);
    });

    it("delivers the oldest unacknowledged events first, at most max", async () => {
      const events = Array.from({ length: 25 }, (_, i) => usageEvent({ requestId: `r${i}`, unitsIn: i }));
      await store.record(events.slice(0, 10));
      await store.record(events.slice(10));
      const first = await store.pull(10);
      assert.deepEqual(first.events, events.slice(0, 10));
      assert.equal(new Set(first.ids).size, 10);
      await store.ack(first.ids);
      const rest = await store.pull(100);
      assert.deepEqual(rest.events, events.slice(10));
      await store.ack(rest.ids);
      assert.deepEqual(await store.pull(100), { ids: [], events: [] });
    });

    it("delivers a pulled but unacknowledged event again (at least once)", async () => {
      const events = [usageEvent(), usageEvent(), usageEvent()];
      await store.record(events);
      const first = await store.pull(2);
      assert.deepEqual(first.events, events.slice(0, 2));
      const again = await store.pull(3);
      assert.deepEqual(again.events, events, "pending first, then the new one");
      await store.ack([again.ids[1]]);
      assert.deepEqual((await store.pull(3)).events, [events[0], events[2]]);
    });

    it("ignores unknown and repeated acks", async () => {
      const event = usageEvent();
      await store.record([event]);
      const { ids } = await store.pull(1);
      await store.ack(ids);
      await store.ack(ids);
      await store.ack([]);
      await store.record([usageEvent({ requestId: "later" })]);
      assert.deepEqual((await store.pull(10)).events.map((e) => e.requestId), ["later"]);
    });

    it("keeps request ids after their events are acknowledged", async () => {
      const event = usageEvent();
      await store.record([event]);
      await store.ack((await store.pull(10)).ids);
      assert.deepEqual(await store.record([event]), [false]);
    });

    if (kind.durable) {
      it("after a restart: duplicates stay duplicates, unacknowledged events are delivered again", async () => {
        const events = [usageEvent(), usageEvent(), usageEvent()];
        await store.record(events);
        const pulled = await store.pull(3);
        await store.ack([pulled.ids[0]]);
        // The drain crashed here: events 1 and 2 were pulled but never acknowledged.
        await store.close();
        store = await harness.open();
        assert.deepEqual(await store.record(events), [false, false, false]);
        const redelivered = await store.pull(10);
        assert.deepEqual(redelivered.events, events.slice(1));
        await store.ack(redelivered.ids);
        await store.close();
        store = await harness.open();
        assert.deepEqual(await store.pull(10), { ids: [], events: [] });
        assert.deepEqual(await store.record([usageEvent({ requestId: events[0].requestId })]), [false]);
      });
    }
  });
}

describe("meter store: dedupe window", () => {
  it("redis: a request id can be recorded again after the window", async () => {
    const redis = STORE_KINDS.find((k) => k.name === "redis")!;
    const harness = redis.create();
    const store = await harness.open({ dedupeTtlSeconds: 1 });
    try {
      const event = usageEvent();
      assert.deepEqual(await store.record([event]), [true]);
      assert.deepEqual(await store.record([event]), [false]);
      await sleep(1_100);
      assert.deepEqual(await store.record([event]), [true]);
    } finally {
      await store.close();
      await harness.cleanup();
    }
  });

  for (const kind of STORE_KINDS.filter((k) => k.name.startsWith("embedded"))) {
    it(`${kind.name}: a request id can be recorded again after the window, also after a restart`, async () => {
      let clock = 1_000_000;
      const harness = kind.create();
      let store = await harness.open({ dedupeTtlSeconds: 60, now: () => clock });
      try {
        const [a, b] = [usageEvent(), usageEvent()];
        assert.deepEqual(await store.record([a]), [true]);
        clock += 30_000;
        assert.deepEqual(await store.record([a, b]), [false, true]);
        clock += 30_000; // a's window is over, b's is not
        if (kind.durable) {
          await store.close();
          store = await harness.open({ dedupeTtlSeconds: 60, now: () => clock });
        }
        assert.deepEqual(await store.record([a, b]), [true, false]);
      } finally {
        await store.close();
        await harness.cleanup();
      }
    });
  }
});

describe("meter store: embedded journal", () => {
  const journaled = STORE_KINDS.find((k) => k.name === "embedded (journal)")!;
  let harness: StoreHarness;
  let journal: string;
  beforeEach(() => {
    harness = journaled.create();
    journal = path.join(harness.dataDir!, JOURNAL_FILE);
  });
  afterEach(() => harness.cleanup());

  it("replays records and acks", async () => {
    const store = await harness.open();
    const events = Array.from({ length: 5 }, () => usageEvent());
    await store.record(events);
    await store.ack((await store.pull(2)).ids);
    await store.close();
    const reopened = await harness.open();
    assert.deepEqual((await reopened.pull(10)).events, events.slice(2));
    await reopened.close();
  });

  it("repairs a torn last line (a write cut short by a crash) and keeps going", async () => {
    const store = await harness.open();
    const events = [usageEvent(), usageEvent()];
    await store.record(events);
    await store.close();
    const intact = fs.readFileSync(journal, "utf8");
    fs.appendFileSync(journal, '["e",3,99,["torn-req","acc');
    let reopened = await harness.open();
    assert.equal(fs.readFileSync(journal, "utf8"), intact, "the torn tail is cut off");
    assert.deepEqual((await reopened.pull(10)).events, events);
    assert.deepEqual(await reopened.record([usageEvent({ requestId: "torn-req" })]), [true], "the torn record never happened");
    await reopened.close();
    reopened = await harness.open();
    assert.deepEqual((await reopened.pull(10)).events.map((e) => e.requestId), [...events.map((e) => e.requestId), "torn-req"]);
    await reopened.close();
  });

  it("refuses to open a journal corrupted in the middle", async () => {
    const store = await harness.open();
    await store.record([usageEvent()]);
    await store.close();
    fs.writeFileSync(journal, "garbage\n" + fs.readFileSync(journal, "utf8"));
    await assert.rejects(harness.open(), /corrupt journal line 1/);
  });

  it("compacts to the live state: remembered ids and unacknowledged events survive", async () => {
    const store = await harness.open({ compactBytes: 1 });
    const acked = Array.from({ length: 50 }, () => usageEvent());
    const open = [usageEvent(), usageEvent()];
    for (const event of acked) {
      await store.record([event]);
      await store.ack((await store.pull(1)).ids);
    }
    await store.record(open);
    await store.close();
    const lines = fs.readFileSync(journal, "utf8").trim().split("\n");
    assert.ok(lines.length < 2 * acked.length + open.length, `compacted (${lines.length} lines)`);
    const reopened = await harness.open();
    assert.deepEqual((await reopened.pull(10)).events, open);
    assert.deepEqual(await reopened.record(acked), acked.map(() => false));
    await reopened.close();
  });

  it("compacts while events are pending, keeping them deliverable", async () => {
    const store = await harness.open({ compactBytes: 1 });
    const events = Array.from({ length: 6 }, () => usageEvent());
    await store.record(events);
    await store.ack((await store.pull(2)).ids);
    await store.ack((await store.pull(1)).ids);
    await store.close();
    const reopened = await harness.open();
    assert.deepEqual((await reopened.pull(10)).events, events.slice(3));
    assert.deepEqual(await reopened.record(events), events.map(() => false));
    await reopened.close();
  });
});
