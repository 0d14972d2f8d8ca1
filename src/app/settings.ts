// Runtime settings the admin changes, kept in the settings table so they survive a restart:
// the stage and phase (the configuration gives the first value, the admin's switch the later ones).
import type { Queryable } from "../db/db.ts";
import type { StageSettings } from "../stage/stage.ts";
import type { RuntimeStage } from "./context.ts";

const STAGE_KEY = "stage";

export async function readSetting<T>(db: Queryable, key: string): Promise<T | undefined> {
  const { rows } = await db.query<{ value: T }>("select value from settings where key = $1", [key]);
  return rows[0]?.value;
}

export async function writeSetting(db: Queryable, key: string, value: unknown): Promise<void> {
  await db.query(
    `insert into settings (key, value, updated_at) values ($1, $2, now())
     on conflict (key) do update set value = excluded.value, updated_at = now()`,
    [key, JSON.stringify(value)],
  );
}

interface SavedStage {
  /** The configured stage when the admin switched: a new configuration overrides the switch. */
  readonly configured: StageSettings;
  readonly current: StageSettings;
}

const same = (a: StageSettings, b: StageSettings) => a.stage === b.stage && a.phase === b.phase;

/** The stage the admin last switched to, unless the configuration changed since; else the configured one. */
export async function loadStage(db: Queryable, configured: StageSettings): Promise<RuntimeStage> {
  const saved = await readSetting<SavedStage>(db, STAGE_KEY);
  return { ...(saved && same(saved.configured, configured) ? saved.current : configured) };
}

export async function saveStage(db: Queryable, configured: StageSettings, current: StageSettings): Promise<void> {
  await writeSetting(db, STAGE_KEY, { configured, current } satisfies SavedStage);
}
