// The two ways to claim rewards from the RewardDistributor: gasless (the wallet signs the API's
// EIP-712 request and the backend's relayer sends it) and direct (the wallet calls claim() and pays
// the gas). Both end with what was paid and the transaction, or throw for describeError.
import { isAddressEqual, parseAbi, parseEventLogs, type Address, type Hash } from "viem";
import type { Config } from "wagmi";
import { signTypedData } from "wagmi/actions";
import type { Api } from "./api.ts";
import { deliverReport, keepReport } from "./reports.ts";
import { sendContractWrite } from "./tx.ts";

/** The distributor's claim, its event and the custom errors a claim can hit (named in messages). */
export const claimAbi = parseAbi([
  "function claim() returns (uint256 amount)",
  "event Claimed(address indexed account, uint8 indexed pool, uint256 amount)",
  "error NothingToClaim(address account)",
  "error SanctionedAddress(address account)",
  "error SanctionsOracleUnavailable(address oracle)",
]);

export interface Claimed {
  readonly claimedWei: bigint;
  readonly txHash: Hash;
  /** Why a direct claim, paid on chain, could not be recorded in the history (it stays paid). */
  readonly bookingError?: unknown;
}

interface ClaimRequest {
  readonly typedData: { readonly message: Record<string, unknown> } & Record<string, unknown>;
}

/**
 * Gasless: GET the claim request, sign it with the connected wallet, POST it to `route`: the
 * relayer route books it as a claim, /api/v1/tokens/withdraw as a withdrawal.
 */
export async function claimGasless(api: Api, config: Config, route: "/api/v1/rewards/claim" | "/api/v1/tokens/withdraw" = "/api/v1/rewards/claim"): Promise<Claimed> {
  const { typedData } = await api<ClaimRequest>("/api/v1/rewards/claim-request");
  // The typed data comes ready for eth_signTypedData_v4 (amounts as decimal strings).
  const signature = await signTypedData(config, typedData as never);
  const result = await api<{ claimedWei: string; txHash: Hash }>(route, { body: { request: typedData.message, signature } });
  return { claimedWei: BigInt(result.claimedWei), txHash: result.txHash };
}

/**
 * Direct: the connected wallet calls claim() (simulated first, so NothingToClaim is said before
 * signing). With `api`, the API then books the mined transaction into the account's history
 * (POST /api/v1/rewards/claims), as it books relayed claims itself.
 */
export async function claimDirect(config: Config, distributor: Address, wallet: Address, api?: Api): Promise<Claimed> {
  const report = (txHash: Hash) => ({ txHash, what: "reward claim", path: "/api/v1/rewards/claims", body: { txHash } });
  const receipt = await sendContractWrite(config, { address: distributor, abi: claimAbi, functionName: "claim", args: [] }, (hash) => {
    if (api !== undefined) keepReport(wallet, report(hash));
  });
  const paid = parseEventLogs({ abi: claimAbi, logs: receipt.logs, eventName: "Claimed" })
    .filter((log) => isAddressEqual(log.address, distributor) && isAddressEqual(log.args.account, wallet))
    .reduce((sum, log) => sum + log.args.amount, 0n);
  const txHash = receipt.transactionHash;
  if (api === undefined) return { claimedWei: paid, txHash };
  try {
    await deliverReport(api, wallet, report(txHash));
    return { claimedWei: paid, txHash };
  } catch (bookingError) {
    return { claimedWei: paid, txHash, bookingError };
  }
}
