// Shared setup for the RewardDistributor tests: funding through the Vault, point uploads,
// epoch starts, timing and ERC-2771 forward requests signed by an account.
import { encodeFunctionData, numberToHex, type Address, type Hex } from "viem";
import { loadSuite, networkHelpers, type Suite } from "../helpers/fixture.ts";
import { FORWARD_REQUEST_TYPES } from "../../../src/rewards/forwarder.ts";

export { viem, networkHelpers, ROLES, SPLIT, deployProxy, connection } from "../helpers/fixture.ts";

/** The distributor's `Pool` enum. */
export const Pool = { Providers: 0, Users: 1 } as const;
export type PoolId = (typeof Pool)[keyof typeof Pool];
export const POOLS = [Pool.Providers, Pool.Users] as const;

export const BPS = 10_000n;
export const DAY = 24n * 3600n;
export const WEEK = 7n * DAY;

type Wallet = Suite["wallets"]["alice"];

/** A deterministic address that is no wallet of the suite (the n-th filler account). */
export const filler = (n: number): Address => numberToHex(0xf11e0000n + BigInt(n), { size: 20 });

/** Expected protocol / providers / users shares of a funding, as the contract rounds them. */
export function splitOf(amount: bigint, bps: { protocol: bigint; providers: bigint } = { protocol: 3_000n, providers: 5_500n }) {
  const protocol = (amount * bps.protocol) / BPS;
  const providers = (amount * bps.providers) / BPS;
  return { protocol, providers, users: amount - protocol - providers };
}

/** The suite plus small helpers bound to it; a fresh snapshot per call. */
export async function setup() {
  const suite = await loadSuite();
  const { cxpt, vault, distributor, forwarder, publicClient, wallets } = suite;
  const { alice, rewardsOperator } = wallets;

  const wait = async (hash: Hex | Promise<Hex>) => publicClient.waitForTransactionReceipt({ hash: await hash });

  /** Alice pays `gross` into the Vault and anyone sweeps it: returns what reached the distributor. */
  async function fund(gross: bigint): Promise<bigint> {
    await wait(cxpt.write.approve([vault.address, gross], { account: alice.account }));
    await wait(vault.write.deposit([gross, numberToHex(0n, { size: 32 })], { account: alice.account }));
    const swept = await vault.read.accrued();
    await wait(vault.write.sweep({ account: wallets.carol.account }));
    return swept;
  }

  /** Uploads points for `epoch` in `pool` (one batch) as the rewards operator. */
  const upload = (epoch: bigint, pool: PoolId, accounts: readonly Address[], shares: readonly bigint[]) =>
    wait(distributor.write.updateShares([epoch, pool, [...accounts], [...shares]], { account: rewardsOperator.account }));

  /** Starts `epoch` lasting `duration` seconds; returns its start and end. */
  async function start(epoch: bigint, duration: bigint) {
    await wait(distributor.write.startEpoch([epoch, duration], { account: rewardsOperator.account }));
    const [from, to] = await distributor.read.epochTimes([epoch]);
    return { start: from, end: to };
  }

  /** Mines a block at `timestamp`, so reads see that time. */
  const at = (timestamp: bigint) => networkHelpers.time.increaseTo(timestamp);
  /** Mines a block at `timestamp` unless the chain is already past it. */
  const reach = async (timestamp: bigint) => {
    if (BigInt(await networkHelpers.time.latest()) < timestamp) await at(timestamp);
  };
  /** The next transaction is mined at `timestamp`. */
  const nextAt = (timestamp: bigint) => networkHelpers.time.setNextBlockTimestamp(timestamp);

  const balanceOf = (account: Address) => cxpt.read.balanceOf([account]);

  /** `account` claims; returns the CXPT it received and the receipt. */
  async function claim(account: Wallet) {
    const before = await balanceOf(account.account.address);
    const receipt = await wait(distributor.write.claim({ account: account.account }));
    return { paid: (await balanceOf(account.account.address)) - before, receipt };
  }

  /** Total of `pendingOf` over `accounts`. */
  async function pendingSum(accounts: readonly Address[]) {
    let sum = 0n;
    for (const a of accounts) sum += await distributor.read.pendingOf([a]);
    return sum;
  }

  /** What the distributor holds for accounts: its balance less the protocol share and unstarted funding. */
  async function claimable() {
    const balance = await balanceOf(distributor.address);
    const protocol = await distributor.read.protocolBalance();
    const pending = (await distributor.read.pendingFunding([Pool.Providers])) + (await distributor.read.pendingFunding([Pool.Users]));
    return balance - protocol - pending;
  }

  /**
   * `signer`'s EIP-712 ForwardRequest (domain and nonce read from the forwarder `via`, the suite's
   * by default) to call `claim()` on the distributor, ready for `forwarder.execute`.
   */
  async function signClaim(
    signer: Wallet,
    options: { deadline?: bigint; gas?: bigint; data?: Hex; via?: typeof forwarder } = {},
  ) {
    const via = options.via ?? forwarder;
    const [, name, version, chainId, verifyingContract] = await via.read.eip712Domain();
    const from = signer.account.address;
    const message = {
      from,
      to: distributor.address,
      value: 0n,
      gas: options.gas ?? 300_000n,
      nonce: await via.read.nonces([from]),
      deadline: Number(options.deadline ?? BigInt(await networkHelpers.time.latest()) + 3600n),
      data: options.data ?? encodeFunctionData({ abi: distributor.abi, functionName: "claim" }),
    };
    const signature = await signer.signTypedData({
      account: signer.account,
      domain: { name, version, chainId, verifyingContract },
      types: FORWARD_REQUEST_TYPES,
      primaryType: "ForwardRequest",
      message,
    });
    const { nonce: _nonce, ...request } = message;
    return { ...request, signature };
  }

  return { ...suite, wait, fund, upload, start, at, reach, nextAt, balanceOf, claim, pendingSum, claimable, signClaim };
}

export type Setup = Awaited<ReturnType<typeof setup>>;

/**
 * The common opening: `gross` paid and swept, then epoch 1 with `providers` points in the
 * provider pool and `users` points in the user pool, started for `duration` seconds.
 */
export async function withEpoch(
  s: Setup,
  options: {
    gross?: bigint;
    duration?: bigint;
    providers?: readonly [Address, bigint][];
    users?: readonly [Address, bigint][];
  } = {},
) {
  const funded = await s.fund(options.gross ?? 100_000n * 10n ** 18n);
  const providers = options.providers ?? [];
  const users = options.users ?? [];
  if (providers.length) await s.upload(1n, Pool.Providers, providers.map(([a]) => a), providers.map(([, v]) => v));
  if (users.length) await s.upload(1n, Pool.Users, users.map(([a]) => a), users.map(([, v]) => v));
  const times = await s.start(1n, options.duration ?? WEEK);
  return { funded, ...splitOf(funded), ...times };
}
