// The Graph subgraph (subgraph/, scripts/subgraph.ts) for a real deployment of the suite on the
// in-process chain: the generated manifest names each contract and the deployment block, handles
// exactly the events the backend indexer follows with signatures taken from the generated ABIs,
// and `graph codegen` + `graph build` (offline) compile every mapping to wasm exporting its handlers.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Abi, AbiEvent } from "viem";
import { REPO_ROOT } from "../../../deploy/artifacts.ts";
import type { SuiteDeployment } from "../../../src/chain/types.ts";
import { INDEXED_CONTRACTS, TRACKED } from "../../../src/indexer/events.ts";
import { buildSubgraph, DATA_SOURCES, generateSubgraph, graphNetworkFor, SUBGRAPH_DIR, type Manifest } from "../../../scripts/subgraph.ts";
import { loadDeployment } from "../deploy/helpers.ts";

/** Name, parameter types and indexed flags of a manifest event signature `Name(indexed t1,t2)`. */
function parseSignature(signature: string): { name: string; types: string[]; indexed: boolean[] } {
  const match = /^(\w+)\((.*)\)$/.exec(signature);
  assert.ok(match, `malformed event signature ${signature}`);
  const params = match[2] === "" ? [] : match[2]!.split(",");
  return {
    name: match[1]!,
    types: params.map((p) => p.replace(/^indexed /, "")),
    indexed: params.map((p) => p.startsWith("indexed ")),
  };
}

/** Runs scripts/subgraph.ts with `args`. */
function cli(args: readonly string[]) {
  return spawnSync(process.execPath, [join(REPO_ROOT, "scripts/subgraph.ts"), ...args], { encoding: "utf8" });
}

describe("The Graph subgraph", () => {
  let deployment: SuiteDeployment;
  let dir: string;
  let manifestFile: string;
  let manifest: Manifest;

  before(async () => {
    deployment = (await loadDeployment()).deployment;
    // graph build finds graph-ts from the manifest's folder upwards: a scratch folder under the
    // (ignored) build output, so the developer's subgraph/subgraph.yaml is left alone.
    mkdirSync(join(SUBGRAPH_DIR, "build"), { recursive: true });
    dir = mkdtempSync(join(SUBGRAPH_DIR, "build", "test-"));
    manifestFile = join(dir, "subgraph.yaml");
    generateSubgraph(deployment, { manifestFile });
    // What graph-cli reads: the file (JSON is YAML), not the object the script built.
    manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Manifest;
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("indexes every tracked contract at its deployed address from the deployment block", () => {
    assert.deepEqual(
      manifest.dataSources.map((s) => s.name),
      INDEXED_CONTRACTS.map((c) => DATA_SOURCES[c].name),
    );
    for (const contract of INDEXED_CONTRACTS) {
      const source = manifest.dataSources.find((s) => s.name === DATA_SOURCES[contract].name)!;
      assert.equal(source.source.address, deployment.contracts[contract]);
      assert.equal(source.source.startBlock, deployment.deploymentBlock);
      assert.equal(source.kind, "ethereum/contract");
      // A chain The Graph's registry does not know keeps the deployment's network name.
      assert.equal(source.network, deployment.network);
    }
  });

  it("handles exactly the indexer's events, with signatures of events in the generated ABIs", () => {
    for (const contract of INDEXED_CONTRACTS) {
      const { name } = DATA_SOURCES[contract];
      const source = manifest.dataSources.find((s) => s.name === name)!;
      const abiFile = join(dir, source.mapping.abis[0]!.file);
      assert.equal(abiFile, join(SUBGRAPH_DIR, "abis", `${name}.json`));
      const events = (JSON.parse(readFileSync(abiFile, "utf8")) as Abi).filter((item): item is AbiEvent => item.type === "event");

      const handled = source.mapping.eventHandlers.map((h) => parseSignature(h.event));
      assert.deepEqual(handled.map((h) => h.name), TRACKED[contract].events, `${name} handles the tracked events`);
      for (const [i, signature] of handled.entries()) {
        const event = events.find((e) => e.name === signature.name);
        assert.ok(event, `${name}.${signature.name} is in the ABI`);
        assert.deepEqual(signature.types, event.inputs.map((p) => p.type), `${name}.${signature.name} parameter types`);
        assert.deepEqual(signature.indexed, event.inputs.map((p) => p.indexed === true), `${name}.${signature.name} indexed flags`);
        assert.equal(source.mapping.eventHandlers[i]!.handler, `handle${signature.name}`);
      }
    }
  });

  it("builds offline: codegen and build succeed and each data source's wasm exports its handlers", async () => {
    const output = join(dir, "build");
    await buildSubgraph(manifestFile, output);
    for (const source of manifest.dataSources) {
      const wasm = join(output, source.name, `${source.name}.wasm`);
      assert.ok(existsSync(wasm), `${wasm} exists`);
      const exported = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(wasm))).map((e) => e.name);
      for (const { handler } of source.mapping.eventHandlers) {
        assert.ok(exported.includes(handler), `${source.name}.wasm exports ${handler}`);
      }
    }
    // The built manifest points graph-node at the same contracts and blocks.
    const built = readFileSync(join(output, "subgraph.yaml"), "utf8");
    for (const contract of INDEXED_CONTRACTS) assert.ok(built.includes(`address: "${deployment.contracts[contract]}"`));
    assert.equal(built.match(new RegExp(`startBlock: ${deployment.deploymentBlock}\\n`, "g"))?.length, INDEXED_CONTRACTS.length);
  });

  it("lists, per data source, entities the schema defines, and every schema entity somewhere", () => {
    const schema = readFileSync(join(SUBGRAPH_DIR, "schema.graphql"), "utf8");
    const defined = [...schema.matchAll(/^type (\w+) @entity/gm)].map((m) => m[1]!).sort();
    const listed = new Set(manifest.dataSources.flatMap((s) => s.mapping.entities));
    for (const entity of listed) assert.ok(defined.includes(entity), `${entity} is in schema.graphql`);
    assert.deepEqual([...listed].sort(), defined);
  });

  it("names networks as The Graph's registry does, else after the deployment", () => {
    assert.equal(graphNetworkFor(3338, "peaq-deployment"), "peaq");
    assert.equal(graphNetworkFor(31337, "localhost"), "localhost");
  });

  it("refuses an unknown network and conflicting options", () => {
    const unknown = cli(["--network", "nowhere"]);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no recorded deployment for network "nowhere"/);
    const both = cli(["--network", "localhost", "--deployment", manifestFile]);
    assert.equal(both.status, 1);
    assert.match(both.stderr, /either --network or --deployment/);
  });
});
