// Conversations: the list, the live chat (history scroll-back, typing, presence, receipts, masked
// contact details) and the offer panel (offer, counter, accept, decline, withdraw, history).
import { FormEvent, Fragment, useEffect, useLayoutEffect, useRef, useState } from "react";
import { brandProfile, creatorProfile, currentSession, newKey } from "../api";
import { ago, countdown, DELIVERABLE_TYPES, deliverableLabel, money, time } from "../format";
import { navigate } from "../router";
import { Conversation, Message, Offer, Store, Terms, useStore } from "../store";
import { Empty, errorText, Field, Link, Notice } from "../ui";

/** The other member's display name (from their public profile; a short id without one). */
function useName(store: Store, id: string, role: "brand" | "creator"): string {
  const known = store.names.get(id);
  useEffect(() => {
    if (!id || store.names.has(id)) return;
    store.names.set(id, `${role === "brand" ? "Brand" : "Creator"} ${id.slice(-4)}`);
    (role === "brand" ? brandProfile(id) : creatorProfile(id)).then(
      (p) => {
        store.names.set(id, p.display_name);
        store.changed();
      },
      () => undefined,
    );
  }, [id, role, store]);
  return known ?? `${role === "brand" ? "Brand" : "Creator"} ${id.slice(-4)}`;
}

function useNow(every = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), every);
    return () => clearInterval(t);
  }, [every]);
  return now;
}

export function Chats({ selected }: { selected?: string }) {
  const store = useStore();
  const me = currentSession()!.user;
  const [error, setError] = useState("");
  useEffect(() => {
    if (store.conn.state === "connected" && !store.listLoaded) store.loadList().catch((e) => setError(errorText(e)));
  }, [store, store.conn.state]);
  const list = [...store.conversations.values()].sort((a, b) => b.created_at - a.created_at);
  return (
    <div className={"chats" + (selected ? " has-selection" : "")}>
      <aside className="chat-list" aria-label="Conversations">
        <h1 className="list-title">Conversations</h1>
        {me.role === "brand" && <StartConversation />}
        {error && <Notice kind="error">{error}</Notice>}
        {store.listLoaded && list.length === 0 && (
          <Empty title="No conversations yet">
            <p>{me.role === "brand" ? "Start one with a creator's Pactum ID." : "Brands start conversations with you. Share your Pactum ID from your profile."}</p>
          </Empty>
        )}
        <ul className="plain">
          {list.map((c) => (
            <ConversationItem key={c.id} id={c.id} other={me.role === "brand" ? c.creator : c.brand} otherRole={me.role === "brand" ? "creator" : "brand"} active={c.id === selected} />
          ))}
        </ul>
      </aside>
      <section className="chat-main" aria-label="Conversation">
        {selected ? <ConversationView key={selected} id={selected} /> : <Empty title="Choose a conversation" />}
      </section>
    </div>
  );
}

function ConversationItem(props: { id: string; other: string; otherRole: "brand" | "creator"; active: boolean }) {
  const store = useStore();
  const name = useName(store, props.other, props.otherRole);
  const online = store.presence.get(props.other)?.online;
  return (
    <li>
      <Link to={`/chats/${props.id}`} className={"chat-item" + (props.active ? " active" : "")} aria-current={props.active ? "page" : undefined}>
        <span className="avatar" aria-hidden="true">{name.slice(0, 1).toUpperCase()}</span>
        <span className="chat-item-name">{name}</span>
        {online && <span className="online-dot" title="online" aria-label="online" />}
      </Link>
    </li>
  );
}

function StartConversation() {
  const store = useStore();
  const [id, setId] = useState("");
  const [error, setError] = useState("");
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const creator = id.trim().toLowerCase();
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(creator)) return setError("a Pactum ID looks like 01a21218-545f-72f9-89ea-f9e600658080");
    setError("");
    try {
      const cid = await store.openWith(creator);
      setId("");
      navigate(`/chats/${cid}`);
    } catch (ex) {
      setError(errorText(ex));
    }
  };
  return (
    <form className="start-conv" onSubmit={submit} noValidate>
      <Field label="Creator's Pactum ID" error={error} hint="Creators find it on their profile page.">
        {(a) => <input {...a} value={id} onChange={(e) => setId(e.target.value)} placeholder="01a2…" autoComplete="off" />}
      </Field>
      <button className="btn btn-primary">Start conversation</button>
    </form>
  );
}

/** Message text with the contact guard's `[hidden]` marks shown as what they are. */
function MessageText({ text }: { text: string }) {
  const parts = text.split("[hidden]");
  return (
    <>
      {parts.map((p, i) => (
        <Fragment key={i}>
          {p}
          {i < parts.length - 1 && (
            <mark className="masked" title="Contact details are hidden until a deal is agreed">
              <svg viewBox="0 0 16 16" aria-hidden="true"><path fill="currentColor" d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7zm2 0h4V5a2 2 0 0 0-4 0z" /></svg>
              contact hidden
            </mark>
          )}
        </Fragment>
      ))}
    </>
  );
}

function ConversationView({ id }: { id: string }) {
  const store = useStore();
  const me = currentSession()!.user;
  const c = store.conv(id);
  const now = useNow();
  const [error, setError] = useState("");
  const [text, setText] = useState("");
  const [panel, setPanel] = useState(false);
  const logRef = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const lastTyping = useRef(0);
  const connected = store.conn.state === "connected";

  useEffect(() => {
    if (connected) store.openConversation(id).catch((e) => setError(errorText(e)));
  }, [id, store, connected]);

  const meta = store.conversations.get(id) ?? c.meta;
  const otherId = (me.role === "brand" ? meta.creator : meta.brand) || (me.role === "brand" ? c.meta.creator : c.meta.brand);
  const otherRole = me.role === "brand" ? "creator" : "brand";
  const otherName = useName(store, otherId, otherRole);
  const presence = store.presence.get(otherId);

  // Read receipts: mark read while this conversation is on screen.
  useEffect(() => {
    if (document.visibilityState === "visible") store.markRead(id);
  }, [store, id, c.lastSeq]);

  // Stay at the bottom for new messages unless the reader scrolled up.
  useLayoutEffect(() => {
    const el = logRef.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [c.timeline.length, c.loaded]);

  const onScroll = () => {
    const el = logRef.current!;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (el.scrollTop < 30 && c.moreBefore) {
      const before = el.scrollHeight;
      void store.loadOlder(id).then(() => requestAnimationFrame(() => (el.scrollTop = el.scrollHeight - before + el.scrollTop)));
    }
  };

  const send = async (e?: FormEvent) => {
    e?.preventDefault();
    const t = text.trim();
    if (!t) return;
    setText("");
    stick.current = true;
    try {
      await store.conn.request("message.send", { conversation: id, client_id: newKey("m"), text: t });
      setError("");
    } catch (ex) {
      setText(t);
      setError(errorText(ex));
    }
  };
  const onType = (v: string) => {
    setText(v);
    if (Date.now() - lastTyping.current > 2000 && v) {
      lastTyping.current = Date.now();
      void store.conn.request("typing", { conversation: id }, false).catch(() => undefined);
    }
  };

  const typingOthers = Object.entries(c.typing).filter(([u, until]) => u !== me.id && until > now);
  const readByOther = c.read[otherId] ?? 0;
  const deliveredToOther = Math.max(c.delivered[otherId] ?? 0, readByOther);
  const lastMine = [...c.messages.values()].filter((m) => m.author === me.id).map((m) => m.seq).pop();

  return (
    <div className="conversation">
      <header className="conv-header">
        <button className="btn btn-ghost back" onClick={() => navigate("/chats")} aria-label="Back to conversations">←</button>
        <div>
          <h2>
            <Link to={`/${otherRole === "creator" ? "creators" : "brands"}/${otherId}`}>{otherName}</Link>
          </h2>
          <p className="presence" data-testid="presence">
            {!connected ? "" : presence?.online ? (<><span className="online-dot" aria-hidden="true" /> online</>) : presence?.last_seen ? `last seen ${ago(presence.last_seen, now)}` : "offline"}
          </p>
        </div>
        <div className="conv-header-actions">
          {c.contracts.map((k) => (
            <Link key={k} to={`/contracts/${k}`} className="btn btn-ghost">View contract</Link>
          ))}
          <button className="btn btn-secondary offers-toggle" aria-expanded={panel} onClick={() => setPanel(!panel)}>Offers ({c.offers.size})</button>
        </div>
      </header>
      <div className="conv-body">
        <div className="conv-chat">
          <div className="log" ref={logRef} onScroll={onScroll} role="log" aria-label="Messages" aria-live="polite" tabIndex={0}>
            {c.moreBefore && (
              <button className="btn btn-ghost load-older" onClick={() => void store.loadOlder(id)}>Load earlier messages</button>
            )}
            {!c.loaded && <p className="muted center">Loading…</p>}
            {c.timeline.filter((t) => t.seq >= c.oldest).map((item) => {
              if (item.kind === "note") return <p key={item.seq} className="sys-note">{item.text} · {time(item.at)}</p>;
              if (item.kind === "offer") return <OfferCard key={item.seq} offer={c.offers.get(item.seq)!} compact c={c} />;
              const m = c.messages.get(item.seq)!;
              return <Bubble key={item.seq} m={m} mine={m.author === me.id} receipt={m.author === me.id && m.seq === lastMine ? (readByOther >= m.seq ? "Read" : deliveredToOther >= m.seq ? "Delivered" : "Sent") : undefined} />;
            })}
          </div>
          <p className="typing" aria-live="polite">{typingOthers.length > 0 ? `${otherName} is typing…` : " "}</p>
          {error && <Notice kind="error">{error}</Notice>}
          <form className="composer" onSubmit={send}>
            <label htmlFor="composer" className="sr-only">Message</label>
            <textarea
              id="composer"
              rows={1}
              placeholder={`Message ${otherName}`}
              value={text}
              onChange={(e) => onType(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter" && !e.shiftKey) {
                  e.preventDefault();
                  void send();
                }
              }}
              maxLength={4000}
            />
            <button className="btn btn-primary" disabled={!text.trim()}>Send</button>
          </form>
        </div>
        <OfferPanel c={c} open={panel} onClose={() => setPanel(false)} />
      </div>
    </div>
  );
}

function Bubble({ m, mine, receipt }: { m: Message; mine: boolean; receipt?: string }) {
  return (
    <div className={"bubble-row" + (mine ? " mine" : "")}>
      <div className="bubble" data-seq={m.seq}>
        {m.deleted ? <em className="muted">message deleted</em> : m.erased ? <em className="muted">content erased</em> : <MessageText text={m.text} />}
        <span className="meta">
          {time(m.at)}
          {m.edited && " · edited"}
          {receipt && <span className="receipt" data-testid="receipt"> · {receipt}</span>}
        </span>
      </div>
    </div>
  );
}

function termsSummary(t: Terms) {
  return t.deliverables.map((d) => `${d.count ?? 1}× ${deliverableLabel(d.type)}`).join(", ");
}

const OFFER_STATUS: Record<string, string> = {
  pending: "Pending", accepted: "Accepted", declined: "Declined", withdrawn: "Withdrawn", expired: "Expired", superseded: "Countered",
};

function OfferCard({ offer, c, compact }: { offer: Offer; c: Conversation; compact?: boolean }) {
  const store = useStore();
  const me = currentSession()!.user;
  const now = useNow(30_000);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [declining, setDeclining] = useState(false);
  const [reason, setReason] = useState("");
  const [countering, setCountering] = useState(false);
  const status = offer.status === "pending" && offer.expires_at < now ? "expired" : offer.status;
  const mine = offer.by === me.id;
  const act = async (type: string, fields: Record<string, unknown> = {}) => {
    setBusy(true);
    setError("");
    try {
      await store.conn.request(type, { conversation: c.meta.id, offer: offer.seq, ...fields });
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const t = offer.terms;
  return (
    <article className={`offer-card status-${status}` + (mine ? " mine" : "")} aria-label={`Offer ${money(t.amount, t.currency)}, ${OFFER_STATUS[status]}`} data-offer={offer.seq}>
      <div className="offer-top">
        <strong className="offer-amount">{money(t.amount, t.currency)}</strong>
        <span className={`chip status-chip s-${status}`}>{OFFER_STATUS[status]}</span>
      </div>
      <p className="offer-what">{termsSummary(t)}</p>
      {!compact && (
        <dl className="facts small">
          <dt>Delivery</dt><dd>{t.delivery_days ?? 7} days after funding</dd>
          <dt>Revisions</dt><dd>{t.revision_rounds ?? 1}</dd>
          <dt>Usage rights</dt><dd>{t.usage_rights && t.usage_rights.scope !== "none" ? `${t.usage_rights.scope.replace("_", " ")}, ${t.usage_rights.days} days` : "none"}</dd>
          {t.deliverables.some((d) => d.brief) && (<><dt>Brief</dt><dd><MessageText text={t.deliverables.map((d) => d.brief).filter(Boolean).join(" / ")} /></dd></>)}
          {offer.counter_to && (<><dt>Counters</dt><dd>offer #{offer.counter_to}</dd></>)}
          {offer.reason && (<><dt>Reason</dt><dd>{offer.reason}</dd></>)}
        </dl>
      )}
      <p className="muted small">
        {mine ? "Your offer" : "Their offer"} · {time(offer.at)}
        {status === "pending" && ` · expires in ${countdown(offer.expires_at, now).replace(" left", "")}`}
      </p>
      {!compact && error && <Notice kind="error">{error}</Notice>}
      {!compact && status === "pending" && !mine && !declining && !countering && (
        <div className="actions">
          <button className="btn btn-primary" disabled={busy} onClick={() => void act("offer.accept")}>Accept</button>
          <button className="btn btn-secondary" disabled={busy} onClick={() => setCountering(true)}>Counter</button>
          <button className="btn btn-ghost" disabled={busy} onClick={() => setDeclining(true)}>Decline</button>
        </div>
      )}
      {!compact && declining && (
        <form className="inline-form" onSubmit={(e) => { e.preventDefault(); void act("offer.decline", reason.trim() ? { reason: reason.trim() } : {}).then(() => setDeclining(false)); }}>
          <Field label="Reason (optional)">{(a) => <input {...a} value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />}</Field>
          <div className="actions">
            <button type="button" className="btn btn-ghost" onClick={() => setDeclining(false)}>Cancel</button>
            <button className="btn btn-danger" disabled={busy}>Decline offer</button>
          </div>
        </form>
      )}
      {!compact && countering && <OfferForm c={c} base={offer} onDone={() => setCountering(false)} />}
      {!compact && status === "pending" && mine && (
        <div className="actions">
          <button className="btn btn-ghost" disabled={busy} onClick={() => void act("offer.withdraw")}>Withdraw</button>
        </div>
      )}
      {status === "accepted" && offer.contract && (
        <Link to={`/contracts/${offer.contract}`} className="btn btn-secondary">Open the contract</Link>
      )}
    </article>
  );
}

function OfferPanel({ c, open, onClose }: { c: Conversation; open: boolean; onClose: () => void }) {
  const [making, setMaking] = useState(false);
  const offers = [...c.offers.values()].sort((a, b) => b.seq - a.seq);
  const pending = offers.filter((o) => o.status === "pending");
  const deal = offers.some((o) => o.status === "accepted");
  return (
    <aside className={"offer-panel" + (open ? " open" : "")} aria-label="Offers">
      <div className="panel-head">
        <h2>Offers</h2>
        <button className="btn btn-ghost panel-close" onClick={onClose} aria-label="Close offers">×</button>
      </div>
      {/* a pair has one conversation for all its campaigns: another deal may follow the first */}
      {!making && <button className={"btn wide " + (deal ? "btn-secondary" : "btn-primary")} onClick={() => setMaking(true)}>{deal ? "Make another offer" : "Make an offer"}</button>}
      {making && <OfferForm c={c} onDone={() => setMaking(false)} />}
      {offers.length === 0 && !making && <p className="muted">No offers yet. Propose terms: price, deliverables, deadline.</p>}
      {pending.length > 0 && <h3 className="panel-sub">Open</h3>}
      {pending.map((o) => <OfferCard key={o.seq} offer={o} c={c} />)}
      {offers.length > pending.length && <h3 className="panel-sub">History</h3>}
      {offers.filter((o) => o.status !== "pending").map((o) => <OfferCard key={o.seq} offer={o} c={c} />)}
    </aside>
  );
}

function OfferForm({ c, base, onDone }: { c: Conversation; base?: Offer; onDone: () => void }) {
  const store = useStore();
  const t = base?.terms;
  const d = t?.deliverables[0];
  const [f, setF] = useState({
    amount: t ? String(t.amount / 100) : "",
    currency: t?.currency ?? "USD",
    type: d?.type ?? "tiktok_native_ad",
    count: String(d?.count ?? 1),
    brief: d?.brief ?? "",
    days: String(t?.delivery_days ?? 7),
    revisions: String(t?.revision_rounds ?? 1),
    scope: t?.usage_rights?.scope ?? "none",
    usageDays: String(t?.usage_rights?.days || 30),
  });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const errs: Record<string, string> = {};
    const amount = Math.round(Number(f.amount) * 100);
    if (!(amount >= 1)) errs.amount = "enter a price above zero";
    if (!/^[A-Za-z]{3}$/.test(f.currency)) errs.currency = "three letters, e.g. USD";
    const count = Number(f.count), days = Number(f.days), revisions = Number(f.revisions), usage = Number(f.usageDays);
    if (!Number.isInteger(count) || count < 1 || count > 1000) errs.count = "1 to 1,000";
    if (!Number.isInteger(days) || days < 1 || days > 365) errs.days = "1 to 365 days";
    if (!Number.isInteger(revisions) || revisions < 0 || revisions > 10) errs.revisions = "0 to 10";
    if (f.scope !== "none" && (!Number.isInteger(usage) || usage < 1 || usage > 3650)) errs.usageDays = "1 to 3,650 days";
    setErrors(errs);
    if (Object.keys(errs).length) return;
    const terms: Terms = {
      amount, currency: f.currency.toUpperCase(),
      deliverables: [{ type: f.type, count, ...(f.brief.trim() ? { brief: f.brief.trim() } : {}) }],
      delivery_days: days, revision_rounds: revisions,
      usage_rights: f.scope === "none" ? { scope: "none", days: 0 } : { scope: f.scope, days: usage },
    };
    setBusy(true);
    setError("");
    try {
      await store.conn.request("offer.make", { conversation: c.meta.id, client_id: newKey("o"), terms, ...(base ? { counter_to: base.seq } : {}) });
      onDone();
    } catch (ex) {
      setError(errorText(ex));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="offer-form" onSubmit={submit} noValidate aria-label={base ? "Counter-offer" : "New offer"}>
      <h3>{base ? "Your counter-offer" : "New offer"}</h3>
      {error && <Notice kind="error">{error}</Notice>}
      <div className="row2">
        <Field label="Price" error={errors.amount}>{(a) => <input {...a} inputMode="decimal" value={f.amount} onChange={set("amount")} placeholder="500" />}</Field>
        <Field label="Currency" error={errors.currency}>{(a) => <input {...a} maxLength={3} value={f.currency} onChange={set("currency")} />}</Field>
      </div>
      <div className="row2">
        <Field label="Deliverable">{(a) => <select {...a} value={f.type} onChange={set("type")}>{DELIVERABLE_TYPES.map(([k, l]) => <option key={k} value={k}>{l}</option>)}</select>}</Field>
        <Field label="Count" error={errors.count}>{(a) => <input {...a} inputMode="numeric" value={f.count} onChange={set("count")} />}</Field>
      </div>
      <Field label="Brief (optional)">{(a) => <textarea {...a} rows={2} maxLength={2000} value={f.brief} onChange={set("brief")} />}</Field>
      <div className="row2">
        <Field label="Delivery days" error={errors.days}>{(a) => <input {...a} inputMode="numeric" value={f.days} onChange={set("days")} />}</Field>
        <Field label="Revision rounds" error={errors.revisions}>{(a) => <input {...a} inputMode="numeric" value={f.revisions} onChange={set("revisions")} />}</Field>
      </div>
      <div className="row2">
        <Field label="Usage rights">{(a) => <select {...a} value={f.scope} onChange={set("scope")}><option value="none">None</option><option value="organic">Organic</option><option value="paid_ads">Paid ads</option><option value="full">Full</option></select>}</Field>
        {f.scope !== "none" && <Field label="Usage days" error={errors.usageDays}>{(a) => <input {...a} inputMode="numeric" value={f.usageDays} onChange={set("usageDays")} />}</Field>}
      </div>
      <div className="actions">
        <button type="button" className="btn btn-ghost" onClick={onDone}>Cancel</button>
        <button className="btn btn-primary" disabled={busy}>{base ? "Send counter-offer" : "Send offer"}</button>
      </div>
    </form>
  );
}
