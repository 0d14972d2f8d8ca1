// Who pays the gas of a gasless claim: a relayer submits the signed ForwardRequest to the
// forwarder's `execute`. `localRelayer` uses one of the backend's own keys; `httpRelayer` hands
// the request to an external relayer service (Biconomy-style JSON over HTTPS, API key header).
import { isHash, type Address, type Hex, type PublicClient } from "viem";
import { forwarderAbi } from "../chain/abis.ts";
import { send, succeeded, type Signer, type TransactionCounter } from "../chain/send.ts";
import { AppError } from "../errors.ts";
import {
  claimOutcome,
  forwardRequestToJson,
  verifyClaimRequest,
  type ClaimOutcome,
  type ForwardRequest,
  type ForwardRequestJson,
  type SignedForwardRequest,
} from "./forwarder.ts";

/** Submits signed forward requests on chain; resolves to the transaction hash. */
export interface Relayer {
  relay(request: SignedForwardRequest): Promise<Hex>;
}

/**
 * Relays with `wallet` (a backend key holding gas): sends `forwarder.execute(request)` through the
 * key's queue (src/chain/send.ts) and waits until it is mined, so the hash it returns is of a
 * successful transaction.
 * @throws AppError 502 `RELAY_FAILED` when the transaction is refused, not mined or reverts.
 */
export function localRelayer(options: {
  publicClient: PublicClient;
  wallet: Signer;
  forwarder: Address;
  /** Where the relayed transactions are counted. */
  counter?: TransactionCounter;
}): Relayer {
  const { publicClient, wallet, forwarder, counter } = options;
  return {
    async relay(request) {
      const sending = send(
        { client: publicClient, signer: wallet },
        { address: forwarder, abi: forwarderAbi, functionName: "execute", args: [request] },
        { purpose: "relay_claim", counter },
      );
      return (await succeeded(sending, { code: "RELAY_FAILED", message: `relaying ${request.from}'s request failed` })).hash;
    },
  };
}

/** The body `httpRelayer` POSTs, after Biconomy's native meta-transaction API. */
export interface HttpRelayBody {
  /** The contract to call: the forwarder. */
  readonly to: Address;
  readonly method: "execute";
  /** The signer of the request. */
  readonly from: Address;
  /** `execute`'s arguments: the signed request as JSON. */
  readonly params: readonly [ForwardRequestJson];
  readonly signatureType: "EIP712_SIGN";
}

/**
 * An external relayer service: POSTs `HttpRelayBody` as JSON to `url` with header `x-api-key` and
 * expects `{ "txHash": "0x…" }` (2xx). The hash may not be mined yet: `claimOutcome` waits for it.
 * @throws AppError 502 `RELAY_FAILED` on a network error, a non-2xx answer or an answer without a hash.
 */
export function httpRelayer(options: { url: string; apiKey: string; forwarder: Address; fetch?: typeof fetch }): Relayer {
  const { url, apiKey, forwarder } = options;
  const doFetch = options.fetch ?? fetch;
  return {
    async relay(request) {
      const body: HttpRelayBody = {
        to: forwarder,
        method: "execute",
        from: request.from,
        params: [forwardRequestToJson(request)],
        signatureType: "EIP712_SIGN",
      };
      const fail = (reason: string, details: Record<string, unknown> = {}) =>
        new AppError("RELAY_FAILED", `the relayer at ${url} did not relay: ${reason}`, 502, details);
      let response: Response;
      try {
        response = await doFetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": apiKey },
          body: JSON.stringify(body),
        });
      } catch (error) {
        throw fail(error instanceof Error ? error.message : String(error));
      }
      const text = await response.text();
      if (!response.ok) throw fail(`HTTP ${response.status}`, { status: response.status, body: text.slice(0, 500) });
      const txHash = parseTxHash(text);
      if (txHash === undefined) throw fail("no txHash in the answer", { body: text.slice(0, 500) });
      return txHash;
    },
  };
}

function parseTxHash(text: string): Hex | undefined {
  try {
    const hash: unknown = (JSON.parse(text) as { txHash?: unknown }).txHash;
    return typeof hash === "string" && isHash(hash) ? hash : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The whole gasless claim: verifies the signed request (`verifyClaimRequest`'s errors), relays it
 * and returns what the account received once mined (`claimOutcome`).
 */
export async function relayClaim(
  client: PublicClient,
  relayer: Relayer,
  options: { forwarder: Address; distributor: Address; request: Omit<ForwardRequest, "nonce">; signature: Hex },
): Promise<ClaimOutcome> {
  const { request } = await verifyClaimRequest(client, options);
  const txHash = await relayer.relay(request);
  return claimOutcome(client, { distributor: options.distributor, txHash, account: request.from });
}
