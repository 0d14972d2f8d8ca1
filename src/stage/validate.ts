// Validates a deployment before the backend trusts it (e.g. when an admin flips CHAIN_STAGE):
// every contract of the suite is where the addresses say, is the contract it claims to be,
// points at the others, and grants the roles deploy/suite.ts grants. Reads run in parallel in
// two rounds: code, chain id and proxy slots first, then every probe of the contracts that
// have code (a missing contract is one problem, not one per probe).
import { BaseError, getAddress, isAddress, isAddressEqual, parseAbi, zeroAddress, type Address, type Hex, type PublicClient } from "viem";
import { billingAbi, cxptAbi, distributorAbi, forwarderAbi, governedAbi, safeAbi, subscriptionsAbi, timelockAbi, vaultAbi } from "../chain/abis.ts";
import { IMPLEMENTATION_SLOT, implementationOf } from "../chain/proxy.ts";
import { ROLES, roleName } from "../chain/roles.ts";
import type { ContractKey, ProxyKey } from "../chain/types.ts";
import { AppError } from "../errors.ts";
import { STAGE_CHAIN_IDS, type Stage } from "./stage.ts";

/** The backend's keys, each needing its role (the relayer only needs gas: forwarding is open). */
export interface BackendKeys {
  /** OPERATOR_ROLE on the Vault and the SubscriptionManager. */
  readonly operator: Address;
  /** BILLING_ROLE on the SubscriptionManager. */
  readonly billing: Address;
  /** SETTLER_ROLE on UsageBilling. */
  readonly settler: Address;
  /** REWARDS_ROLE on the RewardDistributor. */
  readonly rewards: Address;
  /** Submits signed ERC-2771 claims to the forwarder. */
  readonly relayer?: Address;
}

export interface DeploymentToValidate {
  readonly chainId: number;
  readonly addresses: Readonly<Partial<Record<ContractKey, Address>>>;
  readonly backend: BackendKeys;
  /** When given: the chain id must be one the stage accepts, and mainnet needs a timelock delay. */
  readonly stage?: Stage;
}

/** What a problem is about: a contract of the suite, the chain, or one backend key. */
export type ProblemSubject = ContractKey | "chain" | keyof BackendKeys;

export type CheckName = "chainId" | "address" | "code" | "proxy" | "identity" | "wiring" | "role" | "delay" | "gas";

export interface Problem {
  readonly contract: ProblemSubject;
  readonly check: CheckName;
  readonly message: string;
}

/** One check made and its result: a problem when not `ok`. */
export interface Check extends Problem {
  readonly ok: boolean;
}

export interface ValidationReport {
  readonly ok: boolean;
  /** The chain the client is connected to. */
  readonly chainId: number;
  readonly problems: readonly Problem[];
  /** Every check made, in the order of `problems`, passing ones included (the admin's stage check). */
  readonly checks: readonly Check[];
}

const NAMES: Record<ContractKey, string> = {
  safeSingleton: "Safe singleton",
  safeProxyFactory: "Safe proxy factory",
  safe: "Safe",
  timelock: "CxpProxyAdmin timelock",
  forwarder: "CxpForwarder",
  sanctionsOracle: "sanctions oracle",
  cxpt: "CXPT",
  distributor: "RewardDistributor",
  vault: "Vault",
  subscriptions: "SubscriptionManager",
  billing: "UsageBilling",
};

const PROXY_KEYS: readonly ProxyKey[] = ["cxpt", "distributor", "vault", "subscriptions", "billing"];
/** What the backend cannot run without; the rest (oracle, Safe factory) is checked when given. */
const REQUIRED: readonly ContractKey[] = ["safe", "timelock", "forwarder", ...PROXY_KEYS];
const ALL_KEYS = Object.keys(NAMES) as ContractKey[];

/** ERC-165 ids: IAccessControl (every proxy), IERC721 (the subscription passes). */
const IACCESS_CONTROL = "0x7965db0b";
const IERC721 = "0x80ac58cd";
const sanctionsAbi = parseAbi(["function isSanctioned(address addr) view returns (bool)"]);

/** What the second round knows after the first. */
interface Context {
  readonly client: PublicClient;
  readonly stage: Stage | undefined;
  /** The well-formed addresses of `target`: malformed ones are problems already. */
  readonly addresses: Partial<Record<ContractKey, Address>>;
  readonly backend: Partial<BackendKeys>;
  /** Addresses that hold code. */
  readonly live: Partial<Record<ContractKey, Address>>;
  readonly implementations: Partial<Record<ProxyKey, Address>>;
}

type Found = Promise<Check[]>;

const pass = (contract: ProblemSubject, check: CheckName, message: string): Check[] => [{ contract, check, ok: true, message }];
const fail = (contract: ProblemSubject, check: CheckName, message: string): Check[] => [{ contract, check, ok: false, message }];

const label = (key: ContractKey, address: Address) => `${NAMES[key]} ${address}`;
/** A failed read's reason on one line. */
const reason = (error: unknown) => (error instanceof BaseError ? error.shortMessage : String(error)).replace(/\s*\n\s*/g, " ");

/**
 * Reads `view` of `key` (when it has code). A failed read means the address holds another
 * contract (identity); `mismatch` turns a read value into a wiring problem's message. A value
 * that fits passes as `passed` (an identity check unless told).
 */
async function probe<T>(
  c: Context,
  key: ContractKey,
  view: string,
  read: (address: Address) => Promise<T>,
  mismatch: (value: T) => string | undefined,
  passed: { readonly check: CheckName; readonly message: string } = { check: "identity", message: `${view} as expected` },
): Found {
  const address = c.live[key];
  if (address === undefined) return [];
  let value: T;
  try {
    value = await read(address);
  } catch (error) {
    return fail(key, "identity", `${label(key, address)} is not a ${NAMES[key]}: ${view} failed (${reason(error)})`);
  }
  const message = mismatch(value);
  return message === undefined ? pass(key, passed.check, `${label(key, address)}: ${passed.message}`) : fail(key, "wiring", `${label(key, address)}: ${message}`);
}

/** `key`.`view` must return the address of `other` (skipped when `other` is not given). */
function pointsAt(c: Context, key: ContractKey, view: string, read: (address: Address) => Promise<Address>, other: ContractKey): Found {
  const want = c.addresses[other];
  if (want === undefined) return Promise.resolve([]);
  return probe(c, key, view, read, (got) => (isAddressEqual(got, want) ? undefined : `${view} is ${got}, not the ${NAMES[other]} ${want}`), {
    check: "wiring",
    message: `${view} is the ${NAMES[other]} ${want}`,
  });
}

/** `holder` must hold `role` on `key`. */
async function holds(c: Context, key: ContractKey, role: Hex, holder: Address | undefined, who: string, check: CheckName): Found {
  const address = c.live[key];
  if (address === undefined || holder === undefined) return [];
  try {
    const held = await c.client.readContract({ address, abi: governedAbi, functionName: "hasRole", args: [role, holder] });
    return (held ? pass : fail)(key, check, `${label(key, address)}: ${roleName(role)} ${held ? "is held" : "is not held"} by ${who} ${holder}`);
  } catch (error) {
    return fail(key, "identity", `${label(key, address)} is not a ${NAMES[key]}: hasRole failed (${reason(error)})`);
  }
}

/** The proxy must be ERC-1967 with a UUPS implementation behind it, and speak IAccessControl. */
function proxyChecks(c: Context, key: ProxyKey): Found[] {
  const address = c.live[key];
  if (address === undefined) return [];
  const implementation = c.implementations[key];
  const proxy = (message: string): Check[] => fail(key, "proxy", `${label(key, address)}: ${message}`);
  const uups = async (): Found => {
    if (implementation === undefined || isAddressEqual(implementation, zeroAddress)) {
      return proxy("not an ERC-1967 proxy (its implementation slot is empty)");
    }
    try {
      const slot = await c.client.readContract({ address: implementation, abi: governedAbi, functionName: "proxiableUUID" });
      return slot === IMPLEMENTATION_SLOT
        ? pass(key, "proxy", `${label(key, address)}: ERC-1967 proxy of the UUPS implementation ${implementation}`)
        : proxy(`implementation ${implementation} reports proxiableUUID ${slot}`);
    } catch (error) {
      return proxy(`implementation ${implementation} is not a UUPS implementation (${reason(error)})`);
    }
  };
  const accessControl = probe(c, key, "supportsInterface(IAccessControl)",
    (a) => c.client.readContract({ address: a, abi: governedAbi, functionName: "supportsInterface", args: [IACCESS_CONTROL] }),
    (yes) => (yes ? undefined : "does not support IAccessControl"));
  return [uups(), accessControl];
}

/** Each contract is the expected one and points at the others. */
function identityChecks(c: Context): Found[] {
  const { client } = c;
  const read = client.readContract;
  const oracle = c.addresses.sanctionsOracle;
  return [
    probe(c, "cxpt", "symbol()", (address) => read({ address, abi: cxptAbi, functionName: "symbol" }),
      (symbol) => (symbol === "CXPT" ? undefined : `symbol is "${symbol}", not "CXPT"`)),
    probe(c, "cxpt", "decimals()", (address) => read({ address, abi: cxptAbi, functionName: "decimals" }),
      (decimals) => (decimals === 18 ? undefined : `decimals is ${decimals}, not 18`)),
    pointsAt(c, "vault", "token()", (address) => read({ address, abi: vaultAbi, functionName: "token" }), "cxpt"),
    pointsAt(c, "vault", "distributor()", (address) => read({ address, abi: vaultAbi, functionName: "distributor" }), "distributor"),
    oracle === undefined
      ? Promise.resolve([])
      : pointsAt(c, "vault", "sanctionsOracle()", (address) => read({ address, abi: vaultAbi, functionName: "sanctionsOracle" }), "sanctionsOracle"),
    oracle === undefined
      ? Promise.resolve([])
      : pointsAt(c, "distributor", "sanctionsOracle()", (address) => read({ address, abi: distributorAbi, functionName: "sanctionsOracle" }), "sanctionsOracle"),
    pointsAt(c, "distributor", "token()", (address) => read({ address, abi: distributorAbi, functionName: "token" }), "cxpt"),
    pointsAt(c, "distributor", "trustedForwarder()", (address) => read({ address, abi: distributorAbi, functionName: "trustedForwarder" }), "forwarder"),
    pointsAt(c, "subscriptions", "settings().vault", async (address) => (await read({ address, abi: subscriptionsAbi, functionName: "settings" }))[0], "vault"),
    probe(c, "subscriptions", "supportsInterface(IERC721)",
      (address) => read({ address, abi: subscriptionsAbi, functionName: "supportsInterface", args: [IERC721] }),
      (yes) => (yes ? undefined : "does not support IERC721 (the passes)")),
    pointsAt(c, "billing", "vault()", (address) => read({ address, abi: billingAbi, functionName: "vault" }), "vault"),
    probe(c, "forwarder", "eip712Domain()", (address) => read({ address, abi: forwarderAbi, functionName: "eip712Domain" }),
      ([, name]) => (name === "CxpForwarder" ? undefined : `EIP-712 name is "${name}", not "CxpForwarder"`)),
    probe(c, "safe", "getThreshold()", (address) => read({ address, abi: safeAbi, functionName: "getThreshold" }),
      (threshold) => (threshold > 0n ? undefined : "has no threshold (not set up)")),
    probe(c, "timelock", "getMinDelay()", (address) => read({ address, abi: timelockAbi, functionName: "getMinDelay" }),
      (delay) => (c.stage === "mainnet" && delay === 0n ? "the delay is 0 on mainnet: users get no time to exit before a change" : undefined)),
    probe(c, "sanctionsOracle", "isSanctioned(address)",
      (address) => read({ address, abi: sanctionsAbi, functionName: "isSanctioned", args: [zeroAddress] }), () => undefined),
  ];
}

/** The roles deploy/suite.ts grants between contracts, and the backend keys' roles. */
function roleChecks(c: Context): Found[] {
  const a = c.addresses;
  const b = c.backend;
  const wiring = (key: ContractKey, role: Hex, holder: ContractKey) => holds(c, key, role, a[holder], NAMES[holder], "wiring");
  const backend = (key: ContractKey, role: Hex, who: Exclude<keyof BackendKeys, "relayer">) =>
    holds(c, key, role, b[who], `the ${who} key`, "role");
  return [
    wiring("vault", ROLES.COLLECTOR, "subscriptions"),
    wiring("vault", ROLES.COLLECTOR, "billing"),
    wiring("vault", ROLES.DEPOSIT_CONSUMER, "subscriptions"),
    wiring("distributor", ROLES.FUNDER, "vault"),
    wiring("distributor", ROLES.TREASURER, "safe"),
    // The Safe stops a wrong settlement batch or shares upload during its window, without the timelock.
    wiring("billing", ROLES.GUARDIAN, "safe"),
    wiring("distributor", ROLES.GUARDIAN, "safe"),
    ...PROXY_KEYS.map((key) => wiring(key, ROLES.DEFAULT_ADMIN, "timelock")),
    wiring("timelock", ROLES.PROPOSER, "safe"),
    wiring("timelock", ROLES.EXECUTOR, "safe"),
    wiring("timelock", ROLES.CANCELLER, "safe"),
    backend("vault", ROLES.OPERATOR, "operator"),
    backend("subscriptions", ROLES.OPERATOR, "operator"),
    backend("subscriptions", ROLES.BILLING, "billing"),
    backend("billing", ROLES.SETTLER, "settler"),
    backend("distributor", ROLES.REWARDS, "rewards"),
  ];
}

/** Every backend key sends transactions, so it needs gas. */
function gasChecks(c: Context): Found[] {
  return (Object.entries(c.backend) as [keyof BackendKeys, Address | undefined][]).map(async ([who, address]): Found => {
    if (address === undefined) return [];
    const balance = await c.client.getBalance({ address });
    return balance > 0n
      ? pass(who, "gas", `the ${who} key ${address} has a native balance to pay gas`)
      : fail(who, "gas", `the ${who} key ${address} has no native balance to pay gas`);
  });
}

function chainChecks(target: DeploymentToValidate, chainId: number): Check[] {
  const checks =
    chainId === target.chainId
      ? pass("chain", "chainId", `the RPC endpoint serves chain ${chainId}, the deployment's chain`)
      : fail("chain", "chainId", `the RPC endpoint serves chain ${chainId}, but the deployment is for chain ${target.chainId}`);
  if (target.stage !== undefined && target.stage !== "off") {
    const ids = STAGE_CHAIN_IDS[target.stage];
    checks.push(
      ...(ids.includes(chainId)
        ? pass("chain", "chainId", `CHAIN_STAGE ${target.stage} accepts chain ${chainId}`)
        : fail("chain", "chainId", `CHAIN_STAGE ${target.stage} needs chain id ${ids.join(" or ")}, but the chain is ${chainId}`)),
    );
  }
  return checks;
}

/**
 * Checks `target` on the chain `client` reads (see the file comment): chain id, code at every
 * address, ERC-1967/UUPS proxies, each contract's identity and links, the wiring of roles
 * between contracts, the backend keys' roles and gas. Never throws for a bad deployment: every
 * finding is a problem in the report; `checks` lists the passing checks too.
 */
export async function validateDeployment(client: PublicClient, target: DeploymentToValidate): Promise<ValidationReport> {
  const addressChecks: Check[] = [];
  const wellFormed = <K extends string>(entries: [K, Address | undefined][], name: (key: K) => string, subject: (key: K) => ProblemSubject) =>
    Object.fromEntries(entries.flatMap(([key, value]): [K, Address][] => {
      if (value === undefined) return [];
      if (isAddress(value)) {
        addressChecks.push(...pass(subject(key), "address", `${name(key)}: ${getAddress(value)}`));
        return [[key, getAddress(value)]];
      }
      addressChecks.push(...fail(subject(key), "address", `${name(key)}: "${value}" is not an address`));
      return [];
    })) as Partial<Record<K, Address>>;
  const addresses = wellFormed(ALL_KEYS.map((key) => [key, target.addresses[key]]), (key) => NAMES[key], (key) => key);
  const backend = wellFormed(Object.entries(target.backend) as [keyof BackendKeys, Address | undefined][], (who) => `the ${who} key`, (who) => who);
  for (const key of REQUIRED) {
    if (target.addresses[key] === undefined) addressChecks.push(...fail(key, "address", `${NAMES[key]}: no address configured`));
  }

  const given = ALL_KEYS.filter((key) => addresses[key] !== undefined);
  const proxies = PROXY_KEYS.filter((key) => addresses[key] !== undefined);
  const at = (key: ContractKey) => addresses[key] as Address;
  const [chainId, codes, slots] = await Promise.all([
    client.getChainId(),
    Promise.all(given.map((key) => client.getCode({ address: at(key) }))),
    Promise.all(proxies.map((key) => implementationOf(client, at(key)))),
  ]);
  const codeChecks: Check[] = [];
  const live: Partial<Record<ContractKey, Address>> = {};
  given.forEach((key, i) => {
    const code = codes[i];
    if (code === undefined || code === "0x") {
      codeChecks.push(...fail(key, "code", `${label(key, at(key))}: no contract code at this address`));
    } else {
      codeChecks.push(...pass(key, "code", `${label(key, at(key))}: contract code present`));
      live[key] = at(key);
    }
  });
  const implementations = Object.fromEntries(proxies.map((key, i) => [key, slots[i]]));
  const c: Context = { client, stage: target.stage, addresses, backend, live, implementations };

  const found = await Promise.all([
    ...PROXY_KEYS.flatMap((key) => proxyChecks(c, key)),
    ...identityChecks(c),
    ...roleChecks(c),
    ...gasChecks(c),
  ]);
  const checks = [...chainChecks(target, chainId), ...addressChecks, ...codeChecks, ...found.flat()];
  const problems = checks.filter((c) => !c.ok).map(({ contract, check, message }): Problem => ({ contract, check, message }));
  return { ok: problems.length === 0, chainId, problems, checks };
}

/**
 * validateDeployment, throwing AppError 422 `INVALID_DEPLOYMENT` (every problem in the message,
 * the list in `details.problems`) unless the deployment is valid.
 */
export async function assertValidDeployment(client: PublicClient, target: DeploymentToValidate): Promise<ValidationReport> {
  const report = await validateDeployment(client, target);
  if (report.ok) return report;
  const list = report.problems.map((p, i) => `(${i + 1}) ${p.message}`).join("; ");
  throw new AppError(
    "INVALID_DEPLOYMENT",
    `the deployment for chain ${target.chainId} is invalid: ${report.problems.length} problem(s): ${list}`,
    422,
    { problems: report.problems },
  );
}
