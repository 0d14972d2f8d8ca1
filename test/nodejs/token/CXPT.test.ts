import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { anyValue } from "@nomicfoundation/hardhat-viem-assertions/predicates";
import { encodeFunctionData, getAddress, parseEther, zeroAddress, type WalletClient } from "viem";
import { GENESIS_SUPPLY, ROLES, deployProxy, loadSuite, viem, type Suite } from "../helpers/fixture.ts";
import { deadlineIn, implementationOf, permitArgs, signPermit } from "./helpers.ts";

const AMOUNT = parseEther("250");

/** Total supply and the balances of `accounts`, read together. */
async function supplyAndBalances(cxpt: Suite["cxpt"], accounts: WalletClient[]) {
  return {
    supply: await cxpt.read.totalSupply(),
    balances: await Promise.all(accounts.map((w) => cxpt.read.balanceOf([w.account!.address]))),
  };
}

describe("CXPT", () => {
  describe("metadata", () => {
    it("is the Cxmpute Token, CXPT, with 18 decimals and a 1B genesis supply", async () => {
      const { cxpt } = await loadSuite();
      assert.equal(await cxpt.read.name(), "Cxmpute Token");
      assert.equal(await cxpt.read.symbol(), "CXPT");
      assert.equal(await cxpt.read.decimals(), 18);
      assert.equal(await cxpt.read.GENESIS_SUPPLY(), GENESIS_SUPPLY);
      assert.equal(GENESIS_SUPPLY, 1_000_000_000n * 10n ** 18n);
    });
  });

  describe("initialize", () => {
    it("mints the genesis supply once, to the distribution address, and grants the admin role", async () => {
      const { wallets, publicClient } = await loadSuite();
      const token = await deployProxy("CXPT", [wallets.admin.account.address, wallets.distribution.account.address]);

      const mints = await publicClient.getContractEvents({
        address: token.address,
        abi: token.abi,
        eventName: "Transfer",
        args: { from: zeroAddress },
        fromBlock: 0n,
      });
      assert.deepEqual(
        mints.map((e) => [getAddress(e.args.to!), e.args.value]),
        [[getAddress(wallets.distribution.account.address), GENESIS_SUPPLY]],
      );
      assert.equal(await token.read.totalSupply(), GENESIS_SUPPLY);
      assert.equal(await token.read.balanceOf([wallets.distribution.account.address]), GENESIS_SUPPLY);
      assert.equal(await token.read.hasRole([ROLES.DEFAULT_ADMIN, wallets.admin.account.address]), true);
      assert.equal(await token.read.hasRole([ROLES.DEFAULT_ADMIN, wallets.distribution.account.address]), false);
    });

    it("cannot run a second time (InvalidInitialization), so the genesis mint cannot repeat", async () => {
      const { cxpt, wallets } = await loadSuite();
      await viem.assertions.revertWithCustomError(
        cxpt.write.initialize([wallets.alice.account.address, wallets.alice.account.address], {
          account: wallets.admin.account,
        }),
        cxpt,
        "InvalidInitialization",
      );
      assert.equal(await cxpt.read.totalSupply(), GENESIS_SUPPLY);
    });

    it("cannot be run on the implementation itself (InvalidInitialization)", async () => {
      const { cxpt, wallets } = await loadSuite();
      const implementation = await viem.getContractAt("CXPT", await implementationOf(cxpt.address));
      await viem.assertions.revertWithCustomError(
        implementation.write.initialize([wallets.alice.account.address, wallets.alice.account.address]),
        implementation,
        "InvalidInitialization",
      );
      assert.equal(await implementation.read.totalSupply(), 0n);
    });

    it("rejects a zero distribution address (ZeroAddress)", async () => {
      const { cxpt, wallets } = await loadSuite();
      await viem.assertions.revertWithCustomError(
        deployProxy("CXPT", [wallets.admin.account.address, zeroAddress]),
        cxpt,
        "ZeroAddress",
      );
    });

    it("rejects a zero admin (ZeroAddress)", async () => {
      const { cxpt, wallets } = await loadSuite();
      await viem.assertions.revertWithCustomError(
        deployProxy("CXPT", [zeroAddress, wallets.distribution.account.address]),
        cxpt,
        "ZeroAddress",
      );
    });
  });

  describe("burn", () => {
    it("destroys the caller's tokens and reduces the total supply", async () => {
      const { cxpt, wallets } = await loadSuite();
      const before = await supplyAndBalances(cxpt, [wallets.alice]);

      await viem.assertions.emitWithArgs(
        cxpt.write.burn([AMOUNT], { account: wallets.alice.account }),
        cxpt,
        "Transfer",
        [wallets.alice.account.address, zeroAddress, AMOUNT],
      );

      const after = await supplyAndBalances(cxpt, [wallets.alice]);
      assert.equal(after.supply, before.supply - AMOUNT);
      assert.equal(after.balances[0], before.balances[0] - AMOUNT);
    });

    it("reverts beyond the caller's balance (ERC20InsufficientBalance)", async () => {
      const { cxpt, wallets } = await loadSuite();
      const balance = await cxpt.read.balanceOf([wallets.alice.account.address]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        cxpt.write.burn([balance + 1n], { account: wallets.alice.account }),
        cxpt,
        "ERC20InsufficientBalance",
        [wallets.alice.account.address, balance, balance + 1n],
      );
    });
  });

  describe("burnFrom", () => {
    it("destroys tokens from an allowance and reduces the total supply and the allowance", async () => {
      const { cxpt, wallets } = await loadSuite();
      const { alice, bob } = wallets;
      await cxpt.write.approve([bob.account.address, AMOUNT * 2n], { account: alice.account });
      const before = await supplyAndBalances(cxpt, [alice, bob]);

      await cxpt.write.burnFrom([alice.account.address, AMOUNT], { account: bob.account });

      const after = await supplyAndBalances(cxpt, [alice, bob]);
      assert.equal(after.supply, before.supply - AMOUNT);
      assert.equal(after.balances[0], before.balances[0] - AMOUNT);
      assert.equal(after.balances[1], before.balances[1]);
      assert.equal(await cxpt.read.allowance([alice.account.address, bob.account.address]), AMOUNT);
    });

    it("reverts without enough allowance (ERC20InsufficientAllowance)", async () => {
      const { cxpt, wallets } = await loadSuite();
      const { alice, bob } = wallets;
      await cxpt.write.approve([bob.account.address, AMOUNT - 1n], { account: alice.account });
      await viem.assertions.revertWithCustomErrorWithArgs(
        cxpt.write.burnFrom([alice.account.address, AMOUNT], { account: bob.account }),
        cxpt,
        "ERC20InsufficientAllowance",
        [bob.account.address, AMOUNT - 1n, AMOUNT],
      );
    });
  });

  describe("permit", () => {
    it("sets an allowance from the owner's EIP-712 signature, sent by anyone, and bumps the nonce", async () => {
      const { cxpt, wallets } = await loadSuite();
      const { alice, bob, relayer } = wallets;
      const permit = await signPermit(cxpt, alice, bob.account.address, AMOUNT, await deadlineIn(3600n));

      await viem.assertions.emitWithArgs(
        cxpt.write.permit(permitArgs(permit), { account: relayer.account }),
        cxpt,
        "Approval",
        [alice.account.address, bob.account.address, AMOUNT],
      );
      assert.equal(await cxpt.read.allowance([alice.account.address, bob.account.address]), AMOUNT);
      assert.equal(await cxpt.read.nonces([alice.account.address]), 1n);
    });

    it("signs against the token's own domain (name, version 1, chain id, proxy address)", async () => {
      const { cxpt, publicClient } = await loadSuite();
      const [, name, version, chainId, verifyingContract] = await cxpt.read.eip712Domain();
      assert.equal(name, "Cxmpute Token");
      assert.equal(version, "1");
      assert.equal(chainId, BigInt(await publicClient.getChainId()));
      assert.equal(getAddress(verifyingContract), getAddress(cxpt.address));
    });

    it("rejects an expired permit (ERC2612ExpiredSignature)", async () => {
      const { cxpt, wallets } = await loadSuite();
      const deadline = await deadlineIn(-1n);
      const permit = await signPermit(cxpt, wallets.alice, wallets.bob.account.address, AMOUNT, deadline);
      await viem.assertions.revertWithCustomErrorWithArgs(
        cxpt.write.permit(permitArgs(permit)),
        cxpt,
        "ERC2612ExpiredSignature",
        [deadline],
      );
    });

    it("rejects a replayed permit (ERC2612InvalidSigner)", async () => {
      const { cxpt, wallets } = await loadSuite();
      const permit = await signPermit(
        cxpt,
        wallets.alice,
        wallets.bob.account.address,
        AMOUNT,
        await deadlineIn(3600n),
      );
      await cxpt.write.permit(permitArgs(permit));
      await viem.assertions.revertWithCustomError(cxpt.write.permit(permitArgs(permit)), cxpt, "ERC2612InvalidSigner");
      assert.equal(await cxpt.read.nonces([wallets.alice.account.address]), 1n);
    });

    it("rejects a permit signed by someone other than the owner (ERC2612InvalidSigner)", async () => {
      const { cxpt, wallets } = await loadSuite();
      const { alice, bob, carol } = wallets;
      const forged = await signPermit(cxpt, carol, bob.account.address, AMOUNT, await deadlineIn(3600n));
      await viem.assertions.revertWithCustomErrorWithArgs(
        cxpt.write.permit(permitArgs({ ...forged, owner: alice.account.address })),
        cxpt,
        "ERC2612InvalidSigner",
        [anyValue, alice.account.address],
      );
      assert.equal(await cxpt.read.allowance([alice.account.address, bob.account.address]), 0n);
    });
  });

  describe("upgradeToAndCall", () => {
    it("reverts for a caller without the admin role (AccessControlUnauthorizedAccount)", async () => {
      const { cxpt, wallets } = await loadSuite();
      const v2 = await viem.deployContract("CXPTV2");
      for (const caller of [wallets.alice, wallets.distribution]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          cxpt.write.upgradeToAndCall([v2.address, "0x"], { account: caller.account }),
          cxpt,
          "AccessControlUnauthorizedAccount",
          [caller.account!.address, ROLES.DEFAULT_ADMIN],
        );
      }
    });

    it("reverts when the upgrade's initializer call would mint (SupplyIncreased)", async () => {
      const { cxpt, wallets } = await loadSuite();
      const minting = await viem.deployContract("CXPTMintingV2");
      // Burned first, so the mint stays under the genesis cap and the upgrade guard is what refuses it.
      await cxpt.write.burn([AMOUNT], { account: wallets.distribution.account });
      const before = await cxpt.read.totalSupply();
      const implementation = await implementationOf(cxpt.address);
      const data = encodeFunctionData({
        abi: minting.abi,
        functionName: "initializeV2",
        args: [wallets.admin.account.address, AMOUNT],
      });

      await viem.assertions.revertWithCustomErrorWithArgs(
        cxpt.write.upgradeToAndCall([minting.address, data], { account: wallets.admin.account }),
        cxpt,
        "SupplyIncreased",
        [before, before + AMOUNT],
      );
      assert.equal(await cxpt.read.totalSupply(), before);
      assert.equal(await implementationOf(cxpt.address), implementation);
    });

    it("refuses a mint past the genesis supply after an upgrade, in a later initializer call too (SupplyCapExceeded)", async () => {
      const { cxpt, wallets } = await loadSuite();
      const minting = await viem.deployContract("CXPTMintingV2");
      const supply = await cxpt.read.totalSupply();
      assert.equal(supply, 10n ** 27n);
      await cxpt.write.upgradeToAndCall([minting.address, "0x"], { account: wallets.admin.account });
      const upgraded = await viem.getContractAt("CXPTMintingV2", cxpt.address);
      await viem.assertions.revertWithCustomErrorWithArgs(
        upgraded.write.initializeV2([wallets.admin.account.address, 10n ** 18n], { account: wallets.admin.account }),
        cxpt,
        "SupplyCapExceeded",
        [supply + 10n ** 18n, 10n ** 27n],
      );
      assert.equal(await cxpt.read.totalSupply(), supply);
    });

    it("upgrades to a harmless V2 for the admin and keeps supply and balances", async () => {
      const { cxpt, wallets } = await loadSuite();
      const v2 = await viem.deployContract("CXPTV2");
      const holders = [wallets.distribution, wallets.alice, wallets.bob];
      const before = await supplyAndBalances(cxpt, holders);

      await viem.assertions.emitWithArgs(
        cxpt.write.upgradeToAndCall([v2.address, "0x"], { account: wallets.admin.account }),
        cxpt,
        "Upgraded",
        [v2.address],
      );

      const upgraded = await viem.getContractAt("CXPTV2", cxpt.address);
      assert.equal(await upgraded.read.version(), "2");
      assert.equal(await implementationOf(cxpt.address), getAddress(v2.address));
      assert.deepEqual(await supplyAndBalances(cxpt, holders), before);
      assert.equal(await upgraded.read.name(), "Cxmpute Token");
    });

    it("cannot be called on the implementation directly (UUPSUnauthorizedCallContext)", async () => {
      const { cxpt, wallets } = await loadSuite();
      const implementation = await viem.getContractAt("CXPT", await implementationOf(cxpt.address));
      const v2 = await viem.deployContract("CXPTV2");
      await viem.assertions.revertWithCustomError(
        implementation.write.upgradeToAndCall([v2.address, "0x"], { account: wallets.admin.account }),
        implementation,
        "UUPSUnauthorizedCallContext",
      );
    });
  });
});
