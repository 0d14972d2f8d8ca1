// Entry: load the API's configuration, then render the dashboards with wagmi, React Query and the
// API session. A configuration that cannot be loaded is said on the page, never a blank screen.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { WagmiProvider } from "wagmi";
import { App } from "./app/App.tsx";
import { AppConfigContext, loadAppConfig } from "./lib/appConfig.ts";
import { describeError } from "./lib/errors.ts";
import { SessionProvider } from "./lib/session.tsx";
import { createWagmiConfig } from "./lib/wagmi.ts";
import "./styles.css";

const root = createRoot(document.getElementById("root")!);
// Failed reads are retried once: a dashboard shows its error soon instead of spinning.
const queryClient = new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } } });

try {
  const config = await loadAppConfig();
  const wagmi = createWagmiConfig(config);
  root.render(
    <StrictMode>
      <AppConfigContext.Provider value={config}>
        {wagmi === undefined ? (
          <main className="note">
            <h1>Cxmpute</h1>
            <p>The CXPT chain is switched off on this server (stage “off”): accounts use off-chain credits and there is no token dashboard.</p>
          </main>
        ) : (
          <WagmiProvider config={wagmi}>
            <QueryClientProvider client={queryClient}>
              <SessionProvider>
                <App />
              </SessionProvider>
            </QueryClientProvider>
          </WagmiProvider>
        )}
      </AppConfigContext.Provider>
    </StrictMode>,
  );
} catch (error) {
  root.render(
    <main role="alert" className="note error">
      <h1>Cxmpute</h1>
      <p>The dashboards could not start: {describeError(error)}</p>
      <button type="button" onClick={() => window.location.reload()}>
        Try again
      </button>
    </main>,
  );
}
