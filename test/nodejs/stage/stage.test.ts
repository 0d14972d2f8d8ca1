import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AppError } from "../../../src/errors.ts";
import { assertStageChain, features, parseStage, requireFeature, type FeatureFlags, type Phase } from "../../../src/stage/stage.ts";

const flags = (stage: "off" | "testnet" | "mainnet", phase: Phase): FeatureFlags => {
  const { stage: _, phase: __, ...rest } = features(stage, phase);
  return rest;
};

const isAppError = (code: string, status: number, message?: RegExp) => (error: unknown) => {
  assert.ok(error instanceof AppError, String(error));
  assert.equal(error.code, code);
  assert.equal(error.status, status);
  if (message) assert.match(error.message, message);
  return true;
};

describe("parseStage", () => {
  it("reads CHAIN_STAGE and CHAIN_PHASE, case- and space-insensitively", () => {
    assert.deepEqual(parseStage({ CHAIN_STAGE: "testnet", CHAIN_PHASE: "2" }), { stage: "testnet", phase: 2 });
    assert.deepEqual(parseStage({ CHAIN_STAGE: " MainNet ", CHAIN_PHASE: " 3 " }), { stage: "mainnet", phase: 3 });
  });

  it("falls back to the defaults for unset or empty values: off and phase 0 unless given", () => {
    assert.deepEqual(parseStage({}), { stage: "off", phase: 0 });
    assert.deepEqual(parseStage({ CHAIN_STAGE: "", CHAIN_PHASE: "" }), { stage: "off", phase: 0 });
    assert.deepEqual(parseStage({}, { stage: "testnet", phase: 3 }), { stage: "testnet", phase: 3 });
    assert.deepEqual(parseStage({ CHAIN_PHASE: "1" }, { stage: "testnet", phase: 3 }), { stage: "testnet", phase: 1 });
  });

  it("refuses anything else with INVALID_CONFIG", () => {
    assert.throws(() => parseStage({ CHAIN_STAGE: "prod" }), isAppError("INVALID_CONFIG", 500, /CHAIN_STAGE must be one of off, testnet, mainnet, got "prod"/));
    for (const phase of ["4", "-1", "1.5", "one", "01"]) {
      assert.throws(() => parseStage({ CHAIN_STAGE: "testnet", CHAIN_PHASE: phase }), isAppError("INVALID_CONFIG", 500, /CHAIN_PHASE must be one of 0, 1, 2, 3/), phase);
    }
  });
});

describe("assertStageChain", () => {
  it("mainnet needs peaq (3338); testnet agung (9990) or a local node (31337); off takes any", () => {
    assertStageChain("mainnet", 3338);
    assertStageChain("testnet", 9990);
    assertStageChain("testnet", 31337);
    assertStageChain("off", 1);
    assert.throws(() => assertStageChain("mainnet", 31337), isAppError("INVALID_CONFIG", 500, /CHAIN_STAGE mainnet needs chain id 3338, but the chain is 31337/));
    assert.throws(() => assertStageChain("testnet", 3338), isAppError("INVALID_CONFIG", 500, /needs chain id 9990 or 31337/));
  });
});

describe("features", () => {
  const none = { deposits: false, claims: false, paygInCxpt: false, subscriptions: false, faucet: false, legacyCredits: false };

  it("chain off: only legacy credits, whatever the phase", () => {
    for (const phase of [0, 1, 2, 3] as const) assert.deepEqual(flags("off", phase), { ...none, legacyCredits: true });
  });

  it("testnet walks the migration timeline, with the faucet in every phase", () => {
    assert.deepEqual(flags("testnet", 0), { ...none, faucet: true, legacyCredits: true });
    assert.deepEqual(flags("testnet", 1), { ...none, faucet: true, legacyCredits: true, deposits: true, claims: true });
    assert.deepEqual(flags("testnet", 2), { ...none, faucet: true, deposits: true, claims: true, paygInCxpt: true });
    assert.deepEqual(flags("testnet", 3), { faucet: true, deposits: true, claims: true, paygInCxpt: true, subscriptions: true, legacyCredits: false });
  });

  it("mainnet has the same phases without a faucet", () => {
    for (const phase of [0, 1, 2, 3] as const) assert.deepEqual(flags("mainnet", phase), { ...flags("testnet", phase), faucet: false });
  });

  it("legacy credits are billed exactly while PAYG in CXPT is off", () => {
    for (const stage of ["off", "testnet", "mainnet"] as const) {
      for (const phase of [0, 1, 2, 3] as const) {
        const f = features(stage, phase);
        assert.equal(f.legacyCredits, !f.paygInCxpt, `${stage} ${phase}`);
      }
    }
  });

  it("carries the stage and phase it was computed for", () => {
    const f = features("mainnet", 2);
    assert.equal(f.stage, "mainnet");
    assert.equal(f.phase, 2);
  });
});

describe("requireFeature", () => {
  it("passes an enabled feature", () => {
    requireFeature(features("testnet", 3), "subscriptions");
    requireFeature(features("off", 0), "legacyCredits");
  });

  it("refuses a disabled one with 409 FEATURE_DISABLED naming the stage and phase it needs", () => {
    assert.throws(() => requireFeature(features("off", 3), "deposits"),
      isAppError("FEATURE_DISABLED", 409, /^deposits is disabled: the chain is off; it needs CHAIN_STAGE testnet or mainnet at phase 1 or later$/));
    assert.throws(() => requireFeature(features("mainnet", 2), "subscriptions"),
      isAppError("FEATURE_DISABLED", 409, /^subscriptions is disabled: the chain is at mainnet phase 2; it needs CHAIN_STAGE testnet or mainnet at phase 3 or later$/));
    assert.throws(() => requireFeature(features("mainnet", 3), "faucet"), isAppError("FEATURE_DISABLED", 409, /it needs CHAIN_STAGE testnet \(any phase\)/));
    assert.throws(() => requireFeature(features("testnet", 2), "legacyCredits"),
      isAppError("FEATURE_DISABLED", 409, /it needs CHAIN_STAGE off, or testnet\/mainnet before phase 2/));
  });

  it("puts the feature, stage and phase in the details", () => {
    try {
      requireFeature(features("testnet", 1), "paygInCxpt");
      assert.fail("expected FEATURE_DISABLED");
    } catch (error) {
      assert.ok(error instanceof AppError);
      assert.deepEqual(error.details, { feature: "paygInCxpt", stage: "testnet", phase: 1 });
    }
  });
});
