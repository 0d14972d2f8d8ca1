// The admin API: the suite's economics (split, plans, burn rate), the stage switch, the points
// upload and the audit log. Admins only: 401 without a session, 403 without the admin role, both
// before the body is looked at. A change to the suite answers 200 when it was executed through the
// Safe and the timelock, 202 when it was only proposed (the body carries the proposal).
import { Type, type Static } from "typebox";
import type { AppContext } from "../../app/context.ts";
import { DEFAULT_AUDIT_PAGE, listAudit, MAX_AUDIT_PAGE, type AuditEntry } from "../../audit/log.ts";
import type { Plan } from "../../admin/governance.ts";
import { previewPoints, uploadPoints, type PointsPreview } from "../../admin/rewards.ts";
import type { NextEpochReview } from "../../rewards/review.ts";
import { pointsProgress, type PointsUploadResult } from "../../rewards/upload.ts";
import { changeBurnRate, changeSplit, createPlan, readAdminSettings, updatePlan, type AdminSettings, type ChangeResult } from "../../admin/service.ts";
import { checkStage, switchStage, type StageSwitch } from "../../admin/stage.ts";
import type { Plan as ChainPlan } from "../../subscriptions/chain.ts";
import { badRequest } from "../../errors.ts";
import { accountOf, adminHook } from "../auth.ts";
import { Address, errors, HexData, Nullable, pageQuery, Timestamp, TxHash, Uuid, Wei } from "../schemas.ts";
import type { Api } from "../server.ts";
import { isoOfSeconds } from "../../time.ts";

const UINT32_MAX = 2 ** 32 - 1;
const Bps = Type.Integer({ minimum: 0, maximum: 10_000, description: "basis points (10000 = 100 %)" });
const Bytes32 = Type.String({ pattern: "^0x[0-9a-fA-F]{64}$" });
const Uint32 = Type.Integer({ minimum: 0, maximum: UINT32_MAX });
const StageName = Type.Union([Type.Literal("off"), Type.Literal("testnet"), Type.Literal("mainnet")]);
const PhaseNumber = Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2), Type.Literal(3)], { description: "migration phase 0–3" });
const PoolName = Type.Union([Type.Literal("providers"), Type.Literal("users")]);

const Split = Type.Object({ protocolBps: Bps, providersBps: Bps, usersBps: Bps }, { additionalProperties: false, description: "must sum to 10000" });

const planFields = {
  priceWei: Wei,
  periodSeconds: Type.Integer({ minimum: 0, maximum: UINT32_MAX, description: "at least 86400 (one day)" }),
  bucketTokens: Type.String({ pattern: "^[0-9]{1,29}$", description: "tokens per period, as a decimal string (uint96)" }),
  requestsPerMinute: Uint32,
  concurrency: Uint32,
  active: Type.Boolean(),
};
const NewPlan = Type.Object({ ...planFields, active: Type.Optional(Type.Boolean({ description: "true unless given" })) }, { additionalProperties: false });
const PlanChanges = Type.Partial(Type.Object(planFields), { additionalProperties: false, minProperties: 1 });

const PlanView = Type.Object({ id: Type.Integer(), ...planFields });
const SafeTxView = Type.Object({ to: Address, valueWei: Wei, data: HexData });
const Executed = Type.Object({
  status: Type.Literal("executed"),
  label: Type.String(),
  operationId: Bytes32,
  txHashes: Type.Array(TxHash, { description: "the Safe's schedule transaction, then its execute transaction" }),
  planId: Type.Optional(Type.Integer({ description: "the plan created" })),
});
const Proposed = Type.Object({
  status: Type.Literal("proposed"),
  label: Type.String(),
  reason: Type.String({ description: "why the backend did not execute it" }),
  proposal: Type.Object({
    timelock: Address,
    delaySeconds: Type.String(),
    operationId: Bytes32,
    operation: Type.Object({ target: Address, valueWei: Wei, data: HexData, predecessor: Bytes32, salt: Bytes32 }),
    schedule: SafeTxView,
    execute: SafeTxView,
  }),
  text: Type.String({ description: "the two Safe transactions, for the owners" }),
});
const changeResponses = { 200: Executed, 202: Proposed, ...errors(400, 401, 403, 409, 422) };

const StageView = Type.Object({ stage: StageName, phase: PhaseNumber });
const FeaturesView = Type.Object({
  deposits: Type.Boolean(),
  claims: Type.Boolean(),
  paygInCxpt: Type.Boolean(),
  subscriptions: Type.Boolean(),
  faucet: Type.Boolean(),
  legacyCredits: Type.Boolean(),
});
const NextEpochView = Type.Object(
  {
    epoch: Type.Integer(),
    uploaded: Type.Boolean({ description: "shares are on chain for it" }),
    voided: Type.Boolean({ description: "a guardian voided the upload: it starts with no budget" }),
    reviewDelaySeconds: Type.Integer({ description: "each upload restarts it; the Safe or a guardian may void the upload meanwhile" }),
    currentEndsAt: Timestamp,
    reviewEndsAt: Nullable(Timestamp),
    startableAt: Timestamp,
  },
  { description: "the next epoch's shares upload and when RewardDistributor.startEpoch accepts it" },
);
const SettingsView = Type.Object({
  stage: StageName,
  phase: PhaseNumber,
  features: FeaturesView,
  chain: Nullable(
    Type.Object({
      chainId: Type.Integer(),
      split: Split,
      burnBps: Bps,
      plans: Type.Array(PlanView),
      protocolBalanceWei: Wei,
      currentEpoch: Type.Integer(),
      nextEpoch: NextEpochView,
      safe: Address,
      timelock: Address,
    }),
  ),
});
const PoolTally = Type.Object({ accounts: Type.Integer(), points: Type.String() });
const UploadView = Type.Object({
  epoch: Type.Integer(),
  rows: Type.Integer(),
  sent: Type.Integer({ description: "rows sent to the chain now" }),
  unchanged: Type.Integer({ description: "rows already on chain with these points" }),
  pools: Type.Object({ providers: PoolTally, users: PoolTally }),
  txHashes: Type.Array(TxHash),
});
const AuditView = Type.Object({
  id: Type.String(),
  actorId: Nullable(Uuid),
  actorWallet: Nullable(Address),
  action: Type.String(),
  params: Type.Record(Type.String(), Type.Unknown()),
  outcome: Type.Record(Type.String(), Type.Unknown()),
  createdAt: Timestamp,
});

function changeView(result: ChangeResult) {
  if (result.status === "executed") {
    const { status, label, operationId, txHashes, planId } = result;
    return { status, label, operationId, txHashes: [...txHashes], ...(planId === undefined ? {} : { planId: Number(planId) }) };
  }
  const { proposal } = result;
  const safeTx = (tx: typeof proposal.schedule) => ({ to: tx.to, valueWei: (tx.value ?? 0n).toString(), data: tx.data });
  return {
    status: result.status,
    label: proposal.label,
    reason: result.reason,
    proposal: {
      timelock: proposal.timelock,
      delaySeconds: proposal.delay.toString(),
      operationId: proposal.id,
      operation: { ...proposal.operation, valueWei: proposal.operation.value.toString() },
      schedule: safeTx(proposal.schedule),
      execute: safeTx(proposal.execute),
    },
    text: result.text,
  };
}

const planView = (plan: ChainPlan) => ({
  id: Number(plan.planId),
  priceWei: plan.price.toString(),
  periodSeconds: plan.period,
  bucketTokens: plan.bucket.toString(),
  requestsPerMinute: plan.requestsPerMinute,
  concurrency: plan.concurrency,
  active: plan.active,
});

/** A plan's fields from the API names, only those given. */
function planOf(body: Partial<Static<typeof PlanChanges>>): Partial<Plan> {
  return {
    ...(body.priceWei === undefined ? {} : { price: BigInt(body.priceWei) }),
    ...(body.periodSeconds === undefined ? {} : { period: body.periodSeconds }),
    ...(body.bucketTokens === undefined ? {} : { bucket: BigInt(body.bucketTokens) }),
    ...(body.requestsPerMinute === undefined ? {} : { requestsPerMinute: body.requestsPerMinute }),
    ...(body.concurrency === undefined ? {} : { concurrency: body.concurrency }),
    ...(body.active === undefined ? {} : { active: body.active }),
  };
}

function settingsView(s: AdminSettings) {
  const chain = s.chain;
  return {
    stage: s.stage,
    phase: s.phase,
    features: s.features,
    chain:
      chain === null
        ? null
        : {
            chainId: chain.chainId,
            split: { protocolBps: Number(chain.split.protocol), providersBps: Number(chain.split.providers), usersBps: Number(chain.split.users) },
            burnBps: Number(chain.burnBps),
            plans: chain.plans.map(planView),
            protocolBalanceWei: chain.protocolBalance.toString(),
            currentEpoch: Number(chain.currentEpoch),
            nextEpoch: nextEpochView(chain.nextEpoch),
            safe: chain.safe,
            timelock: chain.timelock,
          },
  };
}

const nextEpochView = (r: NextEpochReview) => ({
  epoch: Number(r.epoch),
  uploaded: r.uploaded,
  voided: r.voided,
  reviewDelaySeconds: Number(r.reviewDelay),
  currentEndsAt: isoOfSeconds(r.currentEndsAt),
  reviewEndsAt: r.reviewEndsAt === null ? null : isoOfSeconds(r.reviewEndsAt),
  startableAt: isoOfSeconds(r.startableAt),
});

const stageView = (s: StageSwitch) => {
  const { stage, phase, ...features } = s.current;
  return { previous: s.previous, stage, phase, features, chainId: s.chainId };
};

const uploadView = (u: PointsUploadResult) => ({
  epoch: Number(u.epoch),
  rows: u.rows,
  sent: u.sent,
  unchanged: u.unchanged,
  pools: {
    providers: { accounts: u.pools.providers.accounts, points: u.pools.providers.points.toString() },
    users: { accounts: u.pools.users.accounts, points: u.pools.users.points.toString() },
  },
  txHashes: [...u.txHashes],
});

/** Largest points CSV accepted, in bytes of JSON (about 150,000 rows). */
const MAX_CSV_BODY = 10 * 1024 * 1024;

const CheckView = Type.Object({
  contract: Type.String({ description: "the contract checked, `chain`, or a backend key (operator, billing, …)" }),
  check: Type.String({ description: "chainId, address, code, proxy, identity, wiring, role, delay or gas" }),
  ok: Type.Boolean(),
  message: Type.String(),
});
const StageCheckView = Type.Object({
  stage: StageName,
  phase: PhaseNumber,
  ok: Type.Boolean({ description: "every check passed: the switch would go through" }),
  chainId: Nullable(Type.Integer()),
  checks: Type.Array(CheckView),
});

const PoolPreviewView = Type.Object({
  accounts: Type.Integer(),
  points: Type.String({ description: "the pool's points for the epoch: this CSV's and those stored before it" }),
  pendingFundingWei: Wei,
  accruedShareWei: Type.String({ description: "the pool's share of Vault.accrued(), swept in before the epoch starts" }),
  budgetWei: Wei,
});
const PreviewView = Type.Object({
  epoch: Type.Integer(),
  ok: Type.Boolean({ description: "the upload would be accepted" }),
  basis: Type.Literal("pendingFunding+accrued", {
    description: "each pool's budget: distributor.pendingFunding(pool) plus the pool's share of Vault.accrued() (the rewards job sweeps before the epoch starts, and startEpoch budgets the pending funding)",
  }),
  problems: Type.Array(Type.Object({ line: Type.Integer(), message: Type.String() }), { description: "problems of the file itself (then there are no rows)" }),
  rows: Type.Array(
    Type.Object({
      line: Type.Integer(),
      wallet: Type.String(),
      pool: Type.String(),
      points: Type.String(),
      ok: Type.Boolean(),
      error: Type.Optional(Type.String()),
      receivesWei: Type.Optional(Type.String({ description: "floor(points × pool budget ÷ pool points)" })),
    }),
  ),
  pools: Type.Object({ providers: PoolPreviewView, users: PoolPreviewView }),
});
const ProgressView = Type.Object({
  epoch: Type.Integer(),
  status: Nullable(Type.String({ description: "uploading, uploaded, …; null before any upload" })),
  rows: Type.Integer(),
  uploaded: Type.Integer(),
  done: Type.Boolean({ description: "every stored row is on chain" }),
  txHashes: Type.Array(TxHash),
});

const previewView = (p: PointsPreview) => ({
  epoch: Number(p.epoch),
  ok: p.ok,
  basis: "pendingFunding+accrued" as const,
  problems: [...p.problems],
  rows: p.rows.map((r) => ({
    line: r.line,
    wallet: r.wallet,
    pool: r.pool,
    points: r.points,
    ok: r.errors.length === 0,
    ...(r.errors.length > 0 ? { error: r.errors.join("; ") } : {}),
    ...(r.receives === undefined ? {} : { receivesWei: r.receives.toString() }),
  })),
  pools: Object.fromEntries(
    (["providers", "users"] as const).map((pool) => {
      const v = p.pools[pool];
      return [pool, { accounts: v.accounts, points: v.points.toString(), pendingFundingWei: v.pendingFunding.toString(), accruedShareWei: v.accruedShare.toString(), budgetWei: v.budget.toString() }];
    }),
  ) as Record<"providers" | "users", Static<typeof PoolPreviewView>>,
});

const PointsBody = Type.Object(
  { epoch: Type.Integer({ minimum: 1 }), pool: Type.Optional(PoolName), csv: Type.String({ minLength: 1, maxLength: MAX_CSV_BODY }) },
  { additionalProperties: false },
);

const auditView = (e: AuditEntry) => ({ ...e, createdAt: e.createdAt.toISOString() });

const AuditTime = Type.String({ pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})?)?$", description: "an ISO date (2026-12-01) or time" });

/** An audit filter's time; 400 INVALID_DATE for a well-formed but impossible one (2026-13-45). */
function auditTime(value: string, name: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw badRequest("INVALID_DATE", `${name} is not a date: "${value}"`);
  return date;
}


export function adminRoutes(app: Api, ctx: AppContext): void {
  const security = [{ session: [] }];
  const tags = ["admin"];
  // Every route here: who is asking is settled before the body is validated.
  app.addHook("onRequest", adminHook(ctx.db));
  const statusOf = (result: ChangeResult) => (result.status === "executed" ? 200 : 202);

  app.get(
    "/api/v1/admin/settings",
    { schema: { tags, security, summary: "Stage, phase, features and the suite's economics on chain", response: { 200: SettingsView, ...errors(401, 403) } } },
    async () => settingsView(await readAdminSettings(ctx)),
  );

  app.put(
    "/api/v1/admin/split",
    { schema: { tags, security, summary: "Set the reward split protocol/providers/users", body: Split, response: changeResponses } },
    async (request, reply) => {
      const { protocolBps, providersBps, usersBps } = request.body;
      const result = await changeSplit(ctx, accountOf(request).id, { protocol: BigInt(protocolBps), providers: BigInt(providersBps), users: BigInt(usersBps) });
      return reply.status(statusOf(result)).send(changeView(result));
    },
  );

  app.post(
    "/api/v1/admin/plans",
    { schema: { tags, security, summary: "Create a subscription plan", body: NewPlan, response: changeResponses } },
    async (request, reply) => {
      // The schema requires every field but `active`.
      const result = await createPlan(ctx, accountOf(request).id, { active: true, ...planOf(request.body) } as Plan);
      return reply.status(statusOf(result)).send(changeView(result));
    },
  );

  app.put(
    "/api/v1/admin/plans/:id",
    {
      schema: {
        tags,
        security,
        summary: "Change a subscription plan (the fields given; the others stay)",
        params: Type.Object({ id: Type.String({ pattern: "^[0-9]{1,10}$" }) }),
        body: PlanChanges,
        response: { ...changeResponses, ...errors(404) },
      },
    },
    async (request, reply) => {
      const result = await updatePlan(ctx, accountOf(request).id, BigInt(request.params.id), planOf(request.body));
      return reply.status(statusOf(result)).send(changeView(result));
    },
  );

  app.put(
    "/api/v1/admin/burn-rate",
    {
      schema: {
        tags,
        security,
        summary: "Set the Vault's burn rate",
        body: Type.Object({ burnBps: Type.Integer({ minimum: 0, description: "basis points, at most 1000 (10 %)" }) }, { additionalProperties: false }),
        response: changeResponses,
      },
    },
    async (request, reply) => {
      const result = await changeBurnRate(ctx, accountOf(request).id, BigInt(request.body.burnBps));
      return reply.status(statusOf(result)).send(changeView(result));
    },
  );

  app.put(
    "/api/v1/admin/stage",
    {
      schema: {
        tags,
        security,
        summary: "Switch the chain stage and migration phase",
        description: "Switching onto a chain validates the deployment there first and answers 422 naming every problem; nothing changes then.",
        body: Type.Object({ stage: StageName, phase: PhaseNumber }, { additionalProperties: false }),
        response: {
          200: Type.Object({ previous: StageView, stage: StageName, phase: PhaseNumber, features: FeaturesView, chainId: Nullable(Type.Integer()) }),
          ...errors(400, 401, 403, 409, 422, 502),
        },
      },
    },
    async (request) => stageView(await switchStage(ctx, accountOf(request).id, request.body)),
  );

  app.post(
    "/api/v1/admin/rewards/points",
    {
      bodyLimit: MAX_CSV_BODY,
      schema: {
        tags,
        security,
        summary: "Upload reward points for the next epoch from a CSV",
        description: "CSV header wallet,points[,pool]; `pool` applies to every row when the CSV has no pool column. Uploading again only sends rows whose points changed.",
        body: PointsBody,
        response: { 200: UploadView, ...errors(400, 401, 403, 409, 502, 503) },
      },
    },
    async (request) => {
      const { epoch, pool, csv } = request.body;
      return uploadView(await uploadPoints(ctx, accountOf(request).id, { epoch: BigInt(epoch), csv, ...(pool === undefined ? {} : { pool }) }));
    },
  );

  app.post(
    "/api/v1/admin/rewards/points/preview",
    {
      bodyLimit: MAX_CSV_BODY,
      schema: {
        tags,
        security,
        summary: "Check a points CSV row by row and preview what each account receives",
        description: "Stores and sends nothing. Bad rows are reported with their line and reason (never a 400 for the CSV's content); good rows carry what their account would receive from the epoch.",
        body: PointsBody,
        response: { 200: PreviewView, ...errors(400, 401, 403, 409) },
      },
    },
    async (request) => {
      const { epoch, pool, csv } = request.body;
      return previewView(await previewPoints(ctx, { epoch: BigInt(epoch), csv, ...(pool === undefined ? {} : { pool }) }));
    },
  );

  app.get(
    "/api/v1/admin/rewards/points/:epoch/progress",
    {
      schema: {
        tags,
        security,
        summary: "How far the points upload of an epoch got (poll while POST /api/v1/admin/rewards/points runs)",
        params: Type.Object({ epoch: Type.String({ pattern: "^[1-9][0-9]{0,8}$" }) }),
        response: { 200: ProgressView, ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const p = await pointsProgress(ctx.db, BigInt(request.params.epoch));
      return { epoch: Number(p.epoch), status: p.status, rows: p.rows, uploaded: p.uploaded, done: p.rows > 0 && p.uploaded === p.rows, txHashes: [...p.txHashes] };
    },
  );

  app.post(
    "/api/v1/admin/stage/check",
    {
      schema: {
        tags,
        security,
        summary: "Run the checks a stage switch runs and report each one with its result",
        description: "Changes nothing. The chain of the stage is validated (code, identities, wiring, roles, keys' gas) even when it is the current one; the stage off has nothing to check.",
        body: Type.Object({ stage: StageName, phase: Type.Optional(PhaseNumber) }, { additionalProperties: false }),
        response: { 200: StageCheckView, ...errors(400, 401, 403, 409, 422, 502) },
      },
    },
    async (request) => {
      const { stage, phase } = request.body;
      const report = await checkStage(ctx, { stage, phase: phase ?? ctx.stage.phase });
      return { ...report, checks: [...report.checks] };
    },
  );

  app.get(
    "/api/v1/admin/audit",
    {
      schema: {
        tags,
        security,
        summary: "The audit log of admin actions, newest first",
        description: "Filters combine: `admin` (the acting admin's wallet), `action` (e.g. set_split), `from` and `to` (ISO dates or times; `to` is exclusive).",
        querystring: Type.Object(
          {
            ...pageQuery("entries", MAX_AUDIT_PAGE, DEFAULT_AUDIT_PAGE),
            admin: Type.Optional(Address),
            action: Type.Optional(Type.String({ pattern: "^[a-z][a-z0-9_]{0,63}$", description: "an action name, snake_case" })),
            from: Type.Optional(AuditTime),
            to: Type.Optional(AuditTime),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ entries: Type.Array(AuditView), nextCursor: Nullable(Type.String()) }), ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const { limit, cursor, admin, action, from, to } = request.query;
      const page = await listAudit(ctx.db, {
        ...(limit === undefined ? {} : { limit: Number(limit) }),
        ...(cursor === undefined ? {} : { cursor }),
        ...(admin === undefined ? {} : { actorWallet: admin }),
        ...(action === undefined ? {} : { action }),
        ...(from === undefined ? {} : { since: auditTime(from, "from") }),
        ...(to === undefined ? {} : { until: auditTime(to, "to") }),
      });
      return { entries: page.entries.map(auditView), nextCursor: page.nextCursor };
    },
  );
}
