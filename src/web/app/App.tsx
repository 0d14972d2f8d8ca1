// The dashboards' frame: navigation, the wallet panel, and the page for the current path. Each
// dashboard is its own chunk, loaded when first visited, so the first page stays small.
import { Component, lazy, Suspense, type ReactNode } from "react";
import { useConnection } from "wagmi";
import { ActionButton } from "../components/ActionButton.tsx";
import { Loading } from "../components/Notice.tsx";
import { PendingReports } from "../components/PendingReports.tsx";
import { ThemeToggle } from "../components/ThemeToggle.tsx";
import { describeError } from "../lib/errors.ts";
import { useSession } from "../lib/session.tsx";
import { Link, usePath } from "./router.tsx";
import { WalletPanel } from "./WalletPanel.tsx";

const UserDashboard = lazy(() => import("../user/UserDashboard.tsx"));
const ProviderDashboard = lazy(() => import("../provider/ProviderDashboard.tsx"));
const AdminDashboard = lazy(() => import("../admin/AdminDashboard.tsx"));
const TxPage = lazy(() => import("./TxPage.tsx"));
const StatementPage = lazy(() => import("../user/StatementPage.tsx"));

/** Shows a page's crash as a message instead of a blank screen. */
class PageBoundary extends Component<{ readonly children: ReactNode; readonly path: string }, { error: unknown }> {
  override state = { error: undefined as unknown };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  override componentDidUpdate(previous: { path: string }) {
    if (previous.path !== this.props.path && this.state.error !== undefined) this.setState({ error: undefined });
  }
  override render() {
    if (this.state.error === undefined) return this.props.children;
    return (
      <div role="alert" className="note error">
        This page failed: {describeError(this.state.error)} <button type="button" onClick={() => window.location.reload()}>Reload</button>
      </div>
    );
  }
}

/** The page's content once the wallet is connected and signed in (with the admin role for `admin`). */
function SignedIn({ kind, admin, children }: { readonly kind?: "user" | "provider"; readonly admin?: boolean; readonly children: ReactNode }) {
  const { address } = useConnection();
  const { session, signIn } = useSession();
  if (address === undefined) return <p className="note">Connect a wallet (top right) to see this dashboard.</p>;
  if (session === null) {
    return (
      <div className="note">
        <p>Sign in with your wallet to see this dashboard. Signing is free: it proves you hold the wallet.</p>
        <ActionButton onAction={() => signIn(kind)} pendingLabel="Signing in…">
          Sign in{kind === "provider" ? " as a provider" : ""}
        </ActionButton>
      </div>
    );
  }
  if (admin && session.account.role !== "admin") return <p role="alert" className="note error">This dashboard is for admins; {session.account.wallet} is not one.</p>;
  return (
    <>
      <PendingReports />
      {children}
    </>
  );
}

function Page({ path }: { readonly path: string }) {
  if (path === "/" || path === "/user") return <SignedIn kind="user"><UserDashboard /></SignedIn>;
  if (path === "/provider") return <SignedIn kind="provider"><ProviderDashboard /></SignedIn>;
  if (path === "/admin") return <SignedIn admin><AdminDashboard /></SignedIn>;
  const statement = /^\/statement\/([0-9]{4}-[0-9]{2})$/.exec(path);
  if (statement) return <SignedIn kind="user"><StatementPage month={statement[1]!} /></SignedIn>;
  const tx = /^\/tx\/(0x[0-9a-fA-F]*)$/.exec(path);
  if (tx) return <TxPage hash={tx[1]!} />;
  return (
    <p role="alert" className="note error">
      There is no page at {path}. <Link to="/">Go to your dashboard</Link>.
    </p>
  );
}

export function App() {
  const path = usePath();
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <strong className="brand">Cxmpute · CXPT</strong>
        <nav aria-label="Dashboards">
          <Link to="/user">User</Link>
          <Link to="/provider">Provider</Link>
          <Link to="/admin">Admin</Link>
        </nav>
        <div className="tools">
          <ThemeToggle />
          <WalletPanel />
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <PageBoundary path={path}>
          <Suspense fallback={<Loading what="the page" />}>
            <Page path={path} />
          </Suspense>
        </PageBoundary>
      </main>
    </>
  );
}
