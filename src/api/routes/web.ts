// What the dashboards (src/web) need from their own origin: the public configuration they start
// from, a JSON-RPC endpoint for reading the chain and broadcasting signed transactions, and the
// built files themselves with a single-page fallback (any other GET that asks for HTML gets
// index.html, so /user, /admin… load the app).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import { Type } from "typebox";
import { privateKeyToAccount } from "viem/accounts";
import type { AppContext } from "../../app/context.ts";
import { LOCAL_CHAIN_ID } from "../../chain/chains.ts";
import { DEV_KEYS, devKey } from "../../devstack/keys.ts";
import { AppError, unavailable } from "../../errors.ts";
import { features } from "../../stage/stage.ts";
import { Address, errors, Nullable } from "../schemas.ts";
import { routeLimit } from "../rate-limit.ts";
import type { Api } from "../server.ts";
import type { FastifyError } from "fastify";

/** The path of the API's JSON-RPC endpoint for browsers. */
export const RPC_PATH = "/rpc";

/**
 * The JSON-RPC methods a dashboard needs: reads, fee estimates and broadcasting transactions its
 * wallet signed. Nothing that signs with the node's accounts or changes the node (hardhat_*, evm_*),
 * so the endpoint can face the public in front of a paid RPC.
 */
export const RPC_METHODS: ReadonlySet<string> = new Set([
  "eth_blockNumber",
  "eth_call",
  "eth_chainId",
  "eth_estimateGas",
  "eth_feeHistory",
  "eth_gasPrice",
  "eth_getBalance",
  "eth_getBlockByHash",
  "eth_getBlockByNumber",
  "eth_getCode",
  "eth_getLogs",
  "eth_getStorageAt",
  "eth_getTransactionByHash",
  "eth_getTransactionCount",
  "eth_getTransactionReceipt",
  "eth_maxPriorityFeePerGas",
  "eth_sendRawTransaction",
  "net_version",
  "web3_clientVersion",
]);

/** JSON-RPC error codes (EIP-1474). */
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const METHOD_NOT_FOUND = -32601;
const INVALID_PARAMS = -32602;
const INTERNAL_ERROR = -32603;
const LIMIT_EXCEEDED = -32005;

/** The development wallets the dashboards offer on the local chain, by demo role. */
const DEV_WALLETS: readonly { readonly name: string; readonly index: number }[] = [
  { name: "Demo admin", index: DEV_KEYS.demoAdmin },
  { name: "Demo user", index: DEV_KEYS.demoUser },
  { name: "Demo provider", index: DEV_KEYS.demoProvider },
  { name: "Spare 1", index: DEV_KEYS.demoProvider + 1 },
  { name: "Spare 2", index: DEV_KEYS.demoProvider + 2 },
  { name: "Spare 3", index: DEV_KEYS.demoProvider + 3 },
];

const DevWallet = Type.Object({ name: Type.String(), address: Address, privateKey: Type.String() });
const WebConfigView = Type.Object({
  stage: Type.Union([Type.Literal("off"), Type.Literal("testnet"), Type.Literal("mainnet")]),
  phase: Type.Integer(),
  features: Type.Record(Type.String(), Type.Boolean()),
  chain: Nullable(
    Type.Object({
      chainId: Type.Integer(),
      rpcUrl: Type.String({ description: "absolute, or a path on this origin" }),
      explorerUrl: Nullable(Type.String({ description: "transaction links are `${explorerUrl}/tx/${hash}`; null: the dashboards' own receipt page" })),
      addresses: Type.Record(Type.String(), Address),
    }),
  ),
  walletConnectProjectId: Nullable(Type.String()),
  devWallets: Type.Array(DevWallet, { description: "the public Hardhat development keys; only on the local chain (31337)" }),
});

interface RpcCall {
  readonly jsonrpc?: unknown;
  readonly id?: unknown;
  readonly method?: unknown;
  readonly params?: unknown;
}

/** The JSON-RPC error a failed request carries, found down the error's cause chain (revert data included). */
function rpcError(error: unknown): { code: number; message: string; data?: unknown } {
  let found: { code: number; message: string; data?: unknown } | undefined;
  for (let e = error as { code?: unknown; message?: unknown; details?: unknown; data?: unknown; cause?: unknown; shortMessage?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e !== "object") break;
    // viem's RpcRequestError keeps the node's own message in `details` ("execution reverted…").
    if (typeof e.code === "number" && found === undefined) found = { code: e.code, message: String(e.details ?? e.shortMessage ?? e.message ?? "error") };
    if (found !== undefined && e.data !== undefined && found.data === undefined) {
      // viem keeps the node's `data` either as it was or under { data } of the RPC error object.
      found.data = typeof e.data === "object" && e.data !== null && "data" in e.data ? (e.data as { data: unknown }).data : e.data;
    }
  }
  return found ?? { code: INTERNAL_ERROR, message: error instanceof Error ? error.message.split("\n")[0]! : String(error) };
}

/** A JSON-RPC id is a string, a number or null; anything else is answered with null. */
const validId = (id: unknown): id is string | number | null => id === null || typeof id === "string" || (typeof id === "number" && Number.isFinite(id));

/** A block tag or quantity of an eth_getLogs filter as a number; "latest" and the like as the head. */
async function blockOf(tag: unknown, head: () => Promise<bigint>): Promise<bigint | undefined> {
  if (tag === undefined || tag === "latest" || tag === "pending" || tag === "safe" || tag === "finalized") return head();
  if (tag === "earliest") return 0n;
  if (typeof tag === "string" && /^0x[0-9a-fA-F]{1,16}$/.test(tag)) return BigInt(tag);
  return undefined;
}

/**
 * Why an eth_getLogs filter is refused, or undefined: a range over `maxRange` blocks (a full-range
 * scan would load the node for everyone). A filter by blockHash spans one block.
 */
async function logRangeRefusal(filter: unknown, head: () => Promise<bigint>, maxRange: number): Promise<{ code: number; message: string } | undefined> {
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) return { code: INVALID_PARAMS, message: "eth_getLogs takes one filter object" };
  const { fromBlock, toBlock, blockHash } = filter as { fromBlock?: unknown; toBlock?: unknown; blockHash?: unknown };
  if (blockHash !== undefined) return undefined;
  let latest: Promise<bigint> | undefined;
  const once = () => (latest ??= head());
  const [from, to] = [await blockOf(fromBlock, once), await blockOf(toBlock, once)];
  if (from === undefined || to === undefined) return { code: INVALID_PARAMS, message: "fromBlock and toBlock must be block numbers (0x…) or tags" };
  if (to >= from && to - from + 1n > BigInt(maxRange)) {
    return { code: LIMIT_EXCEEDED, message: `eth_getLogs spans at most ${maxRange} blocks here; ask for ${fromBlock ?? "latest"}–${toBlock ?? "latest"} in parts` };
  }
  return undefined;
}

/** Serves the dashboards' configuration, the JSON-RPC proxy and the built dashboards. */
export async function webRoutes(app: Api, ctx: AppContext): Promise<void> {
  const { web } = ctx.config;
  const local = () => ctx.chain?.chainId === LOCAL_CHAIN_ID;

  app.get(
    "/api/v1/config",
    { schema: { tags: ["web"], summary: "What the dashboards start from: stage, chain, contract addresses and wallet options", response: { 200: WebConfigView } } },
    async () => {
      const chain = ctx.chain;
      const { stage, phase, ...flags } = features(ctx.stage.stage, ctx.stage.phase);
      return {
        stage,
        phase,
        features: flags,
        chain:
          chain === undefined
            ? null
            : { chainId: chain.chainId, rpcUrl: web.publicRpcUrl ?? RPC_PATH, explorerUrl: web.explorerUrl ?? null, addresses: { ...chain.addresses } },
        walletConnectProjectId: web.walletConnectProjectId ?? null,
        devWallets: local()
          ? DEV_WALLETS.map(({ name, index }) => {
              const privateKey = devKey(index);
              return { name, address: privateKeyToAccount(privateKey).address, privateKey };
            })
          : [],
      };
    },
  );

  app.post(
    RPC_PATH,
    {
      config: { rateLimit: routeLimit(ctx.config.api, "rpc") },
      schema: {
        tags: ["web"],
        summary: "JSON-RPC for the dashboards: chain reads, fee estimates and signed transactions (see RPC_METHODS)",
        description: "Batches hold at most RPC_MAX_BATCH requests; eth_getLogs spans at most RPC_MAX_LOG_RANGE blocks. Malformed bodies get a JSON-RPC error.",
        body: Type.Unknown(),
        response: { 200: Type.Unknown(), ...errors(503) },
      },
    },
    async (request) => {
      const chain = ctx.chain;
      if (chain === undefined) throw unavailable("CHAIN_OFF", "the chain is off: there is nothing to read");
      const forward = async (input: unknown) => {
        if (typeof input !== "object" || input === null || Array.isArray(input)) return { jsonrpc: "2.0", id: null, error: { code: INVALID_REQUEST, message: "not a JSON-RPC 2.0 request" } };
        const call = input as RpcCall;
        const id = validId(call.id) ? call.id : null;
        if (call.jsonrpc !== "2.0" || typeof call.method !== "string") return { jsonrpc: "2.0", id, error: { code: INVALID_REQUEST, message: "not a JSON-RPC 2.0 request" } };
        if (!RPC_METHODS.has(call.method)) return { jsonrpc: "2.0", id, error: { code: METHOD_NOT_FOUND, message: `${call.method} is not served here` } };
        try {
          const params = Array.isArray(call.params) ? call.params : [];
          if (call.method === "eth_getLogs") {
            const refused = await logRangeRefusal(params[0], () => chain.client.getBlockNumber({ cacheTime: 0 }), ctx.config.api.rpcMaxLogRange);
            if (refused !== undefined) return { jsonrpc: "2.0", id, error: refused };
          }
          // The transport's own request: no retries, so a failure answers now, with the node's error.
          const result = await chain.client.transport.request({ method: call.method, params });
          return { jsonrpc: "2.0", id, result };
        } catch (error) {
          return { jsonrpc: "2.0", id, error: rpcError(error) };
        }
      };
      const body = request.body;
      if (!Array.isArray(body)) return forward(body);
      const max = ctx.config.api.rpcMaxBatch;
      if (body.length === 0 || body.length > max) return { jsonrpc: "2.0", id: null, error: { code: INVALID_REQUEST, message: `a batch holds 1 to ${max} requests` } };
      return Promise.all(body.map(forward));
    },
  );
  // Whatever is refused before the handler (unparsable JSON, bad text, rate limit) still answers
  // in JSON-RPC, with the HTTP status (and Retry-After) it had.
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    if (request.routeOptions.url !== RPC_PATH) throw error;
    const status = error instanceof AppError ? error.status : (error.statusCode ?? 500);
    if (status >= 500) throw error;
    const code = error instanceof AppError ? (status === 429 ? LIMIT_EXCEEDED : INVALID_REQUEST) : error.code?.startsWith("FST_ERR_CTP_") ? PARSE_ERROR : INVALID_REQUEST;
    return reply.status(status).send({ jsonrpc: "2.0", id: null, error: { code, message: error.message } });
  });

  await app.register(fastifyStatic, {
    root: web.dir,
    // Files are looked up per request, so a build made while the API runs is served at once.
    wildcard: true,
    cacheControl: false,
    index: ["index.html"],
    // Vite names assets by content hash: they never change; index.html always must be fetched anew.
    setHeaders: (res, path) => res.setHeader("cache-control", path.includes("/assets/") ? "public, max-age=31536000, immutable" : "no-cache"),
  });
}

/**
 * The answer to a request no route took: index.html for a page (a GET asking for HTML outside
 * the API), so the dashboards' own paths load the app; undefined for anything else.
 */
export async function webPage(ctx: AppContext, method: string, url: string, accept: string | undefined): Promise<{ status: number; type: string; body: string } | undefined> {
  if (method !== "GET" || /^\/(api|rpc|metrics|assets)(\/|\?|$)/.test(url) || !(accept ?? "").includes("text/html")) return undefined;
  const index = join(ctx.config.web.dir, "index.html");
  const html = await readFile(index, "utf8").catch(() => undefined);
  if (html === undefined) {
    return { status: 503, type: "text/plain; charset=utf-8", body: `The dashboards are not built (no ${index}): run npm run build:web, then reload.\n` };
  }
  return { status: 200, type: "text/html; charset=utf-8", body: html };
}
