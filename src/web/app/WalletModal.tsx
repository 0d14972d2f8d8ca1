// The wallet modal (its own chunk, loaded when first opened): before connecting, the wallets this
// chain offers with their icons (the development wallets on 31337, EIP-6963 browser wallets, the
// generic injected one, WalletConnect with a project id); once connected, the account with its
// balance and chain, a prompt that switches the wallet to the dashboards' chain when it is on
// another, the wallet's recent transactions from these dashboards, and Disconnect. Everything here
// works offline: icons are the wallets' own (EIP-6963) or built in, figures come from the chain's RPC.
import { useEffect, useState } from "react";
import type { Address } from "viem";
import { useBalance, useChains, useConnect, useConnection, useConnectors, useDisconnect, useSwitchChain, type Connector } from "wagmi";
import { ActionButton } from "../components/ActionButton.tsx";
import { CopyButton } from "../components/CopyButton.tsx";
import { Modal } from "../components/Modal.tsx";
import { ErrorNote } from "../components/Notice.tsx";
import { TxLink } from "../components/TxLink.tsx";
import { formatTime, formatToken } from "../lib/format.ts";
import { recentTxs, subscribeRecentTxs, type RecentTx } from "../lib/recentTxs.ts";
import { useSession } from "../lib/session.tsx";

const svg = (body: string) =>
  `data:image/svg+xml,${encodeURIComponent(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">${body}</svg>`)}`;

/** Icons for connectors that bring none (wagmi's generic injected connector, WalletConnect). */
const ICONS: Readonly<Record<string, string>> = {
  injected: svg(
    '<rect width="32" height="32" rx="8" fill="#868e96"/>' +
      '<rect x="7" y="10" width="18" height="13" rx="3" fill="none" stroke="#fff" stroke-width="2"/>' +
      '<circle cx="21" cy="16.5" r="1.8" fill="#fff"/>',
  ),
  walletConnect: svg(
    '<rect width="32" height="32" rx="8" fill="#3b99fc"/>' +
      '<path d="M9 13c4-4 10-4 14 0M7 17l4 4 5-5 5 5 4-4" fill="none" stroke="#fff" stroke-width="2.2" ' +
      'stroke-linecap="round" stroke-linejoin="round"/>',
  ),
};

/** The icon shown for `connector`: its own (EIP-6963 wallets, the development wallet), else one by its type. */
export const iconOf = (connector: Pick<Connector, "icon" | "type">): string => connector.icon ?? ICONS[connector.type] ?? ICONS.injected!;

const STATUS: Readonly<Record<RecentTx["status"], string>> = { pending: "pending", success: "confirmed", reverted: "reverted" };

function WalletList({ onConnected }: { readonly onConnected: () => void }) {
  const connectors = useConnectors();
  const { connectAsync } = useConnect();
  const [pending, setPending] = useState<string | undefined>();
  const [error, setError] = useState<unknown>(undefined);
  const connect = async (connector: Connector) => {
    setError(undefined);
    setPending(connector.uid);
    try {
      await connectAsync({ connector });
      onConnected();
    } catch (failure) {
      setError(failure);
    } finally {
      setPending(undefined);
    }
  };
  return (
    <>
      <ul className="wallet-list" aria-label="Wallets">
        {connectors.map((c) => (
          <li key={c.uid}>
            <button
              type="button"
              className="secondary"
              onClick={() => connect(c)}
              disabled={pending !== undefined}
              aria-busy={pending === c.uid}
            >
              <img src={iconOf(c)} alt="" width={28} height={28} />
              <span>{c.name}</span>
              {pending === c.uid ? <span className="muted"> Connecting…</span> : null}
            </button>
          </li>
        ))}
      </ul>
      <ErrorNote error={error} />
    </>
  );
}

function RecentTransactions({ wallet, chainId }: { readonly wallet: Address; readonly chainId: number }) {
  const [txs, setTxs] = useState(() => recentTxs(wallet, chainId));
  useEffect(() => {
    setTxs(recentTxs(wallet, chainId));
    return subscribeRecentTxs(() => setTxs(recentTxs(wallet, chainId)));
  }, [wallet, chainId]);
  return (
    <section aria-labelledby="recent-txs">
      <h3 id="recent-txs">Recent transactions</h3>
      {txs.length === 0 ? (
        <p className="muted">None sent from these dashboards in this browser yet.</p>
      ) : (
        <ul className="recent-txs" aria-label="Recent transactions">
          {txs.map((t) => (
            <li key={t.hash}>
              <span>{t.label}</span>{" "}
              <span className={t.status === "reverted" ? "bad" : t.status === "success" ? "good" : "muted"}>{STATUS[t.status]}</span>{" "}
              <TxLink hash={t.hash} /> <span className="muted">{formatTime(new Date(t.at).toISOString())}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Account({ onDisconnected }: { readonly onDisconnected: () => void }) {
  const [chain] = useChains();
  const { address, chainId, connector } = useConnection();
  const { switchChainAsync } = useSwitchChain();
  const { disconnectAsync } = useDisconnect();
  const { signOut } = useSession();
  const balance = useBalance({ address, chainId: chain.id });
  if (address === undefined) return null;
  const wrongNetwork = chainId !== chain.id;
  return (
    <div className="wallet-account">
      {wrongNetwork ? (
        <div role="alert" className="note error">
          <p>
            Wrong network: your wallet is on chain {chainId ?? "unknown"}; these dashboards use {chain.name} ({chain.id}).
          </p>
          <ActionButton onAction={() => switchChainAsync({ chainId: chain.id })} pendingLabel="Switching…">
            Switch to {chain.name}
          </ActionButton>
        </div>
      ) : null}
      <dl className="facts">
        <dt>Account</dt>
        <dd>
          <span className="mono">{address}</span>
          <CopyButton text={address} label="address" />
        </dd>
        <dt>Wallet</dt>
        <dd className="wallet-name">
          {connector ? <img src={iconOf(connector)} alt="" width={20} height={20} /> : null}
          {connector?.name ?? "—"}
        </dd>
        <dt>Network</dt>
        <dd>{wrongNetwork ? `chain ${chainId ?? "unknown"} (wrong network)` : `${chain.name} (${chain.id})`}</dd>
        <dt>Balance</dt>
        <dd>
          {balance.data
            ? formatToken(balance.data.value, chain.nativeCurrency.symbol, 4, chain.nativeCurrency.decimals)
            : balance.error
              ? "could not be read"
              : "…"}
        </dd>
      </dl>
      <RecentTransactions wallet={address} chainId={chain.id} />
      <ActionButton
        variant="secondary"
        pendingLabel="Disconnecting…"
        onAction={async () => {
          await signOut();
          await disconnectAsync();
          onDisconnected();
        }}
      >
        Disconnect
      </ActionButton>
    </div>
  );
}

/** The modal; mounted only while open (the header's button opens it). */
export default function WalletModal({ onClose }: { readonly onClose: () => void }) {
  const { address } = useConnection();
  return (
    <Modal open title={address === undefined ? "Connect a wallet" : "Your wallet"} onClose={onClose}>
      {address === undefined ? <WalletList onConnected={onClose} /> : <Account onDisconnected={onClose} />}
    </Modal>
  );
}
