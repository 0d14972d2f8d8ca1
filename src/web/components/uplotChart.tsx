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

export default function UplotChart({ days, series, kind, height = 220, unit }: SeriesChartProps) {
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
      const xs = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
      const bars = uPlot.paths.bars!({ size: [0.7 / Math.max(1, series.length), 40], align: 0 });
      chart = new uPlot(
        {
          width: Math.max(el.clientWidth, 240),
          height,
          tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
          legend: { show: series.length > 1 },
          cursor: { drag: { x: false, y: false } },
          // Half a day of room either side, so the first and last days' bars are whole.
          scales: { x: { time: true, range: (_u, min, max) => [min - 43_200, max + 43_200] } },
          axes: [
            {
              stroke: ink,
              grid: { stroke: grid },
              ticks: { stroke: grid },
              // One tick per day at most: the figures are per day.
              incrs: [86_400, 2 * 86_400, 7 * 86_400, 14 * 86_400, 28 * 86_400],
              values: (_u, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" })),
            },
            { stroke: ink, grid: { stroke: grid }, ticks: { stroke: grid }, label: unit, size: 60 },
          ],
          series: [
            {},
            ...series.map((s, i) => ({
              label: s.label,
              stroke: palette[i % palette.length],
              fill: kind === "bars" ? `${palette[i % palette.length]}99` : undefined,
              width: kind === "bars" ? 0 : 2,
              points: { show: kind !== "bars" },
              ...(kind === "bars" ? { paths: bars } : {}),
            })),
          ],
        },
        [xs, ...series.map((s) => [...s.values])],
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
  }, [days, series, kind, height, unit]);
  return <div ref={box} className="chart" aria-hidden="true" />;
}
