// The user's subscription: the current pass (plan, bucket left, expiry, cancelling the renewal) and
// the plans on sale, bought in CXPT from the wallet or through the fiat path.
import { useQueryClient } from "@tanstack/react-query";
import { useRef, useState } from "react";
import { useConfig, useConnection } from "wagmi";
import { ActionButton } from "../components/ActionButton.tsx";
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading, StatusNote } from "../components/Notice.tsx";
import { ProgressBar } from "../components/ProgressBar.tsx";
import { TxLink } from "../components/TxLink.tsx";
import { useAppConfig } from "../lib/appConfig.ts";
import { formatCxpt, formatTime } from "../lib/format.ts";
import { useApi, useSession } from "../lib/session.tsx";
import { planTitle, subscriptionKeys, usePlans, useSubscriptionStatus, type PaymentOutcome, type PlanView, type SubscriptionStatus } from "./subscriptionData.ts";
import { bucketCapacity, canCancel, formatPeriod, formatTokens, newPaymentRef, purchaseBlock } from "./subscriptionMath.ts";
import { buyWithCxpt, buyWithFiat, cancelRenewal, type PurchaseStep } from "./subscriptionPurchase.ts";
import "./subscription.css";

/** The bucket left of the pass against its capacity, as a bar and in tokens. */
export function BucketLeft({ status, plan }: { readonly status: SubscriptionStatus; readonly plan: PlanView | undefined }) {
  const left = BigInt(status.bucketRemaining);
  const capacity = bucketCapacity(BigInt(plan?.bucketTokens ?? "0"), status.tranches);
  return (
    <>
      <ProgressBar label="Bucket remaining" value={left} max={capacity} />
      <p className="muted">
        {formatTokens(left)} of {formatTokens(capacity)} tokens left
        {BigInt(status.overageRemaining) > 0n ? `, then ${formatTokens(status.overageRemaining)} overage tokens` : ""}
      </p>
    </>
  );
}

function passState(status: SubscriptionStatus): string {
  const end = status.periodEnd === null ? "" : formatTime(status.periodEnd);
  if (!status.active) return `Expired ${end}`;
  // Renewal is opt-in: off means never turned on or cancelled, so the card says "off", not "cancelled".
  return status.autoRenew ? `Active; renews ${end}` : `Active until ${end}; renewal off`;
}

/** The pass as it stands. */
export function CurrentPass({ status, plan }: { readonly status: SubscriptionStatus; readonly plan: PlanView | undefined }) {
  if (!status.subscribed) return <p className="muted">No plan yet: choose one below. Until then usage is paid as you go.</p>;
  return (
    <>
      <dl className="facts">
        <dt>Plan</dt>
        <dd>
          <strong>{status.planName ?? `Plan ${status.planId}`}</strong>
        </dd>
        <dt>Status</dt>
        <dd>{passState(status)}</dd>
        <dt>Expires</dt>
        <dd>{status.periodEnd === null ? "—" : formatTime(status.periodEnd)}</dd>
        <dt>Pass</dt>
        <dd className="mono">#{status.passId}</dd>
      </dl>
      <BucketLeft status={status} plan={plan} />
    </>
  );
}

/** Cancelling the renewal, with a confirmation step that says what happens. */
export function CancelRenewal({ periodEnd, onCancel }: { readonly periodEnd: string | null; readonly onCancel: () => Promise<unknown> }) {
  const [confirming, setConfirming] = useState(false);
  if (!confirming) {
    return (
      <button type="button" className="secondary" onClick={() => setConfirming(true)}>
        Cancel renewal…
      </button>
    );
  }
  return (
    <div className="note" role="group" aria-label="Confirm cancellation">
      <p>
        The plan will not renew. Your pass stays usable until {periodEnd === null ? "its period ends" : formatTime(periodEnd)}, then it expires.
      </p>
      <ActionButton variant="danger" onAction={onCancel} pendingLabel="Cancelling…">
        Yes, cancel renewal
      </ActionButton>{" "}
      <button type="button" className="secondary" onClick={() => setConfirming(false)}>
        Keep my plan
      </button>
    </div>
  );
}

/** The plans as a radio group: price in CXPT (and USD), period, bucket and rate limits. */
export function PlanPicker({
  plans,
  selectedId,
  onSelect,
}: {
  readonly plans: readonly PlanView[];
  readonly selectedId: number | undefined;
  readonly onSelect: (id: number) => void;
}) {
  return (
    <fieldset className="plans">
      <legend>Choose a plan</legend>
      {plans.map((plan) => (
        <label key={plan.id} className={`plan${plan.id === selectedId ? " selected" : ""}`}>
          <input type="radio" name="plan" value={plan.id} checked={plan.id === selectedId} disabled={!plan.active} onChange={() => onSelect(plan.id)} />
          <span>
            <strong>{planTitle(plan)}</strong> · {formatCxpt(plan.priceWei)} (≈ ${plan.priceUsd}) per {formatPeriod(plan.periodSeconds)}
            {plan.active ? "" : " · retired"}
            <br />
            <span className="muted">
              {formatTokens(plan.bucketTokens)} tokens · {plan.requestsPerMinute.toLocaleString("en")} requests/min · {plan.concurrency} concurrent
            </span>
          </span>
        </label>
      ))}
    </fieldset>
  );
}

const STEPS: Readonly<Record<PurchaseStep, string>> = {
  checking: "Checking your balance and the plan…",
  approving: "Approve the Vault to take the price in your wallet (your PAYG allowance stays as it is)…",
  paying: "Confirm the payment (activatePlan) in your wallet…",
  renewing: "Confirm turning renewal on (resumeRenewal) in your wallet…",
  recording: "Recording your payment…",
};

/** The two ways to pay for the chosen plan. */
export function PurchasePlan({
  plan,
  blocked,
  step,
  onCxpt,
  onFiat,
}: {
  readonly plan: PlanView | undefined;
  readonly blocked: string | null;
  readonly step: PurchaseStep | undefined;
  readonly onCxpt: (plan: PlanView, renew: boolean) => Promise<unknown>;
  readonly onFiat: (plan: PlanView) => Promise<unknown>;
}) {
  const [renew, setRenew] = useState(false);
  if (blocked !== null) return <p className="muted">{blocked}</p>;
  if (plan === undefined) return <p className="muted">Choose a plan to buy it.</p>;
  return (
    <div className="purchase">
      <p>
        <label>
          <input type="checkbox" checked={renew} onChange={(event) => setRenew(event.target.checked)} /> Renew automatically from my wallet each period (you
          can cancel any time)
        </label>
      </p>
      <ActionButton onAction={() => onCxpt(plan, renew)} pendingLabel="Paying in CXPT…">
        Pay {formatCxpt(plan.priceWei)} from wallet
      </ActionButton>{" "}
      <ActionButton variant="secondary" onAction={() => onFiat(plan)} pendingLabel="Paying by card…">
        Pay ${plan.priceUsd} by card
      </ActionButton>
      {step === undefined ? null : <StatusNote>{STEPS[step]}</StatusNote>}
    </div>
  );
}

export function SubscriptionManager() {
  const api = useApi();
  const config = useConfig();
  const { address } = useConnection();
  const token = useSession().session?.token;
  const queryClient = useQueryClient();
  const addresses = useAppConfig().chain?.addresses;
  const status = useSubscriptionStatus();
  const plans = usePlans();
  const [chosen, setChosen] = useState<number | undefined>(undefined);
  const [step, setStep] = useState<PurchaseStep | undefined>(undefined);
  const [done, setDone] = useState<{ text: string; txHash: string } | undefined>(undefined);
  // One reference per fiat purchase, kept until it succeeds: a retry is never charged twice.
  const fiatRef = useRef<{ planId: number; ref: string } | undefined>(undefined);

  const planOf = (id: number | null | undefined) => plans.data?.plans.find((p) => p.id === id);
  const selected = planOf(chosen ?? plans.data?.plans.find((p) => p.active)?.id);

  /** Shows the new pass at once and refreshes everything else (balances, allowance, history). */
  const settle = async (outcome: { subscription: SubscriptionStatus }, text: string, txHash: string) => {
    queryClient.setQueryData(subscriptionKeys.status(token), outcome.subscription);
    setDone({ text, txHash });
    await queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] !== "subscription" });
  };
  const paid = (outcome: PaymentOutcome) =>
    settle(outcome, `Paid: ${outcome.subscription.planName ?? "your plan"} is active until ${formatTime(outcome.payment.periodEnd)}.`, outcome.payment.txHash);

  const onCxpt = async (plan: PlanView, renew: boolean) => {
    const { cxpt, vault, subscriptions } = addresses ?? {};
    if (address === undefined) throw new Error("Connect a wallet first.");
    if (cxpt === undefined || vault === undefined || subscriptions === undefined) throw new Error("This server names no subscription contracts: CXPT payments are unavailable.");
    const contracts = { cxpt, vault, subscriptions };
    setDone(undefined);
    try {
      await paid(await buyWithCxpt({ config, api, wallet: address, contracts, onStep: setStep, renew }, plan));
    } catch (error) {
      // A step may have gone through (an approval, a payment the API did not record): show the chain's state.
      void queryClient.invalidateQueries();
      throw error;
    } finally {
      setStep(undefined);
    }
  };
  const onFiat = async (plan: PlanView) => {
    setDone(undefined);
    if (fiatRef.current?.planId !== plan.id) fiatRef.current = { planId: plan.id, ref: newPaymentRef() };
    const outcome = await buyWithFiat(api, plan, fiatRef.current.ref);
    fiatRef.current = undefined;
    await paid(outcome);
  };
  const onCancel = async () => {
    setDone(undefined);
    const { txHash, subscription } = await cancelRenewal(api);
    await settle({ subscription }, "Renewal cancelled: the pass runs until its period ends.", txHash);
  };

  return (
    <>
      <Card title="Subscription">
        {status.isPending ? (
          <Loading what="your subscription" />
        ) : status.isError ? (
          <>
            <ErrorNote error={status.error} />
            <button type="button" className="secondary" onClick={() => void status.refetch()}>
              Try again
            </button>
          </>
        ) : (
          <>
            <CurrentPass status={status.data} plan={planOf(status.data.planId)} />
            {canCancel(status.data) ? <CancelRenewal key={status.data.passId} periodEnd={status.data.periodEnd} onCancel={onCancel} /> : null}
          </>
        )}
        {done === undefined ? null : (
          <StatusNote>
            {done.text} <TxLink hash={done.txHash} />
          </StatusNote>
        )}
      </Card>
      <Card title="Plans">
        {plans.isPending ? (
          <Loading what="the plans" />
        ) : plans.isError ? (
          <>
            <ErrorNote error={plans.error} />
            <button type="button" className="secondary" onClick={() => void plans.refetch()}>
              Try again
            </button>
          </>
        ) : plans.data.plans.length === 0 ? (
          <p className="muted">No plans are on sale yet.</p>
        ) : (
          <>
            <PlanPicker plans={plans.data.plans} selectedId={selected?.id} onSelect={setChosen} />
            <PurchasePlan plan={selected} blocked={purchaseBlock(status.data)} step={step} onCxpt={onCxpt} onFiat={onFiat} />
          </>
        )}
      </Card>
    </>
  );
}
