// A provider's earnings: what it has earned so far (claimable now + claimed), the per-epoch chart,
// how the latest epoch's points came about, and its performance over that epoch.
import { Card } from "../components/Card.tsx";
import { ErrorNote, Loading } from "../components/Notice.tsx";
import { formatBps, formatCxpt, formatTime } from "../lib/format.ts";
import { useEarnings, type Earnings, type Performance } from "./data.ts";
import { EarningsChart } from "./EarningsChart.tsx";
import { PointsBreakdown } from "./PointsBreakdown.tsx";

function CurrentEarnings({ earnings }: { readonly earnings: Earnings }) {
  const total = BigInt(earnings.pendingWei) + BigInt(earnings.claimedWei);
  return (
    <dl className="facts">
      <dt>Earned so far</dt>
      <dd>
        <strong>{formatCxpt(total)}</strong>
      </dd>
      <dt>Claimable now</dt>
      <dd>{formatCxpt(earnings.pendingWei)}</dd>
      <dt>Claimed</dt>
      <dd>{formatCxpt(earnings.claimedWei)}</dd>
      <dt>Current epoch</dt>
      <dd>{earnings.currentEpoch === 0 ? "none yet" : earnings.currentEpoch}</dd>
    </dl>
  );
}

function PerformanceFacts({ performance }: { readonly performance: Performance }) {
  return (
    <>
      <p className="muted">
        {formatTime(performance.from)} – {formatTime(performance.to)}
      </p>
      <dl className="facts">
        <dt>Uptime</dt>
        <dd>{performance.uptimeBps === null ? "not reported" : formatBps(performance.uptimeBps)}</dd>
        <dt>Median latency (p50)</dt>
        <dd>{performance.p50LatencyMs === null ? "not reported" : `${performance.p50LatencyMs.toLocaleString()} ms`}</dd>
        <dt>Requests served</dt>
        <dd>{BigInt(performance.servedRequests).toLocaleString()}</dd>
      </dl>
    </>
  );
}

export function ProviderEarnings() {
  const earnings = useEarnings();
  if (earnings.isPending) return <Loading what="your earnings" />;
  if (earnings.isError) {
    return (
      <Card title="Earnings">
        <ErrorNote error={earnings.error} />
        <button type="button" className="secondary" onClick={() => void earnings.refetch()}>
          Try again
        </button>
      </Card>
    );
  }
  const data = earnings.data;
  return (
    <>
      <Card title="Earnings">
        <CurrentEarnings earnings={data} />
        {data.pool === "users" ? (
          <p className="note" role="note">
            This wallet's account is a user account: it earns cashback, not provider rewards.
          </p>
        ) : null}
      </Card>
      <Card title="Earnings per epoch">
        <EarningsChart epochs={data.epochs} />
      </Card>
      {data.pool === "providers" ? (
        <>
          <Card title="Points by multiplier">
            <PointsBreakdown breakdown={data.pointsBreakdown} />
          </Card>
          <Card title="Performance">
            {data.performance === null ? <p className="muted">No figures reported yet.</p> : <PerformanceFacts performance={data.performance} />}
          </Card>
        </>
      ) : null}
    </>
  );
}
