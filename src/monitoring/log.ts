// Structured JSON logs (pino, the logger Fastify itself uses): one line per event with a `msg`, a
// `component` and the event's fields, so jobs, alerts and requests land in one searchable stream.
// Levels are written by name ("level":"warn") and times as ISO dates, for people and log search alike.
import { pino, type Logger } from "pino";

export type { Logger };

export interface LogOptions {
  /** pino level; "silent" logs nothing (tests). */
  readonly level: string;
  /** Where lines go; standard output by default. */
  readonly destination?: pino.DestinationStream;
}

export function createLogger(options: LogOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: "cxpt" },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}

/**
 * The logger of one `component` at `level`, or quieter when the parent is: a component may log
 * less than the app's LOG_LEVEL allows, never more (LOG_LEVEL=silent silences everything).
 */
export function componentLogger(parent: Logger, component: string, level: string): Logger {
  const wanted = parent.levels.values[level];
  if (wanted === undefined) throw new Error(`unknown log level "${level}"`);
  return parent.child({ component }, { level: wanted >= parent.levelVal ? level : parent.level });
}
