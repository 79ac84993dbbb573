// Client-side state folded from the server's streams: the conversation list, each open
// conversation (messages, offers, receipts, typing, presence) and each contract seen. Components
// read it through `useStore()` and re-render on every change.

import { useSyncExternalStore } from "react";
import { LiveConnection, StreamEvent } from "./ws";

export interface ConversationMeta {
  id: string;
  brand: string;
  creator: string;
  created_at: number;
  head: number;
}
export interface Message {
  seq: number;
  author: string;
  text: string;
  at: number;
  edited: boolean;
  deleted: boolean;
  erased: boolean;
  attachments: { url: string; type: string }[];
}
export interface Deliverable {
  type: string;
  platform?: string;
  count?: number;
  brief?: string;
}
export interface Terms {
  amount: number;
  currency: string;
  deliverables: Deliverable[];
  delivery_days?: number;
  revision_rounds?: number;
  usage_rights?: { scope: string; days: number };
}
export type OfferStatus = "pending" | "accepted" | "declined" | "withdrawn" | "expired" | "superseded";
export interface Offer {
  seq: number;
  by: string;
  terms: Terms;
  expires_at: number;
  at: number;
  counter_to?: number;
  status: OfferStatus;
  contract?: string;
  reason?: string;
  answered_at?: number;
}
export type TimelineItem = { seq: number; kind: "message" | "offer" | "note"; text?: string; at: number };
export interface Conversation {
  meta: ConversationMeta;
  loaded: boolean;
  subscribed: boolean;
  lastSeq: number; // every event up to here was processed
  oldest: number; // smallest seq shown in the timeline (older ones are folded in, not shown)
  moreBefore: boolean; // older events exist (loaded and hidden, or still on the server)
  earliest: number; // smallest seq fetched
  complete: boolean; // every event down to seq 1 was fetched
  timeline: TimelineItem[];
  messages: Map<number, Message>;
  offers: Map<number, Offer>;
  read: Record<string, number>;
  delivered: Record<string, number>;
  typing: Record<string, number>; // user -> shown until (ms)
  contracts: string[];
  events: Map<number, StreamEvent["event"]>; // every event loaded, by seq
  loadingOlder: boolean;
}
export interface ContractEvent {
  seq: number;
  event: Record<string, unknown> & { type: string; at?: number };
}
export interface Contract {
  id: string;
  conversation: string;
  offer: number;
  brand: string;
  creator: string;
  status: string;
  amount: number;
  currency: string;
  terms: Terms;
  escrow: number;
  revisions_used: number;
  revision_rounds: number;
  opened_at: number;
  funded_at: number | null;
  delivery_due: number | null;
  review_due: number | null;
  head: number;
  events: ContractEvent[];
}
export interface Presence {
  online: boolean;
  last_seen: number | null;
}

const TYPING_MS = 5000;

export class Store {
  version = 0;
  conversations = new Map<string, ConversationMeta>();
  listLoaded = false;
  convs = new Map<string, Conversation>();
  contracts = new Map<string, Contract>();
  presence = new Map<string, Presence>();
  names = new Map<string, string>();
  private listeners = new Set<() => void>();
  private contractListeners = new Set<(id: string, e: ContractEvent) => void>();
  private deliveredSent = new Map<string, number>();

  constructor(public conn: LiveConnection) {
    conn.onEvent((e) => this.onEvent(e));
    conn.onOpen(() => void this.resume());
  }

  subscribe = (fn: () => void) => {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  };
  getVersion = () => this.version;
  changed() {
    this.version++;
    this.listeners.forEach((fn) => fn());
  }
  onContractEvent(fn: (id: string, e: ContractEvent) => void) {
    this.contractListeners.add(fn);
    return () => void this.contractListeners.delete(fn);
  }

  get me() {
    return this.conn.me;
  }

  /** After every (re)connection: refresh the list, resume each subscription, catch up contracts. */
  private async resume() {
    await this.loadList().catch(() => undefined);
    for (const c of this.convs.values()) if (c.subscribed) void this.subscribeConv(c.meta.id).catch(() => undefined);
    for (const id of this.contracts.keys()) void this.loadContract(id).catch(() => undefined);
  }

  async loadList() {
    const r = await this.conn.request("conversation.list", { limit: 200 });
    for (const c of r.conversations as ConversationMeta[]) this.conversations.set(c.id, c);
    this.listLoaded = true;
    this.changed();
  }

  async openWith(creator: string): Promise<string> {
    const r = await this.conn.request("conversation.open", { with: creator });
    const meta = r.conversation as ConversationMeta;
    this.conversations.set(meta.id, meta);
    this.changed();
    return meta.id;
  }

  conv(id: string): Conversation {
    let c = this.convs.get(id);
    if (!c) {
      const meta = this.conversations.get(id) ?? { id, brand: "", creator: "", created_at: 0, head: 0 };
      c = {
        meta, loaded: false, subscribed: false, lastSeq: 0, oldest: 0, moreBefore: false, earliest: 0, complete: false, timeline: [],
        messages: new Map(), offers: new Map(), read: {}, delivered: {}, typing: {}, contracts: [],
        events: new Map(), loadingOlder: false,
      };
      this.convs.set(id, c);
    }
    return c;
  }

  /** First open: the newest page of history, then a subscription from its end. */
  async openConversation(id: string) {
    const c = this.conv(id);
    if (!c.loaded) {
      const r = await this.conn.request("history", { conversation: id, limit: 50 });
      const events = r.events as { seq: number; event: StreamEvent["event"] }[];
      for (const e of events) this.apply(c, e.seq, e.event);
      c.oldest = c.earliest = events.length ? events[0].seq : 0;
      c.complete = !r.more;
      c.moreBefore = Boolean(r.more);
      c.loaded = true;
      this.changed();
    }
    if (!c.subscribed) await this.subscribeConv(id);
    this.scanOffers(id);
  }

  async subscribeConv(id: string) {
    const c = this.conv(id);
    c.subscribed = true;
    const r = await this.conn.request("subscribe", { conversation: id, after: c.lastSeq });
    c.read = { ...c.read, ...(r.read as Record<string, number>) };
    c.delivered = { ...c.delivered, ...(r.delivered as Record<string, number>) };
    this.changed();
  }

  /**
   * Fetches older events (200 a page) and folds them in: offers and their answers, edits and
   * contracts made before the newest page then show correctly. The timeline still starts at
   * `oldest`; `showOlder` moves it back.
   */
  private async fetchOlder(c: Conversation, pages: number) {
    for (let i = 0; i < pages && !c.complete && c.earliest > 1; i++) {
      const r = await this.conn.request("history", { conversation: c.meta.id, before: c.earliest, limit: 200 });
      const events = r.events as { seq: number; event: StreamEvent["event"] }[];
      for (const e of events) c.events.set(e.seq, e.event);
      if (events.length) c.earliest = events[0].seq;
      c.complete = !r.more || !events.length;
    }
    this.refold(c);
  }

  /** Older events change what later ones mean (an offer answered later, a message edited
   * later): fold everything fetched again, in seq order. */
  private refold(c: Conversation) {
    c.timeline = [];
    c.messages = new Map();
    c.offers = new Map();
    c.contracts = [];
    for (const seq of [...c.events.keys()].sort((a, b) => a - b)) this.apply(c, seq, c.events.get(seq)!);
    c.moreBefore = c.oldest > c.earliest || !c.complete;
    this.changed();
  }

  /** Moves the start of the timeline back so that `n` more items (messages, offers, notes) show. */
  private reveal(c: Conversation, n: number) {
    const hidden = c.timeline.filter((t) => t.seq < c.oldest);
    if (hidden.length) c.oldest = hidden[Math.max(0, hidden.length - n)].seq;
    c.moreBefore = c.timeline.some((t) => t.seq < c.oldest) || !c.complete;
  }

  /** The background scan after opening: the offer history of up to 5,000 older events; then at
   * least 50 items show. */
  scanOffers(id: string) {
    const c = this.conv(id);
    if (c.loadingOlder || c.complete) return;
    c.loadingOlder = true;
    void this.fetchOlder(c, 25)
      .then(() => {
        const shown = c.timeline.filter((t) => t.seq >= c.oldest).length;
        if (shown < 50) this.reveal(c, 50 - shown);
        this.changed();
      })
      .catch(() => undefined)
      .finally(() => (c.loadingOlder = false));
  }

  /** Shows up to 50 more items before the oldest shown, fetching older events if needed. */
  async loadOlder(id: string) {
    const c = this.conv(id);
    if (!c.moreBefore || c.loadingOlder) return;
    c.loadingOlder = true;
    try {
      for (let i = 0; i < 10 && !c.complete && c.timeline.filter((t) => t.seq < c.oldest).length < 50; i++)
        await this.fetchOlder(c, 1);
      this.reveal(c, 50);
      this.changed();
    } finally {
      c.loadingOlder = false;
    }
  }

  private onEvent(e: StreamEvent) {
    const [kind, id] = splitStream(e.stream);
    if (kind === "user") {
      if (e.event.type === "conversation.opened") {
        const meta = e.event.conversation as ConversationMeta;
        this.conversations.set(meta.id, meta);
      } else if (e.event.type === "presence") {
        this.presence.set(e.event.user as string, { online: Boolean(e.event.online), last_seen: (e.event.last_seen as number) ?? null });
      }
      return this.changed();
    }
    if (kind === "conversation") {
      const c = this.conv(id);
      if (e.seq === undefined) {
        if (e.event.type === "typing") c.typing = { ...c.typing, [e.event.user as string]: Date.now() + TYPING_MS };
        if (e.event.type === "delivered") {
          const m = e.event.member as string;
          c.delivered = { ...c.delivered, [m]: Math.max(c.delivered[m] ?? 0, e.event.seq as number) };
        }
        return this.changed();
      }
      if (e.seq <= c.lastSeq) return; // seen already (a replay after a resume)
      this.apply(c, e.seq, e.event);
      const meta = this.conversations.get(id);
      if (meta) meta.head = Math.max(meta.head, e.seq);
      this.changed();
      this.ackDelivered(c, e);
      return;
    }
    if (kind === "contract") {
      const known = this.contracts.get(id);
      if (known && e.seq !== undefined && e.seq <= known.head) return;
      void this.loadContract(id).then(() => {
        if (e.seq !== undefined) this.contractListeners.forEach((fn) => fn(id, { seq: e.seq!, event: e.event }));
      }).catch(() => undefined);
    }
  }

  /** Tells the sender this device has their events (at most once per new seq). */
  private ackDelivered(c: Conversation, e: StreamEvent) {
    const author = (e.event.author ?? e.event.by) as string | undefined;
    if (!author || author === this.me?.id || e.seq === undefined) return;
    if ((this.deliveredSent.get(c.meta.id) ?? 0) >= e.seq) return;
    this.deliveredSent.set(c.meta.id, e.seq);
    void this.conn.request("delivered", { conversation: c.meta.id, seq: e.seq }).catch(() => undefined);
  }

  /** Marks read up to the last message or offer step of the others (never for read marks
   * themselves, which would answer each other forever). */
  markRead(id: string) {
    const c = this.convs.get(id);
    const me = this.me?.id;
    if (!c || !me) return;
    let last = 0;
    for (const [seq, ev] of c.events) {
      const who = (ev.author ?? ev.by) as string | undefined;
      if (who && who !== me && seq > last && (ev.type === "message.posted" || ev.type.startsWith("offer."))) last = seq;
    }
    if (last === 0 || (c.read[me] ?? 0) >= last) return;
    c.read = { ...c.read, [me]: last };
    void this.conn.request("read", { conversation: id, seq: last }).catch(() => undefined);
  }

  apply(c: Conversation, seq: number, ev: StreamEvent["event"]) {
    c.lastSeq = Math.max(c.lastSeq, seq);
    c.events.set(seq, ev);
    const at = (ev.at as number) ?? 0;
    const push = (item: TimelineItem) => {
      if (c.timeline.some((t) => t.seq === item.seq)) return;
      c.timeline.push(item);
      if (c.timeline.length > 1 && c.timeline[c.timeline.length - 2].seq > item.seq) c.timeline.sort((a, b) => a.seq - b.seq);
    };
    switch (ev.type) {
      case "conversation.opened":
        c.meta.brand ||= ev.brand as string;
        c.meta.creator ||= ev.creator as string;
        push({ seq, kind: "note", text: "Conversation started", at });
        break;
      case "message.posted":
        c.messages.set(seq, {
          seq, author: ev.author as string, text: ev.text as string, at, edited: false, deleted: false,
          erased: Boolean(ev.erased), attachments: (ev.attachments as Message["attachments"]) ?? [],
        });
        push({ seq, kind: "message", at });
        if (c.typing[ev.author as string]) {
          const { [ev.author as string]: _, ...rest } = c.typing; // they sent it: no longer typing
          c.typing = rest;
        }
        break;
      case "message.edited": {
        const m = c.messages.get(ev.target as number);
        if (m) Object.assign(m, { text: ev.text as string, edited: true });
        break;
      }
      case "message.deleted": {
        const m = c.messages.get(ev.target as number);
        if (m) Object.assign(m, { deleted: true, text: "" });
        break;
      }
      case "read.marked": {
        const m = ev.member as string;
        c.read = { ...c.read, [m]: Math.max(c.read[m] ?? 0, ev.seq as number) };
        break;
      }
      case "offer.made": {
        const o: Offer = {
          seq, by: ev.by as string, terms: ev.terms as Terms, expires_at: ev.expires_at as number, at,
          counter_to: ev.counter_to as number | undefined, status: "pending",
        };
        c.offers.set(seq, o);
        if (o.counter_to !== undefined) {
          const prev = c.offers.get(o.counter_to);
          if (prev && prev.status === "pending") prev.status = "superseded";
        }
        push({ seq, kind: "offer", at });
        break;
      }
      case "offer.accepted": {
        const o = c.offers.get(ev.offer as number);
        if (o) Object.assign(o, { status: "accepted", contract: ev.contract as string, answered_at: at });
        for (const other of c.offers.values()) if (other !== o && other.status === "pending") other.status = "superseded";
        if (!c.contracts.includes(ev.contract as string)) c.contracts.push(ev.contract as string);
        push({ seq, kind: "note", text: "Offer accepted: the contract is open", at });
        break;
      }
      case "offer.declined":
      case "offer.withdrawn":
      case "offer.expired": {
        const o = c.offers.get(ev.offer as number);
        const status = ev.type.slice(6) as OfferStatus;
        if (o) Object.assign(o, { status, reason: ev.reason as string | undefined, answered_at: at });
        break;
      }
      case "dispute.opened":
        push({ seq, kind: "note", text: "A dispute was opened", at });
        break;
      case "dispute.closed":
        push({ seq, kind: "note", text: "The dispute was resolved", at });
        break;
      case "moderator.joined":
        push({ seq, kind: "note", text: "A moderator joined to mediate", at });
        break;
    }
  }

  async loadContract(id: string): Promise<Contract> {
    const known = this.contracts.get(id);
    const r = await this.conn.request("contract.get", { contract: id, after: known?.head ?? 0 });
    const obj = r.contract as Omit<Contract, "events">;
    const fresh = (r.events as ContractEvent[]) ?? [];
    const events = known ? [...known.events, ...fresh.filter((e) => e.seq > known.head)] : fresh;
    const c: Contract = { ...(obj as Contract), events };
    this.contracts.set(id, c);
    this.changed();
    return c;
  }

  contractCommand(type: string, contract: string, key: string, fields: Record<string, unknown> = {}) {
    return this.conn.request(type, { contract, key, ...fields });
  }
}

function splitStream(s: string): [string, string] {
  const i = s.indexOf(":");
  return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + 1)];
}

let current: Store | null = null;
export function setStore(s: Store | null) {
  current = s;
}
export function useStore(): Store {
  const s = current!;
  useSyncExternalStore(s.subscribe, s.getVersion);
  return s;
}
