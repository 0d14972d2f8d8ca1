// The wagmi configuration for the chain the API names: the development keys (local chain only),
// injected wallets (MetaMask and other EIP-6963 wallets) and WalletConnect when a project id is set.
import { createConfig, http, type Config, type CreateConnectorFn } from "wagmi";
import { injected, walletConnect } from "wagmi/connectors";
import { chainAt } from "../../chain/chains.ts";
import type { AppConfig } from "./appConfig.ts";
import { devWallet } from "./devWallet.ts";

/** The wagmi config for `app`; undefined while the chain is off (the dashboards then show credits only). */
export function createWagmiConfig(app: AppConfig): Config | undefined {
  if (app.chain === null) return undefined;
  const { chainId, rpcUrl, explorerUrl } = app.chain;
  const chain = chainAt(chainId, rpcUrl, explorerUrl);
  const connectors: CreateConnectorFn[] = [
    ...app.devWallets.map((key) => devWallet(key)),
    injected(),
    ...(app.walletConnectProjectId ? [walletConnect({ projectId: app.walletConnectProjectId, showQrModal: true })] : []),
  ];
  return createConfig({ chains: [chain], connectors, transports: { [chainId]: http(rpcUrl) }, ssr: false });
}
