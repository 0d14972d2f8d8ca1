// The provider dashboard (/provider): earnings, points and performance, the nodes, tokens and history, then the
// work served and node health per day (as reported for rewards, and per node through the gateway).
import { NodeActivity } from "./NodeActivity.tsx";
import { NodesCard } from "./NodesCard.tsx";
import { ProviderActivity } from "./ProviderActivity.tsx";
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
        <div className="wide">
          <NodeActivity />
        </div>
        <div className="wide">
          <ProviderActivity />
        </div>
      </div>
    </>
  );
}
