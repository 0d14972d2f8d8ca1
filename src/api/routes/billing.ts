// The signed-in account's PAYG settlement: the proof of what a settlement batch charged its wallet,
// for checking against the root committed on UsageBilling (verifyLeaf).
import { Type } from "typebox";
import { getAddress } from "viem";
import type { AppContext } from "../../app/context.ts";
import { proofOf } from "../../settlement/proof.ts";
import { accountOf, sessionHook } from "../auth.ts";
import { Address, errors, Wei } from "../schemas.ts";
import type { Api } from "../server.ts";

const Bytes32 = Type.String({ pattern: "^0x[0-9a-fA-F]{64}$" });

const ProofView = Type.Object({
  batchId: Type.String({ pattern: "^[0-9]{1,20}$" }),
  chainBatchId: Wei,
  state: Type.String({ description: "built, committed, collecting, settled, failed (cancelled)" }),
  root: Bytes32,
  leaf: Type.Object(
    {
      index: Type.Integer(),
      user: Address,
      amount: Wei,
      status: Type.String({ description: "pending, collected or shortfall" }),
    },
    { description: "UsageBilling's Leaf (index, user, amount), with what settlement made of it" },
  ),
  proof: Type.Array(Bytes32),
  chainId: Wei,
  billing: Address,
  collectableAt: Type.String({ pattern: "^[0-9]{1,20}$", description: "End of the batch's challenge window (unix seconds); the Safe can cancel it before" }),
  cancelled: Type.Boolean({ description: "Whether a guardian cancelled the batch on chain" }),
});

export function billingRoutes(app: Api, ctx: AppContext): void {
  const security = [{ session: [] }];
  const tags = ["billing"];
  app.addHook("onRequest", sessionHook(ctx.db));

  app.get(
    "/api/v1/billing/batches/:id/proof",
    {
      schema: {
        tags,
        security,
        summary: "The account's leaf in a PAYG settlement batch, with its Merkle proof",
        description:
          "Check it on chain: `UsageBilling.verifyLeaf(chainBatchId, { index, user, amount }, proof)` is true once the batch is committed. " +
          "The leaf hashes `(chainId, billing, chainBatchId, index, user, amount)` (StandardMerkleTree), so it proves in this batch only.",
        params: Type.Object({ id: Type.String({ pattern: "^[0-9]{1,18}$" }) }),
        response: { 200: ProofView, ...errors(401, 404, 409) },
      },
    },
    async (request) => {
      const found = await proofOf(ctx.db, ctx.chain, BigInt(request.params.id), accountOf(request).id);
      return {
        batchId: found.batchId.toString(),
        chainBatchId: found.chainBatchId.toString(),
        state: found.state,
        root: found.root,
        leaf: { index: Number(found.leaf.index), user: getAddress(found.leaf.user), amount: found.leaf.amount.toString(), status: found.leaf.status },
        proof: found.proof,
        chainId: found.chainId.toString(),
        billing: getAddress(found.billing),
        collectableAt: found.collectableAt.toString(),
        cancelled: found.cancelled,
      };
    },
  );
}
