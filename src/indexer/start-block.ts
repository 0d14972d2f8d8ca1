// Where the indexer starts: the suite's deployment block. Configured (INDEXER_START_BLOCK), known
// from the deployment record, or found on chain as the first block where the CXPT proxy has code
// (a binary search over eth_getCode at past blocks: ~log2(head) calls, once per start).
import type { Address, PublicClient } from "viem";
import { AppError } from "../errors.ts";

export async function deploymentBlockOf(client: PublicClient, address: Address): Promise<bigint> {
  const hasCode = async (blockNumber: bigint) => ((await client.getCode({ address, blockNumber })) ?? "0x") !== "0x";
  let high = await client.getBlockNumber({ cacheTime: 0 });
  if (!(await hasCode(high))) throw new AppError("INVALID_DEPLOYMENT", `no contract at ${address} on this chain`, 422);
  let low = 0n;
  while (low < high) {
    const mid = (low + high) / 2n;
    if (await hasCode(mid)) high = mid;
    else low = mid + 1n;
  }
  return low;
}
