// The admin's protocol withdrawals: the protocol's share of the rewards leaves the
// RewardDistributor only through the Safe (TREASURER_ROLE), so a withdrawal is a Safe transaction
// proposal that owners confirm by signing it and that executes once enough have (src/admin/treasury.ts).
// Admins only: 401 without a session, 403 without the admin role, both before the body is looked at.
import { Type } from "typebox";
import type { AppContext } from "../../app/context.ts";
import {
  confirmWithdrawal,
  confirmWithHeldKey,
  executeWithdrawal,
  proposeWithdrawal,
  readTreasury,
  withdrawalTypedData,
  type ProtocolWithdrawal,
  type SafeState,
  type WithdrawalResult,
} from "../../admin/treasury.ts";
import { accountOf, adminHook } from "../auth.ts";
import { Address, errors, HexData, Nullable, Timestamp, TxHash, Wei } from "../schemas.ts";
import type { Api } from "../server.ts";

const Bytes32 = Type.String({ pattern: "^0x[0-9a-fA-F]{64}$" });
const TypedField = Type.Object({ name: Type.String(), type: Type.String() });

const SafeView = Type.Object({
  address: Address,
  owners: Type.Array(Address),
  threshold: Type.Integer(),
  nonce: Type.String({ description: "the Safe's current nonce" }),
  heldOwners: Type.Array(Address, { description: "owners whose keys the backend holds (local chains only): confirm-held uses them" }),
});

const WithdrawalView = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal("proposed"), Type.Literal("executed"), Type.Literal("stale")], {
    description: "stale: another Safe transaction used its nonce first; it can only be proposed again",
  }),
  to: Address,
  amountWei: Wei,
  safe: Address,
  safeNonce: Type.String(),
  safeTxHash: Bytes32,
  transaction: Type.Object({ to: Address, valueWei: Wei, data: HexData }, { description: "the call the Safe makes: withdrawProtocol on the RewardDistributor" }),
  confirmations: Type.Array(Type.Object({ owner: Address, at: Timestamp })),
  threshold: Type.Integer(),
  owners: Type.Array(Address),
  typedData: Type.Object(
    {
      domain: Type.Object({ chainId: Type.Integer(), verifyingContract: Address }),
      types: Type.Object({ EIP712Domain: Type.Array(TypedField), SafeTx: Type.Array(TypedField) }),
      primaryType: Type.Literal("SafeTx"),
      message: Type.Object({
        to: Address,
        value: Wei,
        data: HexData,
        operation: Type.Integer(),
        safeTxGas: Wei,
        baseGas: Wei,
        gasPrice: Wei,
        gasToken: Address,
        refundReceiver: Address,
        nonce: Wei,
      }),
    },
    { description: "what an owner signs (eth_signTypedData_v4) to confirm; uint256 fields as decimal strings" },
  ),
  txHash: Nullable(TxHash),
  proposedAt: Timestamp,
  executedAt: Nullable(Timestamp),
});

const TreasuryView = Type.Object({ safe: SafeView, protocolBalanceWei: Wei, withdrawals: Type.Array(WithdrawalView, { description: "newest first (the last 50)" }) });

const safeView = (s: SafeState) => ({ address: s.address, owners: [...s.owners], threshold: s.threshold, nonce: s.nonce.toString(), heldOwners: [...s.heldOwners] });

function typedDataView(w: ProtocolWithdrawal) {
  const { domain, types, primaryType, message: m } = withdrawalTypedData(w);
  return {
    domain,
    types: { EIP712Domain: [{ name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" }], SafeTx: types.SafeTx.map((f) => ({ ...f })) },
    primaryType,
    message: {
      ...m,
      value: m.value.toString(),
      safeTxGas: m.safeTxGas.toString(),
      baseGas: m.baseGas.toString(),
      gasPrice: m.gasPrice.toString(),
      nonce: m.nonce.toString(),
    },
  };
}

function withdrawalView(w: ProtocolWithdrawal, safe: SafeState) {
  return {
    id: w.id,
    status: w.status,
    to: w.to,
    amountWei: w.amount.toString(),
    safe: w.safe,
    safeNonce: w.safeNonce.toString(),
    safeTxHash: w.safeTxHash,
    transaction: { to: w.tx.to, valueWei: "0", data: w.tx.data },
    confirmations: w.confirmations.map((c) => ({ owner: c.owner, at: c.at.toISOString() })),
    threshold: safe.threshold,
    owners: [...safe.owners],
    typedData: typedDataView(w),
    txHash: w.txHash,
    proposedAt: w.createdAt.toISOString(),
    executedAt: w.executedAt?.toISOString() ?? null,
  };
}

const resultView = (r: WithdrawalResult) => withdrawalView(r.withdrawal, r.safe);

const IdParams = Type.Object({ id: Type.String({ pattern: "^[0-9]{1,18}$" }) });

export function adminTreasuryRoutes(app: Api, ctx: AppContext): void {
  const security = [{ session: [] }];
  const tags = ["admin"];
  app.addHook("onRequest", adminHook(ctx.db));

  app.get(
    "/api/v1/admin/protocol/withdrawals",
    {
      schema: {
        tags,
        security,
        summary: "The Safe, the protocol balance and the withdrawal proposals with their confirmations",
        response: { 200: TreasuryView, ...errors(401, 403, 409) },
      },
    },
    async () => {
      const t = await readTreasury(ctx);
      return { safe: safeView(t.safe), protocolBalanceWei: t.protocolBalance.toString(), withdrawals: t.withdrawals.map((w) => withdrawalView(w, t.safe)) };
    },
  );

  app.post(
    "/api/v1/admin/protocol/withdrawals",
    {
      schema: {
        tags,
        security,
        summary: "Propose withdrawing protocol CXPT through the Safe",
        description:
          "Checks the amount against the protocol balance and simulates withdrawProtocol as the Safe, then stores the Safe transaction at the Safe's current nonce with no confirmation. Nothing is sent.",
        body: Type.Object({ to: Address, amountWei: Wei }, { additionalProperties: false }),
        response: { 201: WithdrawalView, ...errors(400, 401, 403, 409, 422) },
      },
    },
    async (request, reply) => {
      const { to, amountWei } = request.body;
      return reply.status(201).send(resultView(await proposeWithdrawal(ctx, accountOf(request).id, { to, amount: BigInt(amountWei) })));
    },
  );

  app.post(
    "/api/v1/admin/protocol/withdrawals/:id/confirmations",
    {
      schema: {
        tags,
        security,
        summary: "Add a Safe owner's confirmation: its EIP-712 signature of the withdrawal's typedData",
        params: IdParams,
        body: Type.Object({ signature: HexData }, { additionalProperties: false }),
        response: { 200: WithdrawalView, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => resultView(await confirmWithdrawal(ctx, accountOf(request).id, request.params.id, request.body.signature as `0x${string}`)),
  );

  app.post(
    "/api/v1/admin/protocol/withdrawals/:id/confirm-held",
    {
      schema: {
        tags,
        security,
        summary: "Add one confirmation with the next Safe owner key the backend holds (local chains)",
        params: IdParams,
        response: { 200: WithdrawalView, ...errors(401, 403, 404, 409, 503) },
      },
    },
    async (request) => resultView(await confirmWithHeldKey(ctx, accountOf(request).id, request.params.id)),
  );

  app.post(
    "/api/v1/admin/protocol/withdrawals/:id/execute",
    {
      schema: {
        tags,
        security,
        summary: "Execute a withdrawal through the Safe once enough owners confirmed it",
        params: IdParams,
        response: { 200: WithdrawalView, ...errors(401, 403, 404, 409, 422, 502, 503) },
      },
    },
    async (request) => resultView(await executeWithdrawal(ctx, accountOf(request).id, request.params.id)),
  );
}
