// The user's notifications (docs/protocol.md, Notifications): the unread count and the newest
// pages, folded from `notification` and `notifications.missed` on `user:<id>`, and read again
// with `notifications.list` after every (re)connection, so what happened while offline shows at
// once. Marking read and the mute preferences go through the same WebSocket.

import { useSyncExternalStore } from "react";
import { LiveConnection, StreamEvent } from "./ws";

export interface Notification {
  id: number;
  type: string;
  created_at: number;
  updated_at: number;
  read: boolean;
  read_at: number | null;
  data: Record<string, any>;
}

const PAGE = 20;

export class Notifications {
  version = 0;
  unread: number | null = null;
  items = new Map<number, Notification>();
  /** The id to pass as `before` for the next older page; null: no older page. */
  nextBefore: number | null = null;
  loaded = false;
  private listeners = new Set<() => void>();
  private offs: (() => void)[] = [];

  constructor(private conn: LiveConnection) {
    this.offs.push(conn.onEvent((e) => this.onEvent(e)));
    this.offs.push(conn.onOpen(() => void this.refresh().catch(() => undefined)));
  }

  close() {
    this.offs.forEach((f) => f());
  }

  subscribe = (fn: () => void) => {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  };
  getVersion = () => this.version;
  private changed() {
    this.version++;
    this.listeners.forEach((fn) => fn());
  }

  /** Newest first. */
  list(): Notification[] {
    return [...this.items.values()].sort((a, b) => b.id - a.id);
  }

  private merge(n: Notification) {
    const old = this.items.get(n.id);
    if (!old || n.updated_at >= old.updated_at || (n.read && !old.read)) this.items.set(n.id, n);
  }

  private onEvent(e: StreamEvent) {
    if (!e.stream.startsWith("user:")) return;
    const ev = e.event;
    if (ev.type === "notification") {
      this.merge(ev.notification as Notification);
      this.unread = Number(ev.unread);
      this.changed();
    } else if (ev.type === "notifications.missed") {
      for (const n of ev.notifications as Notification[]) this.merge(n);
      this.unread = Number(ev.unread);
      this.changed();
    }
  }

  /** The newest page (after each connection: the count and what arrived while away). */
  async refresh() {
    const r = await this.conn.request("notifications.list", { before: 0, limit: PAGE });
    for (const n of r.notifications as Notification[]) this.merge(n);
    this.unread = Number(r.unread);
    if (!this.loaded) this.nextBefore = (r.next_before as number | null) ?? null;
    this.loaded = true;
    this.changed();
  }

  async loadOlder() {
    if (this.nextBefore === null) return;
    const r = await this.conn.request("notifications.list", { before: this.nextBefore, limit: PAGE });
    for (const n of r.notifications as Notification[]) this.merge(n);
    this.unread = Number(r.unread);
    this.nextBefore = (r.next_before as number | null) ?? null;
    this.changed();
  }

  private markLocal(pred: (n: Notification) => boolean) {
    const now = Date.now();
    for (const n of this.items.values()) if (!n.read && pred(n)) this.items.set(n.id, { ...n, read: true, read_at: now });
  }

  async markRead(ids: number[]) {
    const r = await this.conn.request("notifications.read", { ids });
    this.markLocal((n) => ids.includes(n.id));
    this.unread = Number(r.unread);
    this.changed();
  }

  async markAllRead() {
    const top = Math.max(0, ...this.items.keys());
    if (!top) return;
    const r = await this.conn.request("notifications.read", { up_to: top });
    this.markLocal((n) => n.id <= top);
    this.unread = Number(r.unread);
    this.changed();
  }

  async prefs(): Promise<{ muted: string[]; types: string[] }> {
    const r = await this.conn.request("notifications.prefs.get");
    return { muted: r.muted as string[], types: r.types as string[] };
  }

  async setMuted(muted: string[]): Promise<{ muted: string[]; types: string[] }> {
    const r = await this.conn.request("notifications.prefs.set", { muted });
    return { muted: r.muted as string[], types: r.types as string[] };
  }
}

export function useNotifications(n: Notifications) {
  useSyncExternalStore(n.subscribe, n.getVersion);
  return n;
}

/** What a type is about, for the preferences. */
export const TYPE_LABELS: Record<string, string> = {
  "application.received": "Applications to my campaigns",
  "application.decided": "Decisions on my applications",
  "invitation.received": "Campaign invitations",
  "invitation.answered": "Answers to my invitations",
  "offer.made": "New offers and counter-offers",
  "offer.accepted": "Offers accepted",
  "offer.declined": "Offers declined",
  "message.received": "Messages in conversations I am not viewing",
  "content.submitted": "Content submitted",
  "content.reviewed": "Content reviewed",
  "contract.funded": "Contracts funded",
  "contract.released": "Contracts paid out",
  "contract.refunded": "Contracts refunded",
  "contract.disputed": "Contracts disputed",
  "contract.resolved": "Disputes resolved",
  "deadline.reminder": "Deadline reminders",
  "payout.completed": "Withdrawals paid",
  "contract.performance_billed": "Clicks and views paid",
};

/** One line of text and where it leads. */
export function describe(n: Notification): { text: string; to: string | null } {
  const d = n.data ?? {};
  const camp = d.campaign ? `/campaigns/${d.campaign}` : null;
  const chat = d.conversation ? `/chats/${d.conversation}` : null;
  const contract = d.contract ? `/contracts/${d.contract}` : null;
  switch (n.type) {
    case "application.received": return { text: "A creator applied to your campaign", to: camp };
    case "application.decided": return { text: `Your application was ${d.outcome ?? "decided"}`, to: camp };
    case "invitation.received": return { text: "You are invited to a campaign", to: camp };
    case "invitation.answered": return { text: `Your invitation was ${d.outcome ?? "answered"}`, to: camp };
    case "offer.made": return { text: d.counter_to ? "New counter-offer" : "New offer", to: chat };
    case "offer.accepted": return { text: "Your offer was accepted", to: d.contract ? `/contracts/${d.contract}` : chat };
    case "offer.declined": return { text: "Your offer was declined", to: chat };
    case "message.received": {
      const c = Number(d.count ?? 1);
      return { text: c > 1 ? `${c} new messages` : "New message", to: chat };
    }
    case "content.submitted": return { text: "Content was submitted for review", to: camp };
    case "content.reviewed": return { text: `Your content was reviewed: ${String(d.verdict ?? "").replace(/_/g, " ")}`, to: camp };
    case "contract.funded": return { text: "A contract was funded", to: contract };
    case "contract.released": return { text: "A contract was paid out", to: contract };
    case "contract.refunded": return { text: "A contract was refunded", to: contract };
    case "contract.disputed": return { text: "A contract is disputed", to: contract };
    case "contract.resolved": return { text: "A dispute was resolved", to: contract };
    case "deadline.reminder": return { text: "A contract deadline is in 24 hours", to: contract };
    case "payout.completed": return { text: "Your withdrawal was paid", to: "/balance" };
    case "contract.performance_billed":
      return { text: `${d.units ?? ""} ${d.units === 1 ? "unit" : "units"} billed on a performance contract`.trim(), to: contract };
    default: return { text: n.type, to: camp ?? chat ?? contract };
  }
}
