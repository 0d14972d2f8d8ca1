// `npm run build:web`: builds the dashboards (src/web → dist/web) and reports the bundle: the
// initial JavaScript (the entry script and the chunks index.html preloads, what a first visit
// downloads before anything renders) and every lazy chunk, gzipped. Fails when the initial
// JavaScript is over the budget (200 kB gzipped, issue 15; the wallet modal, charts and each
// dashboard load on demand).
import { readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "vite";

const BUDGET = 200 * 1024;
const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist", "web");

// Built beside the served folder, then swapped in: an API serving dist/web meanwhile never sees a
// half-written build.
const next = `${dist}.next-${process.pid}`;
const old = `${dist}.old-${process.pid}`;
const started = performance.now();
try {
  await build({ configFile: join(root, "src", "web", "vite.config.ts"), logLevel: "warn", build: { outDir: next, emptyOutDir: true } });
  await rename(dist, old).catch((error: unknown) => {
    if ((error as { code?: unknown }).code !== "ENOENT") throw error;
  });
  await rename(next, dist);
} finally {
  await Promise.all([rm(next, { recursive: true, force: true }), rm(old, { recursive: true, force: true })]);
}
const seconds = (performance.now() - started) / 1000;

const html = await readFile(join(dist, "index.html"), "utf8");
const initial = new Set([...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/?([^"]+\.js)"/g)].map((m) => m[1]!));
const assets = (await readdir(join(dist, "assets"))).filter((f) => f.endsWith(".js") || f.endsWith(".css"));
const rows = await Promise.all(
  assets.map(async (file) => {
    const bytes = await readFile(join(dist, "assets", file));
    return { file: `assets/${file}`, raw: (await stat(join(dist, "assets", file))).size, gzip: gzipSync(bytes, { level: 9 }).length };
  }),
);
rows.sort((a, b) => Number(initial.has(b.file)) - Number(initial.has(a.file)) || b.gzip - a.gzip);
const kB = (n: number) => `${(n / 1024).toFixed(1)} kB`;
console.log(`built dist/web in ${seconds.toFixed(1)} s\n`);
console.log(`${"file".padEnd(48)}${"raw".padStart(12)}${"gzip".padStart(12)}  load`);
for (const row of rows) console.log(`${row.file.padEnd(48)}${kB(row.raw).padStart(12)}${kB(row.gzip).padStart(12)}  ${initial.has(row.file) ? "initial" : row.file.endsWith(".css") ? "style" : "lazy"}`);
const initialGzip = rows.filter((r) => initial.has(r.file)).reduce((sum, r) => sum + r.gzip, 0);
const allJs = rows.filter((r) => r.file.endsWith(".js")).reduce((sum, r) => sum + r.gzip, 0);
console.log(`\ninitial JavaScript: ${kB(initialGzip)} gzipped (budget ${kB(BUDGET)}); all JavaScript: ${kB(allJs)} gzipped`);
if (initial.size === 0) {
  console.error("no entry script found in dist/web/index.html");
  process.exit(1);
}
if (initialGzip > BUDGET) {
  console.error(`over budget by ${kB(initialGzip - BUDGET)}`);
  process.exit(1);
}
