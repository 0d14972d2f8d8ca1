// The header's wallet control: "Connect wallet" (or the connected account, with a wrong-network
// warning when the wallet is on another chain) opens the wallet modal, a chunk of its own loaded on
// the first opening so the first page stays small; beside it, Sign-In with Ethereum for the API session.
import { lazy, Suspense, useState } from "react";
import { useChains, useConnection } from "wagmi";
import { ActionButton } from "../components/ActionButton.tsx";
import { Fallback } from "../components/Fallback.tsx";
import { shortHex } from "../lib/format.ts";
import { useSession } from "../lib/session.tsx";

const WalletModal = lazy(() => import("./WalletModal.tsx"));

export function WalletPanel() {
  const { address, chainId, status } = useConnection();
  const [chain] = useChains();
  const { session, signIn } = useSession();
  const [open, setOpen] = useState(false);
  const wrongNetwork = address !== undefined && chainId !== chain.id;
  // The modal sits outside .wallet: the header's wallet messages are placed under the header, the modal's are not.
  return (
    <>
      <div className="wallet" role="group" aria-label="Wallet connection">
        {address === undefined ? (
          <button type="button" aria-haspopup="dialog" onClick={() => setOpen(true)} disabled={status === "connecting"}>
            {status === "connecting" ? "Connecting…" : "Connect wallet"}
          </button>
        ) : (
          <>
            {wrongNetwork ? (
              <button type="button" className="danger" aria-haspopup="dialog" onClick={() => setOpen(true)}>
                Wrong network
              </button>
            ) : null}
            <button
              type="button"
              className="secondary"
              aria-haspopup="dialog"
              aria-label={`Wallet ${address}`}
              title={address}
              onClick={() => setOpen(true)}
            >
              <span className="mono">{shortHex(address)}</span>
            </button>
            {session === null ? (
              <ActionButton onAction={() => signIn()} pendingLabel="Signing in…">
                Sign in
              </ActionButton>
            ) : (
              <span className="muted">{session.account.role === "admin" ? "admin" : session.account.kind} · signed in</span>
            )}
          </>
        )}
      </div>
      {open ? (
        <Fallback
          fallback={
            <span role="alert" className="note error">
              The wallet window could not be loaded.{" "}
              <button type="button" onClick={() => window.location.reload()}>
                Reload
              </button>
            </span>
          }
        >
          <Suspense fallback={<span className="muted">Opening…</span>}>
            <WalletModal onClose={() => setOpen(false)} />
          </Suspense>
        </Fallback>
      ) : null}
    </>
  );
}
