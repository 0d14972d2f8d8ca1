// Reads the lcov report `hardhat test solidity --coverage` wrote and prints each contract's line
// coverage; exits 1 when a contract, or all of them together, is under the floor. Part of
// `npm test` (through `npm run coverage:sol`), so the Solidity tests alone keep the contracts covered.
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** Line coverage of one source file, from its lcov record. */
export type FileCoverage = { file: string; found: number; hit: number };

// The report is the argument, else the one `hardhat test --coverage` writes.
const REPORT = process.argv[2] ?? join(import.meta.dirname, "..", "coverage", "lcov.info");
const FLOOR_SETTING = process.env.COVERAGE_MIN_LINES ?? "95";

/** The files of an lcov report with their lines found (LF) and hit (LH). */
export function parseLcov(text: string): FileCoverage[] {
  const files: FileCoverage[] = [];
  let current: FileCoverage | undefined;
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    const [key, value] = [line.slice(0, colon), line.slice(colon + 1)];
    if (key === "SF") current = { file: value, found: 0, hit: 0 };
    else if (current && key === "LF") current.found = Number(value);
    else if (current && key === "LH") current.hit = Number(value);
    else if (current && line === "end_of_record") {
      files.push(current);
      current = undefined;
    }
  }
  return files;
}

const percent = (hit: number, found: number): number => (found === 0 ? 100 : (100 * hit) / found);

function main(): void {
  // A floor that is not a percentage would compare false with everything and pass any coverage.
  const FLOOR = Number(FLOOR_SETTING);
  if (FLOOR_SETTING.trim() === "" || !Number.isFinite(FLOOR) || FLOOR < 0 || FLOOR > 100) {
    console.error(`coverage: COVERAGE_MIN_LINES must be a percentage from 0 to 100, not "${FLOOR_SETTING}"`);
    process.exit(1);
  }
  let text: string;
  try {
    text = readFileSync(REPORT, "utf8");
  } catch {
    console.error(`coverage: no report at ${REPORT}; run \`hardhat test solidity --coverage\` first`);
    process.exit(1);
  }
  const files = parseLcov(text).filter((f) => f.file.startsWith("contracts/"));
  if (files.length === 0) {
    console.error(`coverage: ${REPORT} lists no contract`);
    process.exit(1);
  }
  const total = files.reduce((sum, f) => ({ file: "total", found: sum.found + f.found, hit: sum.hit + f.hit }), {
    file: "total",
    found: 0,
    hit: 0,
  });
  const under: string[] = [];
  console.log(`Solidity line coverage (Solidity tests alone; floor ${FLOOR} %):`);
  for (const f of [...files, total]) {
    const p = percent(f.hit, f.found);
    if (p < FLOOR) under.push(f.file);
    console.log(`  ${f.file.padEnd(50)} ${p.toFixed(2).padStart(6)} %  (${f.hit}/${f.found} lines)`);
  }
  if (under.length > 0) {
    console.error(`coverage: under ${FLOOR} % lines: ${under.join(", ")}; add Solidity tests for the uncovered lines`);
    process.exit(1);
  }
}

if (import.meta.main) main();
