// The chart drawing itself, with uPlot (a small maintained canvas chart library): loaded on demand by
// SeriesChart, so it never weighs on the first page. Colours follow the theme and it redraws when the
// theme or the width changes.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { isDark, THEME_EVENT } from "../lib/theme.ts";
import type { SeriesChartProps } from "./SeriesChart.tsx";

const LIGHT = ["#3b5bdb", "#2b8a3e", "#e8590c", "#ae3ec9", "#0c8599", "#c92a2a"];
const DARK = ["#91a7ff", "#69db7c", "#ffa94d", "#e599f7", "#66d9e8", "#ff8787"];

/** Bar series as running totals, the last (tallest) first; each keeps its own colour. */
function stacked(series: SeriesChartProps["series"]) {
  const totals: (number | null)[][] = [];
  series.forEach((s, i) => totals.push(s.values.map((v, d) => (v === null && (i === 0 || totals[i - 1]![d] === null) ? null : (v ?? 0) + (i === 0 ? 0 : (totals[i - 1]![d] ?? 0))))));
  return series.map((s, i) => ({ label: s.label, values: totals[i]!, colour: i })).reverse();
}

export default function UplotChart({ days, categories, series, kind, stack = true, height = 220, unit }: SeriesChartProps) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    let chart: uPlot | undefined;
    const draw = () => {
      chart?.destroy();
      const dark = isDark();
      const palette = dark ? DARK : LIGHT;
      const ink = dark ? "#c9ccd3" : "#444a55";
      const grid = dark ? "rgba(255,255,255,0.08)" : "rgba(0,0,0,0.08)";
      const time = days !== undefined;
      const xs = time ? days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000) : (categories ?? []).map((_, i) => i);
      const half = time ? 43_200 : 0.5;
      // Several bar series are stacked: each is drawn as the running total up to it, tallest first, so
      // every segment shows and the bar's top is the day's total (the table has each figure).
      const drawn = kind === "bars" && stack && series.length > 1 ? stacked(series) : series.map((s, i) => ({ ...s, colour: i }));
      const bars = uPlot.paths.bars!({ size: [0.7 / Math.max(1, series.length), 40], align: 0 });
      chart = new uPlot(
        {
          width: Math.max(el.clientWidth, 240),
          height,
          tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
          legend: { show: series.length > 1 },
          cursor: { drag: { x: false, y: false } },
          // Half a day of room either side, so the first and last days' bars are whole.
          scales: {
            x: { time, range: (_u, min, max) => [min - half, max + half] },
            ...(kind === "bars" ? { y: { range: (_u: uPlot, _min: number, max: number) => [0, max > 0 ? max * 1.1 : 1] as uPlot.Range.MinMax } } : {}),
          },
          axes: [
            {
              stroke: ink,
              grid: { stroke: grid },
              ticks: { stroke: grid },
              // One tick per day (or category) at most: the figures are per day.
              incrs: time ? [86_400, 2 * 86_400, 7 * 86_400, 14 * 86_400, 28 * 86_400] : [1, 2, 5, 10, 20, 50],
              values: (_u, ticks) =>
                ticks.map((t) => (time ? new Date(t * 1000).toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" }) : (categories?.[t] ?? ""))),
            },
            { stroke: ink, grid: { stroke: grid }, ticks: { stroke: grid }, label: unit, size: 60 },
          ],
          series: [
            {},
            ...drawn.map((s) => ({
              label: s.label,
              stroke: palette[s.colour % palette.length],
              fill: kind === "bars" ? `${palette[s.colour % palette.length]}cc` : undefined,
              width: kind === "bars" ? 0 : 2,
              points: { show: kind !== "bars" },
              ...(kind === "bars" ? { paths: bars } : {}),
            })),
          ],
        },
        [xs, ...drawn.map((s) => [...s.values])],
        el,
      );
    };
    draw();
    const resize = new ResizeObserver(() => chart?.setSize({ width: Math.max(el.clientWidth, 240), height }));
    resize.observe(el);
    const media = window.matchMedia("(prefers-color-scheme: dark)");
    media.addEventListener("change", draw);
    window.addEventListener(THEME_EVENT, draw);
    return () => {
      resize.disconnect();
      media.removeEventListener("change", draw);
      window.removeEventListener(THEME_EVENT, draw);
      chart?.destroy();
    };
  }, [days, categories, series, kind, stack, height, unit]);
  return <div ref={box} className="chart" aria-hidden="true" />;
}
