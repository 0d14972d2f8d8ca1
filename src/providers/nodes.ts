// Registering, editing and removing provider nodes, as the routes and the local stack do it: the
// stored node (./store.ts), the allow-list check of its address (./allow.ts), then the registry
// reloaded and the node checked at once, so the answer already carries its health.
import type { Account } from "../accounts/store.ts";
import type { AppContext } from "../app/context.ts";
import { forbidden } from "../errors.ts";
import { assertNodeAddressAllowed } from "./allow.ts";
import { deleteNode, getNode, insertNode, listNodes, nodeHealth, normaliseBaseUrl, updateNode } from "./store.ts";
import type { NodeInput, NodePatch, ProviderNode } from "./store.ts";

const DAY_MS = 86_400_000;

/** A node with its health, as the provider dashboard shows it. */
export interface NodeView extends ProviderNode {
  /** up: its last check (or request) succeeded; down: it failed, or it was never checked. */
  readonly status: "up" | "down";
  readonly lastCheckAt: Date | null;
  /** Median latency of the good checks over the last 24 hours (ms). */
  readonly p50Ms: number | null;
  /** Share of good checks over the last 24 hours, in basis points. */
  readonly uptimeBps: number | null;
  /** Requests in flight on it through this API instance. */
  readonly outstanding: number;
}

/** Any account with a linked wallet can be a provider (rewards are paid to the wallet). 403 `WALLET_REQUIRED`. */
function providerOf(account: Account): string {
  if (account.wallet === null) throw forbidden("WALLET_REQUIRED", "link a wallet to the account to register provider nodes: rewards are paid to it");
  return account.id;
}

/** The provider's nodes with their health. */
export async function nodeViews(ctx: AppContext, account: Account): Promise<NodeView[]> {
  const [nodes, health] = await Promise.all([listNodes(ctx.db, account.id), nodeHealth(ctx.db, account.id, new Date(Date.now() - DAY_MS))]);
  // A node registered through another API instance since this one last refreshed: take its stored check.
  if (nodes.some((n) => ctx.providers.registry.status(n.id) === undefined)) await ctx.providers.registry.refresh();
  return nodes.map((node) => viewOf(ctx, node, health.get(node.id)));
}

function viewOf(ctx: AppContext, node: ProviderNode, health?: { uptimeBps: number | null; p50Ms: number | null }): NodeView {
  const status = ctx.providers.registry.status(node.id);
  return {
    ...node,
    status: status?.up ? "up" : "down",
    lastCheckAt: status?.at ?? null,
    p50Ms: health?.p50Ms ?? null,
    uptimeBps: health?.uptimeBps ?? null,
    outstanding: ctx.providers.registry.outstanding(node.id),
  };
}

async function viewOne(ctx: AppContext, account: Account, id: string): Promise<NodeView> {
  const health = await nodeHealth(ctx.db, account.id, new Date(Date.now() - DAY_MS));
  return viewOf(ctx, await getNode(ctx.db, account.id, id), health.get(id));
}

/** Reloads the registry and checks the node now, so routing and the answer see it at once. */
async function activate(ctx: AppContext, nodeId: string): Promise<void> {
  await ctx.providers.registry.refresh();
  await ctx.providers.health.checkNow([nodeId]);
}

/**
 * Registers a node for the account. 403 `WALLET_REQUIRED`; 400 `INVALID_NODE_URL`, `INVALID_MODELS`,
 * `UNKNOWN_TIER`, `INVALID_CONCURRENCY`, `NODE_EXISTS`, `NODE_ADDRESS_NOT_ALLOWED`, `NODE_HOST_UNRESOLVED`.
 */
export async function registerNode(ctx: AppContext, account: Account, input: NodeInput): Promise<NodeView> {
  const provider = providerOf(account);
  await assertNodeAddressAllowed(normaliseBaseUrl(input.baseUrl), ctx.providers.policy);
  const node = await insertNode(ctx.db, provider, input);
  await activate(ctx, node.id);
  return viewOne(ctx, account, node.id);
}

/** Edits, pauses or resumes the account's node. 404 `NODE_NOT_FOUND`; 400 as registerNode. */
export async function editNode(ctx: AppContext, account: Account, id: string, patch: NodePatch): Promise<NodeView> {
  if (patch.baseUrl !== undefined) await assertNodeAddressAllowed(normaliseBaseUrl(patch.baseUrl), ctx.providers.policy);
  const node = await updateNode(ctx.db, account.id, id, patch);
  await activate(ctx, node.id);
  return viewOne(ctx, account, node.id);
}

/** Removes the account's node: no request is routed to it any more. 404 `NODE_NOT_FOUND`. */
export async function removeNode(ctx: AppContext, account: Account, id: string): Promise<void> {
  await deleteNode(ctx.db, account.id, id);
  await ctx.providers.registry.refresh();
}
