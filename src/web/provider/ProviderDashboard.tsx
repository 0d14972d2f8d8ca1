// The provider dashboard (/provider): earnings, points and performance, the nodes, then tokens and history.
import { NodesCard } from "./NodesCard.tsx";
import { ProviderEarnings } from "./ProviderEarnings.tsx";
import { TokenManagement } from "./TokenManagement.tsx";

export default function ProviderDashboard() {
  return (
    <>
      <h1>Provider dashboard</h1>
      <div className="grid">
        <ProviderEarnings />
        <NodesCard />
        <TokenManagement />
      </div>
    </>
  );
}
