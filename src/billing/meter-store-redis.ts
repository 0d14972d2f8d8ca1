// The Redis metering store, shared by every API instance. A hold is ONE script call (EVALSHA) that
// checks and reserves; a batch of captured events is ONE script call: per event
// `SET <prefix>req:<id> 1 NX EX <ttl>` and, only when that set a new key, `XADD <prefix>usage` and
// the account's undrained tally, ending the event's hold either way. The drain reads the stream
// through a consumer group, so an event pulled by a drain that died before acknowledging it is
// delivered again; acknowledging takes it off the tally in the same script.
import { Redis } from "ioredis";
import { unavailable } from "../errors.ts";
import type { Budget } from "./funds.ts";
import {
  DEFAULT_DEDUPE_TTL_SECONDS,
  decodeEvent,
  encodeEvent,
  keyUnits,
  usedAmount,
  type AccountUsage,
  type HoldRequest,
  type HoldResult,
  type MeterStore,
  type PulledBatch,
  type UsageEvent,
} from "./meter-store.ts";

export interface RedisMeterStoreConfig {
  readonly url: string;
  /**
   * Prefix of every key: `<prefix>usage` (the stream) and `<prefix>req:<requestId>` (dedupe keys).
   * On Redis Cluster put a hash tag in it ("{cxpt}:") so a batch's keys share one slot.
   */
  readonly prefix: string;
  /** How long a request id is remembered; default 7 days. */
  readonly dedupeTtlSeconds?: number;
  /** Consumer group and consumer of the drain; default "drain" / "drain". */
  readonly group?: string;
  readonly consumer?: string;
  /**
   * The hot path's setting (default): while Redis is unreachable no command is queued and none waits
   * longer than `commandTimeoutMs`. The drain turns it off: its commands wait for a reconnection.
   */
  readonly failFast?: boolean;
  /** Longest wait for one command before it fails (503 on the hot path); default 500 ms. */
  readonly commandTimeoutMs?: number;
  /** Connection errors (commands fail on their own); without it ioredis prints them. */
  readonly onError?: (error: Error) => void;
}

// Per account `<prefix>a:<account>` is a hash: the budget (bexp: when it expires, 0 = dropped; bm
// mode; bt bucket tokens; bc cash units; rpm; cc concurrency; sub), g (generation), ut/uc
// (captured, undrained), ht/hc (held), tat (the rate limiter's theoretical arrival time, GCRA).
// `<prefix>h:<account>` is a sorted set of the holds by expiry; `<prefix>hd:<account>` maps each to
// "pool amount", and for a request with an API key "pool amount <key hash name> <key units>".
// Per API key with a monthly limit, `<prefix>k:<key id>`: kb (what the key may still spend this
// month, in cash units; -1: no limit), kexp (when that expires, 0 = dropped), kg (generation), ku/kh
// (captured-undrained and held units). Numbers pass through Lua as doubles: every amount is an
// integer below 2^53.
const COMMON_LUA = `
local function n(x) return string.format('%.0f', x) end
-- Takes a decimal string off a counter (never below 0; Redis refuses "-0" as an increment).
local function takeOff(a, field, amount)
  if tonumber(amount) == 0 then return end
  if redis.call('HINCRBY', a, field, '-' .. amount) < 0 then redis.call('HSET', a, field, '0') end
end
local function endHold(a, h, hd, id)
  local d = redis.call('HGET', hd, id)
  if d then
    local pool, amount, k, kunits = string.match(d, '^(%a) (%d+) ?(%S*) ?(%d*)$')
    takeOff(a, pool == 'b' and 'ht' or 'hc', amount)
    if k ~= '' then takeOff(k, 'kh', kunits) end
    redis.call('HDEL', hd, id)
  end
  redis.call('ZREM', h, id)
end`;

// KEYS: a, h, hd, req, k (the API key's hash, '' for none). ARGV: request id, mode, tokens, cash
// units, now (ms), hold ms.
const HOLD_LUA = `${COMMON_LUA}
local a, h, hd, req, k = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, mode = ARGV[1], ARGV[2]
local tokens, units, now, holdMs = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', h, '-inf', now)) do endHold(a, h, hd, dead) end
local f = redis.call('HMGET', a, 'bexp', 'bm', 'bt', 'bc', 'rpm', 'cc', 'g', 'ut', 'uc', 'ht', 'hc', 'tat', 'sub')
if (tonumber(f[1]) or 0) <= now or f[2] ~= mode then return {'load', tonumber(f[7]) or 0} end
if redis.call('EXISTS', req) == 1 or redis.call('ZSCORE', h, id) then return {'reused'} end
local rpm, cc = tonumber(f[5]), tonumber(f[6])
local interval = 60000 / rpm
local tat = math.max(tonumber(f[12]) or 0, now)
local nextTat = tat + interval
local function remaining(t) return math.max(0, math.floor((now + 60000 - t) / interval)) end
if redis.call('ZCARD', h) >= cc then return {'busy', cc, rpm, remaining(tat), math.ceil(tat - now)} end
if nextTat - now > 60000 then return {'rate', rpm, 0, math.ceil(nextTat - 60000 - now)} end
local ut, uc, ht, hc = tonumber(f[8]) or 0, tonumber(f[9]) or 0, tonumber(f[10]) or 0, tonumber(f[11]) or 0
local pool, amount
if tokens > 0 and tonumber(f[3]) - ut - ht >= tokens then pool, amount = 'b', tokens
elseif tonumber(f[4]) - uc - hc >= units then pool, amount = 'c', units
else return {'funds', n(tonumber(f[4]) - uc - hc), n(uc), n(hc)} end
local keyPart = ''
if k ~= '' then
  local kf = redis.call('HMGET', k, 'kexp', 'kb', 'ku', 'kh', 'kg')
  if (tonumber(kf[1]) or 0) <= now then return {'loadkey', tonumber(kf[5]) or 0} end
  local kb = tonumber(kf[2])
  if kb >= 0 and kb - (tonumber(kf[3]) or 0) - (tonumber(kf[4]) or 0) < units then
    return {'keylimit', n(math.max(0, kb - (tonumber(kf[3]) or 0) - (tonumber(kf[4]) or 0)))}
  end
  redis.call('HINCRBY', k, 'kh', n(units))
  keyPart = ' ' .. k .. ' ' .. n(units)
end
redis.call('HSET', a, 'tat', n(nextTat))
redis.call('HINCRBY', a, pool == 'b' and 'ht' or 'hc', n(amount))
redis.call('ZADD', h, n(now + holdMs), id)
redis.call('HSET', hd, id, pool .. ' ' .. n(amount) .. keyPart)
return {'held', pool, rpm, remaining(nextTat), math.ceil(nextTat - now), f[13] or '0'}`;

// KEYS: a, h, hd. ARGV: request id.
const RELEASE_LUA = `${COMMON_LUA}
endHold(KEYS[1], KEYS[2], KEYS[3], ARGV[1])
return 1`;

// KEYS: a. ARGV: generation, expiry, mode, bucket tokens, cash units, rpm, concurrency, subscriber (1/0).
const PUT_BUDGET_LUA = `
if (tonumber(redis.call('HGET', KEYS[1], 'g')) or 0) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'bexp', ARGV[2], 'bm', ARGV[3], 'bt', ARGV[4], 'bc', ARGV[5], 'rpm', ARGV[6], 'cc', ARGV[7], 'sub', ARGV[8])
return 1`;

// KEYS: k. ARGV: generation, expiry, what the key may still spend (cash units, -1 for no limit).
const PUT_KEY_BUDGET_LUA = `
if (tonumber(redis.call('HGET', KEYS[1], 'kg')) or 0) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'kexp', ARGV[2], 'kb', ARGV[3])
return 1`;

// KEYS[1] = stream; ARGV = key prefix, dedupe ttl, then per event: account, request id, encoded
// event, pool (b/c), amount, API key id ('' for none), the key's units. Replies one 1 (recorded) or 0 (duplicate) per event, in order; a
// duplicate still ends its hold.
const RECORD_LUA = `${COMMON_LUA}
local stream, prefix, ttl = KEYS[1], ARGV[1], ARGV[2]
local out = {}
for i = 3, #ARGV, 7 do
  local account, id, pool, amount, key, kunits = ARGV[i], ARGV[i + 1], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  local a = prefix .. 'a:' .. account
  endHold(a, prefix .. 'h:' .. account, prefix .. 'hd:' .. account, id)
  if redis.call('SET', prefix .. 'req:' .. id, '1', 'NX', 'EX', ttl) then
    if key ~= '' then
      redis.call('XADD', stream, '*', 'e', ARGV[i + 2], 'a', account, 'p', pool, 'u', amount, 'k', key, 'ku', kunits)
      redis.call('HINCRBY', prefix .. 'k:' .. key, 'ku', kunits)
    else
      redis.call('XADD', stream, '*', 'e', ARGV[i + 2], 'a', account, 'p', pool, 'u', amount)
    end
    redis.call('HINCRBY', a, pool == 'b' and 'ut' or 'uc', amount)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out`;

// KEYS[1] = stream; ARGV = group, key prefix, ids. Each entry acknowledged for the first time moves
// its usage from its account's undrained tally into the budget: the drain has just charged it in
// PostgreSQL, so the funds the budget was loaded from are that much smaller now (no reload needed;
// a budget loaded after the commit counts it twice until it expires, which only refuses early).
const ACK_LUA = `${COMMON_LUA}
local stream, group, prefix = KEYS[1], ARGV[1], ARGV[2]
for i = 3, #ARGV do
  local entry = redis.call('XRANGE', stream, ARGV[i], ARGV[i])[1]
  if redis.call('XACK', stream, group, ARGV[i]) == 1 and entry then
    local f = {}
    for j = 1, #entry[2], 2 do f[entry[2][j]] = entry[2][j + 1] end
    if f.a then
      local a = prefix .. 'a:' .. f.a
      takeOff(a, f.p == 'b' and 'ut' or 'uc', f.u)
      takeOff(a, f.p == 'b' and 'bt' or 'bc', f.u)
    end
    if f.k then
      local k = prefix .. 'k:' .. f.k
      takeOff(k, 'ku', f.ku)
      if (tonumber(redis.call('HGET', k, 'kb')) or -1) >= 0 then takeOff(k, 'kb', f.ku) end
    end
  end
  redis.call('XDEL', stream, ARGV[i])
end
return 1`;

type RecordingRedis = Redis & {
  cxptHold(a: string, h: string, hd: string, req: string, k: string, ...args: (string | number)[]): Promise<(string | number)[]>;
  cxptPutKeyBudget(k: string, ...args: (string | number)[]): Promise<number>;
  cxptRelease(a: string, h: string, hd: string, id: string): Promise<number>;
  cxptPutBudget(a: string, ...args: (string | number)[]): Promise<number>;
  cxptRecordUsage(stream: string, prefix: string, ttl: number, ...args: (string | number)[]): Promise<number[]>;
  cxptAck(stream: string, group: string, prefix: string, ...ids: string[]): Promise<number>;
};

type StreamEntry = [id: string, fields: string[] | null];

/** Opens the Redis store: connects and creates the stream's consumer group if missing. */
export async function openRedisMeterStore(config: RedisMeterStoreConfig): Promise<MeterStore> {
  const { prefix, dedupeTtlSeconds = DEFAULT_DEDUPE_TTL_SECONDS, group = "drain", consumer = "drain", failFast = true, commandTimeoutMs = 500 } = config;
  if (!Number.isSafeInteger(dedupeTtlSeconds) || dedupeTtlSeconds <= 0) throw new RangeError("dedupeTtlSeconds must be a positive integer");
  const stream = `${prefix}usage`;
  // RESP2: stream replies keep their classic array shape. While Redis is unreachable no command is
  // queued (enableOfflineQueue off) and none waits longer than commandTimeoutMs: a request that
  // cannot be authorized or metered is refused (503 METERING_UNAVAILABLE) at once instead of hanging,
  // while ioredis reconnects in the background and the next request goes through.
  const redis = new Redis(config.url, {
    protocol: 2,
    lazyConnect: true,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1_000),
    ...(failFast ? { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: commandTimeoutMs } : { maxRetriesPerRequest: 1 }),
  }) as RecordingRedis;
  if (config.onError) redis.on("error", config.onError);
  redis.defineCommand("cxptHold", { numberOfKeys: 5, lua: HOLD_LUA });
  redis.defineCommand("cxptPutKeyBudget", { numberOfKeys: 1, lua: PUT_KEY_BUDGET_LUA });
  redis.defineCommand("cxptRelease", { numberOfKeys: 3, lua: RELEASE_LUA });
  redis.defineCommand("cxptPutBudget", { numberOfKeys: 1, lua: PUT_BUDGET_LUA });
  redis.defineCommand("cxptRecordUsage", { numberOfKeys: 1, lua: RECORD_LUA });
  redis.defineCommand("cxptAck", { numberOfKeys: 1, lua: ACK_LUA });
  try {
    await redis.connect();
    await redis.call("XGROUP", "CREATE", stream, group, "0", "MKSTREAM").catch((error: Error) => {
      if (!error.message.startsWith("BUSYGROUP")) throw error; // BUSYGROUP: it exists already
    });
  } catch (error) {
    redis.disconnect();
    throw error;
  }

  const keys = (accountId: string) => {
    const id = accountId.toLowerCase();
    return [`${prefix}a:${id}`, `${prefix}h:${id}`, `${prefix}hd:${id}`] as const;
  };
  const refuse = (error: unknown): never => {
    throw unavailable(
      "METERING_UNAVAILABLE",
      `usage cannot be authorized or recorded right now (the metering store is unreachable: ${error instanceof Error ? error.message : String(error)}); nothing was charged, retry shortly`,
    );
  };

  async function read(from: "0" | ">", count: number): Promise<StreamEntry[]> {
    const reply = (await redis.call("XREADGROUP", "GROUP", group, consumer, "COUNT", count, "STREAMS", stream, from)) as
      | [string, StreamEntry[]][]
      | null;
    return reply?.[0]?.[1] ?? [];
  }

  async function ack(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await redis.cxptAck(stream, group, prefix, ...ids);
  }

  const rate = (limit: unknown, remaining: unknown, resetMs: unknown) => ({ limit: Number(limit), remaining: Number(remaining), resetMs: Number(resetMs) });

  return {
    async hold(request: HoldRequest): Promise<HoldResult> {
      const [a, h, hd] = keys(request.accountId);
      const { requestId, mode, tokens, cashUnits, now, holdMs, keyId } = request;
      const k = keyId === undefined ? "" : `${prefix}k:${keyId}`;
      const reply = await redis.cxptHold(a, h, hd, `${prefix}req:${requestId}`, k, requestId, mode, tokens, cashUnits, now, holdMs).catch(refuse);
      switch (reply[0]) {
        case "held":
          return { kind: "held", pool: reply[1] === "b" ? "bucket" : "cash", rate: rate(reply[2], reply[3], reply[4]), subscriber: reply[5] === "1" };
        case "load":
          return { kind: "load", generation: Number(reply[1]) };
        case "reused":
          return { kind: "reused" };
        case "busy":
          return { kind: "busy", concurrency: Number(reply[1]), rate: rate(reply[2], reply[3], reply[4]) };
        case "rate":
          return { kind: "rate", rate: rate(reply[1], reply[2], reply[3]) };
        case "loadkey":
          return { kind: "loadKey", generation: Number(reply[1]) };
        case "keylimit":
          return { kind: "keyLimit", availableUnits: Number(reply[1]) };
        default:
          return { kind: "funds", availableUnits: Number(reply[1]), undrainedUnits: Number(reply[2]), heldUnits: Number(reply[3]) };
      }
    },

    async release(accountId: string, requestId: string): Promise<void> {
      const [a, h, hd] = keys(accountId);
      await redis.cxptRelease(a, h, hd, requestId).catch(refuse);
    },

    async putBudget(accountId: string, budget: Budget, generation: number, expiresAt: number): Promise<boolean> {
      const { mode, bucketTokens, cashUnits, limits, subscriber } = budget;
      const stored = await redis
        .cxptPutBudget(keys(accountId)[0], generation, expiresAt, mode, bucketTokens, cashUnits, limits.requestsPerMinute, limits.concurrency, subscriber ? 1 : 0)
        .catch(refuse);
      return stored === 1;
    },

    async putKeyBudget(keyId: string, remainingUnits: number | null, generation: number, expiresAt: number): Promise<boolean> {
      return (await redis.cxptPutKeyBudget(`${prefix}k:${keyId}`, generation, expiresAt, remainingUnits ?? -1).catch(refuse)) === 1;
    },

    async invalidateKey(keyId: string): Promise<void> {
      const k = `${prefix}k:${keyId}`;
      await redis.multi().hincrby(k, "kg", 1).hset(k, "kexp", "0").exec();
    },

    async invalidate(accountId: string): Promise<void> {
      const [a] = keys(accountId);
      await redis.multi().hincrby(a, "g", 1).hset(a, "bexp", "0").exec();
    },

    async usage(accountId: string): Promise<AccountUsage> {
      const [a, h] = keys(accountId);
      const [[, fields], [, inFlight]] = (await redis.multi().hmget(a, "ut", "uc", "ht", "hc").zcard(h).exec().catch(refuse)) as [
        [unknown, (string | null)[]],
        [unknown, number],
      ];
      const [ut, uc, ht, hc] = fields.map((v) => Number(v ?? 0));
      return { undrainedTokens: ut, undrainedUnits: uc, heldTokens: ht, heldUnits: hc, inFlight };
    },

    async record(events: readonly UsageEvent[]): Promise<boolean[]> {
      if (events.length === 0) return [];
      const args: (string | number)[] = [];
      for (const e of events)
        args.push(e.accountId.toLowerCase(), e.requestId, encodeEvent(e), e.pool === "bucket" ? "b" : "c", usedAmount(e), e.apiKeyId ?? "", keyUnits(e));
      const reply = await redis.cxptRecordUsage(stream, prefix, dedupeTtlSeconds, ...args).catch(refuse);
      return reply.map((r) => r === 1);
    },

    async pull(max: number): Promise<PulledBatch> {
      if (max <= 0) return { ids: [], events: [] }; // COUNT 0 would mean "no limit"
      // Our own pending entries first (pulled before but never acknowledged), then new ones.
      const entries = await read("0", max);
      if (entries.length < max) entries.push(...(await read(">", max - entries.length)));
      const ids: string[] = [];
      const events: UsageEvent[] = [];
      const vanished: string[] = [];
      for (const [id, fields] of entries) {
        if (fields === null) vanished.push(id); // deleted while pending: nothing to deliver
        else {
          ids.push(id);
          events.push(decodeEvent(fields[1]));
        }
      }
      await ack(vanished);
      return { ids, events };
    },

    ack,

    async close(): Promise<void> {
      // quit() waits for Redis; when it is gone, just drop the connection.
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
