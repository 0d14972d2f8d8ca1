// The admin dashboard (/admin): the airdrop console (points CSV, split, dispatch), the protocol
// balance and its Safe withdrawals, the stage switch with its checks, plans, rewards "run now", burn rate and alerts.
import "./admin.css";
import { AirdropConsole } from "./AirdropConsole.tsx";
import { AlertsList } from "./AlertsList.tsx";
import { BurnRate } from "./BurnRate.tsx";
import { PlansEditor } from "./PlansEditor.tsx";
import { ProtocolBalanceCard } from "./ProtocolBalanceCard.tsx";
import { RewardsRunNow } from "./RewardsRunNow.tsx";
import { ToggleMainnet } from "./ToggleMainnet.tsx";

export default function AdminDashboard() {
  return (
    <div className="admin-dashboard">
      <h1>Admin dashboard</h1>
      <div className="grid">
        <div className="wide">
          <AirdropConsole />
        </div>
        <ProtocolBalanceCard />
        <ToggleMainnet />
        <div className="wide">
          <PlansEditor />
        </div>
        <RewardsRunNow />
        <BurnRate />
        <AlertsList />
      </div>
    </div>
  );
}
