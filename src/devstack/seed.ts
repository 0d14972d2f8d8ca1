// The demo accounts of the local stack: an admin, a user and a provider, each with its development
// wallet linked and holding CXPT from the distribution account, and an API key for the user. The
// admin and the user allow the Vault to collect their CXPT, so the compute API bills them in PAYG
// from the first request. Idempotent: a restart finds them and changes nothing.
import { readFile, writeFile } from "node:fs/promises";
import { createWalletClient, http, parseEther, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hashSecret } from "../accounts/secrets.ts";
import { accountIdForKeyHash, createAccount, createApiKey, findAccountByWallet, type Account, type AccountKind, type AccountRole } from "../accounts/store.ts";
import { billingAbi, cxptAbi } from "../chain/abis.ts";
import { send, succeeded, type SendChain } from "../chain/send.ts";
import type { Db } from "../db/db.ts";
import type { ChainContext } from "../app/chain.ts";
import { DEV_KEYS, devKey } from "./keys.ts";
import { chainAt } from "../chain/chains.ts";

/** CXPT each demo wallet starts with. */
export const DEMO_GRANT = parseEther("100000");

export interface DemoAccount {
  readonly name: "admin" | "user" | "provider";
  readonly account: Account;
  readonly privateKey: `0x${string}`;
}

export interface Demo {
  readonly accounts: readonly DemoAccount[];
  /** The demo user's API key for the compute API (kept in the data folder, local only). */
  readonly userApiKey: string;
}

const DEMO: readonly { name: DemoAccount["name"]; index: number; kind: AccountKind; role: AccountRole }[] = [
  { name: "admin", index: DEV_KEYS.demoAdmin, kind: "user", role: "admin" },
  { name: "user", index: DEV_KEYS.demoUser, kind: "user", role: "member" },
  { name: "provider", index: DEV_KEYS.demoProvider, kind: "provider", role: "member" },
];

/** Sends from `privateKey` through the backend's sender (its per-key queue), as the distribution and demo keys. */
const from = (chain: ChainContext, rpcUrl: string, privateKey: Hex): SendChain => ({
  client: chain.client,
  signer: createWalletClient({ chain: chainAt(chain.chainId, rpcUrl), transport: http(rpcUrl), account: privateKeyToAccount(privateKey) }),
});

const seedFailure = (what: string) => ({ code: "DEMO_SEED_FAILED", message: `seeding the demo accounts: ${what} failed` });

async function fund(chain: ChainContext, rpcUrl: string, wallet: Address): Promise<void> {
  const balance = await chain.client.readContract({ address: chain.addresses.cxpt, abi: cxptAbi, functionName: "balanceOf", args: [wallet] });
  if (balance > 0n) return;
  const grant = { address: chain.addresses.cxpt, abi: cxptAbi, functionName: "transfer", args: [wallet, DEMO_GRANT] } as const;
  await succeeded(send(from(chain, rpcUrl, devKey(DEV_KEYS.distribution)), grant), seedFailure(`the grant to ${wallet}`));
}

/**
 * PAYG is collected through the Vault: without an allowance the billing gate answers 402, and
 * without a spending cap on UsageBilling settlement takes nothing (the leaf is short). The demo
 * wallet gets both, the cap at the grant per day.
 */
async function allowVault(chain: ChainContext, rpcUrl: string, privateKey: Hex): Promise<void> {
  const owner = from(chain, rpcUrl, privateKey);
  const wallet = owner.signer.account.address;
  const { cxpt, vault, billing } = chain.addresses;
  const allowance = await chain.client.readContract({ address: cxpt, abi: cxptAbi, functionName: "allowance", args: [wallet, vault] });
  if (allowance === 0n) {
    const approve = { address: cxpt, abi: cxptAbi, functionName: "approve", args: [vault, DEMO_GRANT] } as const;
    await succeeded(send(owner, approve), seedFailure(`${wallet}'s Vault allowance`));
  }
  const cap = await chain.client.readContract({ address: billing, abi: billingAbi, functionName: "spendingCapOf", args: [wallet] });
  if (cap.amount > 0n) return;
  const setCap = { address: billing, abi: billingAbi, functionName: "setSpendingCap", args: [DEMO_GRANT, 86_400n] } as const;
  await succeeded(send(owner, setCap), seedFailure(`${wallet}'s spending cap`));
}

/** Creates (or finds) the demo accounts and funds their wallets; `keyFile` keeps the user's API key. */
export async function seedDemo(db: Db, chain: ChainContext, rpcUrl: string, keyFile: string): Promise<Demo> {
  const accounts: DemoAccount[] = [];
  for (const demo of DEMO) {
    const privateKey = devKey(demo.index);
    const wallet = privateKeyToAccount(privateKey).address;
    const account =
      (await findAccountByWallet(db, wallet)) ??
      (await createAccount(db, { kind: demo.kind, role: demo.role, wallet, displayName: `Demo ${demo.name}` }));
    await fund(chain, rpcUrl, wallet);
    if (demo.kind === "user") await allowVault(chain, rpcUrl, privateKey);
    accounts.push({ name: demo.name, account, privateKey });
  }
  const user = accounts.find((a) => a.name === "user")!.account;
  const kept = await readFile(keyFile, "utf8").then((text) => (JSON.parse(text) as { userApiKey?: string }).userApiKey, () => undefined);
  if (kept !== undefined && (await accountIdForKeyHash(db, hashSecret(kept))) === user.id) return { accounts, userApiKey: kept };
  const { key } = await createApiKey(db, user.id, "demo");
  await writeFile(keyFile, JSON.stringify({ userApiKey: key }, null, 2) + "\n", { mode: 0o600 });
  return { accounts, userApiKey: key };
}
