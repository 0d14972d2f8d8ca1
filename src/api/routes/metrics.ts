// GET /metrics: Prometheus metrics in the text format (src/monitoring/scrape.ts): this process's
// counters and the business figures read from PostgreSQL at scrape time. No auth: like any
// Prometheus endpoint it is meant for the internal network; the reverse proxy that serves the
// public API must not route /metrics. Hidden from the OpenAPI document.
import type { AppContext } from "../../app/context.ts";
import { createScrape } from "../../monitoring/scrape.ts";
import type { Api } from "../server.ts";

export function metricsRoutes(app: Api, ctx: AppContext): void {
  const scrape = createScrape(ctx);
  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) => reply.type(scrape.contentType).send(await scrape.render()));
}
