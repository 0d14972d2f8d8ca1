// The user dashboard: test CXPT from the faucet (testnet only), CXPT balance and deposits, subscription, rewards, the PAYG
// allowance, API keys with a try-out of the metered endpoint, charge verification, and usage with statements, as a grid of cards (one column
// on a phone).
import { ApiKeys } from "./ApiKeys.tsx";
import { FaucetCard } from "./FaucetCard.tsx";
import { PaygAllowance } from "./PaygAllowance.tsx";
import { RewardClaim } from "./RewardClaim.tsx";
import { SubscriptionManager } from "./SubscriptionManager.tsx";
import { TokenBalance } from "./TokenBalance.tsx";
import { UsageCard } from "./UsageCard.tsx";
import { VerifyCharge } from "./VerifyCharge.tsx";

export default function UserDashboard() {
  return (
    <>
      <h1>Your CXPT</h1>
      <div className="grid">
        <FaucetCard />
        <TokenBalance />
        <SubscriptionManager />
        <RewardClaim />
        <PaygAllowance />
        <ApiKeys />
        <VerifyCharge />
        <div className="wide">
          <UsageCard />
        </div>
      </div>
    </>
  );
}
