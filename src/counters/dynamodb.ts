// The counters in DynamoDB (COUNTER_STORE=dynamodb): one table with a string hash key `pk` and a
// string range key `sk`. Every increment is one UpdateItem, atomic on its own: it ADDs to the
// counter and ADDs the request id to the item's `ids` string set, on the condition that the set does
// not hold it yet; a repeated request id fails the condition and counts nothing. (One call, no
// transaction: TransactWriteItems would do too on AWS, but one conditional update is cheaper and runs
// on dynalite, the tests' stand-in.) Items are sharded by the request id's hash so that no item's id
// set nears DynamoDB's 400 KB item limit: SHARDS × ~9,000 ids per provider, tier and hour.
//
//   served#<hour ISO>            <provider>#<tier>#<shard>   n = requests, ids
//   bucket#<account>             <day ISO>#<shard>           n = tokens, ids
//
// The served items of an hour share a partition, so the rewards job reads a window with one Query
// per hour; an account's bucket days share one, read with one Query by range.
import { createHash } from "node:crypto";
import { ConditionalCheckFailedException, DescribeTableCommand, DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ConfigError } from "../config/config.ts";
import { checkRequestId, dayOf, DAY_MS, HOUR_MS, hourOf, periodsIn, type CounterStore, type ServedCount } from "./counters.ts";

/** Shards per counter (see the file comment). */
export const SHARDS = 32;

export interface DynamoCountersConfig {
  readonly table: string;
  readonly region: string;
  /** A DynamoDB-compatible endpoint (dynalite, DynamoDB Local); AWS's regional endpoint when unset. */
  readonly endpoint?: string | undefined;
  /** Static credentials (local endpoints); the SDK's default chain (IAM role, environment) when unset. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
}

const shardOf = (requestId: string): number => createHash("sha256").update(requestId).digest().readUInt32BE(0) % SHARDS;
const sep = (...parts: (string | number)[]) => parts.join("#");

/** The reason a DynamoDB call failed, in one line naming the setting to check. */
function describeFailure(error: unknown, config: DynamoCountersConfig): string {
  const name = (error as { name?: string }).name ?? "";
  const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
  const where = config.endpoint ? `DYNAMODB_ENDPOINT ${config.endpoint}` : `AWS_REGION ${config.region}`;
  if (name === "ResourceNotFoundException") return `COUNTER_STORE=dynamodb: table "${config.table}" (DYNAMODB_TABLE) does not exist at ${where}`;
  if (name === "UnrecognizedClientException" || name === "InvalidSignatureException") return `COUNTER_STORE=dynamodb: ${where} refused the credentials (${message}); check AWS_REGION and the credentials`;
  const code = (error as { code?: string; cause?: { code?: string } }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  if (code !== undefined || /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|getaddrinfo|connect/i.test(message)) return `COUNTER_STORE=dynamodb: cannot reach DynamoDB at ${where} (${code ?? message})`;
  return `COUNTER_STORE=dynamodb: ${where}: ${name ? `${name}: ` : ""}${message}`;
}

/**
 * Opens the DynamoDB counters and checks the table before anything uses it: it must exist and be
 * keyed by the string `pk` (hash) and `sk` (range). @throws ConfigError, one line naming the problem.
 */
export async function openDynamoCounters(config: DynamoCountersConfig): Promise<CounterStore> {
  const clientConfig: DynamoDBClientConfig = {
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.credentials ? { credentials: { ...config.credentials } } : {}),
    // Start-up checks fail fast; the counters themselves retry a few times.
    maxAttempts: 3,
  };
  const client = new DynamoDBClient(clientConfig);
  // Counts may pass 2^53: numbers are read back as strings (wrapNumbers), never as floats.
  const doc = DynamoDBDocumentClient.from(client, { unmarshallOptions: { wrapNumbers: true } });
  const { table } = config;
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
    const keys = Object.fromEntries((Table?.KeySchema ?? []).map((k) => [k.KeyType, k.AttributeName]));
    const types = Object.fromEntries((Table?.AttributeDefinitions ?? []).map((a) => [a.AttributeName, a.AttributeType]));
    if (keys.HASH !== "pk" || keys.RANGE !== "sk" || types.pk !== "S" || types.sk !== "S") {
      throw new ConfigError(`COUNTER_STORE=dynamodb: table "${table}" must have the string hash key "pk" and the string range key "sk"`);
    }
  } catch (error) {
    client.destroy();
    throw error instanceof ConfigError ? error : new ConfigError(describeFailure(error, config));
  }

  /** ADDs `amount` to item (pk, sk) once per request id (and SETs `attributes`); false when the id was there already. */
  async function addOnce(pk: string, sk: string, requestId: string, amount: bigint, attributes: Record<string, string> = {}): Promise<boolean> {
    const names = Object.keys(attributes);
    const set = names.length === 0 ? "" : ` SET ${names.map((_, i) => `#a${i} = :a${i}`).join(", ")}`;
    try {
      await doc.send(
        new UpdateCommand({
          TableName: table,
          Key: { pk, sk },
          UpdateExpression: `ADD #n :amount, #ids :id${set}`,
          ConditionExpression: "attribute_not_exists(#ids) OR NOT contains(#ids, :rid)",
          ExpressionAttributeNames: { "#n": "n", "#ids": "ids", ...Object.fromEntries(names.map((name, i) => [`#a${i}`, name])) },
          ExpressionAttributeValues: {
            ":amount": amount,
            ":id": new Set([requestId]),
            ":rid": requestId,
            ...Object.fromEntries(names.map((name, i) => [`:a${i}`, attributes[name]!])),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as { name?: string }).name === "ConditionalCheckFailedException") return false;
      throw error;
    }
  }

  /** Every item of partition `pk` (with `sk` between `from` and `to` when given), all pages; strongly consistent with `range`. */
  async function query(pk: string, range?: { from: string; to: string }): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: range ? "pk = :pk AND sk BETWEEN :from AND :to" : "pk = :pk",
          ExpressionAttributeValues: { ":pk": pk, ...(range ? { ":from": range.from, ":to": range.to } : {}) },
          ProjectionExpression: "#n, #p, #t",
          ExpressionAttributeNames: { "#n": "n", "#p": "provider", "#t": "tier" },
          ExclusiveStartKey: start,
          // Bucket days are read while they are being counted: the reconciliation must see every count that returned.
          ConsistentRead: range !== undefined,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  const bigintOf = (value: unknown): bigint => BigInt(typeof value === "object" && value !== null && "value" in value ? String((value as { value: string }).value) : String(value));

  return {
    kind: "dynamodb",
    countServed: (requestId, { providerAccountId, tier, at }) =>
      addOnce(sep("served", hourOf(at).toISOString()), sep(providerAccountId, tier, shardOf(checkRequestId(requestId))), requestId, 1n, { provider: providerAccountId, tier }),
    async served(window) {
      const counts = new Map<string, ServedCount>();
      for (const hour of periodsIn(window, HOUR_MS)) {
        for (const item of await query(sep("served", hour.toISOString()))) {
          const providerAccountId = String(item.provider);
          const tier = String(item.tier);
          const key = sep(providerAccountId, tier, hour.toISOString());
          const before = counts.get(key)?.requests ?? 0n;
          counts.set(key, { providerAccountId, tier, hour, requests: before + bigintOf(item.n) });
        }
      }
      return [...counts.values()].filter((c) => c.requests > 0n);
    },
    async countBucket(requestId, { accountId, at, tokens }) {
      if (tokens < 0n) throw new RangeError(`bucket tokens must not be negative, got ${tokens}`);
      return addOnce(sep("bucket", accountId), sep(dayOf(at).toISOString(), shardOf(checkRequestId(requestId))), requestId, tokens);
    },
    async bucketTokens(accountId, window) {
      const days = periodsIn(window, DAY_MS);
      if (days.length === 0) return 0n;
      // Day keys sort as ISO strings; "#~" ends after every shard of the last day.
      const items = await query(sep("bucket", accountId), { from: days[0]!.toISOString(), to: `${days.at(-1)!.toISOString()}#~` });
      return items.reduce((sum, item) => sum + bigintOf(item.n), 0n);
    },
    close: async () => client.destroy(),
  };
}
