// What `npm start` leaves in its data folder for the operator CLI (scripts/cxpt.ts): where its API
// listens and how it reached the chain, in stack.json. Nothing secret: keys and database passwords
// come from the environment (or the development defaults on 31337), as for npm start itself.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface StackRecord {
  /** The npm start process; it may have stopped since (see stack.pid). */
  readonly pid: number;
  /** Where its API listened. */
  readonly apiUrl: string;
  /** The chain it ran on; undefined with the chain off. */
  readonly chain: { readonly chainId: number; readonly embedded: boolean; readonly rpcUrl: string } | undefined;
  readonly startedAt: string;
}

export const stackRecordFile = (dataDir: string): string => join(dataDir, "stack.json");

export async function writeStackRecord(dataDir: string, record: StackRecord): Promise<void> {
  await writeFile(stackRecordFile(dataDir), JSON.stringify(record, null, 2) + "\n");
}

/** The record npm start left in `dataDir`, if any. */
export async function readStackRecord(dataDir: string): Promise<StackRecord | undefined> {
  try {
    return JSON.parse(await readFile(stackRecordFile(dataDir), "utf8")) as StackRecord;
  } catch {
    return undefined;
  }
}
