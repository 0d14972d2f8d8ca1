// Sign-In with Ethereum (EIP-4361) with single-use nonces: the server issues a nonce, the wallet
// signs a message naming it, and the nonce is consumed atomically when the signature checks out,
// so a captured message can never be replayed.
import { generateSiweNonce, parseSiweMessage, validateSiweMessage } from "viem/siwe";
import { verifyMessage, type Address, type Hex, type PublicClient } from "viem";
import type { Queryable } from "../db/db.ts";
import { badRequest, unauthorized } from "../errors.ts";

const NONCE_TTL_SECONDS = 10 * 60;

export interface SiweExpectations {
  /** The RFC 3986 authority the message must name (this server's host). */
  readonly domain: string;
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
