// A small read-through cache for the gate: a fresh or stale value is returned synchronously (a stale
// one starts a single background refresh), only a first miss waits for the loader. Loads are
// numbered, so an older load never overwrites a newer one, and an invalidated entry is never
// re-filled by a load that started before the invalidation.

export interface TtlCache<K, V> {
  /** The cached value (refreshed in the background when older than the TTL), or the first load. */
  get(key: K): V | Promise<V>;
  /** The cached value, if any; never loads. */
  peek(key: K): V | undefined;
  /** Forgets the key: the next get waits for a fresh load. */
  invalidate(key: K): void;
  /** Drops every entry: the next get of any key waits for a fresh load. */
  clear(): void;
  /** Loads a cached key again now (a load started before this call does not count). */
  reload(key: K): Promise<void>;
}

export interface TtlCacheConfig<K, V> {
  readonly load: (key: K) => Promise<V>;
  readonly ttlMs: number;
  /** Oldest entries are dropped beyond this; default 100,000. */
  readonly maxEntries?: number;
  /** Called with each installed value (e.g. to index it). */
  readonly onLoad?: (key: K, value: V) => void;
  /** Called when a background refresh fails (the stale value stays in use until the next TTL). */
  readonly onError?: (error: unknown) => void;
  readonly now?: () => number;
}

interface Entry<V> {
  value: V | undefined;
  loaded: boolean;
  loadedSeq: number;
  expiresAt: number;
  loading: Promise<V> | undefined;
}

export function createTtlCache<K, V>(config: TtlCacheConfig<K, V>): TtlCache<K, V> {
  const { load, ttlMs, maxEntries = 100_000, onLoad, onError = () => {}, now = Date.now } = config;
  const entries = new Map<K, Entry<V>>();
  let seq = 0;

  function startLoad(key: K, entry: Entry<V>): Promise<V> {
    const mine = ++seq;
    const promise = load(key).then(
      (value) => {
        if (entries.get(key) === entry && mine > entry.loadedSeq) {
          entry.value = value;
          entry.loaded = true;
          entry.loadedSeq = mine;
          entry.expiresAt = now() + ttlMs;
          onLoad?.(key, value);
        }
        return value;
      },
      (error: unknown) => {
        if (!entry.loaded && entries.get(key) === entry) entries.delete(key); // the next get retries
        else entry.expiresAt = now() + ttlMs; // keep serving the stale value; retry after a TTL
        throw error;
      },
    );
    entry.loading = promise;
    void promise.then(
      () => entry.loading === promise && (entry.loading = undefined),
      () => entry.loading === promise && (entry.loading = undefined),
    );
    return promise;
  }

  return {
    get(key: K): V | Promise<V> {
      const entry = entries.get(key);
      if (entry === undefined) {
        const fresh: Entry<V> = { value: undefined, loaded: false, loadedSeq: 0, expiresAt: 0, loading: undefined };
        entries.set(key, fresh);
        if (entries.size > maxEntries) entries.delete(entries.keys().next().value as K);
        return startLoad(key, fresh);
      }
      if (!entry.loaded) return entry.loading ?? startLoad(key, entry);
      if (entry.expiresAt <= now() && entry.loading === undefined) startLoad(key, entry).catch(onError);
      return entry.value as V;
    },

    peek: (key) => entries.get(key)?.value,

    invalidate(key: K): void {
      entries.delete(key);
    },

    clear: () => entries.clear(),

    async reload(key: K): Promise<void> {
      const entry = entries.get(key);
      if (entry === undefined) return;
      try {
        await startLoad(key, entry);
      } catch {
        entries.delete(key); // could not confirm the current state: the next get waits for it
      }
    },
  };
}
