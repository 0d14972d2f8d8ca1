// A chart of figures per day, drawn by uPlot loaded on demand (its own chunk: the first page stays
// within the bundle budget). The chart is for the eye: every chart is shown beside a table with the
// same figures, exact, which is what screen readers and tests read. A chart that cannot be drawn
// (no canvas) hides itself and leaves the table.
import { lazy, Suspense } from "react";
import { Fallback } from "./Fallback.tsx";

export interface SeriesChartProps {
  /** The days (YYYY-MM-DD, UTC) along the x axis. */
  readonly days?: readonly string[];
  /** Or named categories along the x axis ("#1", "#2": epochs), one per value. */
  readonly categories?: readonly string[];
  /** One or more series, one value per day (display numbers: exact amounts stay in the table). */
  readonly series: readonly { readonly label: string; readonly values: readonly (number | null)[] }[];
  readonly kind: "bars" | "lines";
  /** Several bar series: stacked (the default: parts of a total) or drawn over each other, first behind (a part of the first). */
  readonly stack?: boolean;
  readonly unit?: string;
  readonly height?: number;
}

const UplotChart = lazy(() => import("./uplotChart.tsx"));

export function SeriesChart(props: SeriesChartProps) {
  if ((props.days ?? props.categories ?? []).length === 0) return null;
  return (
    <Fallback fallback={<p className="muted">The chart could not be drawn here; the table has the figures.</p>}>
      <Suspense fallback={<div className="chart muted" style={{ height: props.height ?? 220 }}>Loading the chart…</div>}>
        <UplotChart {...props} />
      </Suspense>
    </Fallback>
  );
}
