// The API session of the connected wallet: Sign-In with Ethereum (the API's nonce, the wallet's
// signature) gives a session token kept in sessionStorage for that wallet. Switching the wallet
// drops the session; every API call of the dashboards goes through useApi() with the token.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useConnection, useSignMessage } from "wagmi";
import type { Address } from "viem";
import { createSiweMessage } from "viem/siwe";
import { apiFetch, type Api, type RequestOptions } from "./api.ts";

export interface SessionAccount {
  readonly id: string;
  readonly kind: "user" | "provider";
  readonly role: "member" | "admin";
  readonly displayName: string | null;
  readonly wallet: Address | null;
  readonly creditsWei: string;
}

export interface Session {
  readonly token: string;
  readonly account: SessionAccount;
}

interface SessionState {
  readonly session: Session | null;
  /** Signs in with the connected wallet; a new wallet opens an account of `kind`. */
  signIn(kind?: "user" | "provider"): Promise<Session>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionState | null>(null);
const storageKey = (wallet: string) => `cxpt.session.${wallet.toLowerCase()}`;

function stored(wallet: Address | undefined): Session | null {
  if (wallet === undefined) return null;
  try {
    return JSON.parse(sessionStorage.getItem(storageKey(wallet)) ?? "null") as Session | null;
  } catch {
    return null;
  }
}

export function SessionProvider({ children }: { readonly children: ReactNode }) {
  const { address } = useConnection();
  const { signMessageAsync } = useSignMessage();
  const [session, setSession] = useState<Session | null>(() => stored(address));
  useEffect(() => setSession(stored(address)), [address]);

  const signIn = useCallback(
    async (kind?: "user" | "provider") => {
      if (address === undefined) throw new Error("Connect a wallet first.");
      const nonce = await apiFetch<{ nonce: string; domain: string; uri: string; chainId: number | null }>("/api/v1/auth/nonce", { method: "POST" });
      const message = createSiweMessage({
        address,
        chainId: nonce.chainId ?? 1,
        domain: nonce.domain,
        uri: nonce.uri,
        nonce: nonce.nonce,
        version: "1",
        statement: "Sign in to Cxmpute.",
      });
      const signature = await signMessageAsync({ message });
      const signedIn = await apiFetch<Session>("/api/v1/auth/siwe", { body: { message, signature, ...(kind ? { kind } : {}) } });
      const next = { token: signedIn.token, account: signedIn.account };
      sessionStorage.setItem(storageKey(address), JSON.stringify(next));
      setSession(next);
      return next;
    },
    [address, signMessageAsync],
  );

  const signOut = useCallback(async () => {
    if (session !== null) await apiFetch("/api/v1/auth/logout", { method: "POST", token: session.token }).catch(() => undefined);
    if (address !== undefined) sessionStorage.removeItem(storageKey(address));
    setSession(null);
  }, [address, session]);

  const value = useMemo(() => ({ session, signIn, signOut }), [session, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (state === null) throw new Error("useSession outside <SessionProvider>");
  return state;
}

/** apiFetch with this session's token. */
export function useApi(): Api {
  const token = useSession().session?.token;
  return useCallback(<T,>(path: string, options: Omit<RequestOptions, "token"> = {}) => apiFetch<T>(path, { ...options, token }), [token]);
}
