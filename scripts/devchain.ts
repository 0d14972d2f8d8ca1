// The local chain on its own:
//   node scripts/devchain.ts [--data .data/chain] [--port 8545] [--host 127.0.0.1] [--ephemeral]
//                            [--chain-id 31337] [--fund <private key>[=<wei>]]…
// Keeps its state in <data>/journal.ndjson (replayed on start) unless --ephemeral; Ctrl-C stops it.
// --fund replaces the 20 funded development accounts by the given keys only (default 1000 ETH
// each): with --chain-id 9990 it stands in for agung, where only the deployer holds gas.
import { parseArgs } from "node:util";
import { createPublicClient, formatEther, http, isHex } from "viem";
import { startDevChain } from "../src/devchain/devchain.ts";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: ".data/chain" },
    port: { type: "string", default: "8545" },
    host: { type: "string", default: "127.0.0.1" },
    ephemeral: { type: "boolean", default: false },
    "chain-id": { type: "string", default: "31337" },
    fund: { type: "string", multiple: true },
  },
});

const chainId = Number(values["chain-id"]);
if (!Number.isSafeInteger(chainId) || chainId <= 0) throw new Error(`--chain-id must be a positive integer, not "${values["chain-id"]}"`);
const funded = values.fund?.map((entry) => {
  const [privateKey, wei = (1000n * 10n ** 18n).toString()] = entry.split("=");
  if (!isHex(privateKey) || privateKey.length !== 66) throw new Error("--fund takes a 32-byte hex private key, optionally =<wei>");
  if (!/^\d+$/.test(wei)) throw new Error(`--fund ${privateKey.slice(0, 6)}…: the balance must be whole wei, not "${wei}"`);
  return { privateKey, balance: BigInt(wei) };
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port must be a port number, not "${values.port}"`);

const chain = await startDevChain({
  dataDir: values.ephemeral ? undefined : values.data,
  host: values.host,
  port,
  chainId,
  ...(funded ? { accounts: funded } : {}),
  log: (line) => console.log(line),
});

const client = createPublicClient({ transport: http(chain.url) });
console.log(`devchain listening on ${chain.url} (chain id ${chain.chainId}, ${values.ephemeral ? "ephemeral" : `data in ${values.data}`})`);
console.log(funded ? "funded accounts:" : `accounts (mnemonic "test test test test test test test test test test test junk"):`);
for (const [i, account] of chain.accounts.entries()) {
  console.log(`  #${i} ${account} ${formatEther(await client.getBalance({ address: account }))} ETH`);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.log(`\n${signal}: stopping`);
    chain.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
