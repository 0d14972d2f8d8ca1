// The development accounts of the local stack: Hardhat's public test mnemonic, one account per
// part. Deploy roles follow deploy/config.ts (DEV_ACCOUNTS); the rest are the backend's relayer
// and the demo admin, user and provider. Never use these keys anywhere but a local chain.
import { bytesToHex, type Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { DEV_ACCOUNTS } from "../../deploy/config.ts";

export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

export const DEV_KEYS = {
  deployer: 0,
  ...DEV_ACCOUNTS,
  relayer: 10,
  demoAdmin: 11,
  demoUser: 12,
  demoProvider: 13,
} as const;

/** The private key of development account `index`. */
export function devKey(index: number): Hex {
  const key = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index }).getHdKey().privateKey;
  if (!key) throw new Error(`no private key for development account ${index}`);
  return bytesToHex(key);
}

/** The backend's key settings on a local chain: the development accounts the suite was deployed with. */
export const DEV_BACKEND_ENV: Readonly<Record<string, string>> = {
  OPERATOR_PRIVATE_KEY: devKey(DEV_KEYS.operator),
  BILLING_PRIVATE_KEY: devKey(DEV_KEYS.billing),
  SETTLER_PRIVATE_KEY: devKey(DEV_KEYS.settler),
  REWARDS_PRIVATE_KEY: devKey(DEV_KEYS.rewards),
  RELAYER_PRIVATE_KEY: devKey(DEV_KEYS.relayer),
  SAFE_OWNER_KEYS: DEV_KEYS.safeOwners.map(devKey).join(","),
};
