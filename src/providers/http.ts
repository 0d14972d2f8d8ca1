// Requests to provider nodes over node:http(s), every connection through the allow-list
// (./allow.ts): IP literals are checked before connecting, host names when they resolve.
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { assertNodeAddressAllowed, guardedLookup, type AddressPolicy } from "./allow.ts";

export interface NodeGet {
  readonly status: number;
  readonly body: string;
}

const MAX_BODY = 1 << 20;

/** GET `url` with a timeout over the whole exchange; the body is read up to 1 MiB. */
export async function nodeGet(url: string, policy: AddressPolicy, timeoutMs: number): Promise<NodeGet> {
  const target = new URL(url);
  if (isIP(target.hostname.replace(/^\[(.*)\]$/, "$1")) !== 0) await assertNodeAddressAllowed(target, policy);
  const request = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const options = { method: "GET", lookup: guardedLookup(policy), headers: { accept: "application/json" }, signal: AbortSignal.timeout(timeoutMs) };
    const req = request(target, options, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY) return void req.destroy(new Error("the answer is larger than 1 MiB"));
        chunks.push(chunk);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}
