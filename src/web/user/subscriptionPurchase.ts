// Paying for a plan and cancelling its renewal.
//  - CXPT: the wallet sends SubscriptionManager.activatePlan(planId), which pulls the price from its
//    CXPT allowance to the Vault (approved first when short), then the API records the transaction.
//    Renewal is the owner's own opt-in on chain: only when the person ticks it does the wallet also
//    send resumeRenewal(passId), which lets keepers renew from the wallet each period.
//  - fiat: the API buys the price in CXPT and activates the plan for the wallet (local chain only:
//    elsewhere it answers 503 FIAT_NOT_AVAILABLE).
//  - cancel: the API's operator turns renewal off; the paid period runs out.
// Every failure is thrown as it came (ApiError or viem error) for describeError.
import { BaseError, ContractFunctionRevertedError, type Address, type Hash } from "viem";
import type { Config } from "wagmi";
import { readContract, simulateContract } from "wagmi/actions";
import { cxptAbi, subscriptionsAbi, vaultAbi } from "../../chain/abis.ts";
import type { Api } from "../lib/api.ts";
import { deliverReport, keepReport } from "../lib/reports.ts";
import { formatCxpt } from "../lib/format.ts";
import { sendContractWrite } from "../lib/tx.ts";
import type { PaymentOutcome, PlanView, SubscriptionStatus } from "./subscriptionData.ts";

const errorsOf = <const abi extends readonly { readonly type: string }[]>(abi: abi) =>
  abi.filter((item): item is Extract<abi[number], { readonly type: "error" }> => item.type === "error");

/**
 * activatePlan with the custom errors of the Vault and the token it calls, so their reverts are
 * decoded by name (SanctionedAddress, ERC20InsufficientAllowance…) instead of an unknown selector.
 */
const purchaseAbi = [...subscriptionsAbi, ...errorsOf(vaultAbi), ...errorsOf(cxptAbi)];

/** The custom error a contract call reverted with, if any. */
export function revertName(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
  return revert instanceof ContractFunctionRevertedError ? revert.data?.errorName : undefined;
}

/** Where a CXPT purchase is: each step is shown while it runs. */
export type PurchaseStep = "checking" | "approving" | "paying" | "renewing" | "recording";

export interface CxptPurchase {
  readonly config: Config;
  readonly api: Api;
  readonly wallet: Address;
  readonly contracts: { readonly cxpt: Address; readonly vault: Address; readonly subscriptions: Address };
  readonly onStep: (step: PurchaseStep) => void;
  /** Whether the person opted in to renewals from the wallet (resumeRenewal after the payment). */
  readonly renew?: boolean;
}

/**
 * Buys `plan` from the wallet: checks the balance and simulates activatePlan (a sanctioned wallet,
 * a retired plan or a pass still in its period is refused before anything is signed), raises the
 * Vault's allowance by the price (the allowance is also the PAYG allowance: what was allowed before
 * is still allowed after), sends activatePlan and has the API record it.
 */
export async function buyWithCxpt(purchase: CxptPurchase, plan: PlanView): Promise<PaymentOutcome> {
  const { config, api, wallet, contracts, onStep, renew = false } = purchase;
  const price = BigInt(plan.priceWei);
  onStep("checking");
  const [balance, allowance] = await Promise.all([
    readContract(config, { address: contracts.cxpt, abi: cxptAbi, functionName: "balanceOf", args: [wallet] }),
    readContract(config, { address: contracts.cxpt, abi: cxptAbi, functionName: "allowance", args: [wallet, contracts.vault] }),
  ]);
  if (balance < price) throw new Error(`Insufficient CXPT balance: the wallet holds ${formatCxpt(balance)} and the plan costs ${formatCxpt(price)}.`);
  const activate = { address: contracts.subscriptions, abi: purchaseAbi, functionName: "activatePlan", args: [BigInt(plan.id)] } as const;
  try {
    await simulateContract(config, { ...activate, account: wallet });
  } catch (error) {
    // A short allowance is the one refusal the approval cures.
    if (!(allowance < price && revertName(error) === "ERC20InsufficientAllowance")) throw error;
  }
  onStep("approving");
  await sendContractWrite(config, { address: contracts.cxpt, abi: cxptAbi, functionName: "approve", args: [contracts.vault, allowance + price] });
  onStep("paying");
  const receipt = await sendContractWrite(config, activate, (hash) => keepReport(wallet, planPaymentReport(plan.id, hash)));
  if (renew) {
    onStep("renewing");
    const passId = await readContract(config, { address: contracts.subscriptions, abi: subscriptionsAbi, functionName: "passOf", args: [wallet] });
    await sendContractWrite(config, { address: contracts.subscriptions, abi: subscriptionsAbi, functionName: "resumeRenewal", args: [passId] });
  }
  onStep("recording");
  return recordCxptPayment(api, wallet, plan.id, receipt.transactionHash);
}

/** The report that has the API record an activatePlan payment (kept until the API took it: lib/reports.ts). */
const planPaymentReport = (planId: number, txHash: Hash) => ({ txHash, what: `plan ${planId} payment`, path: "/api/v1/subscriptions/create", body: { planId, payment: "cxpt", txHash } });

/** Has the API record the wallet's activatePlan transaction (once per hash, so retrying is safe). */
const recordCxptPayment = (api: Api, wallet: Address, planId: number, txHash: Hash): Promise<PaymentOutcome> =>
  deliverReport<PaymentOutcome>(api, wallet, planPaymentReport(planId, txHash));

/**
 * Buys `plan` through the fiat path for its USD price. `paymentRef` identifies this payment: the
 * same reference is never charged twice, so a retry after a lost answer must reuse it.
 */
export const buyWithFiat = (api: Api, plan: PlanView, paymentRef: string): Promise<PaymentOutcome> =>
  api<PaymentOutcome>("/api/pay/subscription", { body: { planId: plan.id, payment: "fiat", paymentRef, usd: plan.priceUsd } });

/** Turns the renewal off; the pass stays usable until its period ends. */
export const cancelRenewal = (api: Api): Promise<{ txHash: Hash; subscription: SubscriptionStatus }> =>
  api("/api/v1/subscriptions/cancel", { method: "POST" });
