// The Redis metering store. A batch of events is ONE script call (EVALSHA): per event
// `SET <prefix>req:<id> 1 NX EX <ttl>` and, only when that set a new key, `XADD <prefix>usage`.
// The drain reads the stream through a consumer group, so an event pulled by a drain that died
// before acknowledging it is delivered again.
import { Redis } from "ioredis";
import { unavailable } from "../errors.ts";
import {
  DEFAULT_DEDUPE_TTL_SECONDS,
  decodeEvent,
  encodeEvent,
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
  /** Connection errors (commands fail on their own); without it ioredis prints them. */
  readonly onError?: (error: Error) => void;
}

// KEYS[1] = stream; ARGV = dedupe key prefix, ttl, then (request id, encoded event) pairs.
// Replies one 1 (recorded) or 0 (duplicate) per event, in order.
const RECORD_LUA = `
local stream, prefix, ttl = KEYS[1], ARGV[1], ARGV[2]
local out = {}
for i = 3, #ARGV, 2 do
  if redis.call('SET', prefix .. ARGV[i], '1', 'NX', 'EX', ttl) then
    redis.call('XADD', stream, '*', 'e', ARGV[i + 1])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out`;

type RecordingRedis = Redis & {
  cxptRecordUsage(stream: string, prefix: string, ttl: number, ...pairs: string[]): Promise<number[]>;
};

type StreamEntry = [id: string, fields: string[] | null];

/** Opens the Redis store: connects and creates the stream's consumer group if missing. */
export async function openRedisMeterStore(config: RedisMeterStoreConfig): Promise<MeterStore> {
  const { prefix, dedupeTtlSeconds = DEFAULT_DEDUPE_TTL_SECONDS, group = "drain", consumer = "drain" } = config;
  if (!Number.isSafeInteger(dedupeTtlSeconds) || dedupeTtlSeconds <= 0) throw new RangeError("dedupeTtlSeconds must be a positive integer");
  const stream = `${prefix}usage`;
  const dedupePrefix = `${prefix}req:`;
  // RESP2: stream replies keep their classic array shape.
  // While Redis is unreachable a command waits for one reconnection attempt, then fails: a request
  // that cannot be metered is refused (503) within a moment rather than held for a minute (the
  // default is 20 attempts), and a blip shorter than one attempt goes unnoticed.
  const redis = new Redis(config.url, { protocol: 2, lazyConnect: true, maxRetriesPerRequest: 1 }) as RecordingRedis;
  if (config.onError) redis.on("error", config.onError);
  redis.defineCommand("cxptRecordUsage", { numberOfKeys: 1, lua: RECORD_LUA });
  try {
    await redis.connect();
    await redis.call("XGROUP", "CREATE", stream, group, "0", "MKSTREAM").catch((error: Error) => {
      if (!error.message.startsWith("BUSYGROUP")) throw error; // BUSYGROUP: it exists already
    });
  } catch (error) {
    redis.disconnect();
    throw error;
  }

  async function read(from: "0" | ">", count: number): Promise<StreamEntry[]> {
    const reply = (await redis.call("XREADGROUP", "GROUP", group, consumer, "COUNT", count, "STREAMS", stream, from)) as
      | [string, StreamEntry[]][]
      | null;
    return reply?.[0]?.[1] ?? [];
  }

  async function ack(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await redis.multi().xack(stream, group, ...ids).xdel(stream, ...ids).exec();
  }

  return {
    async record(events: readonly UsageEvent[]): Promise<boolean[]> {
      if (events.length === 0) return [];
      const pairs: string[] = new Array(events.length * 2);
      for (let i = 0; i < events.length; i++) {
        pairs[2 * i] = events[i].requestId;
        pairs[2 * i + 1] = encodeEvent(events[i]);
      }
      const reply = await redis.cxptRecordUsage(stream, dedupePrefix, dedupeTtlSeconds, ...pairs).catch((error: unknown) => {
        throw unavailable("METERING_UNAVAILABLE", `usage cannot be recorded right now (the metering store is unreachable: ${error instanceof Error ? error.message : String(error)}); nothing was charged, retry shortly`);
      });
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
