// The place for campaigns. The campaign API is not in the server yet: this page says so and shows
// no invented data.
import { currentSession } from "../api";
import { Empty, Link } from "../ui";

export function Campaigns() {
  const role = currentSession()!.user.role;
  return (
    <div className="page narrow">
      <h1>Campaigns</h1>
      <Empty title="Campaigns are coming soon">
        <p>
          {role === "brand"
            ? "Soon you will create campaigns here (goals, pricing, budget, targeting, schedule), discover creators and manage applications."
            : "Soon you will find campaigns that fit your profile here, apply, and answer invitations."}
        </p>
        <p>
          Until then, deals happen in <Link to="/chats">conversations</Link>.
        </p>
      </Empty>
    </div>
  );
}
