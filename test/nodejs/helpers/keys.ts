// The node's unlocked development accounts as the backend holds its keys.
import { createWalletClient, custom, isAddressEqual, type Account, type Chain, type Transport, type WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Signer } from "../../../src/chain/send.ts";
import { devKey } from "../../../src/devstack/keys.ts";

/**
 * `wallet` (one of the node's unlocked accounts) as the backend holds a key: a local account with
 * the same address, on the same connection. The backend signs its own transactions
 * (src/chain/send.ts), which the node does not do for its unlocked accounts.
 */
export function backendKey(wallet: WalletClient<Transport, Chain, Account>): Signer {
  const index = Array.from({ length: 20 }, (_, i) => i).find((i) =>
    isAddressEqual(privateKeyToAccount(devKey(i)).address, wallet.account.address),
  );
  if (index === undefined) throw new Error(`${wallet.account.address} is not one of the node's development accounts`);
  return createWalletClient({ chain: wallet.chain, transport: custom(wallet), account: privateKeyToAccount(devKey(index)) });
}
