// The gateway's ServedWorkRecorder (src/providers/router.ts) over a counter store: each served
// request counts once for its provider, tier and UTC hour, in PostgreSQL or DynamoDB. Recording never
// throws into the request: increments run in the background, failures are logged, and flush()
// waits for what was recorded so far.
import type { Logger } from "../monitoring/index.ts";
import type { ServedRequest, ServedWorkRecorder } from "../providers/router.ts";
import type { CounterStore } from "./counters.ts";

/** A served request's idempotency key: the same request recorded twice counts once. */
const requestIdOf = (served: ServedRequest): string => `served:${served.requestId}`;

export function servedWorkRecorder(store: CounterStore, log: Logger): ServedWorkRecorder & { flush(): Promise<void> } {
  const pending = new Set<Promise<unknown>>();
  return {
    record(served) {
      const work = store
        .countServed(requestIdOf(served), { providerAccountId: served.providerAccountId, tier: served.tier, at: new Date(served.at) })
        .catch((error: unknown) => log.error({ component: "counters", store: store.kind, provider: served.providerAccountId, err: error }, "served request not counted"))
        .finally(() => pending.delete(work));
      pending.add(work);
    },
    async flush() {
      await Promise.all([...pending]);
    },
  };
}
