// The next epoch's shares upload as the RewardDistributor holds it: uploaded or not, voided by a
// guardian or not, and when it can start. Uploaded shares start only once the current epoch has
// ended and the review delay after the last upload has passed (the Safe or a guardian may void the
// upload meanwhile); the rewards job waits for that moment and the admin console shows it.
import type { Address, PublicClient } from "viem";
import { distributorAbi } from "../chain/abis.ts";

export interface NextEpochReview {
  /** The epoch the upload is for: the current one + 1. */
  readonly epoch: bigint;
  /** Shares are on chain for it, in either pool. */
  readonly uploaded: boolean;
  /** A guardian voided the upload: the epoch starts with no budget, its funding waits for the next. */
  readonly voided: boolean;
  /** The last epoch whose upload a guardian voided (0: none). */
  readonly lastVoidedEpoch: bigint;
  /** The review delay each upload restarts, in seconds. */
  readonly reviewDelay: bigint;
  /** When the current epoch ends (unix seconds). */
  readonly currentEndsAt: bigint;
  /** When the review delay after the last upload passes (unix seconds); null with no upload. */
  readonly reviewEndsAt: bigint | null;
  /** The earliest time the epoch can start: both of the above (unix seconds). */
  readonly startableAt: bigint;
  /** The epoch duration bounds startEpoch enforces, in seconds. */
  readonly minDuration: bigint;
  readonly maxDuration: bigint;
}

/** Reads the next epoch's review state from the distributor at `address`. */
export async function readNextEpochReview(client: PublicClient, address: Address): Promise<NextEpochReview> {
  const distributor = { address, abi: distributorAbi } as const;
  const current = await client.readContract({ ...distributor, functionName: "currentEpoch" });
  const epoch = current + 1n;
  const [[minDuration, maxDuration, reviewDelay, uploadReviewEnd, voidedEpoch], [, currentEndsAt], [providerShares], [userShares]] = await Promise.all([
    client.readContract({ ...distributor, functionName: "epochBounds" }),
    client.readContract({ ...distributor, functionName: "epochTimes", args: [current] }),
    client.readContract({ ...distributor, functionName: "poolEpoch", args: [epoch, 0] }),
    client.readContract({ ...distributor, functionName: "poolEpoch", args: [epoch, 1] }),
  ]);
  const voided = voidedEpoch === epoch;
  const uploaded = providerShares > 0n || userShares > 0n;
  // A voided epoch starts without review; shares of one are refused, so none can wait for it.
  const reviewEndsAt = uploaded && !voided ? uploadReviewEnd : null;
  const startableAt = reviewEndsAt !== null && reviewEndsAt > currentEndsAt ? reviewEndsAt : currentEndsAt;
  return { epoch, uploaded, voided, lastVoidedEpoch: voidedEpoch, reviewDelay, currentEndsAt, reviewEndsAt, startableAt, minDuration, maxDuration };
}
