// The Lambda entry points (handler `src/lambda/index.settle`, …): the jobs over the stack the
// environment configures, exactly as `npm run cxpt` reads it. A Lambda's file system is read-only
// and its memory goes with the container, so the embedded database is refused: DATABASE_URL must
// name PostgreSQL.
import { createApp } from "../app/create.ts";
import { ConfigError, loadConfig } from "../config/config.ts";
import { createHandlers } from "./handlers.ts";

/** The configuration a Lambda runs with, from `env`. @throws ConfigError naming the missing setting. */
export function lambdaConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  const config = loadConfig({ CXPT_DATA_DIR: "/tmp/cxpt", ...env });
  if (!("url" in config.database)) throw new ConfigError("the Lambda jobs need DATABASE_URL (PostgreSQL): the embedded database does not outlive a Lambda container");
  return config;
}

const handlers = createHandlers(() => createApp(lambdaConfig(), { follow: false }));

export const { settle, rewards, reconcile, monitor, index } = handlers;
