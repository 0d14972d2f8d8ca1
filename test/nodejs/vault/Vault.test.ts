import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { anyValue } from "@nomicfoundation/hardhat-viem-assertions/predicates";
import {
  encodeFunctionData,
  getAddress,
  keccak256,
  parseEther,
  parseEventLogs,
  toHex,
  zeroAddress,
  type Hex,
  type WalletClient,
} from "viem";
import { DEFAULT_BURN_BPS, ROLES, SPLIT, deployProxy, deploySuite, networkHelpers, viem } from "../helpers/fixture.ts";
import { burnOf } from "../helpers/payments.ts";
import { deadlineIn, implementationOf, signPermit, type Permit } from "../token/helpers.ts";

const BPS = 10_000n;
const MAX_BURN_BPS = 1_000n;
// Not a round number, so the burn's rounding down is exercised.
const AMOUNT = parseEther("1000") + 12_345n;
const REF = keccak256(toHex("invoice-42"));
const UINT96_MAX = 2n ** 96n - 1n;

/** The suite plus two plain wallets holding the Vault's collector and deposit-consumer roles. */
async function vaultFixture() {
  const suite = await deploySuite();
  const [collector, consumer] = suite.allWallets.slice(11, 13);
  for (const [role, wallet] of [
    [ROLES.COLLECTOR, collector],
    [ROLES.DEPOSIT_CONSUMER, consumer],
  ] as const) {
    const hash = await suite.vault.write.grantRole([role, wallet.account.address], {
      account: suite.wallets.admin.account,
    });
    await suite.publicClient.waitForTransactionReceipt({ hash });
  }
  return { ...suite, collector, consumer };
}
type VaultSuite = Awaited<ReturnType<typeof vaultFixture>>;

let current: VaultSuite | undefined;

/** A fresh, snapshotted suite for one test; the invariant check after each test reads it. */
async function setup(): Promise<VaultSuite> {
  current = await networkHelpers.loadFixture(vaultFixture);
  return current;
}

/** The Vault's invariant: it holds exactly what it accrued and has not swept yet. */
async function assertHoldsAccrued({ cxpt, vault }: VaultSuite) {
  assert.equal(await cxpt.read.balanceOf([vault.address]), await vault.read.accrued());
}


/** What a payment changes: total supply, the Vault's books, and the payer's balance. */
async function books({ cxpt, vault }: VaultSuite, payer: WalletClient) {
  return {
    supply: await cxpt.read.totalSupply(),
    accrued: await vault.read.accrued(),
    totalBurned: await vault.read.totalBurned(),
    payerBalance: await cxpt.read.balanceOf([payer.account!.address]),
  };
}

/** Asserts that `amount` moved from `payer` since `before`, of which exactly `burned` was destroyed and the rest accrued. */
async function assertPaid(
  s: VaultSuite,
  payer: WalletClient,
  before: Awaited<ReturnType<typeof books>>,
  amount: bigint,
  burned: bigint,
) {
  const after = await books(s, payer);
  assert.equal(after.supply, before.supply - burned, "total supply falls by exactly the burn");
  assert.equal(after.accrued, before.accrued + amount - burned, "the rest accrues");
  assert.equal(after.totalBurned, before.totalBurned + burned);
  assert.equal(after.payerBalance, before.payerBalance - amount);
}

async function approveVault({ cxpt, vault }: VaultSuite, owner: WalletClient, amount: bigint) {
  await cxpt.write.approve([vault.address, amount], { account: owner.account! });
}

/** `owner` deposits `amount` for itself after approving it. */
async function deposit(s: VaultSuite, owner: WalletClient, amount = AMOUNT) {
  await approveVault(s, owner, amount);
  return s.vault.write.deposit([amount, REF], { account: owner.account! });
}

/** The operator pays `amount` for `user`. */
async function depositFor(s: VaultSuite, user: WalletClient, amount = AMOUNT) {
  await approveVault(s, s.wallets.operator, amount);
  return s.vault.write.depositFor([user.account!.address, amount, REF], { account: s.wallets.operator.account });
}

const permitDeposit = (s: VaultSuite, amount: bigint, p: Permit, account: WalletClient) =>
  s.vault.write.depositWithPermit([amount, REF, p.deadline, p.v, p.r, p.s], { account: account.account! });

/** Each caller in `callers` is refused `role` by `call` with AccessControlUnauthorizedAccount. */
async function assertOnlyRole(
  s: VaultSuite,
  role: Hex,
  callers: WalletClient[],
  call: (account: WalletClient) => Promise<Hex>,
) {
  for (const caller of callers) {
    await viem.assertions.revertWithCustomErrorWithArgs(call(caller), s.vault, "AccessControlUnauthorizedAccount", [
      caller.account!.address,
      role,
    ]);
  }
}

/** Flags `accounts` in the suite's sanctions mock and makes it the Vault's oracle. */
async function sanction(s: VaultSuite, ...accounts: WalletClient[]) {
  for (const account of accounts) await s.sanctions.write.setSanctioned([account.account!.address, true]);
  await s.vault.write.setSanctionsOracle([s.sanctions.address], { account: s.wallets.admin.account });
}

/** The CXPT Transfer logs of a transaction that burn tokens held by the Vault. */
async function vaultBurns(s: VaultSuite, hash: Hex) {
  const receipt = await s.publicClient.waitForTransactionReceipt({ hash });
  return parseEventLogs({ abi: s.cxpt.abi, eventName: "Transfer", logs: receipt.logs }).filter(
    (log) =>
      getAddress(log.address) === getAddress(s.cxpt.address) &&
      getAddress(log.args.from) === getAddress(s.vault.address) &&
      log.args.to === zeroAddress,
  );
}

describe("Vault", () => {
  afterEach(async () => {
    if (current !== undefined) await assertHoldsAccrued(current);
  });

  describe("initialize", () => {
    it("wires token, distributor, burn rate and admin, with events", async () => {
      const s = await setup();
      const { admin } = s.wallets;
      const vault = await deployProxy("Vault", [admin.account.address, s.cxpt.address, s.distributor.address, 300n]);

      assert.equal(getAddress(await vault.read.token()), getAddress(s.cxpt.address));
      assert.equal(getAddress(await vault.read.distributor()), getAddress(s.distributor.address));
      assert.equal(await vault.read.burnBps(), 300n);
      assert.equal(await vault.read.hasRole([ROLES.DEFAULT_ADMIN, admin.account.address]), true);
      const events = await s.publicClient.getContractEvents({ address: vault.address, abi: vault.abi, fromBlock: 0n });
      const named = events.map((e) => e.eventName);
      assert.ok(named.includes("DistributorSet"));
      assert.ok(named.includes("BurnRateSet"));
    });

    it("cannot run a second time (InvalidInitialization)", async () => {
      const s = await setup();
      await viem.assertions.revertWithCustomError(
        s.vault.write.initialize([s.wallets.alice.account.address, s.cxpt.address, s.distributor.address, 0n]),
        s.vault,
        "InvalidInitialization",
      );
    });

    it("cannot be run on the implementation (InvalidInitialization)", async () => {
      const s = await setup();
      const implementation = await viem.getContractAt("Vault", await implementationOf(s.vault.address));
      await viem.assertions.revertWithCustomError(
        implementation.write.initialize([s.wallets.alice.account.address, s.cxpt.address, s.distributor.address, 0n]),
        implementation,
        "InvalidInitialization",
      );
    });

    it("rejects a zero token, distributor or admin (ZeroAddress)", async () => {
      const s = await setup();
      const admin = s.wallets.admin.account.address;
      for (const args of [
        [admin, zeroAddress, s.distributor.address, DEFAULT_BURN_BPS],
        [admin, s.cxpt.address, zeroAddress, DEFAULT_BURN_BPS],
        [zeroAddress, s.cxpt.address, s.distributor.address, DEFAULT_BURN_BPS],
      ] as const) {
        await viem.assertions.revertWithCustomError(deployProxy("Vault", args), s.vault, "ZeroAddress");
      }
    });

    it("rejects a burn rate above the cap (BurnRateTooHigh)", async () => {
      const s = await setup();
      await viem.assertions.revertWithCustomErrorWithArgs(
        deployProxy("Vault", [
          s.wallets.admin.account.address,
          s.cxpt.address,
          s.distributor.address,
          MAX_BURN_BPS + 1n,
        ]),
        s.vault,
        "BurnRateTooHigh",
        [MAX_BURN_BPS + 1n, MAX_BURN_BPS],
      );
    });
  });

  describe("views", () => {
    it("report the configuration and empty books of a fresh Vault", async () => {
      const s = await setup();
      const { vault } = s;
      assert.equal(getAddress(await vault.read.token()), getAddress(s.cxpt.address));
      assert.equal(getAddress(await vault.read.distributor()), getAddress(s.distributor.address));
      assert.equal(await vault.read.sanctionsOracle(), zeroAddress);
      assert.equal(await vault.read.burnBps(), DEFAULT_BURN_BPS);
      assert.equal(await vault.read.MAX_BURN_BPS(), MAX_BURN_BPS);
      assert.equal(await vault.read.accrued(), 0n);
      assert.equal(await vault.read.totalBurned(), 0n);
      assert.equal(await vault.read.lastDepositId(), 0n);
      assert.deepEqual(await vault.read.depositOf([1n]), [zeroAddress, 0n]);
      assert.equal(await vault.read.isDepositConsumed([1n]), false);
      assert.equal(await vault.read.isSanctioned([s.wallets.alice.account.address]), false);
      assert.equal(await vault.read.OPERATOR_ROLE(), ROLES.OPERATOR);
      assert.equal(await vault.read.COLLECTOR_ROLE(), ROLES.COLLECTOR);
      assert.equal(await vault.read.DEPOSIT_CONSUMER_ROLE(), ROLES.DEPOSIT_CONSUMER);
    });
  });

  describe("deposit", () => {
    it("burns burnBps of the payment for real, accrues the rest and emits Paid", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      const burned = burnOf(AMOUNT, await s.vault.read.burnBps());
      assert.ok(burned > 0n);
      const before = await books(s, alice);

      const hash = await deposit(s, alice);

      await viem.assertions.emitWithArgs(hash, s.vault, "Paid", [
        alice.account.address,
        alice.account.address,
        AMOUNT,
        burned,
        REF,
        0n,
      ]);
      await assertPaid(s, alice, before, AMOUNT, burned);
      assert.equal((await vaultBurns(s, hash)).length, 1);
    });

    it("accumulates over several payments", async () => {
      const s = await setup();
      const { alice, bob } = s.wallets;
      await deposit(s, alice);
      await assertHoldsAccrued(s);
      await deposit(s, bob, AMOUNT * 3n);
      const burnBps = await s.vault.read.burnBps();
      const burned = burnOf(AMOUNT, burnBps) + burnOf(AMOUNT * 3n, burnBps);
      assert.equal(await s.vault.read.totalBurned(), burned);
      assert.equal(await s.vault.read.accrued(), AMOUNT * 4n - burned);
    });

    it("rejects a zero amount (ZeroAmount)", async () => {
      const s = await setup();
      await viem.assertions.revertWithCustomError(
        s.vault.write.deposit([0n, REF], { account: s.wallets.alice.account }),
        s.vault,
        "ZeroAmount",
      );
    });

    it("reverts without enough allowance (the token's ERC20InsufficientAllowance)", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      await approveVault(s, alice, AMOUNT - 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.vault.write.deposit([AMOUNT, REF], { account: alice.account }),
        s.cxpt,
        "ERC20InsufficientAllowance",
        [s.vault.address, AMOUNT - 1n, AMOUNT],
      );
    });

    it("reverts without enough balance (the token's ERC20InsufficientBalance)", async () => {
      const s = await setup();
      const { relayer } = s.wallets;
      await approveVault(s, relayer, AMOUNT);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.vault.write.deposit([AMOUNT, REF], { account: relayer.account }),
        s.cxpt,
        "ERC20InsufficientBalance",
        [relayer.account.address, 0n, AMOUNT],
      );
    });
  });

  describe("depositWithPermit", () => {
    it("pays in one transaction without a prior approve", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      assert.equal(await s.cxpt.read.allowance([alice.account.address, s.vault.address]), 0n);
      const permit = await signPermit(s.cxpt, alice, s.vault.address, AMOUNT, await deadlineIn(3600n));
      const burned = burnOf(AMOUNT, await s.vault.read.burnBps());
      const before = await books(s, alice);

      await viem.assertions.emitWithArgs(permitDeposit(s, AMOUNT, permit, alice), s.vault, "Paid", [
        alice.account.address,
        alice.account.address,
        AMOUNT,
        burned,
        REF,
        0n,
      ]);
      await assertPaid(s, alice, before, AMOUNT, burned);
      assert.equal(await s.cxpt.read.nonces([alice.account.address]), 1n);
      assert.equal(await s.cxpt.read.allowance([alice.account.address, s.vault.address]), 0n);
    });

    it("rejects an expired permit with the permit's ERC2612ExpiredSignature", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      const deadline = await deadlineIn(-1n);
      const permit = await signPermit(s.cxpt, alice, s.vault.address, AMOUNT, deadline);
      await viem.assertions.revertWithCustomErrorWithArgs(
        permitDeposit(s, AMOUNT, permit, alice),
        s.cxpt,
        "ERC2612ExpiredSignature",
        [deadline],
      );
    });

    it("rejects a replayed permit with ERC2612InvalidSigner", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      const permit = await signPermit(s.cxpt, alice, s.vault.address, AMOUNT, await deadlineIn(3600n));
      await permitDeposit(s, AMOUNT, permit, alice);
      await assertHoldsAccrued(s);
      await viem.assertions.revertWithCustomErrorWithArgs(
        permitDeposit(s, AMOUNT, permit, alice),
        s.cxpt,
        "ERC2612InvalidSigner",
        [anyValue, alice.account.address],
      );
    });

    it("still pays when a front-runner already used the permit and the allowance is in place", async () => {
      const s = await setup();
      const { alice, bob } = s.wallets;
      const permit = await signPermit(s.cxpt, alice, s.vault.address, AMOUNT, await deadlineIn(3600n));
      await s.cxpt.write.permit(
        [alice.account.address, s.vault.address, AMOUNT, permit.deadline, permit.v, permit.r, permit.s],
        {
          account: bob.account,
        },
      );
      const before = await books(s, alice);

      await viem.assertions.emit(permitDeposit(s, AMOUNT, permit, alice), s.vault, "Paid");
      await assertPaid(s, alice, before, AMOUNT, burnOf(AMOUNT, await s.vault.read.burnBps()));
    });
  });

  describe("depositFor", () => {
    it("lets the operator pay for a user and records the deposit", async () => {
      const s = await setup();
      const { operator, alice } = s.wallets;
      const burned = burnOf(AMOUNT, await s.vault.read.burnBps());
      await approveVault(s, operator, AMOUNT);
      const { result: depositId } = await s.vault.simulate.depositFor([alice.account.address, AMOUNT, REF], {
        account: operator.account.address,
      });
      assert.equal(depositId, 1n);
      const before = await books(s, operator);
      const aliceBalance = await s.cxpt.read.balanceOf([alice.account.address]);

      await viem.assertions.emitWithArgs(
        s.vault.write.depositFor([alice.account.address, AMOUNT, REF], { account: operator.account }),
        s.vault,
        "Paid",
        [alice.account.address, operator.account.address, AMOUNT, burned, REF, depositId],
      );
      await assertPaid(s, operator, before, AMOUNT, burned);
      assert.equal(await s.cxpt.read.balanceOf([alice.account.address]), aliceBalance);
      assert.equal(await s.vault.read.lastDepositId(), depositId);
      const [user, amount] = await s.vault.read.depositOf([depositId]);
      assert.equal(getAddress(user), getAddress(alice.account.address));
      assert.equal(amount, AMOUNT);
      assert.equal(await s.vault.read.isDepositConsumed([depositId]), false);
    });

    it("numbers deposits consecutively", async () => {
      const s = await setup();
      await depositFor(s, s.wallets.alice);
      await depositFor(s, s.wallets.bob, AMOUNT * 2n);
      assert.equal(await s.vault.read.lastDepositId(), 2n);
      const [user, amount] = await s.vault.read.depositOf([2n]);
      assert.equal(getAddress(user), getAddress(s.wallets.bob.account.address));
      assert.equal(amount, AMOUNT * 2n);
    });

    it("is reserved to OPERATOR_ROLE (AccessControlUnauthorizedAccount)", async () => {
      const s = await setup();
      const { alice, admin } = s.wallets;
      await assertOnlyRole(s, ROLES.OPERATOR, [alice, admin, s.collector], (caller) =>
        s.vault.write.depositFor([alice.account.address, AMOUNT, REF], { account: caller.account! }),
      );
    });

    it("rejects a zero user (ZeroAddress) and a zero amount (ZeroAmount)", async () => {
      const s = await setup();
      const { operator, alice } = s.wallets;
      await approveVault(s, operator, AMOUNT);
      await viem.assertions.revertWithCustomError(
        s.vault.write.depositFor([zeroAddress, AMOUNT, REF], { account: operator.account }),
        s.vault,
        "ZeroAddress",
      );
      await viem.assertions.revertWithCustomError(
        s.vault.write.depositFor([alice.account.address, 0n, REF], { account: operator.account }),
        s.vault,
        "ZeroAmount",
      );
      assert.equal(await s.vault.read.lastDepositId(), 0n);
    });

    it("rejects an amount above uint96 (AmountTooLarge)", async () => {
      const s = await setup();
      const { operator, alice } = s.wallets;
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.vault.write.depositFor([alice.account.address, UINT96_MAX + 1n, REF], { account: operator.account }),
        s.vault,
        "AmountTooLarge",
        [UINT96_MAX + 1n],
      );
    });
  });

  describe("collect", () => {
    it("lets a collector pull a payment from the user's allowance", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      await approveVault(s, alice, AMOUNT);
      const burned = burnOf(AMOUNT, await s.vault.read.burnBps());
      const before = await books(s, alice);

      await viem.assertions.emitWithArgs(
        s.vault.write.collect([alice.account.address, AMOUNT, REF], { account: s.collector.account }),
        s.vault,
        "Paid",
        [alice.account.address, alice.account.address, AMOUNT, burned, REF, 0n],
      );
      await assertPaid(s, alice, before, AMOUNT, burned);
    });

    it("is reserved to COLLECTOR_ROLE (AccessControlUnauthorizedAccount)", async () => {
      const s = await setup();
      const { alice, admin, operator } = s.wallets;
      await approveVault(s, alice, AMOUNT);
      await assertOnlyRole(s, ROLES.COLLECTOR, [alice, admin, operator], (caller) =>
        s.vault.write.collect([alice.account.address, AMOUNT, REF], { account: caller.account! }),
      );
    });

    it("reverts when the allowance falls short (the token's ERC20InsufficientAllowance)", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      await viem.assertions.revertWithCustomError(
        s.vault.write.collect([alice.account.address, AMOUNT, REF], { account: s.collector.account }),
        s.cxpt,
        "ERC20InsufficientAllowance",
      );
    });
  });

  describe("collectBatch", () => {
    it("collects the payers who can pay, skips short and sanctioned ones, emits once and burns once", async () => {
      const s = await setup();
      const { alice, bob, carol, operator, relayer } = s.wallets;
      await approveVault(s, alice, AMOUNT); // pays
      await approveVault(s, bob, AMOUNT - 1n); // short allowance
      await approveVault(s, carol, AMOUNT); // sanctioned
      await approveVault(s, relayer, AMOUNT); // short balance (holds no CXPT)
      await approveVault(s, operator, AMOUNT * 2n); // pays
      await sanction(s, carol);
      const payers = [alice, bob, carol, relayer, operator];
      const amounts = [AMOUNT, AMOUNT, AMOUNT, AMOUNT, AMOUNT * 2n];
      const args = [payers.map((w) => w.account.address), amounts, REF] as const;
      const total = AMOUNT * 3n;
      const burned = burnOf(total, await s.vault.read.burnBps());
      const supply = await s.cxpt.read.totalSupply();
      const balances = await Promise.all(payers.map((w) => s.cxpt.read.balanceOf([w.account.address])));

      const { result } = await s.vault.simulate.collectBatch(args, { account: s.collector.account.address });
      assert.deepEqual(result, [total, [true, false, false, false, true]]);

      const hash = await s.vault.write.collectBatch(args, { account: s.collector.account });
      const receipt = await s.publicClient.waitForTransactionReceipt({ hash });
      const batchEvents = parseEventLogs({ abi: s.vault.abi, eventName: "BatchCollected", logs: receipt.logs });
      assert.equal(batchEvents.length, 1);
      await viem.assertions.emitWithArgs(hash, s.vault, "BatchCollected", [REF, 2n, total, burned]);
      assert.equal((await vaultBurns(s, hash)).length, 1, "one burn for the whole chunk");

      assert.equal(await s.cxpt.read.totalSupply(), supply - burned);
      assert.equal(await s.vault.read.accrued(), total - burned);
      assert.equal(await s.vault.read.totalBurned(), burned);
      const after = await Promise.all(payers.map((w) => s.cxpt.read.balanceOf([w.account.address])));
      assert.deepEqual(
        after,
        balances.map((b, i) => ([0, 4].includes(i) ? b - amounts[i] : b)),
      );
    });

    it("burns nothing and emits a zero chunk when no payer can pay", async () => {
      const s = await setup();
      const { bob } = s.wallets;
      const supply = await s.cxpt.read.totalSupply();
      const hash = await s.vault.write.collectBatch([[bob.account.address], [AMOUNT], REF], {
        account: s.collector.account,
      });
      await viem.assertions.emitWithArgs(hash, s.vault, "BatchCollected", [REF, 0n, 0n, 0n]);
      assert.equal((await vaultBurns(s, hash)).length, 0);
      assert.equal(await s.cxpt.read.totalSupply(), supply);
      assert.equal(await s.vault.read.accrued(), 0n);
    });

    it("rejects arrays of unequal length (LengthMismatch)", async () => {
      const s = await setup();
      const { alice, bob } = s.wallets;
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.vault.write.collectBatch([[alice.account.address, bob.account.address], [AMOUNT], REF], {
          account: s.collector.account,
        }),
        s.vault,
        "LengthMismatch",
        [2n, 1n],
      );
    });

    it("is reserved to COLLECTOR_ROLE (AccessControlUnauthorizedAccount)", async () => {
      const s = await setup();
      const { alice, admin, operator } = s.wallets;
      await assertOnlyRole(s, ROLES.COLLECTOR, [alice, admin, operator], (caller) =>
        s.vault.write.collectBatch([[alice.account.address], [AMOUNT], REF], { account: caller.account! }),
      );
    });
  });

  describe("consumeDeposit", () => {
    it("spends an operator deposit once, for its user, and returns its gross amount", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      await depositFor(s, alice);
      const { consumer } = s;
      const { result } = await s.vault.simulate.consumeDeposit([1n, alice.account.address], {
        account: consumer.account.address,
      });
      assert.equal(result, AMOUNT);

      await viem.assertions.emitWithArgs(
        s.vault.write.consumeDeposit([1n, alice.account.address], { account: consumer.account }),
        s.vault,
        "DepositConsumed",
        [1n, alice.account.address, consumer.account.address, AMOUNT],
      );
      assert.equal(await s.vault.read.isDepositConsumed([1n]), true);
    });

    it("rejects a second use (DepositAlreadyConsumed)", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      await depositFor(s, alice);
      await s.vault.write.consumeDeposit([1n, alice.account.address], { account: s.consumer.account });
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.vault.write.consumeDeposit([1n, alice.account.address], { account: s.consumer.account }),
        s.vault,
        "DepositAlreadyConsumed",
        [1n],
      );
    });

    it("rejects an unknown deposit (UnknownDeposit)", async () => {
      const s = await setup();
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.vault.write.consumeDeposit([7n, s.wallets.alice.account.address], { account: s.consumer.account }),
        s.vault,
        "UnknownDeposit",
        [7n],
      );
    });

    it("rejects a deposit made for another user (DepositUserMismatch)", async () => {
      const s = await setup();
      const { alice, bob } = s.wallets;
      await depositFor(s, alice);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.vault.write.consumeDeposit([1n, bob.account.address], { account: s.consumer.account }),
        s.vault,
        "DepositUserMismatch",
        [1n, alice.account.address, bob.account.address],
      );
      assert.equal(await s.vault.read.isDepositConsumed([1n]), false);
    });

    it("is reserved to DEPOSIT_CONSUMER_ROLE (AccessControlUnauthorizedAccount)", async () => {
      const s = await setup();
      const { alice, admin, operator } = s.wallets;
      await depositFor(s, alice);
      await assertOnlyRole(s, ROLES.DEPOSIT_CONSUMER, [alice, admin, operator, s.collector], (caller) =>
        s.vault.write.consumeDeposit([1n, alice.account.address], { account: caller.account! }),
      );
    });
  });

  describe("sweep", () => {
    it("forwards exactly the accrued amount to the distributor and notifies it; anyone may call", async () => {
      const s = await setup();
      const { alice, bob, carol } = s.wallets;
      await deposit(s, alice);
      await assertHoldsAccrued(s);
      await depositFor(s, bob);
      await assertHoldsAccrued(s);
      const accrued = await s.vault.read.accrued();
      const distributorBalance = await s.cxpt.read.balanceOf([s.distributor.address]);
      const protocolBalance = await s.distributor.read.protocolBalance();
      const supply = await s.cxpt.read.totalSupply();
      const protocolShare = (accrued * SPLIT.protocol) / BPS;
      const providersShare = (accrued * SPLIT.providers) / BPS;

      const hash = await s.vault.write.sweep({ account: carol.account });

      await viem.assertions.emitWithArgs(hash, s.vault, "Swept", [s.distributor.address, accrued]);
      await viem.assertions.emitWithArgs(hash, s.distributor, "Funded", [
        accrued,
        protocolShare,
        providersShare,
        accrued - protocolShare - providersShare,
      ]);
      assert.equal(await s.vault.read.accrued(), 0n);
      assert.equal(await s.cxpt.read.balanceOf([s.vault.address]), 0n);
      assert.equal(await s.cxpt.read.balanceOf([s.distributor.address]), distributorBalance + accrued);
      assert.equal(await s.distributor.read.protocolBalance(), protocolBalance + protocolShare);
      assert.equal(await s.cxpt.read.totalSupply(), supply, "a sweep burns nothing");
    });

    it("reverts when nothing accrued (NothingToSweep), also right after a sweep", async () => {
      const s = await setup();
      await viem.assertions.revertWithCustomError(s.vault.write.sweep(), s.vault, "NothingToSweep");
      await deposit(s, s.wallets.alice);
      await s.vault.write.sweep();
      await assertHoldsAccrued(s);
      await viem.assertions.revertWithCustomError(s.vault.write.sweep(), s.vault, "NothingToSweep");
    });
  });

  describe("setBurnRate", () => {
    it("lets the admin set the rate up to MAX_BURN_BPS", async () => {
      const s = await setup();
      await viem.assertions.emitWithArgs(
        s.vault.write.setBurnRate([MAX_BURN_BPS], { account: s.wallets.admin.account }),
        s.vault,
        "BurnRateSet",
        [MAX_BURN_BPS],
      );
      assert.equal(await s.vault.read.burnBps(), MAX_BURN_BPS);
      const before = await books(s, s.wallets.alice);
      await deposit(s, s.wallets.alice);
      await assertPaid(s, s.wallets.alice, before, AMOUNT, burnOf(AMOUNT, MAX_BURN_BPS));
    });

    it("accepts 0, after which payments burn nothing", async () => {
      const s = await setup();
      const { admin, alice } = s.wallets;
      await s.vault.write.setBurnRate([0n], { account: admin.account });
      assert.equal(await s.vault.read.burnBps(), 0n);
      const before = await books(s, alice);

      const hash = await deposit(s, alice);

      await viem.assertions.emitWithArgs(hash, s.vault, "Paid", [
        alice.account.address,
        alice.account.address,
        AMOUNT,
        0n,
        REF,
        0n,
      ]);
      assert.equal((await vaultBurns(s, hash)).length, 0);
      await assertPaid(s, alice, before, AMOUNT, 0n);
    });

    it("rejects a rate above MAX_BURN_BPS (BurnRateTooHigh)", async () => {
      const s = await setup();
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.vault.write.setBurnRate([MAX_BURN_BPS + 1n], { account: s.wallets.admin.account }),
        s.vault,
        "BurnRateTooHigh",
        [MAX_BURN_BPS + 1n, MAX_BURN_BPS],
      );
      assert.equal(await s.vault.read.burnBps(), DEFAULT_BURN_BPS);
    });

    it("is reserved to the admin (AccessControlUnauthorizedAccount)", async () => {
      const s = await setup();
      const { alice, operator } = s.wallets;
      await assertOnlyRole(s, ROLES.DEFAULT_ADMIN, [alice, operator, s.collector], (caller) =>
        s.vault.write.setBurnRate([0n], { account: caller.account! }),
      );
    });
  });

  describe("setSanctionsOracle", () => {
    it("lets the admin set the oracle, which isSanctioned then consults", async () => {
      const s = await setup();
      const { admin, alice, bob } = s.wallets;
      await s.sanctions.write.setSanctioned([alice.account.address, true]);
      assert.equal(await s.vault.read.isSanctioned([alice.account.address]), false, "no oracle, no screening");

      await viem.assertions.emitWithArgs(
        s.vault.write.setSanctionsOracle([s.sanctions.address], { account: admin.account }),
        s.vault,
        "SanctionsOracleSet",
        [s.sanctions.address],
      );
      assert.equal(getAddress(await s.vault.read.sanctionsOracle()), getAddress(s.sanctions.address));
      assert.equal(await s.vault.read.isSanctioned([alice.account.address]), true);
      assert.equal(await s.vault.read.isSanctioned([bob.account.address]), false);
    });

    it("makes a sanctioned user's deposit revert (SanctionedAddress)", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      await sanction(s, alice);
      await approveVault(s, alice, AMOUNT);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.vault.write.deposit([AMOUNT, REF], { account: alice.account }),
        s.vault,
        "SanctionedAddress",
        [alice.account.address],
      );
    });

    it("makes depositFor revert for a sanctioned user or a sanctioned payer (SanctionedAddress)", async () => {
      const s = await setup();
      const { alice, bob, operator } = s.wallets;
      await sanction(s, alice);
      await approveVault(s, operator, AMOUNT);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.vault.write.depositFor([alice.account.address, AMOUNT, REF], { account: operator.account }),
        s.vault,
        "SanctionedAddress",
        [alice.account.address],
      );
      await sanction(s, operator);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.vault.write.depositFor([bob.account.address, AMOUNT, REF], { account: operator.account }),
        s.vault,
        "SanctionedAddress",
        [operator.account.address],
      );
    });

    it("makes collect from a sanctioned payer revert (SanctionedAddress)", async () => {
      const s = await setup();
      const { alice } = s.wallets;
      await sanction(s, alice);
      await approveVault(s, alice, AMOUNT);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.vault.write.collect([alice.account.address, AMOUNT, REF], { account: s.collector.account }),
        s.vault,
        "SanctionedAddress",
        [alice.account.address],
      );
    });

    it("disables screening when set to the zero address", async () => {
      const s = await setup();
      const { admin, alice } = s.wallets;
      await sanction(s, alice);
      await s.vault.write.setSanctionsOracle([zeroAddress], { account: admin.account });
      assert.equal(await s.vault.read.sanctionsOracle(), zeroAddress);
      assert.equal(await s.vault.read.isSanctioned([alice.account.address]), false);

      await viem.assertions.emit(deposit(s, alice), s.vault, "Paid");
    });

    it("is reserved to the admin (AccessControlUnauthorizedAccount)", async () => {
      const s = await setup();
      const { alice, operator } = s.wallets;
      await assertOnlyRole(s, ROLES.DEFAULT_ADMIN, [alice, operator, s.collector], (caller) =>
        s.vault.write.setSanctionsOracle([zeroAddress], { account: caller.account! }),
      );
    });
  });

  describe("upgradeToAndCall", () => {
    it("lets the admin upgrade and keeps the books", async () => {
      const s = await setup();
      await deposit(s, s.wallets.alice);
      const accrued = await s.vault.read.accrued();
      const next = await viem.deployContract("Vault");

      await viem.assertions.emitWithArgs(
        s.vault.write.upgradeToAndCall([next.address, "0x"], { account: s.wallets.admin.account }),
        s.vault,
        "Upgraded",
        [next.address],
      );
      assert.equal(await implementationOf(s.vault.address), getAddress(next.address));
      assert.equal(await s.vault.read.accrued(), accrued);
      assert.equal(await s.vault.read.burnBps(), DEFAULT_BURN_BPS);
    });

    it("is reserved to the admin (AccessControlUnauthorizedAccount)", async () => {
      const s = await setup();
      const { alice, operator } = s.wallets;
      const next = await viem.deployContract("Vault");
      const data = encodeFunctionData({ abi: next.abi, functionName: "setBurnRate", args: [0n] });
      await assertOnlyRole(s, ROLES.DEFAULT_ADMIN, [alice, operator], (caller) =>
        s.vault.write.upgradeToAndCall([next.address, data], { account: caller.account! }),
      );
    });
  });
});
