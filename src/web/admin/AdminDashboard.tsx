// Placeholder until the admin dashboard lands.
export default function AdminDashboard() {
  return <p className="note">The admin dashboard is being built.</p>;
}
