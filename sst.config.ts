// Cxmpute's backend on AWS with SST (https://sst.dev), beside the plain deployment (README
// "Deploying on AWS with SST"): the API as a container service, the jobs as Lambda functions on
// EventBridge schedules, the counters in a DynamoDB table, the keys and URLs as SST secrets, the contract addresses from the
// deployment `npm run deploy -- --network <network>` recorded in src/chain/addresses/<network>.ts.
//
//   npx sst@4.17.1 secret set RpcUrl https://… --stage agung     (and every other secret below)
//   npx sst@4.17.1 deploy --stage agung                           (peaq mainnet: --stage peaq)
//
// Type-checked by `npm test` against deploy/sst/platform.d.ts, a minimal declaration of the SST
// globals this file uses (SST generates the full one in .sst/platform/ when it installs its
// providers, which needs the internet).
import type { ContractKey } from "./src/chain/types.ts";

/** The SST stage is the network: agung (testnet, 9990) or peaq (mainnet, 3338). */
const STAGE_OF: Readonly<Record<string, "testnet" | "mainnet">> = { agung: "testnet", peaq: "mainnet" };

export default $config({
  app(input) {
    return {
      name: "cxpt",
      home: "aws",
      // Mainnet keeps its resources (database secrets, logs) when the app is removed.
      removal: input.stage === "peaq" ? "retain" : "remove",
      protect: input.stage === "peaq",
    };
  },
  async run() {
    const network = $app.stage;
    const stage = STAGE_OF[network];
    if (stage === undefined) throw new Error(`SST stage "${network}" is not a network: deploy with --stage agung or --stage peaq`);
    const { deploymentsByNetwork } = await import("./src/chain/addresses.ts");
    const { addressEnvName } = await import("./src/config/config.ts");
    const { lambdaSchedules } = await import("./src/lambda/schedules.ts");
    const deployment = deploymentsByNetwork[network];
    if (deployment === undefined) throw new Error(`no deployment recorded for ${network}: run npm run deploy -- --network ${network} first`);

    // Keys, URLs and the faucet's key are secrets, never in the repository or the template.
    const secret = {
      RPC_URL: new sst.Secret("RpcUrl"),
      DATABASE_URL: new sst.Secret("DatabaseUrl"),
      REDIS_URL: new sst.Secret("RedisUrl"),
      OPERATOR_PRIVATE_KEY: new sst.Secret("OperatorPrivateKey"),
      BILLING_PRIVATE_KEY: new sst.Secret("BillingPrivateKey"),
      SETTLER_PRIVATE_KEY: new sst.Secret("SettlerPrivateKey"),
      REWARDS_PRIVATE_KEY: new sst.Secret("RewardsPrivateKey"),
      RELAYER_PRIVATE_KEY: new sst.Secret("RelayerPrivateKey"),
      FAUCET_PRIVATE_KEY: new sst.Secret("FaucetPrivateKey", ""),
    };
    const secrets = (names: readonly (keyof typeof secret)[]) => Object.fromEntries(names.map((name) => [name, secret[name].value]));
    const addresses = Object.fromEntries(
      Object.entries(deployment.contracts).flatMap(([contract, address]) => (address ? [[addressEnvName(contract as ContractKey), address]] : [])),
    );
    const common = {
      CHAIN_STAGE: stage,
      CHAIN_ID: String(deployment.chainId),
      INDEXER_START_BLOCK: String(deployment.deploymentBlock),
      CXPT_USD: process.env.CXPT_USD ?? "0.10",
      LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
      ...(process.env.CHAIN_PHASE ? { CHAIN_PHASE: process.env.CHAIN_PHASE } : {}),
      ...addresses,
    };
    const keys = ["OPERATOR_PRIVATE_KEY", "BILLING_PRIVATE_KEY", "SETTLER_PRIVATE_KEY", "REWARDS_PRIVATE_KEY", "RELAYER_PRIVATE_KEY", "FAUCET_PRIVATE_KEY"] as const;

    // The bucket and served-work counters (src/counters) in DynamoDB, as the blueprint has them; set
    // COUNTER_STORE=postgres when deploying to keep them in PostgreSQL instead.
    const dynamo = (process.env.COUNTER_STORE ?? "dynamodb") === "dynamodb";
    const counters = dynamo
      ? new sst.aws.Dynamo("Counters", { fields: { pk: "string", sk: "string" }, primaryIndex: { hashKey: "pk", rangeKey: "sk" } })
      : undefined;
    const counterEnv: Record<string, SstInput<string>> = counters ? { COUNTER_STORE: "dynamodb", DYNAMODB_TABLE: counters.name } : { COUNTER_STORE: "postgres" };
    const link = counters ? [counters] : [];

    const vpc = new sst.aws.Vpc("Vpc", { nat: "managed" });
    const cluster = new sst.aws.Cluster("Cluster", { vpc });
    const api = new sst.aws.Service("Api", {
      cluster,
      image: { context: ".", dockerfile: "deploy/sst/Dockerfile" },
      cpu: "1 vCPU",
      memory: "2 GB",
      scaling: { min: 2, max: 6 },
      // The crons below run the jobs; the API instances only serve, meter and follow the chain.
      environment: {
        ...common,
        ...counterEnv,
        // Lambda sets AWS_REGION itself (and refuses it as a variable); the container is told.
        ...(process.env.AWS_REGION ? { AWS_REGION: process.env.AWS_REGION } : {}),
        JOBS: "off",
        HOST: "0.0.0.0",
        PORT: "8787",
        ...secrets(["RPC_URL", "DATABASE_URL", "REDIS_URL", ...keys]),
      },
      link, // IAM access to the counters table
      loadBalancer: { ports: [{ listen: "80/http", forward: "8787/http" }], health: { "8787/http": { path: "/api/health" } } },
    });

    // Each job's function: bundled by esbuild with the SQL migrations beside it (createApp migrates
    // on start, reading ./migrations next to the bundle) and the packages that load files of their
    // own left unbundled. No REDIS_URL: the jobs read PostgreSQL and the chain, and the metering
    // drain stays with the API.
    const schedules = lambdaSchedules(process.env);
    for (const job of Object.keys(schedules) as (keyof typeof schedules)[]) {
      new sst.aws.CronV2(`Job${job[0]!.toUpperCase()}${job.slice(1)}`, {
        schedule: schedules[job],
        // EventBridge Scheduler fills in the slot: the handler runs each slot once.
        event: { "detail-type": "Scheduled Event", source: "aws.scheduler", time: "<aws.scheduler.scheduled-time>" },
        retries: 2,
        function: {
          handler: `src/lambda/index.${job}`,
          runtime: "nodejs24.x",
          timeout: "15 minutes",
          memory: "1024 MB",
          vpc,
          environment: { ...common, ...counterEnv, ...secrets(["RPC_URL", "DATABASE_URL", ...keys]) },
          link,
          copyFiles: [{ from: "src/db/migrations", to: "src/lambda/migrations" }],
          nodejs: { format: "esm", install: ["pg", "@electric-sql/pglite", "bullmq", "ioredis", "pino"] },
        },
      });
    }
    return { api: api.url, network, chainId: deployment.chainId, counters: counters?.name ?? "postgres" };
  },
});
