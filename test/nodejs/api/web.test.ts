// What the dashboards get from the API's origin: their configuration, the JSON-RPC proxy and the
// built pages. Storage plays no part here, so the embedded backend is enough.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { encodeFunctionData, getAddress, zeroAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { cxptAbi } from "../../../src/chain/abis.ts";
import { RPC_METHODS } from "../../../src/api/routes/web.ts";
import { expectReply, startStack, USERS, viem, type Stack } from "./harness.ts";

const rpc = (stack: Stack, payload: unknown) => stack.api.inject({ method: "POST", url: "/rpc", payload: payload as object });

describe("web: configuration, JSON-RPC and pages", () => {
  let stack: Stack;
  let off: Stack;
  let unbuilt: Stack;
  let webDir: string;
  before(async () => {
    webDir = await mkdtemp(join(tmpdir(), "cxpt-web-"));
    await writeFile(join(webDir, "index.html"), "<!doctype html><title>dashboards</title>");
    stack = await startStack("embedded", { WEB_DIR: webDir, EXPLORER_URL: "https://explorer.example/" });
    off = await startStack("embedded", { CHAIN_STAGE: "off", WEB_DIR: webDir });
    unbuilt = await startStack("embedded", { WEB_DIR: join(webDir, "missing") });
  });
  after(async () => {
    await Promise.all([stack.close(), off.close(), unbuilt.close()]);
    await rm(webDir, { recursive: true, force: true });
  });

  it("GET /api/v1/config names the chain, the suite, the explorer and, on 31337, the development wallets", async () => {
    const body = expectReply(await stack.api.inject({ method: "GET", url: "/api/v1/config" }), 200) as {
      stage: string;
      chain: { chainId: number; rpcUrl: string; explorerUrl: string; addresses: Record<string, string> };
      devWallets: { name: string; address: string; privateKey: `0x${string}` }[];
      walletConnectProjectId: string | null;
    };
    assert.equal(body.stage, "testnet");
    assert.equal(body.chain.chainId, 31337);
    assert.equal(body.chain.rpcUrl, "/rpc");
    assert.equal(body.chain.explorerUrl, "https://explorer.example");
    assert.equal(getAddress(body.chain.addresses.cxpt!), getAddress(stack.deployment.contracts.cxpt!));
    assert.equal(getAddress(body.chain.addresses.vault!), getAddress(stack.deployment.contracts.vault!));
    assert.equal(body.walletConnectProjectId, null);
    const admin = body.devWallets.find((w) => w.name === "Demo admin")!;
    assert.equal(admin.address, privateKeyToAccount(USERS.admin).address);
    for (const wallet of body.devWallets) assert.equal(privateKeyToAccount(wallet.privateKey).address, wallet.address);
  });

  it("GET /api/v1/config with the chain off has no chain and no wallets", async () => {
    const body = expectReply(await off.api.inject({ method: "GET", url: "/api/v1/config" }), 200) as { stage: string; chain: null; devWallets: unknown[] };
    assert.equal(body.stage, "off");
    assert.equal(body.chain, null);
    assert.deepEqual(body.devWallets, []);
  });

  it("POST /rpc forwards reads, one call or a batch, and answers what the node answers", async () => {
    const head = await (await viem.getPublicClient()).getBlockNumber();
    const one = expectReply(await rpc(stack, { jsonrpc: "2.0", id: 7, method: "eth_blockNumber", params: [] }), 200) as { id: number; result: string };
    assert.equal(one.id, 7);
    assert.ok(BigInt(one.result) >= head);
    const data = encodeFunctionData({ abi: cxptAbi, functionName: "decimals" });
    const batch = expectReply(
      await rpc(stack, [
        { jsonrpc: "2.0", id: 1, method: "eth_chainId" },
        { jsonrpc: "2.0", id: 2, method: "eth_call", params: [{ to: stack.deployment.contracts.cxpt, data }, "latest"] },
      ]),
      200,
    ) as { id: number; result: string }[];
    assert.deepEqual(batch.map((r) => [r.id, BigInt(r.result)]), [[1, 31337n], [2, 18n]]);
  });

  it("POST /rpc passes a revert's data through, so the page can name the custom error", async () => {
    // transfer from an empty account: ERC20InsufficientBalance(sender, 0, 1)
    const empty = privateKeyToAccount(`0x${"42".repeat(32)}`).address;
    const data = encodeFunctionData({ abi: cxptAbi, functionName: "transfer", args: [zeroAddress.replace(/0$/, "1") as `0x${string}`, 1n] });
    const body = expectReply(await rpc(stack, { jsonrpc: "2.0", id: 1, method: "eth_call", params: [{ from: empty, to: stack.deployment.contracts.cxpt, data }, "latest"] }), 200) as {
      error: { code: number; message: string; data: string };
    };
    assert.equal(typeof body.error.code, "number");
    assert.match(String(body.error.data), /^0xe450d38c/); // ERC20InsufficientBalance selector
    assert.match(body.error.message, /revert/i, "the node's own message, not a wrapper's");
  });

  it("POST /rpc refuses what could sign with or change the node", async () => {
    for (const method of ["eth_sendTransaction", "eth_sign", "hardhat_setBalance", "evm_mine", "eth_accounts"]) {
      assert.ok(!RPC_METHODS.has(method));
      const body = expectReply(await rpc(stack, { jsonrpc: "2.0", id: 1, method, params: [] }), 200) as { error: { code: number; message: string } };
      assert.equal(body.error.code, -32601, method);
    }
    const bad = expectReply(await rpc(stack, { id: 1, method: "eth_chainId" }), 200) as { error: { code: number } };
    assert.equal(bad.error.code, -32600);
    const empty = expectReply(await rpc(stack, []), 200) as { error: { code: number } };
    assert.equal(empty.error.code, -32600);
    expectReply(await rpc(off, { jsonrpc: "2.0", id: 1, method: "eth_chainId" }), 503, "CHAIN_OFF");
  });

  it("serves index.html for the dashboards' paths, JSON 404 elsewhere, and says when the pages are not built", async () => {
    for (const url of ["/", "/user", "/admin", `/tx/0x${"ab".repeat(32)}`]) {
      const page = await stack.api.inject({ method: "GET", url, headers: { accept: "text/html" } });
      assert.equal(page.statusCode, 200, url);
      assert.match(page.body, /<title>dashboards<\/title>/);
      assert.equal(page.headers["cache-control"], "no-cache");
    }
    expectReply(await stack.api.inject({ method: "GET", url: "/api/v1/nothing", headers: { accept: "text/html" } }), 404, "NOT_FOUND");
    expectReply(await stack.api.inject({ method: "GET", url: "/assets/missing.js", headers: { accept: "text/html" } }), 404, "NOT_FOUND");
    expectReply(await stack.api.inject({ method: "GET", url: "/user" }), 404, "NOT_FOUND");
    const missing = await unbuilt.api.inject({ method: "GET", url: "/user", headers: { accept: "text/html" } });
    assert.equal(missing.statusCode, 503);
    assert.match(missing.body, /npm run build:web/);
  });
});
