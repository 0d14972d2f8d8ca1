// How the latest epoch's points came about: base points per service tier, then the uptime, latency
// and demand multipliers applied in turn, spelled out as one multiplication that ends at the points.
import { formatTime } from "../lib/format.ts";
import type { Multiplier, PointsBreakdown as Breakdown } from "./data.ts";
import { formatMultiplier, formatPoints } from "./points.ts";

const NAMES: Readonly<Record<Multiplier, string>> = {
  uptime: "Uptime",
  latency: "Latency (p50)",
  demand: "Network demand",
};

export function PointsBreakdown({ breakdown }: { readonly breakdown: Breakdown | null }) {
  if (breakdown === null) return <p className="muted">No epoch has been computed yet: the daily rewards run shows how your points came about here.</p>;
  const { tiers, steps } = breakdown;
  const formula = `${formatPoints(breakdown.basePoints)} ${steps.map((s) => formatMultiplier(s.bps)).join(" ")} = ${formatPoints(breakdown.points)} points`;
  return (
    <div>
      <p className="muted">
        Epoch {breakdown.epoch}, served {formatTime(breakdown.from)} – {formatTime(breakdown.to)}
      </p>
      <div className="table-wrap">
        <table>
          <caption className="muted">Base points by service tier</caption>
          <thead>
            <tr>
              <th scope="col">Tier</th>
              <th scope="col">Requests</th>
              <th scope="col">Base points</th>
            </tr>
          </thead>
          <tbody>
            {tiers.map((t) => (
              <tr key={t.tier}>
                <th scope="row">{t.tier}</th>
                <td>{BigInt(t.requests).toLocaleString()}</td>
                <td>{formatPoints(t.basePoints)}</td>
              </tr>
            ))}
            <tr>
              <th scope="row">All tiers</th>
              <td />
              <td>{formatPoints(breakdown.basePoints)}</td>
            </tr>
          </tbody>
        </table>
      </div>
      <div className="table-wrap">
        <table>
          <caption className="muted">Multipliers, applied in turn (each one averaged over the epoch)</caption>
          <thead>
            <tr>
              <th scope="col">Multiplier</th>
              <th scope="col">Factor</th>
              <th scope="col">Points after</th>
            </tr>
          </thead>
          <tbody>
            {steps.map((s) => (
              <tr key={s.multiplier}>
                <th scope="row">{NAMES[s.multiplier]}</th>
                <td>{formatMultiplier(s.bps)}</td>
                <td>{formatPoints(s.points)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p>
        <strong aria-label="Points formula">{formula}</strong>
      </p>
      {breakdown.uploadedPoints !== breakdown.points ? (
        <p className="note" role="note">
          The rewards distributor holds {formatPoints(breakdown.uploadedPoints)} points for this epoch: figures reported after the upload count in a later epoch.
        </p>
      ) : null}
    </div>
  );
}
