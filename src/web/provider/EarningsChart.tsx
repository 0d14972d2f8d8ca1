// Earnings per epoch as a bar chart in plain SVG (no chart library: the bundle budget), each bar
// named for screen readers, with the same figures as a table underneath for anyone who prefers one.
import { formatCxpt, formatTime } from "../lib/format.ts";
import type { EpochEarnings } from "./data.ts";
import { formatPoints } from "./points.ts";

const BAR = 28;
const GAP = 14;
const HEIGHT = 160;
const LABEL = 22;

/** Height of `value` in a chart whose tallest bar is `max`, in integer math (wei exceed 2^53). */
const heightOf = (value: bigint, max: bigint) => (max === 0n ? 0 : Number((value * BigInt(HEIGHT)) / max));

/** One bar per epoch: the whole entitlement, with what has been released so far drawn over it. */
export function EarningsChart({ epochs }: { readonly epochs: readonly EpochEarnings[] }) {
  if (epochs.length === 0) return <p className="muted">No reward epoch has started yet: earnings show here once the first one runs.</p>;
  const max = epochs.reduce((top, e) => (BigInt(e.entitlementWei) > top ? BigInt(e.entitlementWei) : top), 0n);
  const width = Math.max(epochs.length * (BAR + GAP) + GAP, 200);
  return (
    <figure style={{ margin: 0 }}>
      {/* A list of bars, so a screen reader reads each epoch's figure rather than one opaque image. */}
      <svg role="list" aria-label="Earnings per epoch (CXPT)" viewBox={`0 0 ${width} ${HEIGHT + LABEL}`} width="100%" style={{ maxHeight: 240 }}>
        <line aria-hidden="true" x1={0} x2={width} y1={HEIGHT} y2={HEIGHT} stroke="currentColor" strokeOpacity={0.3} />
        {epochs.map((e, i) => {
          const x = GAP + i * (BAR + GAP);
          const whole = Math.max(heightOf(BigInt(e.entitlementWei), max), BigInt(e.entitlementWei) > 0n ? 1 : 0);
          const released = heightOf(BigInt(e.releasedWei), max);
          return (
            <g key={e.epoch} role="listitem" aria-label={`Epoch ${e.epoch}: ${formatCxpt(e.entitlementWei)}`}>
              <rect x={x} y={HEIGHT - whole} width={BAR} height={whole} fill="var(--accent)" fillOpacity={0.35}>
                <title>{`Epoch ${e.epoch}: ${formatCxpt(e.entitlementWei)} (${formatCxpt(e.releasedWei)} released)`}</title>
              </rect>
              <rect x={x} y={HEIGHT - released} width={BAR} height={released} fill="var(--accent)" />
              <text x={x + BAR / 2} y={HEIGHT + 16} textAnchor="middle" fontSize={12} fill="currentColor">
                #{e.epoch}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption className="muted">Light: earned over the epoch; dark: released so far.</figcaption>
      <details>
        <summary>Earnings per epoch as a table</summary>
        <div className="table-wrap">
          <table>
            <caption className="muted">Per epoch: your points, the pool's, and what they earn</caption>
            <thead>
              <tr>
                <th scope="col">Epoch</th>
                <th scope="col">Runs</th>
                <th scope="col">Your points</th>
                <th scope="col">Pool points</th>
                <th scope="col">Pool budget</th>
                <th scope="col">Earned</th>
                <th scope="col">Released</th>
              </tr>
            </thead>
            <tbody>
              {epochs.map((e) => (
                <tr key={e.epoch}>
                  <th scope="row">{e.epoch}</th>
                  <td>
                    {formatTime(e.start)} – {formatTime(e.end)}
                  </td>
                  <td>{formatPoints(e.points)}</td>
                  <td>{formatPoints(e.totalPoints)}</td>
                  <td>{formatCxpt(e.budgetWei)}</td>
                  <td>{formatCxpt(e.entitlementWei)}</td>
                  <td>{formatCxpt(e.releasedWei)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
