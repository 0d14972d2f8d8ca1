// npm running on an older system Node skips optional packages whose `engines`
// ask for Node >= 22, among them EDR's native binding, and Hardhat then fails
// (HHE27). Inside an npm script the project's pinned Node is first on PATH, so
// a second, script-less install from here picks those packages up.
import { execSync } from "node:child_process";

// Checked in a fresh process each time: a failed native load stays cached in this one.
function edrLoads() {
  try {
    execSync(`"${process.execPath}" -e 'require("@nomicfoundation/edr")'`, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

if (!edrLoads()) {
  console.log(`postinstall: EDR native binding missing; reinstalling optional packages under Node ${process.version}`);
  execSync("npm install --no-save --ignore-scripts --no-audit --no-fund", { stdio: "inherit" });
  if (!edrLoads()) {
    console.error("postinstall: EDR native binding still missing; Hardhat will not run");
    process.exit(1);
  }
}
