// Placeholder until the user dashboard lands.
export default function UserDashboard() {
  return <p className="note">The user dashboard is being built.</p>;
}
