// The price table as data: USD prices per unit of each service (the inference tiers for chat and
// completions, flat rates for the specialised services), parsed from admin JSON into exact
// integer atto-USD (1e-18 USD), and the pure functions that price a request.
import { badRequest } from "../errors.ts";

/** 1 USD in atto-USD; also 1 CXPT in wei (18 decimals each). */
export const ONE_E18 = 10n ** 18n;

/** A rate as published: USD decimal strings for `per` units in and out (JSON form). */
export interface RateJson {
  /** What a unit is: "token" (draws the subscription bucket), "second", "page", … */
  readonly unit: string;
  /** How many units the prices are for (1000 for per-1K-token prices, 60 for per-minute by the second). */
  readonly per: number;
  readonly inputUsd: string;
  readonly outputUsd: string;
}

/** The price table as the admin stores it (JSON, decimal strings). */
export interface PriceTableJson {
  /** Services priced by inference tier (the request names the tier). */
  readonly tieredServices: readonly string[];
  /** Tier id → rate, for the tiered services. */
  readonly tiers: Readonly<Record<string, RateJson>>;
  /** Flat-priced services: service → rate. */
  readonly services: Readonly<Record<string, RateJson>>;
}

/** A parsed rate: atto-USD for `per` units. */
export interface Rate {
  readonly unit: string;
  readonly per: bigint;
  readonly inputAusd: bigint;
  readonly outputAusd: bigint;
}

/** The parsed, validated price table (what the meter prices with). */
export interface PriceTable {
  readonly tieredServices: ReadonlySet<string>;
  readonly tiers: ReadonlyMap<string, Rate>;
  readonly services: ReadonlyMap<string, Rate>;
}

/** What a request consumed. `tier` is required for tiered services and ignored otherwise. */
export interface PriceInput {
  readonly service: string;
  readonly tier?: string | undefined;
  readonly unitsIn: number;
  readonly unitsOut: number;
}

export interface Price {
  /** The exact cost in atto-USD, rounded up. */
  readonly costAusd: bigint;
  /** Units that draw a subscription token bucket: unitsIn + unitsOut when the unit is "token", else 0. */
  readonly tokens: number;
}

/** The published defaults (../shared/PRICING.md). tts bills seconds of audio out, scrape pages in. */
export const DEFAULT_PRICE_TABLE_JSON: PriceTableJson = {
  tieredServices: ["chat", "completions"],
  tiers: {
    "tide-pool": { unit: "token", per: 1000, inputUsd: "0.00015", outputUsd: "0.00030" },
    "blue-surge": { unit: "token", per: 1000, inputUsd: "0.00035", outputUsd: "0.00070" },
    "open-ocean": { unit: "token", per: 1000, inputUsd: "0.00120", outputUsd: "0.00240" },
    "mariana-depth": { unit: "token", per: 1000, inputUsd: "0.00350", outputUsd: "0.00700" },
  },
  services: {
    embeddings: { unit: "token", per: 1000, inputUsd: "0.00002", outputUsd: "0" },
    tts: { unit: "second", per: 60, inputUsd: "0", outputUsd: "0.008" },
    scrape: { unit: "page", per: 1, inputUsd: "0.0006", outputUsd: "0" },
  },
};

/**
 * Parses a non-negative decimal string ("0.00015", "1.5e-4") into integer units of 10^-decimals.
 * Throws when it is not a plain decimal or has more precision than `decimals`: prices are exact.
 */
export function parseDecimal(text: string, decimals = 18): bigint {
  const match = /^(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!match) throw badRequest("INVALID_DECIMAL", `not a non-negative decimal: ${JSON.stringify(text)}`);
  const [, whole, fraction = "", exponent = "0"] = match;
  const digits = (whole + fraction).replace(/^0+(?=\d)/, "");
  const scale = decimals - fraction.length + Number(exponent); // value = digits × 10^(scale − decimals)
  if (scale >= 0) return BigInt(digits) * 10n ** BigInt(scale);
  const cut = digits.length + scale;
  const dropped = cut > 0 ? digits.slice(cut) : digits;
  if (/[^0]/.test(dropped)) throw badRequest("INVALID_DECIMAL", `${text} has more than ${decimals} decimals`);
  return cut > 0 ? BigInt(digits.slice(0, cut)) : 0n;
}

/** Formats integer units of 10^-decimals as a plain decimal string (trailing zeros dropped). */
export function formatDecimal(value: bigint, decimals = 18): string {
  const sign = value < 0n ? "-" : "";
  const abs = value < 0n ? -value : value;
  const scale = 10n ** BigInt(decimals);
  const fraction = (abs % scale).toString().padStart(decimals, "0").replace(/0+$/, "");
  return `${sign}${abs / scale}${fraction ? "." + fraction : ""}`;
}

function parseRate(where: string, json: unknown): Rate {
  const rate = json as Partial<RateJson> | null;
  if (typeof rate !== "object" || rate === null) throw badRequest("INVALID_PRICE_TABLE", `${where}: not an object`);
  if (typeof rate.unit !== "string" || rate.unit === "") throw badRequest("INVALID_PRICE_TABLE", `${where}.unit: a non-empty string`);
  if (!Number.isSafeInteger(rate.per) || (rate.per as number) <= 0)
    throw badRequest("INVALID_PRICE_TABLE", `${where}.per: a positive integer`);
  const usd = (field: "inputUsd" | "outputUsd"): bigint => {
    const value = rate[field];
    if (typeof value !== "string") throw badRequest("INVALID_PRICE_TABLE", `${where}.${field}: a decimal string`);
    try {
      return parseDecimal(value);
    } catch (error) {
      throw badRequest("INVALID_PRICE_TABLE", `${where}.${field}: ${(error as Error).message}`);
    }
  };
  return { unit: rate.unit, per: BigInt(rate.per as number), inputAusd: usd("inputUsd"), outputAusd: usd("outputUsd") };
}

function parseRates(where: string, json: unknown): Map<string, Rate> {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw badRequest("INVALID_PRICE_TABLE", `${where}: an object of rates`);
  return new Map(Object.entries(json).map(([id, rate]) => [id, parseRate(`${where}.${id}`, rate)]));
}

/** Validates an admin-supplied price table (parsed JSON) and converts it to exact atto-USD. */
export function parsePriceTable(json: unknown): PriceTable {
  const table = json as Partial<PriceTableJson> | null;
  if (typeof table !== "object" || table === null) throw badRequest("INVALID_PRICE_TABLE", "price table: not an object");
  const tiered = table.tieredServices;
  if (!Array.isArray(tiered) || !tiered.every((s) => typeof s === "string" && s !== ""))
    throw badRequest("INVALID_PRICE_TABLE", "tieredServices: an array of service names");
  const tiers = parseRates("tiers", table.tiers);
  const services = parseRates("services", table.services);
  if (tiered.length > 0 && tiers.size === 0) throw badRequest("INVALID_PRICE_TABLE", "tiered services need at least one tier");
  const clash = tiered.find((s) => services.has(s));
  if (clash) throw badRequest("INVALID_PRICE_TABLE", `${clash} is both tiered and flat-priced`);
  return { tieredServices: new Set(tiered), tiers, services };
}

/** The JSON form of a parsed table (what the admin API shows and stores). */
export function priceTableToJson(table: PriceTable): PriceTableJson {
  const rates = (map: ReadonlyMap<string, Rate>): Record<string, RateJson> =>
    Object.fromEntries(
      [...map].map(([id, r]) => [
        id,
        { unit: r.unit, per: Number(r.per), inputUsd: formatDecimal(r.inputAusd), outputUsd: formatDecimal(r.outputAusd) },
      ]),
    );
  return { tieredServices: [...table.tieredServices], tiers: rates(table.tiers), services: rates(table.services) };
}

export const DEFAULT_PRICE_TABLE: PriceTable = parsePriceTable(DEFAULT_PRICE_TABLE_JSON);

/** The rate a request is priced at; throws UNKNOWN_SERVICE / UNKNOWN_TIER (400). */
export function rateFor(table: PriceTable, service: string, tier: string | undefined): Rate {
  if (table.tieredServices.has(service)) {
    const rate = tier === undefined ? undefined : table.tiers.get(tier);
    if (!rate) throw badRequest("UNKNOWN_TIER", `unknown tier ${JSON.stringify(tier)} for ${service}`);
    return rate;
  }
  const rate = table.services.get(service);
  if (!rate) throw badRequest("UNKNOWN_SERVICE", `unknown service ${JSON.stringify(service)}`);
  return rate;
}

/**
 * Prices a request exactly: ceil((unitsIn × input + unitsOut × output) / per) atto-USD.
 * One rounding per request, upward, so the charge is never below the published price and at most
 * 1 atto-USD above it (the published per-1K-token prices divide exactly: no rounding at all).
 */
export function priceRequest(table: PriceTable, input: PriceInput): Price {
  const rate = rateFor(table, input.service, input.tier);
  const { unitsIn, unitsOut } = input;
  if (!Number.isSafeInteger(unitsIn) || unitsIn < 0 || !Number.isSafeInteger(unitsOut) || unitsOut < 0)
    throw badRequest("INVALID_UNITS", "unitsIn and unitsOut must be non-negative integers");
  const total = BigInt(unitsIn) * rate.inputAusd + BigInt(unitsOut) * rate.outputAusd;
  return { costAusd: ceilDiv(total, rate.per), tokens: rate.unit === "token" ? unitsIn + unitsOut : 0 };
}

/** ceil(a / b) for a ≥ 0, b > 0. */
export const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

/** atto-USD → CXPT wei at `cxptUsdAusd` atto-USD per CXPT, rounded up (never under-charge). */
export function ausdToWei(costAusd: bigint, cxptUsdAusd: bigint): bigint {
  if (cxptUsdAusd <= 0n) throw new RangeError("the CXPT price must be positive");
  return ceilDiv(costAusd * ONE_E18, cxptUsdAusd);
}
