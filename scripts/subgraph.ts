// Generates the subgraph of subgraph/ for one deployment of the suite, and optionally builds it:
//   node scripts/subgraph.ts [--network localhost | --deployment .data/deployment.json]
//                            [--graph-network NAME] [--build]
// It writes subgraph/abis/*.json from the Hardhat artifacts (run `hardhat build` first) and
// subgraph/subgraph.yaml with each contract's address and the deployment block as start block;
// `--build` then runs `graph codegen` (subgraph/generated) and `graph build` (subgraph/build).
// The data sources handle exactly the events the backend indexer follows (src/indexer/events.ts).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { parseArgs } from "node:util";
import type { Abi, AbiEvent, AbiParameter } from "viem";
import { ARTIFACT_FILES, REPO_ROOT, type ArtifactName } from "../deploy/artifacts.ts";
import { deploymentsByNetwork } from "../src/chain/addresses.ts";
import type { SuiteDeployment } from "../src/chain/types.ts";
import { AppError } from "../src/errors.ts";
import { INDEXED_CONTRACTS, TRACKED, type IndexedContract } from "../src/indexer/events.ts";

/** The subgraph's folder: schema, mappings, and the generated abis/, manifest, generated/, build/. */
export const SUBGRAPH_DIR = join(REPO_ROOT, "subgraph");

/** Per indexed contract: its data source (and ABI) name, mapping file and the entities it writes. */
export const DATA_SOURCES: Readonly<Record<IndexedContract, { readonly name: ArtifactName; readonly mapping: string; readonly entities: readonly string[] }>> = {
  cxpt: { name: "CXPT", mapping: "src/cxpt.ts", entities: ["TokenTransfer", "Allowance", "Account", "Protocol"] },
  vault: { name: "Vault", mapping: "src/vault.ts", entities: ["Payment", "Deposit", "Collection", "Sweep", "Account", "Protocol"] },
  distributor: {
    name: "RewardDistributor",
    mapping: "src/distributor.ts",
    entities: ["Funding", "Epoch", "ShareBalance", "ShareUpdate", "Claim", "ProtocolWithdrawal", "Account", "Protocol"],
  },
  subscriptions: {
    name: "SubscriptionManager",
    mapping: "src/subscriptions.ts",
    entities: ["Plan", "Pass", "PlanActivation", "PassRenewal", "TokenConsumption", "BucketGrant", "RenewalChange", "PassTransfer", "Account", "Protocol"],
  },
  billing: { name: "UsageBilling", mapping: "src/billing.ts", entities: ["Batch", "Leaf", "LeafOutcome", "SpendingCap", "Account", "Protocol"] },
};

/** The manifest's versions: what graph-cli 0.98 scaffolds for graph-ts 0.38. */
const SPEC_VERSION = "1.3.0";
const API_VERSION = "0.0.9";

export interface EventHandler {
  readonly event: string;
  readonly handler: string;
}

export interface DataSource {
  readonly kind: "ethereum/contract";
  readonly name: string;
  readonly network: string;
  readonly source: { readonly address: string; readonly abi: string; readonly startBlock: number };
  readonly mapping: {
    readonly kind: "ethereum/events";
    readonly apiVersion: string;
    readonly language: "wasm/assemblyscript";
    readonly entities: readonly string[];
    readonly abis: readonly { readonly name: string; readonly file: string }[];
    readonly eventHandlers: readonly EventHandler[];
    readonly file: string;
  };
}

/** subgraph.yaml as data (written as JSON, which is YAML too, so tests can read it back exactly). */
export interface Manifest {
  readonly specVersion: string;
  readonly description: string;
  readonly schema: { readonly file: string };
  readonly dataSources: readonly DataSource[];
}

/** The ABI of `name` from its Hardhat artifact. */
export function artifactAbi(name: ArtifactName, root: string = REPO_ROOT): Abi {
  const file = join(root, ARTIFACT_FILES[name]);
  if (!existsSync(file)) throw new AppError("ARTIFACT_MISSING", `${file} is missing: run \`npx hardhat build\` first`);
  return (JSON.parse(readFileSync(file, "utf8")) as { abi: Abi }).abi;
}

/** Writes each data source's ABI, from its artifact, to `dir`/<name>.json. */
export function writeAbis(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const contract of INDEXED_CONTRACTS) {
    const { name } = DATA_SOURCES[contract];
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(artifactAbi(name), null, 2) + "\n");
  }
}

function parameterSignature(p: AbiParameter & { indexed?: boolean }): string {
  const indexed = p.indexed === true ? "indexed " : "";
  const tuple = /^tuple(.*)$/.exec(p.type);
  if (tuple === null) return `${indexed}${p.type}`;
  const components = (p as { components: readonly AbiParameter[] }).components.map(parameterSignature);
  return `(${indexed}${components.join(",")})${tuple[1]}`;
}

/** An event's signature as graph-cli writes and checks it: `Paid(indexed address,…,uint256)`. */
export function eventSignature(event: AbiEvent): string {
  return `${event.name}(${event.inputs.map(parameterSignature).join(",")})`;
}

/** The handlers of `contract`'s tracked events, from its ABI; `handle<Event>` each. */
export function eventHandlers(contract: IndexedContract, abi: Abi): EventHandler[] {
  return TRACKED[contract].events.map((name) => {
    const items = abi.filter((item): item is AbiEvent => item.type === "event" && item.name === name);
    if (items.length !== 1) {
      throw new AppError("SUBGRAPH_EVENT", `${DATA_SOURCES[contract].name} has ${items.length} events named ${name}, expected 1`);
    }
    return { event: eventSignature(items[0]!), handler: `handle${name}` };
  });
}

/**
 * The Graph's name for `chainId` from the networks registry graph-cli ships (read from disk, no
 * network), else `fallback` (local chains and ones the registry lacks: a graph-node names them).
 */
export function graphNetworkFor(chainId: number, fallback: string): string {
  const file = join(REPO_ROOT, "node_modules/@graphprotocol/graph-cli/config/TheGraphNetworksRegistry.json");
  const registry = JSON.parse(readFileSync(file, "utf8")) as { networks: { id: string; caip2Id: string }[] };
  return registry.networks.find((n) => n.caip2Id === `eip155:${chainId}`)?.id ?? fallback;
}

export interface ManifestOptions {
  /** The folder the manifest is written to: its file paths are relative to it. */
  readonly manifestDir: string;
  /** The folder holding the ABI files (writeAbis). */
  readonly abisDir: string;
  /** The network name for graph-node; by default graphNetworkFor(chain id, deployment network). */
  readonly network?: string;
}

/** The manifest indexing `deployment` from its deployment block. */
export function buildManifest(deployment: SuiteDeployment, options: ManifestOptions): Manifest {
  const network = options.network ?? graphNetworkFor(deployment.chainId, deployment.network);
  const path = (file: string) => relative(options.manifestDir, file);
  const dataSources = INDEXED_CONTRACTS.map((contract): DataSource => {
    const { name, mapping, entities } = DATA_SOURCES[contract];
    const address = deployment.contracts[contract];
    if (address === undefined) throw new AppError("SUBGRAPH_DEPLOYMENT", `the ${deployment.network} deployment has no ${contract} address`);
    const abiFile = path(join(options.abisDir, `${name}.json`));
    return {
      kind: "ethereum/contract",
      name,
      network,
      source: { address, abi: name, startBlock: deployment.deploymentBlock },
      mapping: {
        kind: "ethereum/events",
        apiVersion: API_VERSION,
        language: "wasm/assemblyscript",
        entities,
        abis: [{ name, file: abiFile }],
        eventHandlers: eventHandlers(contract, artifactAbi(name)),
        file: path(join(SUBGRAPH_DIR, mapping)),
      },
    };
  });
  return {
    specVersion: SPEC_VERSION,
    description: `CXPT suite on ${deployment.network} (chain ${deployment.chainId}); generated by scripts/subgraph.ts, do not edit`,
    schema: { file: path(join(SUBGRAPH_DIR, "schema.graphql")) },
    dataSources,
  };
}

export interface GenerateOptions {
  /** Where the manifest goes (default subgraph/subgraph.yaml); it must be inside the repository. */
  readonly manifestFile?: string;
  /** The network name for graph-node (see ManifestOptions). */
  readonly network?: string;
}

/** Writes subgraph/abis/ and the manifest for `deployment`; returns the manifest. */
export function generateSubgraph(deployment: SuiteDeployment, options: GenerateOptions = {}): Manifest {
  const manifestFile = options.manifestFile ?? join(SUBGRAPH_DIR, "subgraph.yaml");
  const abisDir = join(SUBGRAPH_DIR, "abis");
  writeAbis(abisDir);
  const manifest = buildManifest(deployment, { manifestDir: dirname(manifestFile), abisDir, network: options.network });
  mkdirSync(dirname(manifestFile), { recursive: true });
  writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

export interface GraphRun {
  readonly code: number;
  readonly output: string;
}

/**
 * Runs the project's graph-cli with `args`; output is captured (and echoed when `echo`).
 * The update check of graph-cli's CLI framework would query the npm registry: it is switched off.
 */
export function runGraph(args: readonly string[], echo = false): Promise<GraphRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(REPO_ROOT, "node_modules/.bin/graph"), args, {
      cwd: SUBGRAPH_DIR,
      env: { ...process.env, GRAPH_SKIP_NEW_VERSION_CHECK: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (echo) process.stdout.write(chunk);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

/** `graph codegen` (into subgraph/generated, where the mappings import from) then `graph build`. */
export async function buildSubgraph(manifestFile: string, outputDir: string, echo = false): Promise<void> {
  const steps = [
    ["codegen", manifestFile, "--output-dir", join(SUBGRAPH_DIR, "generated")],
    ["build", manifestFile, "--output-dir", outputDir],
  ];
  for (const args of steps) {
    const run = await runGraph(args, echo);
    if (run.code !== 0) {
      const output = echo ? "" : `:\n${run.output}`; // echoed output is already on screen
      throw new AppError("SUBGRAPH_BUILD", `graph ${args[0]} failed (exit ${run.code})${output}`);
    }
  }
}

/** The deployment named on the command line: a recorded network, or a deployment JSON file. */
function chosenDeployment(values: { network?: string; deployment?: string }): SuiteDeployment {
  if (values.network !== undefined && values.deployment !== undefined) {
    throw new AppError("SUBGRAPH_ARGS", "give either --network or --deployment, not both");
  }
  if (values.deployment !== undefined) return JSON.parse(readFileSync(values.deployment, "utf8")) as SuiteDeployment;
  const network = values.network ?? "localhost";
  const deployment = deploymentsByNetwork[network];
  if (deployment === undefined) {
    const known = Object.keys(deploymentsByNetwork).join(", ");
    throw new AppError("SUBGRAPH_ARGS", `no recorded deployment for network "${network}" (recorded: ${known})`);
  }
  return deployment;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      network: { type: "string" },
      deployment: { type: "string" },
      "graph-network": { type: "string" },
      build: { type: "boolean", default: false },
    },
  });
  const deployment = chosenDeployment(values);
  const manifestFile = join(SUBGRAPH_DIR, "subgraph.yaml");
  const manifest = generateSubgraph(deployment, { manifestFile, network: values["graph-network"] });
  const network = manifest.dataSources[0]!.network;
  console.log(`wrote ${relative(REPO_ROOT, manifestFile)}: ${deployment.network} (chain ${deployment.chainId}) as "${network}", from block ${deployment.deploymentBlock}`);
  if (values.build) {
    await buildSubgraph(manifestFile, join(SUBGRAPH_DIR, "build"), true);
    console.log(`built ${relative(REPO_ROOT, join(SUBGRAPH_DIR, "build"))}`);
  }
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
