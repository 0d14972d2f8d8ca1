// The suite with the published plans (deploy/config.ts economics) plus a retired one, and alice
// and bob having approved the Vault: what the subscription and deposit service tests start from.
import { maxUint256, type Hex } from "viem";
import { DEFAULT_ECONOMICS, onchainPlan } from "../../../../deploy/config.ts";
import { deploySuite, networkHelpers, type Suite } from "../../helpers/fixture.ts";

/** The plans as created, in id order: Starter 1, Pro 2, Scale 3, then the retired plan 4. */
export const PLANS = [
  ...DEFAULT_ECONOMICS.plans.map((plan) => onchainPlan(plan, DEFAULT_ECONOMICS.cxptUsd)),
  { ...onchainPlan(DEFAULT_ECONOMICS.plans[0]!, DEFAULT_ECONOMICS.cxptUsd), active: false },
];
export const PLAN = { starter: 1n, pro: 2n, scale: 3n, retired: 4n } as const;

async function withPlans() {
  const suite = await deploySuite();
  const wait = (hash: Promise<Hex>) => hash.then((h) => suite.publicClient.waitForTransactionReceipt({ hash: h }));
  for (const plan of PLANS) await wait(suite.subscriptions.write.createPlan([plan]));
  for (const user of [suite.wallets.alice, suite.wallets.bob]) {
    await wait(suite.cxpt.write.approve([suite.vault.address, maxUint256], { account: user.account }));
  }
  return suite;
}

/** A fresh snapshot of the suite with plans. */
export const loadPlans = (): Promise<Suite> => networkHelpers.loadFixture(withPlans);
