// httpRelayer against a real relay service: a local HTTP server that checks the API key, parses the
// signed request and relays it with its own wallet (localRelayer), answering the transaction hash.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { isAddressEqual } from "viem";
import { claimRequestTypedData, parseForwardRequest, verifyClaimRequest } from "../../../../src/rewards/forwarder.ts";
import { httpRelayer, localRelayer, relayClaim, type HttpRelayBody } from "../../../../src/rewards/relayers.ts";
import { jsonServer, rejectsWith, type JsonAnswer, type JsonRequest } from "../../tokens/helpers.ts";
import { backendKey } from "../../helpers/fixture.ts";
import { networkHelpers, setup, withEpoch, type Setup } from "../helpers.ts";

const API_KEY = "relay-test-key";

describe("httpRelayer", () => {
  let s: Setup;
  let answer: "relay" | "no-hash" = "relay";
  let service: Awaited<ReturnType<typeof jsonServer>>;

  /** The relay service: Biconomy-style body, x-api-key, relays with the suite's relayer wallet. */
  async function relayService({ method, headers, body }: JsonRequest): Promise<JsonAnswer> {
    if (method !== "POST") return { status: 405, json: { message: "POST only" } };
    if (headers["x-api-key"] !== API_KEY) return { status: 401, json: { message: "bad api key" } };
    const { to, params } = body as HttpRelayBody;
    if (!isAddressEqual(to, s.forwarder.address)) return { status: 400, json: { message: "unknown forwarder" } };
    if (answer === "no-hash") return { status: 200, json: { flag: 200, log: "queued" } };
    const relayer = localRelayer({ publicClient: s.publicClient, wallet: backendKey(s.wallets.relayer), forwarder: to });
    return { status: 200, json: { txHash: await relayer.relay(parseForwardRequest(params[0])), flag: 200 } };
  }

  before(async () => {
    service = await jsonServer((request) => relayService(request));
  });
  after(() => service.close());

  /** Epoch 1 ended with alice as the only provider; alice's signed claim. */
  async function aliceClaim() {
    s = await setup();
    answer = "relay";
    const { end } = await withEpoch(s, { providers: [[s.wallets.alice.account.address, 1n]] });
    await s.reach(end + 1n);
    const typed = await claimRequestTypedData(s.publicClient, {
      forwarder: s.forwarder.address,
      distributor: s.distributor.address,
      from: s.wallets.alice.account.address,
      deadline: Number(await networkHelpers.time.latest()) + 3600,
    });
    const signature = await s.wallets.alice.signTypedData({ ...typed, account: s.wallets.alice.account });
    const claim = { forwarder: s.forwarder.address, distributor: s.distributor.address, request: typed.message, signature };
    return { claim, signed: (await verifyClaimRequest(s.publicClient, claim)).request };
  }

  const relayerAt = (url: string, apiKey = API_KEY) => httpRelayer({ url, apiKey, forwarder: s.forwarder.address });

  it("POSTs the signed request to the service, which relays it: the claim pays the signer", async () => {
    const { claim } = await aliceClaim();
    const a = s.wallets.alice.account.address;
    const pending = await s.distributor.read.pendingOf([a]);
    const before = await s.balanceOf(a);
    const seen = service.requests.length;

    const outcome = await relayClaim(s.publicClient, relayerAt(`${service.url}/relay`), claim);

    assert.equal(outcome.claimed, pending);
    assert.equal(await s.balanceOf(a), before + pending);
    const receipt = await s.publicClient.getTransactionReceipt({ hash: outcome.txHash });
    assert.ok(isAddressEqual(receipt.from, s.wallets.relayer.account.address), "the service's wallet paid the gas");
    const [request] = service.requests.slice(seen);
    assert.equal(request!.url.pathname, "/relay");
    assert.equal(request!.headers["content-type"], "application/json");
    const body = request!.body as HttpRelayBody;
    assert.equal(body.method, "execute");
    assert.equal(body.signatureType, "EIP712_SIGN");
    assert.ok(isAddressEqual(body.from, a));
    assert.equal(body.params[0].gas, claim.request.gas.toString(), "amounts travel as decimal strings");
  });

  it("a refused API key, a failed relay or an answer without a hash is RELAY_FAILED", async () => {
    const { signed } = await aliceClaim();
    const wrongKey = await rejectsWith(relayerAt(service.url, "wrong").relay(signed), "RELAY_FAILED", 502);
    assert.equal(wrongKey.details?.status, 401);

    answer = "no-hash";
    await rejectsWith(relayerAt(service.url).relay(signed), "RELAY_FAILED", 502);

    // The service's own relay fails on chain: alice claimed directly in the meantime.
    answer = "relay";
    await s.claim(s.wallets.alice);
    const failed = await rejectsWith(relayerAt(service.url).relay(signed), "RELAY_FAILED", 502);
    assert.equal(failed.details?.status, 500);
  });

  it("an unreachable service is RELAY_FAILED", async () => {
    const { signed } = await aliceClaim();
    const gone = await jsonServer(() => ({ status: 200, json: {} }));
    await gone.close();
    await rejectsWith(relayerAt(gone.url).relay(signed), "RELAY_FAILED", 502);
  });
});
