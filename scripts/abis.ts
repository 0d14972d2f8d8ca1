// Writes src/chain/abis.ts from the compiled artifacts (and Safe's audited npm build), so no ABI
// is ever restated by hand. Run `npm run abis` after a contract change;
// test/nodejs/chain/abis.test.ts fails while the file is stale.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { GENERATED_ABIS, REPO_ROOT, renderAbis } from "../deploy/artifacts.ts";

const file = join(REPO_ROOT, "src/chain/abis.ts");
writeFileSync(file, renderAbis());
console.log(`wrote ${file} (${Object.keys(GENERATED_ABIS).length} ABIs)`);
