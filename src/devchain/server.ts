// JSON-RPC 2.0 over HTTP (single and batch requests) with CORS for the browser dashboards. Errors keep
// the form Hardhat's own node gives them, so viem decodes reverts (custom errors) the same way.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Answers one request; a throw becomes the JSON-RPC error. */
export type RpcHandler = (method: string, params: readonly unknown[]) => Promise<unknown>;

export interface RpcError {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

type RpcId = string | number | null;
type RpcResponse = { jsonrpc: "2.0"; id: RpcId; result: unknown } | { jsonrpc: "2.0"; id: RpcId; error: RpcError };

export interface RpcServer {
  readonly url: string;
  close(): Promise<void>;
}

/** EIP-1474 "method not supported". */
export const METHOD_NOT_SUPPORTED = -32004;
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const INTERNAL_ERROR = -32603;
/** Execution reverted: data is the raw revert data (the geth/anvil convention viem reads). */
const REVERTED = 3;

const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "POST, OPTIONS",
  "access-control-allow-headers": "*",
  "access-control-max-age": "86400",
};

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;

/** The JSON-RPC error for what the provider threw (Hardhat's node does the same mapping). */
function toRpcError(error: unknown): RpcError {
  if (!isObject(error) || typeof error.code !== "number") {
    return { code: INTERNAL_ERROR, message: error instanceof Error ? error.message : String(error) };
  }
  const message = typeof error.message === "string" ? error.message : "";
  const data = error.data;
  const returnData = typeof data === "string" ? data : isObject(data) && typeof data.data === "string" ? data.data : undefined;
  if (error.code === REVERTED) return { code: REVERTED, message, data: returnData };
  const txHash =
    typeof error.transactionHash === "string"
      ? error.transactionHash
      : isObject(data) && typeof data.transactionHash === "string"
        ? data.transactionHash
        : undefined;
  const reason = isObject(data) && typeof data.reason === "string" ? data.reason : undefined;
  return { code: error.code, message, data: { message, txHash, data: returnData, reason } };
}

async function answer(handle: RpcHandler, request: unknown): Promise<RpcResponse | undefined> {
  const id: RpcId = isObject(request) && (typeof request.id === "string" || typeof request.id === "number") ? request.id : null;
  if (
    !isObject(request) ||
    request.jsonrpc !== "2.0" ||
    typeof request.method !== "string" ||
    (request.params !== undefined && !Array.isArray(request.params))
  ) {
    return { jsonrpc: "2.0", id, error: { code: INVALID_REQUEST, message: "Invalid request" } };
  }
  let response: RpcResponse;
  try {
    const result = await handle(request.method, (request.params as unknown[] | undefined) ?? []);
    response = { jsonrpc: "2.0", id, result: result ?? null };
  } catch (error) {
    response = { jsonrpc: "2.0", id, error: toRpcError(error) };
  }
  // A notification (no id) is carried out but not answered.
  return "id" in request ? response : undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function respond(handle: RpcHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  for (const [name, value] of Object.entries(CORS)) res.setHeader(name, value);
  if (req.method === "OPTIONS") return void res.writeHead(204).end();
  if (req.method !== "POST") return void res.writeHead(405, { allow: "POST, OPTIONS" }).end();

  let body: unknown;
  try {
    body = JSON.parse(await readBody(req));
  } catch (error) {
    const message = `Parse error: ${error instanceof Error ? error.message : String(error)}`;
    return send(res, { jsonrpc: "2.0", id: null, error: { code: PARSE_ERROR, message } });
  }
  if (!Array.isArray(body)) return send(res, await answer(handle, body));
  if (body.length === 0) return send(res, { jsonrpc: "2.0", id: null, error: { code: INVALID_REQUEST, message: "Empty batch" } });
  const responses = await Promise.all(body.map((request) => answer(handle, request)));
  const answered = responses.filter((response) => response !== undefined);
  send(res, answered.length > 0 ? answered : undefined);
}

function send(res: ServerResponse, payload: RpcResponse | RpcResponse[] | undefined): void {
  if (payload === undefined) return void res.writeHead(204).end();
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(payload));
}

/** Serves `handle` on http://host:port (port 0 picks a free one). */
export async function serveJsonRpc(handle: RpcHandler, host: string, port: number): Promise<RpcServer> {
  const server = createServer((req, res) => {
    respond(handle, req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, { jsonrpc: "2.0", id: null, error: toRpcError(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  const hostname = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${hostname}:${bound}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
