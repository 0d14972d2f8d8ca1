// Sign-In with Ethereum (EIP-4361) with single-use nonces: the server issues a nonce, the wallet
// signs a message naming it, and the nonce is consumed atomically when the signature checks out,
// so a captured message can never be replayed.
import { generateSiweNonce, parseSiweMessage, validateSiweMessage } from "viem/siwe";
import { verifyMessage, type Address, type Hex, type PublicClient } from "viem";
import type { Queryable } from "../db/db.ts";
import { badRequest, unauthorized } from "../errors.ts";

const NONCE_TTL_SECONDS = 10 * 60;
/** How far a wallet's clock may be ahead of or behind the server's. */
const CLOCK_SKEW_MS = 60_000;

export interface SiweExpectations {
  /** The RFC 3986 authority the message must name (this server's host). */
  readonly domain: string;
  /** The URI the message must name (PUBLIC_URL, as the nonce answer gives it); its scheme is the only one accepted. */
  readonly uri: string;
  /** The chain the message must name, when a chain is configured. */
  readonly chainId: number | undefined;
  /** Verifies contract-wallet (ERC-1271 / ERC-6492) signatures too; EOAs only without it. */
  readonly client: PublicClient | undefined;
}

export async function issueNonce(db: Queryable): Promise<{ nonce: string; expiresAt: Date }> {
  // An expired nonce is refused whether or not its row exists, so expired rows can go.
  await db.query("delete from siwe_nonces where expires_at < now()");
  const nonce = generateSiweNonce();
  const expiresAt = new Date(Date.now() + NONCE_TTL_SECONDS * 1000);
  await db.query("insert into siwe_nonces (nonce, expires_at) values ($1, $2)", [nonce, expiresAt]);
  return { nonce, expiresAt };
}

/** `url` normalised for comparison (`http://a.test` and `http://a.test/` are one), or undefined if it is none. */
const normalUrl = (url: string): string | undefined => {
  try {
    return new URL(url).href;
  } catch {
    return undefined;
  }
};

/**
 * The EIP-4361 fields validateSiweMessage leaves out, against what this server issued: version 1,
 * the URI (and the scheme, when given) of PUBLIC_URL, and an issuedAt within the nonce's lifetime,
 * not in the future. 401 `SIWE_INVALID` naming the field otherwise.
 */
function checkIssuedFields(fields: ReturnType<typeof parseSiweMessage>, expect: SiweExpectations): void {
  const refuse = (what: string) => unauthorized("SIWE_INVALID", `The message's ${what}`);
  if (fields.version !== "1") throw refuse(`version is ${fields.version ?? "missing"}; only version 1 is accepted`);
  if (fields.uri === undefined || normalUrl(fields.uri) !== normalUrl(expect.uri)) throw refuse(`uri is ${fields.uri ?? "missing"}; sign in with uri ${expect.uri}`);
  const scheme = new URL(expect.uri).protocol.slice(0, -1);
  if (fields.scheme !== undefined && fields.scheme !== scheme) throw refuse(`scheme is ${fields.scheme}; this server is reached over ${scheme}`);
  const issuedAt = fields.issuedAt?.getTime();
  if (issuedAt === undefined || Number.isNaN(issuedAt)) throw refuse("issuedAt is missing");
  const now = Date.now();
  if (issuedAt > now + CLOCK_SKEW_MS) throw refuse(`issuedAt ${fields.issuedAt!.toISOString()} is in the future`);
  if (issuedAt < now - NONCE_TTL_SECONDS * 1000 - CLOCK_SKEW_MS) throw refuse(`issuedAt ${fields.issuedAt!.toISOString()} is older than its nonce can be`);
}

/** Checks a signed SIWE message and consumes its nonce; returns the signing wallet. */
export async function verifySignIn(
  db: Queryable,
  input: { readonly message: string; readonly signature: Hex },
  expect: SiweExpectations,
): Promise<Address> {
  const fields = parseSiweMessage(input.message);
  if (!fields.address || !fields.nonce || !fields.domain) {
    throw badRequest("SIWE_MALFORMED", "The message is not an EIP-4361 sign-in message");
  }
  if (!validateSiweMessage({ message: fields, domain: expect.domain })) {
    throw unauthorized("SIWE_INVALID", `The message is for another site, expired or not yet valid (expected domain ${expect.domain})`);
  }
  checkIssuedFields(fields, expect);
  if (expect.chainId !== undefined && fields.chainId !== expect.chainId) {
    throw unauthorized("SIWE_WRONG_CHAIN", `The message names chain ${fields.chainId}; this server is on chain ${expect.chainId}`);
  }
  const valid = expect.client
    ? await expect.client.verifySiweMessage({ message: input.message, signature: input.signature, domain: expect.domain })
    : await verifyMessage({ address: fields.address, message: input.message, signature: input.signature });
  if (!valid) throw unauthorized("SIWE_BAD_SIGNATURE", "The signature does not match the message's address");

  const { rows } = await db.query(
    "update siwe_nonces set used_at = now() where nonce = $1 and used_at is null and expires_at > now() returning nonce",
    [fields.nonce],
  );
  if (rows.length === 0) throw unauthorized("SIWE_NONCE_INVALID", "The nonce is unknown, expired or already used: ask for a new one");
  return fields.address;
}
