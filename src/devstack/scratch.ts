// Throwaway namespaces on shared servers, for tests and benchmarks that run against the machine's
// PostgreSQL and Redis: a database of its own per run and a Redis key prefix, both removed after.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import pg from "pg";

export interface ScratchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

async function onServer(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client(serverUrl);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates database `<label>_<random>` on the server of `serverUrl`; `drop()` removes it. */
export async function scratchDatabase(serverUrl: string, label: string): Promise<ScratchDatabase> {
  const name = `${label}_${randomBytes(6).toString("hex")}`;
  await onServer(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => onServer(serverUrl, `drop database if exists ${name} with (force)`) };
}

/** A fresh Redis key prefix `<label>:<random>:`. */
export const scratchPrefix = (label: string): string => `${label}:${randomBytes(6).toString("hex")}:`;

/** Deletes every key under `prefix`; returns how many. */
export async function deleteRedisPrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl);
  let deleted = 0;
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 10_000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    await redis.quit();
  }
  return deleted;
}
