// The local chain on its own:
//   node scripts/devchain.ts [--data .data/chain] [--port 8545] [--host 127.0.0.1] [--ephemeral]
// Keeps its state in <data>/journal.ndjson (replayed on start) unless --ephemeral; Ctrl-C stops it.
import { parseArgs } from "node:util";
import { createPublicClient, formatEther, http } from "viem";
import { startDevChain } from "../src/devchain/devchain.ts";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: ".data/chain" },
    port: { type: "string", default: "8545" },
    host: { type: "string", default: "127.0.0.1" },
    ephemeral: { type: "boolean", default: false },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port must be a port number, not "${values.port}"`);

const chain = await startDevChain({
  dataDir: values.ephemeral ? undefined : values.data,
  host: values.host,
  port,
  log: (line) => console.log(line),
});

const client = createPublicClient({ transport: http(chain.url) });
console.log(`devchain listening on ${chain.url} (chain id ${chain.chainId}, ${values.ephemeral ? "ephemeral" : `data in ${values.data}`})`);
console.log(`accounts (mnemonic "test test test test test test test test test test test junk"):`);
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
