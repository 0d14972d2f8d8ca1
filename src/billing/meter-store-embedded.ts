// The embedded metering store, for runs without Redis (one API process): the same semantics in
// memory, made durable by
// an append-only journal in the data folder. Every record and ack is appended with a synchronous
// write on an open descriptor before the call resolves, so a crash of the process loses nothing that
// was acknowledged to a caller; the journal is replayed on open and rewritten (compacted) to the
// live state when it grows. Without a data folder the store is memory-only.
import fs from "node:fs";
import path from "node:path";
import type { Budget } from "./funds.ts";
import {
  DEFAULT_DEDUPE_TTL_SECONDS,
  encodeEvent,
  tupleToEvent,
  keyUnits,
  usedAmount,
  type AccountUsage,
  type HoldRequest,
  type HoldResult,
  type MeterStore,
  type Pool,
  type PulledBatch,
  type RateState,
  type UsageEvent,
} from "./meter-store.ts";

export interface EmbeddedMeterStoreConfig {
  /** Folder of the journal (`meter.journal`); undefined = memory only. */
  readonly dataDir?: string | undefined;
  /** How long a request id is remembered; default 7 days. */
  readonly dedupeTtlSeconds?: number;
  /** fsync after each write: survives an OS crash too, at a cost per batch. Default false. */
  readonly fsync?: boolean;
  /** Compact once the journal exceeds this many bytes (and twice its last compacted size); default 8 MiB. */
  readonly compactBytes?: number;
  /** Clock (ms), for tests of the dedupe window. */
  readonly now?: () => number;
}

/** The journal file inside the data folder. */
export const JOURNAL_FILE = "meter.journal";

// Journal lines, one JSON array each:
//   ["e", seq, dedupeExpiresAt, eventTuple]   an event recorded (its request id remembered until then)
//   ["a", seq, …]                             events acknowledged
//   ["d", requestId, dedupeExpiresAt]         a remembered request id without a live event (compaction)
type JournalLine = ["e", number, number, unknown] | ["a", ...number[]] | ["d", string, number];

interface State {
  /** request id → when it may be recorded again (ms); insertion order ≈ expiry order. */
  readonly seen: Map<string, number>;
  /** seq → unacknowledged event, oldest first. */
  readonly pending: Map<number, UsageEvent>;
  nextSeq: number;
  /** The gate's per-account state (budgets, holds, tallies): rebuilt from `pending` on replay. */
  readonly accounts: Map<string, AccountState>;
  /** Per API key: what it may still spend this month, and its tallies. */
  readonly keys: Map<string, KeyState>;
}

interface Hold {
  readonly pool: Pool;
  readonly amount: number;
  readonly expiresAt: number;
  /** The API key it is held against too, with the units. */
  readonly key: { readonly id: string; readonly units: number } | undefined;
}

interface KeyState {
  budget: { readonly remainingUnits: number | null; readonly expiresAt: number } | undefined;
  generation: number;
  undrained: number;
  held: number;
}

/** The same fields as the Redis store's per-account hash (meter-store-redis.ts). */
interface AccountState {
  budget: (Budget & { readonly expiresAt: number }) | undefined;
  generation: number;
  undrained: { bucket: number; cash: number };
  held: { bucket: number; cash: number };
  readonly holds: Map<string, Hold>;
  /** The rate limiter's theoretical arrival time (GCRA), ms. */
  tat: number;
}

const WINDOW_MS = 60_000;

function accountState(state: State, accountId: string): AccountState {
  const id = accountId.toLowerCase();
  let account = state.accounts.get(id);
  if (account === undefined) {
    account = { budget: undefined, generation: 0, undrained: { bucket: 0, cash: 0 }, held: { bucket: 0, cash: 0 }, holds: new Map(), tat: 0 };
    state.accounts.set(id, account);
  }
  return account;
}

function keyState(state: State, keyId: string): KeyState {
  let key = state.keys.get(keyId);
  if (key === undefined) state.keys.set(keyId, (key = { budget: undefined, generation: 0, undrained: 0, held: 0 }));
  return key;
}

function endHold(state: State, account: AccountState, requestId: string): void {
  const hold = account.holds.get(requestId);
  if (hold === undefined) return;
  account.holds.delete(requestId);
  account.held[hold.pool] -= hold.amount;
  if (hold.key) keyState(state, hold.key.id).held -= hold.key.units;
}

function countUndrained(state: State, event: UsageEvent, sign: 1 | -1): void {
  const account = accountState(state, event.accountId);
  const pool = event.pool ?? "cash";
  const amount = usedAmount(event);
  account.undrained[pool] = Math.max(0, account.undrained[pool] + sign * amount);
  const key = event.apiKeyId === undefined ? undefined : keyState(state, event.apiKeyId);
  if (key) key.undrained = Math.max(0, key.undrained + sign * keyUnits(event));
  // Drained: the charge moves from the tally into the funds the budget was loaded from (as in Redis).
  if (sign < 0 && account.budget !== undefined) {
    const field = pool === "bucket" ? "bucketTokens" : "cashUnits";
    account.budget = { ...account.budget, [field]: Math.max(0, account.budget[field] - amount) };
  }
  const remaining = key?.budget?.remainingUnits;
  if (sign < 0 && key?.budget && remaining != null) key.budget = { ...key.budget, remainingUnits: Math.max(0, remaining - keyUnits(event)) };
}

/** Opens the store, replaying (and repairing a torn last line of) the journal if there is one. */
export async function openEmbeddedMeterStore(config: EmbeddedMeterStoreConfig = {}): Promise<MeterStore> {
  const { dataDir, dedupeTtlSeconds = DEFAULT_DEDUPE_TTL_SECONDS, fsync = false, compactBytes = 8 << 20, now = Date.now } = config;
  if (!Number.isSafeInteger(dedupeTtlSeconds) || dedupeTtlSeconds <= 0) throw new RangeError("dedupeTtlSeconds must be a positive integer");
  const ttlMs = dedupeTtlSeconds * 1000;
  const state: State = { seen: new Map(), pending: new Map(), nextSeq: 1, accounts: new Map(), keys: new Map() };
  const file = dataDir === undefined ? undefined : path.join(dataDir, JOURNAL_FILE);
  let fd: number | undefined;
  let bytes = 0;
  let compactedBytes = 0;
  let closed = false;

  if (file !== undefined) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    bytes = replay(file, state);
    compactedBytes = bytes;
    for (const event of state.pending.values()) countUndrained(state, event, 1);
    fd = fs.openSync(file, "a");
  }

  function append(lines: string): void {
    if (fd === undefined) return;
    const buffer = Buffer.from(lines);
    for (let offset = 0; offset < buffer.length; ) offset += fs.writeSync(fd, buffer, offset);
    if (fsync) fs.fsyncSync(fd);
    bytes += buffer.length;
  }

  function expireSeen(at: number): void {
    for (const [requestId, expiresAt] of state.seen) {
      if (expiresAt > at) break;
      state.seen.delete(requestId);
    }
  }

  /** Rewrites the journal as the live state: remembered request ids and unacknowledged events. */
  function compact(): void {
    if (file === undefined || fd === undefined) return;
    expireSeen(now());
    const withEvent = new Set([...state.pending.values()].map((e) => e.requestId));
    const lines: string[] = [];
    for (const [requestId, expiresAt] of state.seen)
      if (!withEvent.has(requestId)) lines.push(JSON.stringify(["d", requestId, expiresAt]));
    for (const [seq, event] of state.pending)
      lines.push(`["e",${seq},${state.seen.get(event.requestId) ?? 0},${encodeEvent(event)}]`);
    const text = lines.length ? lines.join("\n") + "\n" : "";
    const temp = `${file}.tmp`;
    fs.writeFileSync(temp, text);
    const tempFd = fs.openSync(temp, "r+");
    fs.fsyncSync(tempFd);
    fs.closeSync(tempFd);
    fs.renameSync(temp, file);
    fs.closeSync(fd);
    fd = fs.openSync(file, "a");
    bytes = compactedBytes = Buffer.byteLength(text);
  }

  const assertOpen = () => {
    if (closed) throw new Error("the meter store is closed");
  };

  return {
    async hold(request: HoldRequest): Promise<HoldResult> {
      assertOpen();
      const { requestId, mode, tokens, cashUnits, now: at, holdMs } = request;
      const account = accountState(state, request.accountId);
      for (const [id, hold] of account.holds) if (hold.expiresAt <= at) endHold(state, account, id);
      const budget = account.budget;
      if (budget === undefined || budget.expiresAt <= at || budget.mode !== mode) return { kind: "load", generation: account.generation };
      if ((state.seen.get(requestId) ?? 0) > at || account.holds.has(requestId)) return { kind: "reused" };
      const { requestsPerMinute: rpm, concurrency } = budget.limits;
      const interval = WINDOW_MS / rpm;
      const tat = Math.max(account.tat, at);
      const nextTat = tat + interval;
      const rate = (t: number, resetMs: number): RateState => ({ limit: rpm, remaining: Math.max(0, Math.floor((at + WINDOW_MS - t) / interval)), resetMs });
      if (account.holds.size >= concurrency) return { kind: "busy", concurrency, rate: rate(tat, Math.ceil(tat - at)) };
      if (nextTat - at > WINDOW_MS) return { kind: "rate", rate: { limit: rpm, remaining: 0, resetMs: Math.ceil(nextTat - WINDOW_MS - at) } };
      const { undrained, held } = account;
      let pool: Pool;
      if (tokens > 0 && budget.bucketTokens - undrained.bucket - held.bucket >= tokens) pool = "bucket";
      else if (budget.cashUnits - undrained.cash - held.cash >= cashUnits) pool = "cash";
      else return { kind: "funds", availableUnits: budget.cashUnits - undrained.cash - held.cash, undrainedUnits: undrained.cash, heldUnits: held.cash };
      const key = request.keyId === undefined ? undefined : keyState(state, request.keyId);
      if (key) {
        if (key.budget === undefined || key.budget.expiresAt <= at) return { kind: "loadKey", generation: key.generation };
        const left = key.budget.remainingUnits === null ? Infinity : key.budget.remainingUnits - key.undrained - key.held;
        if (left < cashUnits) return { kind: "keyLimit", availableUnits: Math.max(0, left) };
        key.held += cashUnits;
      }
      const amount = pool === "bucket" ? tokens : cashUnits;
      account.tat = nextTat;
      account.held[pool] += amount;
      account.holds.set(requestId, { pool, amount, expiresAt: at + holdMs, key: key && { id: request.keyId as string, units: cashUnits } });
      return { kind: "held", pool, rate: rate(nextTat, Math.ceil(nextTat - at)), subscriber: budget.subscriber };
    },

    async release(accountId: string, requestId: string): Promise<void> {
      assertOpen();
      endHold(state, accountState(state, accountId), requestId);
    },

    async putKeyBudget(keyId: string, remainingUnits: number | null, generation: number, expiresAt: number): Promise<boolean> {
      assertOpen();
      const key = keyState(state, keyId);
      if (key.generation !== generation) return false;
      key.budget = { remainingUnits, expiresAt };
      return true;
    },

    async invalidateKey(keyId: string): Promise<void> {
      const key = keyState(state, keyId);
      key.generation++;
      key.budget = undefined;
    },

    async putBudget(accountId: string, budget: Budget, generation: number, expiresAt: number): Promise<boolean> {
      assertOpen();
      const account = accountState(state, accountId);
      if (account.generation !== generation) return false;
      account.budget = { ...budget, expiresAt };
      return true;
    },

    async invalidate(accountId: string): Promise<void> {
      const account = accountState(state, accountId);
      account.generation++;
      account.budget = undefined;
    },

    async usage(accountId: string): Promise<AccountUsage> {
      const { undrained, held, holds } = accountState(state, accountId);
      return { undrainedTokens: undrained.bucket, undrainedUnits: undrained.cash, heldTokens: held.bucket, heldUnits: held.cash, inFlight: holds.size };
    },

    async record(events: readonly UsageEvent[]): Promise<boolean[]> {
      assertOpen();
      const at = now();
      expireSeen(at);
      const results: boolean[] = new Array(events.length);
      let lines = "";
      for (let i = 0; i < events.length; i++) {
        const event = events[i];
        endHold(state, accountState(state, event.accountId), event.requestId);
        const expiresAt = state.seen.get(event.requestId);
        if (expiresAt !== undefined && expiresAt > at) {
          results[i] = false;
          continue;
        }
        const seq = state.nextSeq++;
        state.seen.delete(event.requestId); // re-insert at the back: keeps insertion ≈ expiry order
        state.seen.set(event.requestId, at + ttlMs);
        state.pending.set(seq, event);
        countUndrained(state, event, 1);
        lines += `["e",${seq},${at + ttlMs},${encodeEvent(event)}]\n`;
        results[i] = true;
      }
      append(lines);
      return results;
    },

    async pull(max: number): Promise<PulledBatch> {
      assertOpen();
      const ids: string[] = [];
      const events: UsageEvent[] = [];
      for (const [seq, event] of state.pending) {
        if (ids.length >= max) break;
        ids.push(String(seq));
        events.push(event);
      }
      return { ids, events };
    },

    async ack(ids: readonly string[]): Promise<void> {
      assertOpen();
      const acked = ids.map(Number).filter((seq) => {
        const event = state.pending.get(seq);
        if (event === undefined) return false;
        state.pending.delete(seq);
        countUndrained(state, event, -1);
        return true;
      });
      if (acked.length === 0) return;
      append(JSON.stringify(["a", ...acked]) + "\n");
      if (bytes > compactBytes && bytes > 2 * compactedBytes) compact();
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (fd !== undefined) fs.closeSync(fd);
    },
  };
}

/** Replays the journal into `state`; truncates a torn (unterminated) last line. Returns the file size. */
function replay(file: string, state: State): number {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
  const end = text.lastIndexOf("\n") + 1;
  if (end < text.length) fs.truncateSync(file, Buffer.byteLength(text.slice(0, end))); // a write cut short by a crash
  const lines = text.slice(0, end).split("\n");
  lines.pop(); // after the last newline
  lines.forEach((raw, index) => {
    let line: JournalLine;
    try {
      line = JSON.parse(raw) as JournalLine;
    } catch {
      throw new Error(`${file}: corrupt journal line ${index + 1}`);
    }
    if (line[0] === "e") {
      const [, seq, expiresAt, tuple] = line;
      const event = tupleToEvent(tuple);
      state.seen.delete(event.requestId);
      state.seen.set(event.requestId, expiresAt);
      state.pending.set(seq, event);
      state.nextSeq = Math.max(state.nextSeq, seq + 1);
    } else if (line[0] === "a") {
      for (const seq of line.slice(1) as number[]) state.pending.delete(seq);
    } else if (line[0] === "d") {
      state.seen.set(line[1], line[2]);
    } else {
      throw new Error(`${file}: unknown journal line ${index + 1}`);
    }
  });
  return Buffer.byteLength(text.slice(0, end));
}
