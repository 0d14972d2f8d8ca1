// The admin dashboard (/admin): the airdrop console (points CSV, split, dispatch), the protocol
// balance and its Safe withdrawals, the stage switch with its checks, plans, rewards "run now", burn rate, alerts, and
// the operations views: jobs (run now), accounts (search, legacy-credit grants) and the audit log.
import "./admin.css";
import { AccountsPanel } from "./AccountsPanel.tsx";
import { AirdropConsole } from "./AirdropConsole.tsx";
import { AlertsList } from "./AlertsList.tsx";
import { AuditLog } from "./AuditLog.tsx";
import { BurnRate } from "./BurnRate.tsx";
import { JobsPanel } from "./JobsPanel.tsx";
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
        <div className="wide">
          <JobsPanel />
        </div>
        <div className="wide">
          <AccountsPanel />
        </div>
        <div className="wide">
          <AuditLog />
        </div>
      </div>
    </div>
  );
}
