// RPC faults injected between the backend and the chain: an HTTP JSON-RPC front for the in-process
// chain answers chosen requests with an HTTP 500, a JSON-RPC internal error (-32603), or forwards
// them and answers too late (past the client's timeout: the node acted, the answer is lost). The
// backend's clients use the production transport (src/chain/transport.ts, short timings) and the
// sender (src/chain/send.ts): each send lands exactly once, retries are seen on the wire, and
// concurrent sends keep consecutive nonces.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { createPublicClient, createWalletClient, getAddress, toHex, type Address, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { cxptAbi } from "../../../src/chain/abis.ts";
import { send, type SendChain } from "../../../src/chain/send.ts";
import { rpcTransport } from "../../../src/chain/transport.ts";
import type { SuiteDeployment } from "../../../src/chain/types.ts";
import { DEV_KEYS, devKey } from "../../../src/devstack/keys.ts";
import { connection, loadDeployment, viem } from "../api/harness.ts";

/** What the front does to one request: answer 500, answer -32603, or forward it and answer after the client gave up. */
type Fault = "http500" | "internal" | "late";

/** Chooses a fault for the `nth` request of `method` (1-based), the `total`th request overall. */
type FaultRule = (request: { method: string; nth: number; total: number }) => Fault | undefined;

const TIMEOUT_MS = 200;

interface RpcFront {
  readonly url: string;
  rule: FaultRule;
  /** Requests received per method, faulted or not. */
  readonly received: Map<string, number>;
  /** Faults injected per method. */
  readonly injected: Map<string, number>;
  close(): Promise<void>;
}

/** An HTTP JSON-RPC server in front of the in-process chain that injects faults by `rule`. */
async function startFront(): Promise<RpcFront> {
  const received = new Map<string, number>();
  const injected = new Map<string, number>();
  const late = new Set<NodeJS.Timeout>();
  let total = 0;
  const bump = (map: Map<string, number>, method: string) => map.set(method, (map.get(method) ?? 0) + 1).get(method)!;
  const forward = async (body: { id: unknown; method: string; params?: unknown[] }) => {
    try {
      return { jsonrpc: "2.0", id: body.id, result: await connection.provider.request({ method: body.method, params: body.params ?? [] }) };
    } catch (error) {
      const { code, message, data } = error as { code?: number; message: string; data?: unknown };
      return { jsonrpc: "2.0", id: body.id, error: { code: code ?? -32603, message, data } };
    }
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { id: unknown; method: string; params?: unknown[] };
      total += 1;
      const fault = front.rule({ method: body.method, nth: bump(received, body.method), total });
      if (fault !== undefined) bump(injected, body.method);
      const reply = (payload: unknown) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(payload));
      if (fault === "http500") res.writeHead(500).end("injected");
      else if (fault === "internal") reply({ jsonrpc: "2.0", id: body.id, error: { code: -32603, message: "injected internal error" } });
      else if (fault === "late") {
        const answer = await forward(body);
        const timer = setTimeout(() => {
          late.delete(timer);
          if (!res.destroyed) reply(answer);
        }, TIMEOUT_MS * 2);
        late.add(timer);
      } else reply(await forward(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const front: RpcFront = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    rule: () => undefined,
    received,
    injected,
    async close() {
      for (const timer of late) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return front;
}

const fresh = (): Address => getAddress(toHex(randomBytes(20)));
const sum = (map: Map<string, number>) => [...map.values()].reduce((a, b) => a + b, 0);

describe("chain sender under RPC faults", () => {
  let front: RpcFront;
  let deployment: SuiteDeployment;
  let chain: SendChain;
  let snapshot: unknown;
  const cxpt = () => deployment.contracts.cxpt!;
  const transfer = (to: Address, amount: bigint) => ({ address: cxpt(), abi: cxptAbi, functionName: "transfer", args: [to, amount] }) as const;
  const direct = async () => viem.getPublicClient();
  const balanceOf = async (who: Address) => (await direct()).readContract({ address: cxpt(), abi: cxptAbi, functionName: "balanceOf", args: [who] });
  const nonces = async () => {
    const client = await direct();
    const address = chain.signer.account.address;
    const [mined, pending] = await Promise.all([client.getTransactionCount({ address }), client.getTransactionCount({ address, blockTag: "pending" })]);
    return { mined, pending };
  };

  before(async () => {
    front = await startFront();
  });
  after(async () => front.close());
  beforeEach(async () => {
    deployment = await loadDeployment();
    snapshot = await connection.provider.request({ method: "evm_snapshot" });
    const { chain: viemChain } = await direct();
    // The production transport, with timings short enough for a test: 5 retries from 10 ms, 200 ms per request.
    const transport = rpcTransport(front.url, { retryDelay: 10, timeout: TIMEOUT_MS });
    chain = {
      client: createPublicClient({ chain: viemChain, transport, pollingInterval: 20 }) as PublicClient,
      signer: createWalletClient({ chain: viemChain, transport, account: privateKeyToAccount(devKey(DEV_KEYS.distribution)) }),
    };
    front.received.clear();
    front.injected.clear();
  });
  afterEach(async () => {
    front.rule = () => undefined;
    await connection.provider.request({ method: "evm_revert", params: [snapshot] });
  });

  it("retries HTTP 500s and internal errors with backoff, and the transaction lands once", async () => {
    // The first try of every step fails: the simulation (500), the nonce (-32603), the broadcast (-32603: not taken).
    front.rule = ({ method, nth }) =>
      nth !== 1 ? undefined : method === "eth_estimateGas" ? "http500" : ["eth_getTransactionCount", "eth_sendRawTransaction"].includes(method) ? "internal" : undefined;
    const { mined } = await nonces();
    const to = fresh();
    const { hash, receipt } = await send(chain, transfer(to, 11n));
    assert.equal(receipt.status, "success");
    for (const method of ["eth_estimateGas", "eth_getTransactionCount", "eth_sendRawTransaction"]) {
      assert.equal(front.injected.get(method), 1, method);
      assert.ok(front.received.get(method)! >= 2, `${method} retried`);
    }
    assert.equal(front.received.get("eth_sendRawTransaction"), 2);
    assert.equal(await balanceOf(to), 11n);
    assert.equal((await (await direct()).getTransaction({ hash })).nonce, mined);
    assert.deepEqual(await nonces(), { mined: mined + 1, pending: mined + 1 });
  });

  it("recognises a broadcast whose answer was lost in a timeout, and never sends it twice", async () => {
    front.rule = ({ method, nth }) => (method === "eth_sendRawTransaction" && nth === 1 ? "late" : undefined);
    const { mined } = await nonces();
    const to = fresh();
    const { receipt } = await send(chain, transfer(to, 13n));
    assert.equal(receipt.status, "success");
    assert.ok(front.received.get("eth_sendRawTransaction")! >= 2, "the broadcast was retried after the timeout");
    assert.equal(await balanceOf(to), 13n);
    assert.deepEqual(await nonces(), { mined: mined + 1, pending: mined + 1 });
  });

  it("gives up after the retries without sending when the RPC keeps failing, and the nonce stays free", async () => {
    front.rule = ({ method }) => (method === "eth_sendRawTransaction" ? "http500" : undefined);
    const before = await nonces();
    const to = fresh();
    await assert.rejects(send(chain, transfer(to, 1n)), { code: "TX_NOT_SENT" });
    assert.equal(front.received.get("eth_sendRawTransaction"), 6, "one try and 5 retries");
    assert.deepEqual(await nonces(), before);
    front.rule = () => undefined;
    const { hash } = await send(chain, transfer(to, 2n));
    assert.equal((await (await direct()).getTransaction({ hash })).nonce, before.pending);
    assert.equal(await balanceOf(to), 2n);
  });

  it("does not retry a revert: one simulation, the custom error named, nothing sent", async () => {
    const before = await nonces();
    const balance = await balanceOf(chain.signer.account.address);
    await assert.rejects(send(chain, transfer(fresh(), balance + 1n)), { code: "TX_WOULD_REVERT", details: { purpose: "transfer", reason: "ERC20InsufficientBalance", args: [chain.signer.account.address, String(balance), String(balance + 1n)] } });
    assert.equal(front.received.get("eth_estimateGas"), 1);
    assert.equal(front.received.get("eth_sendRawTransaction"), undefined);
    assert.deepEqual(await nonces(), before);
  });

  it("keeps nonces consecutive over concurrent sends while requests fail and time out", async () => {
    front.rule = ({ total }) => (total % 9 === 0 ? "late" : total % 4 === 0 ? "internal" : total % 7 === 0 ? "http500" : undefined);
    const { mined: first } = await nonces();
    const to = fresh();
    const amounts = Array.from({ length: 8 }, (_, i) => BigInt(i + 1));
    const sent = await Promise.all(amounts.map((amount) => send(chain, transfer(to, amount))));
    assert.ok(sum(front.injected) >= 8, `faults injected: ${sum(front.injected)}`);
    const client = await direct();
    const used = await Promise.all(sent.map(async ({ hash }) => (await client.getTransaction({ hash })).nonce));
    assert.deepEqual([...used].sort((a, b) => a - b), amounts.map((_, i) => first + i));
    assert.equal(await balanceOf(to), amounts.reduce((a, b) => a + b));
    assert.deepEqual(await nonces(), { mined: first + amounts.length, pending: first + amounts.length });
  });
});
