// The provider dashboard (/provider): earnings, points and performance, tokens and history, then the
// work served and node health per day.
import { ProviderActivity } from "./ProviderActivity.tsx";
import { ProviderEarnings } from "./ProviderEarnings.tsx";
import { TokenManagement } from "./TokenManagement.tsx";

export default function ProviderDashboard() {
  return (
    <>
      <h1>Provider dashboard</h1>
      <div className="grid">
        <ProviderEarnings />
        <TokenManagement />
        <div className="wide">
          <ProviderActivity />
        </div>
      </div>
    </>
  );
}
