// The dashboards' build (npm run build:web → dist/web, served by the API on its own origin) and their
// component tests (vitest + jsdom). `npm run dev:web` serves them with hot reload, the API calls
// proxied to a running `npm start`.
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const api = process.env.API_URL ?? "http://127.0.0.1:8787";

export default defineConfig({
  root: here("."),
  plugins: [react()],
  build: {
    outDir: here("../../dist/web"),
    emptyOutDir: true,
    // The report (scripts/build-web.ts) measures the initial JavaScript gzipped itself.
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1_000,
  },
  server: { proxy: { "/api": api, "/rpc": api } },
  test: {
    environment: "jsdom",
    include: ["**/*.test.tsx", "**/*.test.ts"],
    setupFiles: [here("test/setup.ts")],
    restoreMocks: true,
  },
});
