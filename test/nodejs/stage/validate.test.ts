import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeFunctionData, getAddress, type Address } from "viem";
import { privateKeyToAddress, generatePrivateKey } from "viem/accounts";
import { governedAbi } from "../../../src/chain/abis.ts";
import { ROLES } from "../../../src/chain/roles.ts";
import { executeViaSafe, scheduleViaSafe, timelockOperation } from "../../../src/chain/timelock.ts";
import type { SuiteDeployment } from "../../../src/chain/types.ts";
import { AppError } from "../../../src/errors.ts";
import { assertValidDeployment, validateDeployment, type DeploymentToValidate, type Problem } from "../../../src/stage/validate.ts";
import { accounts, addressOf, governanceOf, loadDeployment, viem } from "../deploy/helpers.ts";

/** What the backend would validate for the deployment on the in-process chain. */
async function targetOf(d: SuiteDeployment): Promise<DeploymentToValidate> {
  const a = await accounts();
  return {
    chainId: d.chainId,
    addresses: d.contracts,
    backend: {
      operator: getAddress(a.operator.account.address),
      billing: getAddress(a.billing.account.address),
      settler: getAddress(a.settler.account.address),
      rewards: getAddress(a.rewards.account.address),
      relayer: getAddress(a.stranger.account.address),
    },
    stage: "testnet",
  };
}

async function setup() {
  const { deployment } = await loadDeployment();
  const client = await viem.getPublicClient();
  const target = await targetOf(deployment);
  const validate = (change: Partial<DeploymentToValidate> = {}) => validateDeployment(client, { ...target, ...change });
  const withAddresses = (addresses: Partial<Record<keyof SuiteDeployment["contracts"], Address | undefined>>) =>
    validate({ addresses: { ...deployment.contracts, ...addresses } });
  return { deployment, client, target, validate, withAddresses, at: (key: keyof SuiteDeployment["contracts"]) => addressOf(deployment, key) };
}

/** The Safe revokes `role` on `target` from `account` through the timelock. */
async function revoke(d: SuiteDeployment, target: Address, role: `0x${string}`, account: Address) {
  const op = timelockOperation(target, encodeFunctionData({ abi: governedAbi, functionName: "revokeRole", args: [role, account] }));
  const governance = await governanceOf(d);
  await scheduleViaSafe(governance, op);
  await executeViaSafe(governance, op);
}

const has = (problems: readonly Problem[], want: Problem) =>
  assert.ok(problems.some((p) => p.contract === want.contract && p.check === want.check && p.message === want.message),
    `expected ${JSON.stringify(want)} among ${JSON.stringify(problems, null, 2)}`);

describe("validateDeployment", () => {
  it("passes the real deployment (deploy/suite.ts with devConfig)", async () => {
    const { validate } = await setup();
    const report = await validate();
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
    assert.equal(report.chainId, 31337);
  });

  it("passes without the optional relayer and Safe factory addresses", async () => {
    const { validate, target, deployment } = await setup();
    const { relayer: _, ...backend } = target.backend;
    const { safeSingleton: __, safeProxyFactory: ___, ...addresses } = deployment.contracts;
    assert.deepEqual((await validate({ backend, addresses })).problems, []);
  });

  it("an EOA where a contract should be: no code, and the roles it should hold are missing", async () => {
    const { withAddresses, at, target } = await setup();
    const eoa = target.backend.relayer as Address;
    const report = await withAddresses({ billing: eoa });
    assert.equal(report.ok, false);
    assert.deepEqual(report.problems, [
      { contract: "billing", check: "code", message: `UsageBilling ${eoa}: no contract code at this address` },
      { contract: "vault", check: "wiring", message: `Vault ${at("vault")}: COLLECTOR_ROLE is not held by UsageBilling ${eoa}` },
    ]);
  });

  it("another contract's address: the probe that fails and every link that does not match", async () => {
    const { withAddresses, at, target } = await setup();
    const wrong = at("distributor");
    const { problems } = await withAddresses({ vault: wrong });
    has(problems, { contract: "vault", check: "identity", message: `Vault ${wrong} is not a Vault: distributor() failed (The contract function "distributor" reverted with the following reason: Transaction reverted: function selector was not recognized and there's no fallback function)` });
    has(problems, { contract: "billing", check: "wiring", message: `UsageBilling ${at("billing")}: vault() is ${at("vault")}, not the Vault ${wrong}` });
    has(problems, { contract: "subscriptions", check: "wiring", message: `SubscriptionManager ${at("subscriptions")}: settings().vault is ${at("vault")}, not the Vault ${wrong}` });
    has(problems, { contract: "distributor", check: "wiring", message: `RewardDistributor ${wrong}: FUNDER_ROLE is not held by Vault ${wrong}` });
    has(problems, { contract: "vault", check: "role", message: `Vault ${wrong}: OPERATOR_ROLE is not held by the operator key ${target.backend.operator}` });
  });

  it("an implementation recorded instead of its proxy: not an ERC-1967 proxy", async () => {
    const { withAddresses, deployment } = await setup();
    const implementation = deployment.implementations.cxpt as Address;
    const { problems } = await withAddresses({ cxpt: implementation });
    has(problems, { contract: "cxpt", check: "proxy", message: `CXPT ${implementation}: not an ERC-1967 proxy (its implementation slot is empty)` });
    has(problems, { contract: "cxpt", check: "wiring", message: `CXPT ${implementation}: symbol is "", not "CXPT"` });
  });

  it("a backend key without its role", async () => {
    const { deployment, validate, at, target } = await setup();
    const { settler } = target.backend;
    await revoke(deployment, at("billing"), ROLES.SETTLER, settler);
    assert.deepEqual((await validate()).problems, [
      { contract: "billing", check: "role", message: `UsageBilling ${at("billing")}: SETTLER_ROLE is not held by the settler key ${settler}` },
    ]);
  });

  it("a wrong backend key: every role it should hold", async () => {
    const { validate, target, at } = await setup();
    const operator = target.backend.relayer as Address;
    assert.deepEqual((await validate({ backend: { ...target.backend, operator } })).problems, [
      { contract: "vault", check: "role", message: `Vault ${at("vault")}: OPERATOR_ROLE is not held by the operator key ${operator}` },
      { contract: "subscriptions", check: "role", message: `SubscriptionManager ${at("subscriptions")}: OPERATOR_ROLE is not held by the operator key ${operator}` },
    ]);
  });

  it("a missing wiring role between contracts", async () => {
    const { deployment, validate, at } = await setup();
    await revoke(deployment, at("vault"), ROLES.DEPOSIT_CONSUMER, at("subscriptions"));
    assert.deepEqual((await validate()).problems, [
      { contract: "vault", check: "wiring", message: `Vault ${at("vault")}: DEPOSIT_CONSUMER_ROLE is not held by SubscriptionManager ${at("subscriptions")}` },
    ]);
  });

  it("a Safe that is not the guardian of settlement batches and shares uploads", async () => {
    const { deployment, validate, at } = await setup();
    await revoke(deployment, at("billing"), ROLES.GUARDIAN, at("safe"));
    await revoke(deployment, at("distributor"), ROLES.GUARDIAN, at("safe"));
    assert.deepEqual((await validate()).problems, [
      { contract: "billing", check: "wiring", message: `UsageBilling ${at("billing")}: GUARDIAN_ROLE is not held by Safe ${at("safe")}` },
      { contract: "distributor", check: "wiring", message: `RewardDistributor ${at("distributor")}: GUARDIAN_ROLE is not held by Safe ${at("safe")}` },
    ]);
  });

  it("a trusted forwarder that does not match", async () => {
    const { withAddresses, at } = await setup();
    const other = at("safeProxyFactory");
    const { problems } = await withAddresses({ forwarder: other });
    has(problems, { contract: "distributor", check: "wiring", message: `RewardDistributor ${at("distributor")}: trustedForwarder() is ${at("forwarder")}, not the CxpForwarder ${other}` });
    has(problems, { contract: "forwarder", check: "identity", message: `CxpForwarder ${other} is not a CxpForwarder: eip712Domain() failed (The contract function "eip712Domain" reverted with the following reason: Transaction reverted without a reason string)` });
  });

  it("a wrong chain id, and a stage the chain does not belong to", async () => {
    const { validate, at } = await setup();
    assert.deepEqual((await validate({ chainId: 3338 })).problems, [
      { contract: "chain", check: "chainId", message: "the RPC endpoint serves chain 31337, but the deployment is for chain 3338" },
    ]);
    assert.deepEqual((await validate({ stage: "mainnet" })).problems.map((p) => p.message), [
      "CHAIN_STAGE mainnet needs chain id 3338, but the chain is 31337",
      `CxpProxyAdmin timelock ${at("timelock")}: the delay is 0 on mainnet: users get no time to exit before a change`,
    ]);
  });

  it("missing and malformed addresses, and a backend key without gas", async () => {
    const { validate, deployment, target } = await setup();
    const { forwarder: _, ...addresses } = deployment.contracts;
    const broke = privateKeyToAddress(generatePrivateKey());
    const report = await validate({
      addresses: { ...addresses, sanctionsOracle: "0x1234" as Address },
      backend: { ...target.backend, relayer: broke },
    });
    assert.deepEqual(report.problems, [
      { contract: "sanctionsOracle", check: "address", message: 'sanctions oracle: "0x1234" is not an address' },
      { contract: "forwarder", check: "address", message: "CxpForwarder: no address configured" },
      { contract: "relayer", check: "gas", message: `the relayer key ${broke} has no native balance to pay gas` },
    ]);
  });
});

describe("assertValidDeployment", () => {
  it("returns the report of a valid deployment", async () => {
    const { client, target } = await setup();
    assert.equal((await assertValidDeployment(client, target)).ok, true);
  });

  it("throws 422 INVALID_DEPLOYMENT naming every problem", async () => {
    const { client, target, deployment, at } = await setup();
    const eoa = target.backend.relayer as Address;
    await assert.rejects(assertValidDeployment(client, { ...target, chainId: 9990, addresses: { ...deployment.contracts, billing: eoa } }), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, "INVALID_DEPLOYMENT");
      assert.equal(error.status, 422);
      assert.equal(
        error.message,
        "the deployment for chain 9990 is invalid: 3 problem(s): " +
          "(1) the RPC endpoint serves chain 31337, but the deployment is for chain 9990; " +
          `(2) UsageBilling ${eoa}: no contract code at this address; ` +
          `(3) Vault ${at("vault")}: COLLECTOR_ROLE is not held by UsageBilling ${eoa}`,
      );
      assert.equal((error.details?.problems as Problem[]).length, 3);
      return true;
    });
  });
});
