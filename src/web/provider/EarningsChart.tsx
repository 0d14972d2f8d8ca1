// Earnings per epoch as a bar chart drawn by uPlot (loaded on demand: the bundle budget), the whole
// entitlement behind what has been released so far; for screen readers a list naming each epoch's
// figure, and the same figures as a table for anyone who prefers one.
import { useMemo } from "react";
import { formatUnits } from "viem";
import { SeriesChart } from "../components/SeriesChart.tsx";
import { formatCxpt, formatTime } from "../lib/format.ts";
import type { EpochEarnings } from "./data.ts";
import { formatPoints } from "./points.ts";

/** CXPT as a display number for the chart only (the list and the table keep the exact amounts). */
const chartValue = (wei: string) => Number(formatUnits(BigInt(wei), 18));

/** The chart's columns: one category per epoch, the entitlement and the released part. */
export function earningsColumns(epochs: readonly EpochEarnings[]) {
  return {
    categories: epochs.map((e) => `#${e.epoch}`),
    series: [
      { label: "Earned (CXPT)", values: epochs.map((e) => chartValue(e.entitlementWei)) },
      { label: "Released (CXPT)", values: epochs.map((e) => chartValue(e.releasedWei)) },
    ],
  };
}

/** One bar per epoch: the whole entitlement, with what has been released so far drawn over it. */
export function EarningsChart({ epochs }: { readonly epochs: readonly EpochEarnings[] }) {
  const columns = useMemo(() => earningsColumns(epochs), [epochs]);
  if (epochs.length === 0) return <p className="muted">No reward epoch has started yet: earnings show here once the first one runs.</p>;
  return (
    <figure style={{ margin: 0 }}>
      {/* The chart is a canvas: this list is what a screen reader reads, one epoch at a time. */}
      <ul className="visually-hidden" aria-label="Earnings per epoch (CXPT)">
        {epochs.map((e) => (
          <li key={e.epoch} aria-label={`Epoch ${e.epoch}: ${formatCxpt(e.entitlementWei)}`}>
            #{e.epoch}: {formatCxpt(e.entitlementWei)} ({formatCxpt(e.releasedWei)} released)
          </li>
        ))}
      </ul>
      <SeriesChart categories={columns.categories} series={columns.series} kind="bars" stack={false} unit="CXPT" height={200} />
      <figcaption className="muted">Per epoch: earned over the epoch, and the part released so far in front of it.</figcaption>
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
