import { useEffect, useState, useSyncExternalStore } from "react";
import { currentSession, logout, onSessionChange, Tokens } from "./api";
import { match, navigate, usePath } from "./router";
import { setStore, Store } from "./store";
import { ConnState, LiveConnection } from "./ws";
import { Link } from "./ui";
import { Welcome, Login } from "./pages/Auth";
import { Signup } from "./pages/Signup";
import { ProfilePage, PublicProfile } from "./pages/Profile";
import { Chats } from "./pages/Chats";
import { ContractPage } from "./pages/Contract";
import { BalancePage } from "./pages/Balance";
import { CampaignPage, Campaigns, CampaignWizard } from "./pages/Campaigns";
import { Discover } from "./pages/Discover";
import { Bell } from "./pages/Notifications";
import { Notifications } from "./notifications";
import { AnalyticsPage } from "./pages/Analytics";

// The session and the path are both external stores read with useSyncExternalStore, so a render
// never sees one updated and not the other: a state copy of the session used to lag behind a
// navigate("/login") right after a logout, and the shell then redirected the stale session to
// /chats, leaving a signed-out user on the welcome page instead of the login form.
function useSession(): Tokens | null {
  return useSyncExternalStore(onSessionChange, currentSession);
}

export function App() {
  const session = useSession();
  const path = usePath();
  if (path.startsWith("/signup")) return <Signup />;
  if (!session) {
    if (path === "/login") return <Login />;
    return <Welcome />;
  }
  return <Shell key={session.session_id} session={session} path={path} />;
}

const STATE_LABEL: Record<ConnState, string> = {
  connecting: "Connecting…",
  connected: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  "signed-out": "Signed out",
};

function Shell({ session, path }: { session: Tokens; path: string }) {
  const [ctx, setCtx] = useState<{ conn: LiveConnection; store: Store; notes: Notifications } | null>(null);
  const [state, setState] = useState<ConnState>("connecting");
  useEffect(() => {
    const conn = new LiveConnection();
    const store = new Store(conn);
    const notes = new Notifications(conn);
    setStore(store);
    setCtx({ conn, store, notes });
    const off = conn.onState((s) => {
      setState(s);
      if (s === "signed-out") {
        conn.close();
        void logout().catch(() => undefined);
      }
    });
    return () => {
      off();
      notes.close();
      conn.close();
      setStore(null);
    };
  }, []);
  const redirect = path === "/" || path === "/login";
  useEffect(() => {
    if (redirect) navigate("/chats", true);
  }, [redirect]);

  const role = session.user.role;
  if (redirect || !ctx) return null;
  const nav: [string, string][] = [
    ["/chats", "Conversations"],
    ["/campaigns", "Campaigns"],
    ...(role === "brand" ? ([["/discover", "Find creators"]] as [string, string][]) : []),
    ...(role === "creator" ? ([["/balance", "Balance"]] as [string, string][]) : []),
    ["/profile", role === "creator" ? "Profile & media kit" : "Profile"],
  ];
  let page: JSX.Element;
  let m: Record<string, string> | null;
  if ((m = match("/chats/:id", path))) page = <Chats selected={m.id} />;
  else if (path === "/chats") page = <Chats />;
  else if ((m = match("/contracts/:id", path))) page = <ContractPage id={m.id} />;
  else if (path === "/balance") page = <BalancePage />;
  else if (path === "/profile") page = <ProfilePage />;
  else if ((m = match("/creators/:id", path))) page = <PublicProfile id={m.id} role="creator" />;
  else if ((m = match("/brands/:id", path))) page = <PublicProfile id={m.id} role="brand" />;
  else if (path === "/campaigns") page = <Campaigns />;
  else if (path === "/discover" && role === "brand") page = <Discover key={location.search} />;
  else if (path === "/campaigns/new" && role === "brand") page = <CampaignWizard key="new" />;
  else if ((m = match("/campaigns/:id/edit", path)) && role === "brand") page = <CampaignWizard key={m.id} id={m.id} />;
  else if ((m = match("/campaigns/:id/analytics", path)) && role === "brand") page = <AnalyticsPage key={m.id} id={m.id} />;
  else if ((m = match("/campaigns/:id", path))) page = <CampaignPage key={m.id} id={m.id} />;
  else page = <div className="page"><h1>Not found</h1><p>There is nothing at this address. <Link to="/chats">Go to your conversations</Link>.</p></div>;

  return (
    <div className="app">
      <a className="skip" href="#main">Skip to content</a>
      <header className="topbar">
        <Link to="/chats" className="brand-mark">
          <span aria-hidden="true" className="logo">P</span> Pactum
        </Link>
        <nav aria-label="Main">
          {nav.map(([to, label]) => (
            <Link key={to} to={to} className="nav-link" aria-current={path.startsWith(to) ? "page" : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <div className="topbar-right">
          <span className={`conn conn-${state}`} role="status" aria-live="polite" data-testid="connection">
            <span className="dot" aria-hidden="true" />
            {STATE_LABEL[state]}
          </span>
          <Bell model={ctx.notes} />
          <span className="whoami" title={session.user.role}>
            {session.user.display_name} <span className="role-tag">{session.user.role}</span>
          </span>
          <button className="btn btn-ghost" onClick={() => void logout().then(() => navigate("/login"))}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1} >
        {page}
      </main>
    </div>
  );
}
