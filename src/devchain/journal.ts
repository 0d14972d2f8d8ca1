// The devchain's journal: one JSON line per state-changing request, appended and fsynced before the
// request is answered, so a crash never loses an acknowledged transaction. The first line describes
// the chain it belongs to. A line cut short by a crash mid-write is dropped on open.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Hash } from "viem";
import { AppError } from "../errors.ts";

/** The first line: the chain the entries replay onto. */
export interface JournalHeader {
  readonly version: 1;
  readonly chainId: number;
  /** Genesis block: its timestamp recreates it, its hash proves it is the same. */
  readonly genesis: { readonly timestamp: number; readonly hash: Hash };
  /** The node clock minus the wall clock (seconds) when the chain was created. */
  readonly offset: number;
}

/** One state-changing request that went through, with what it did to the chain. */
export interface JournalEntry {
  readonly method: string;
  readonly params: readonly unknown[];
  /** Timestamp of the first block it mined (absent when it mined none). */
  readonly timestamp?: number;
  /** Latest block hash afterwards: replay must reach the same one. */
  readonly head: Hash;
  /** The node clock minus the wall clock (seconds) afterwards. */
  readonly offset: number;
  /** The request answered with an error but still changed the chain (replay expects the error again). */
  readonly failed?: true;
}

export interface Journal {
  /** Undefined for a new journal: the caller writes it with `start`. */
  readonly header: JournalHeader | undefined;
  readonly entries: readonly JournalEntry[];
  /** Bytes of a torn last line that opening dropped (0 when the file ended cleanly). */
  readonly dropped: number;
  start(header: JournalHeader): void;
  append(entry: JournalEntry): void;
  close(): void;
}

const FILE = "journal.ndjson";

/** The records in the journal file, after dropping a torn last line. */
function readRecords(fd: number, path: string): { records: unknown[]; dropped: number } {
  const text = readFileSync(fd, "utf8");
  // Everything after the last newline was never acknowledged: a crash cut that write short.
  const end = text.lastIndexOf("\n") + 1;
  const dropped = Buffer.byteLength(text.slice(end));
  if (dropped > 0) truncateSync(path, Buffer.byteLength(text.slice(0, end)));
  const lines = text.slice(0, end).split("\n").filter((line) => line !== "");
  const records = lines.map((line, i) => {
    try {
      return JSON.parse(line) as unknown;
    } catch {
      throw new AppError("DEVCHAIN_JOURNAL_CORRUPT", `${path}: line ${i + 1} is not JSON`, 500);
    }
  });
  const header = records[0] as JournalHeader | undefined;
  if (header !== undefined && header.version !== 1) {
    throw new AppError("DEVCHAIN_JOURNAL_CORRUPT", `${path}: unknown journal version ${String(header.version)}`, 500);
  }
  return { records, dropped };
}

/** Opens (or creates) `<dataDir>/journal.ndjson`, reading what it holds. */
export function openJournal(dataDir: string): Journal {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, FILE);
  const fd = openSync(path, "a+");
  let read: ReturnType<typeof readRecords>;
  try {
    read = readRecords(fd, path);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  const [header, ...entries] = read.records as [JournalHeader | undefined, ...JournalEntry[]];

  const write = (record: JournalHeader | JournalEntry): void => {
    const bytes = Buffer.from(`${JSON.stringify(record)}\n`);
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
    fsyncSync(fd);
  };
  return {
    header,
    entries,
    dropped: read.dropped,
    start: (record) => {
      write(record);
      // The file itself is new: make its directory entry durable too.
      const dir = openSync(dataDir, "r");
      fsyncSync(dir);
      closeSync(dir);
    },
    append: write,
    close: () => closeSync(fd),
  };
}
