// The development wallet: on the local chain (31337) the dashboards offer the stack's public
// Hardhat development keys as a wallet, so every flow works without a browser extension. It is a
// real EIP-1193 wallet that signs in the page: it asks before each signature or transaction (a
// dismissed prompt is a user rejection, code 4001, exactly as MetaMask reports it) and forwards
// everything else to the chain's RPC. The keys are public; the option exists only on 31337.
import { createConnector } from "wagmi";
import {
  createWalletClient,
  getAddress,
  http,
  numberToHex,
  UserRejectedRequestError,
  type Chain,
  type EIP1193RequestFn,
  type Hex,
  type TypedDataDefinition,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

export interface DevWalletOptions {
  /** The key's label ("Demo user"). */
  readonly name: string;
  readonly privateKey: Hex;
  /** Asks the person to approve; window.confirm by default. */
  readonly approve?: (question: string) => boolean;
}

type TxRequest = { to?: Hex; data?: Hex; value?: Hex; gas?: Hex; nonce?: Hex };

/** The EIP-1193 provider of `privateKey` on `chain`. */
export function devWalletProvider(chain: Chain, options: DevWalletOptions): { request: EIP1193RequestFn } {
  const account = privateKeyToAccount(options.privateKey);
  const transport = http(chain.rpcUrls.default.http[0]);
  const wallet = createWalletClient({ account, chain, transport });
  // Everything the wallet does not answer itself goes to the chain's RPC.
  const rpc = transport({ chain });
  const approve = options.approve ?? ((question: string) => window.confirm(question));
  const ask = (question: string) => {
    if (!approve(`Development wallet (${options.name}, ${account.address})\n\n${question}`)) {
      throw new UserRejectedRequestError(new Error("The request was rejected in the development wallet."));
    }
  };
  const request = (async ({ method, params }: { method: string; params?: unknown }) => {
    const args = (params ?? []) as unknown[];
    switch (method) {
      case "eth_accounts":
      case "eth_requestAccounts":
        return [account.address];
      case "eth_chainId":
        return numberToHex(chain.id);
      case "wallet_switchEthereumChain":
        if (Number((args[0] as { chainId: Hex }).chainId) !== chain.id) throw new Error(`the development wallet only knows chain ${chain.id}`);
        return null;
      case "personal_sign": {
        const raw = args[0] as Hex;
        ask(`Sign this message?\n\n${new TextDecoder().decode(hexBytes(raw))}`);
        return account.signMessage({ message: { raw } });
      }
      case "eth_signTypedData_v4": {
        const typed = JSON.parse(args[1] as string) as TypedDataDefinition;
        ask(`Sign typed data "${String(typed.primaryType)}"?\n\n${JSON.stringify(typed.message, null, 2)}`);
        return account.signTypedData(typed);
      }
      case "eth_sendTransaction": {
        const tx = args[0] as TxRequest;
        ask(`Send a transaction to ${tx.to ?? "a new contract"}${tx.value && BigInt(tx.value) > 0n ? ` with ${BigInt(tx.value)} wei` : ""}?`);
        return wallet.sendTransaction({
          to: tx.to,
          data: tx.data,
          value: tx.value === undefined ? undefined : BigInt(tx.value),
          gas: tx.gas === undefined ? undefined : BigInt(tx.gas),
        });
      }
      default:
        return rpc.request({ method, params } as never);
    }
  }) as EIP1193RequestFn;
  return { request };
}

function hexBytes(hex: Hex): Uint8Array {
  const digits = hex.slice(2);
  return Uint8Array.from({ length: digits.length / 2 }, (_, i) => parseInt(digits.slice(i * 2, i * 2 + 2), 16));
}

/** The development wallet's icon in the wallet modal: a key on the dashboards' accent colour. */
const DEV_WALLET_ICON =
  "data:image/svg+xml," +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#5b5bd6"/>' +
      '<circle cx="12" cy="16" r="5" fill="none" stroke="#fff" stroke-width="2.5"/><path d="M17 16h9m-3 0v4m-3-4v3" stroke="#fff" stroke-width="2.5" fill="none"/></svg>',
  );

/** A wagmi connector for one development key. */
export function devWallet(options: DevWalletOptions) {
  const address = privateKeyToAccount(options.privateKey).address;
  let connected = false;
  return createConnector<{ request: EIP1193RequestFn }>((config) => ({
    id: `dev-${address.toLowerCase()}`,
    name: `Development wallet: ${options.name}`,
    type: "devWallet",
    icon: DEV_WALLET_ICON,
    async connect({ withCapabilities } = {}) {
      connected = true;
      const chainId = config.chains[0].id;
      return { accounts: (withCapabilities ? [{ address, capabilities: {} }] : [address]) as never, chainId };
    },
    async disconnect() {
      connected = false;
    },
    async getAccounts() {
      return [getAddress(address)];
    },
    async getChainId() {
      return config.chains[0].id;
    },
    async getProvider() {
      return devWalletProvider(config.chains[0], options);
    },
    async isAuthorized() {
      // Reconnects after a reload to the key chosen last (wagmi remembers the connector).
      return connected || (await config.storage?.getItem("recentConnectorId")) === `dev-${address.toLowerCase()}`;
    },
    onAccountsChanged() {},
    onChainChanged() {},
    onDisconnect() {
      connected = false;
      config.emitter.emit("disconnect");
    },
  }));
}
