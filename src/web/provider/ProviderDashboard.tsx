// Placeholder until the provider dashboard lands.
export default function ProviderDashboard() {
  return <p className="note">The provider dashboard is being built.</p>;
}
