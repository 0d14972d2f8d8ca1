// Every route module, registered in this order. Each one is one domain of the API.
import type { AppContext } from "../../app/context.ts";
import type { Api } from "../server.ts";
import { authRoutes } from "./auth.ts";
import { accountRoutes } from "./accounts.ts";
import { adminRoutes } from "./admin.ts";
import { adminAccountRoutes } from "./admin-accounts.ts";
import { adminTreasuryRoutes } from "./admin-treasury.ts";
import { computeRoutes } from "./compute.ts";
import { tokenRoutes } from "./tokens.ts";
import { rewardRoutes } from "./rewards.ts";
import { earningsRoutes } from "./earnings.ts";
import { subscriptionRoutes } from "./subscriptions.ts";
import { healthRoutes } from "./health.ts";
import { billingRoutes } from "./billing.ts";
import { usageRoutes } from "./usage.ts";
import { alertRoutes } from "./alerts.ts";
import { metricsRoutes } from "./metrics.ts";
import { jobRoutes } from "./jobs.ts";
import { providerStatsRoutes } from "./provider-stats.ts";
import { providerNodeRoutes } from "./provider-nodes.ts";
import { webRoutes } from "./web.ts";
import { faucetRoutes } from "./faucet.ts";

export type RouteModule = (app: Api, ctx: AppContext) => void | Promise<void>;

export const ROUTES: readonly RouteModule[] = [authRoutes, accountRoutes, computeRoutes, tokenRoutes, rewardRoutes, earningsRoutes, subscriptionRoutes, providerNodeRoutes, billingRoutes, usageRoutes, adminRoutes, adminAccountRoutes, adminTreasuryRoutes, providerStatsRoutes, alertRoutes, jobRoutes, healthRoutes, metricsRoutes, faucetRoutes,
  // Last: the dashboards' files and page fallback.
  webRoutes,
];
