// Structured JSON logs (pino, the logger Fastify itself uses): one line per event with a `msg`, a
// `component` and the event's fields, so jobs, alerts and requests land in one searchable stream.
import { pino, type Logger } from "pino";

export type { Logger };

export interface LogOptions {
  /** pino level; "silent" logs nothing (tests). */
  readonly level: string;
  /** Where lines go; standard output by default. */
  readonly destination?: pino.DestinationStream;
}

export function createLogger(options: LogOptions): Logger {
  return pino({ level: options.level, base: { service: "cxpt" } }, options.destination);
}
