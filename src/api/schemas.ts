// Shared JSON schemas: amounts travel as decimal strings of wei (never JSON numbers), addresses
// and hashes as 0x-hex, every error as { error: { code, message, details? } }.
import { Type, type TSchema } from "typebox";

export const Wei = Type.String({ pattern: "^[0-9]{1,78}$", description: "integer amount in wei (1 CXPT = 10^18 wei), as a decimal string" });
export const Address = Type.String({ pattern: "^0x[0-9a-fA-F]{40}$", description: "an EVM address" });
export const TxHash = Type.String({ pattern: "^0x[0-9a-fA-F]{64}$", description: "a transaction hash" });
export const HexData = Type.String({ pattern: "^0x([0-9a-fA-F]{2})*$" });
export const Uuid = Type.String({ format: "uuid" });
export const Timestamp = Type.String({ format: "date-time" });

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: "machine-readable, UPPER_SNAKE" }),
      message: Type.String({ description: "for people" }),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  },
  { $id: "Error", description: "What went wrong" },
);

/** The error answers a route may give, for its OpenAPI description. */
export function errors(...statuses: readonly number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorBody]));
}

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** A UTC day. */
export const Day = Type.String({ pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description: "a UTC day, YYYY-MM-DD" });

/** The `limit` and `cursor` query fields of a keyset-paged list (query strings are not coerced). */
export const pageQuery = (what: string, max: number, fallback: number) => ({
  limit: Type.Optional(Type.String({ pattern: "^[0-9]{1,4}$", description: `${what} per page, 1–${max} (${fallback})` })),
  cursor: Type.Optional(Type.String({ description: "nextCursor of the previous page" })),
});
