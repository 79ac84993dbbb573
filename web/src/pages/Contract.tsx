// A contract: status timeline, deadline countdowns, and the actions each side has now
// (fund, deliver, approve, request a revision, dispute, cancel). Updates arrive live on the
// contract's stream.
import { FormEvent, useEffect, useState } from "react";
import { currentSession, newKey } from "../api";
import { countdown, deliverableLabel, money, STATUS_LABELS, time } from "../format";
import { Contract, ContractEvent, useStore } from "../store";
import { errorText, Field, Link, Notice } from "../ui";

const EVENT_LABEL: Record<string, string> = {
  "contract.opened": "Contract opened from the accepted offer",
  "contract.funding_requested": "Payment started",
  "contract.funding_failed": "Payment failed",
  "contract.funded": "Funded: the money is in escrow",
  "contract.delivered": "Content delivered",
  "contract.revision_requested": "Revision requested",
  "contract.released": "Approved and paid out",
  "contract.refunded": "Refunded to the brand",
  "contract.cancel_requested": "Cancellation requested",
  "contract.cancelled": "Cancelled",
  "contract.disputed": "Disputed: clocks stopped",
  "contract.resolved": "Resolved by a moderator",
  "contract.reminder": "Deadline reminder",
  "contract.provider_confirmed": "Payment provider confirmed",
  "contract.capture_requested": "Collecting the payment",
  "contract.charged": "Card charged",
  "contract.charge_failed": "Charge failed",
};

function EventDetail({ e, c }: { e: ContractEvent["event"]; c: Contract }) {
  switch (e.type) {
    case "contract.delivered":
      return (
        <>
          {e.note ? <p>{String(e.note)}</p> : null}
          <ul className="plain">
            {((e.items as { url: string; note?: string }[]) ?? []).map((it, i) => (
              <li key={i}><a href={it.url} target="_blank" rel="noopener noreferrer">{it.url}</a>{it.note ? ` — ${it.note}` : ""}</li>
            ))}
          </ul>
        </>
      );
    case "contract.revision_requested":
    case "contract.disputed":
      return e.reason ? <p>“{String(e.reason)}”</p> : null;
    case "contract.funding_failed":
      return <p>{String(e.code).replace(/_/g, " ")}</p>;
    case "contract.released":
      return <p>{money(Number(e.to_creator) - Number(e.commission), c.currency)} to the creator ({money(Number(e.commission), c.currency)} commission){e.automatic ? ", automatically after the review window" : ""}</p>;
    case "contract.reminder":
      return <p>The {String(e.deadline)} deadline is near.</p>;
    default:
      return null;
  }
}

export function ContractPage({ id }: { id: string }) {
  const store = useStore();
  const me = currentSession()!.user;
  const c = store.contracts.get(id);
  const [error, setError] = useState("");
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  const connected = store.conn.state === "connected";
  useEffect(() => {
    if (connected) store.loadContract(id).catch((e) => setError(errorText(e)));
  }, [id, store, connected]);

  if (!c) return <div className="page">{error ? <Notice kind="error">{error}</Notice> : <p className="muted">Loading the contract…</p>}</div>;
  const brand = me.id === c.brand, creator = me.id === c.creator;
  const deadline = c.delivery_due && (c.status === "funded" || c.status === "revision_requested")
    ? { label: "Delivery due", due: c.delivery_due }
    : c.review_due && c.status === "delivered" ? { label: "Review due", due: c.review_due } : null;
  const fundingInFlight = c.status === "awaiting_funding" && c.events.length > 0 && c.events[c.events.length - 1].event.type === "contract.funding_requested";
  const steps = ["awaiting_funding", "funded", "delivered", "released"];
  const stepIndex = c.status === "revision_requested" ? 1 : steps.indexOf(c.status);

  return (
    <div className="page contract-page">
      <p><Link to={`/chats/${c.conversation}`}>← Back to the conversation</Link></p>
      <div className="contract-head">
        <div>
          <h1>Contract · {money(c.amount, c.currency)}</h1>
          <p className="muted">{c.terms.deliverables.map((d) => `${d.count ?? 1}× ${deliverableLabel(d.type)}`).join(", ")} · {c.terms.delivery_days ?? 7} days to deliver · {c.revision_rounds - c.revisions_used} of {c.revision_rounds} revisions left</p>
        </div>
        <span className={`chip status-chip big s-${c.status}`} data-testid="contract-status" aria-live="polite">{STATUS_LABELS[c.status] ?? c.status}</span>
      </div>
      {stepIndex >= 0 && (
        <ol className="progress" aria-label="Contract progress">
          {["Fund", "Produce", "Review", "Paid"].map((s, i) => (
            <li key={s} className={i < stepIndex || c.status === "released" ? "done" : i === stepIndex ? "current" : ""}>{s}</li>
          ))}
        </ol>
      )}
      {deadline && (
        <p className={"deadline" + (deadline.due < now ? " overdue" : "")} role="timer" aria-live="off">
          {deadline.label} {time(deadline.due)} — <strong>{countdown(deadline.due, now)}</strong>
        </p>
      )}
      {error && <Notice kind="error">{error}</Notice>}
      <div className="contract-grid">
        <section className="card" aria-label="What you can do">
          <h2>Next step</h2>
          <Actions c={c} brand={brand} creator={creator} fundingInFlight={fundingInFlight} />
        </section>
        <section className="card" aria-label="Timeline">
          <h2>Timeline</h2>
          <ol className="timeline">
            {[...c.events].reverse().map((e) => (
              <li key={e.seq} className={`t-${e.event.type.replace("contract.", "")}`}>
                <span className="t-dot" aria-hidden="true" />
                <div>
                  <strong>{EVENT_LABEL[e.event.type] ?? e.event.type}</strong>
                  {e.event.at ? <span className="muted small"> · {time(Number(e.event.at))}</span> : null}
                  <EventDetail e={e.event} c={c} />
                </div>
              </li>
            ))}
          </ol>
        </section>
      </div>
    </div>
  );
}

function Actions({ c, brand, creator, fundingInFlight }: { c: Contract; brand: boolean; creator: boolean; fundingInFlight: boolean }) {
  const store = useStore();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [mode, setMode] = useState<"" | "revision" | "dispute">("");
  const [card, setCard] = useState("4242424242424242");
  const [url, setUrl] = useState("");
  const [note, setNote] = useState("");
  const [reason, setReason] = useState("");
  const run = async (type: string, fields: Record<string, unknown> = {}) => {
    setBusy(true);
    setError("");
    try {
      await store.contractCommand(type, c.id, newKey(type.replace("contract.", "")), fields);
      setMode("");
      setReason("");
      return true;
    } catch (e) {
      setError(errorText(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  const s = c.status;
  const canDispute = s === "funded" || s === "delivered" || s === "revision_requested";
  const fund = (e: FormEvent) => {
    e.preventDefault();
    void run("contract.fund", { payment_method: card.replace(/\s+/g, "") });
  };
  const deliver = (e: FormEvent) => {
    e.preventDefault();
    if (!/^https?:\/\/\S+$/.test(url.trim())) return setError("the link must start with https:// or http://");
    void run("contract.deliver", { items: [{ url: url.trim() }], ...(note.trim() ? { note: note.trim() } : {}) }).then((ok) => ok && (setUrl(""), setNote("")));
  };
  let body: JSX.Element | null = null;
  if (brand && s === "awaiting_funding")
    body = fundingInFlight ? (
      <p className="pending-line"><span className="spinner" aria-hidden="true" /> Processing the payment…</p>
    ) : (
      <form onSubmit={fund} noValidate>
        <p>Pay {money(c.amount, c.currency)} into escrow. The creator is paid only when you approve the content.</p>
        <Field label="Card number" hint="Sandbox: 4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 is declined.">
          {(a) => <input {...a} inputMode="numeric" autoComplete="cc-number" value={card} onChange={(e) => setCard(e.target.value)} />}
        </Field>
        <button className="btn btn-primary" disabled={busy}>Fund {money(c.amount, c.currency)}</button>
      </form>
    );
  else if (creator && s === "awaiting_funding") body = <p>Waiting for the brand to fund the contract. You will see it here the moment it is funded.</p>;
  else if (creator && (s === "funded" || s === "revision_requested"))
    body = (
      <form onSubmit={deliver} noValidate>
        <p>{s === "revision_requested" ? "The brand asked for changes. Deliver the revised content." : "The money is in escrow. Deliver your content by the deadline."}</p>
        <Field label="Link to the content">{(a) => <input {...a} type="url" placeholder="https://" value={url} onChange={(e) => setUrl(e.target.value)} />}</Field>
        <Field label="Note for the brand (optional)">{(a) => <textarea {...a} rows={2} value={note} onChange={(e) => setNote(e.target.value)} />}</Field>
        <button className="btn btn-primary" disabled={busy}>{s === "revision_requested" ? "Deliver the revision" : "Deliver"}</button>
      </form>
    );
  else if (brand && (s === "funded" || s === "revision_requested")) body = <p>The creator is producing the content.</p>;
  else if (brand && s === "delivered")
    body = mode === "revision" ? (
      <form onSubmit={(e) => { e.preventDefault(); void run("contract.request_revision", reason.trim() ? { reason: reason.trim() } : {}); }}>
        <Field label="What should change?">{(a) => <textarea {...a} rows={3} value={reason} maxLength={2000} onChange={(e) => setReason(e.target.value)} />}</Field>
        <div className="actions">
          <button type="button" className="btn btn-ghost" onClick={() => setMode("")}>Cancel</button>
          <button className="btn btn-primary" disabled={busy}>Send revision request</button>
        </div>
      </form>
    ) : (
      <>
        <p>Review the delivered content. Approving pays the creator.</p>
        <div className="actions">
          <button className="btn btn-primary" disabled={busy} onClick={() => void run("contract.approve")}>Approve and pay</button>
          <button className="btn btn-secondary" disabled={busy || c.revisions_used >= c.revision_rounds} onClick={() => setMode("revision")}>Request a revision</button>
        </div>
        {c.revisions_used >= c.revision_rounds && <p className="muted small">No revision rounds left.</p>}
      </>
    );
  else if (creator && s === "delivered") body = <p>Delivered. The brand is reviewing your content.</p>;
  else if (s === "released") body = <p>Done. {creator ? <>The payout is in your <Link to="/balance">balance</Link>.</> : "The creator was paid."}</p>;
  else if (s === "disputed") body = <p>A moderator is looking at this contract. Every deadline is paused.</p>;
  else body = <p>{STATUS_LABELS[s] ?? s}.</p>;

  return (
    <div className="actions-col">
      {error && <Notice kind="error">{error}</Notice>}
      {body}
      {(brand || creator) && canDispute && mode !== "revision" && (
        mode === "dispute" ? (
          <form onSubmit={(e) => { e.preventDefault(); if (reason.trim()) void run("contract.dispute", { reason: reason.trim() }); }}>
            <Field label="Why are you disputing?">{(a) => <textarea {...a} rows={3} value={reason} maxLength={2000} onChange={(e) => setReason(e.target.value)} required />}</Field>
            <div className="actions">
              <button type="button" className="btn btn-ghost" onClick={() => setMode("")}>Cancel</button>
              <button className="btn btn-danger" disabled={busy || !reason.trim()}>Open a dispute</button>
            </div>
          </form>
        ) : (
          <button className="btn btn-ghost danger-text" onClick={() => setMode("dispute")}>Open a dispute…</button>
        )
      )}
    </div>
  );
}
