// Connecting a wallet and signing in: the wallet options of this chain, the connected address, and
// Sign-In with Ethereum for the API session.
import { useState } from "react";
import { useConnect, useConnection, useConnectors, useDisconnect } from "wagmi";
import { ActionButton } from "../components/ActionButton.tsx";
import { ErrorNote } from "../components/Notice.tsx";
import { shortHex } from "../lib/format.ts";
import { useSession } from "../lib/session.tsx";

export function WalletPanel() {
  const { address, status } = useConnection();
  const connectors = useConnectors();
  const { connectAsync } = useConnect();
  const { disconnectAsync } = useDisconnect();
  const { session, signIn, signOut } = useSession();
  const [choice, setChoice] = useState("");
  const [error, setError] = useState<unknown>(undefined);

  if (address === undefined) {
    const connect = async () => {
      setError(undefined);
      const connector = connectors.find((c) => c.uid === choice) ?? connectors[0];
      if (connector === undefined) return;
      try {
        await connectAsync({ connector });
      } catch (failure) {
        setError(failure);
      }
    };
    return (
      <div className="wallet" role="group" aria-label="Wallet connection">
        <label htmlFor="wallet-choice">Wallet</label>
        <select id="wallet-choice" value={choice} onChange={(e) => setChoice(e.target.value)}>
          {connectors.map((c) => (
            <option key={c.uid} value={c.uid}>
              {c.name}
            </option>
          ))}
        </select>
        <button type="button" onClick={connect} disabled={status === "connecting"}>
          {status === "connecting" ? "Connecting…" : "Connect wallet"}
        </button>
        <ErrorNote error={error} />
      </div>
    );
  }
  return (
    <div className="wallet" role="group" aria-label="Wallet connection">
      <span className="mono" title={address}>
        {shortHex(address)}
      </span>
      {session === null ? (
        <ActionButton onAction={() => signIn()} pendingLabel="Signing in…">
          Sign in
        </ActionButton>
      ) : (
        <span className="muted">
          {session.account.role === "admin" ? "admin" : session.account.kind} · signed in
        </span>
      )}
      <button
        type="button"
        className="secondary"
        onClick={async () => {
          await signOut();
          await disconnectAsync();
        }}
      >
        Disconnect
      </button>
    </div>
  );
}
