// Campaign content (docs/api.md, Campaigns: Content and release): for each funded contract of the
// campaign, its pieces of content (deliverables, `count` expanded), every submission with its
// screening report and review. The creator submits (media links, caption, platform) and sees the
// screening report at once; the brand approves, asks for a revision with a note, or rejects. Both
// sides are live through `campaign.subscribe` (docs/protocol.md), subscribed again after every
// reconnect (the gap is read from the campaign's feed).
import { FormEvent, useCallback, useEffect, useRef, useState } from "react";
import { ApiError, newKey } from "../api";
import { CampaignEvent, campaignUpdates, CampaignView, CONTENT_PLATFORMS, reviewContent, Submission, submitContent } from "../campaigns";
import { money, time } from "../format";
import { useStore } from "../store";
import { errorText, Field, Link, Notice } from "../ui";

interface CampaignContract {
  id: string; creator: string; amount: number; pieces: number; revision_rounds: number; platforms: string[]; settled: boolean;
}
const VERDICT: Record<string, string> = {
  pending: "In review", approved: "Approved", revision_requested: "Revision requested", rejected: "Rejected",
};

/**
 * Everything the section shows, folded from the campaign's feed (`/updates`, which shows a creator
 * only the events of their own contracts): the contracts from `budget.*`, the submissions from
 * `content.submitted` (its seq is the submission id) and their reviews from `content.reviewed`.
 */
function fold(events: CampaignEvent[]): { contracts: CampaignContract[]; subs: Submission[] } {
  const contracts = new Map<string, CampaignContract>();
  const subs = new Map<number, Submission>();
  for (const { seq, type, at, event: e } of events) {
    if (type === "budget.committed")
      contracts.set(e.contract, {
        id: e.contract, creator: e.creator, amount: e.amount ?? 0, pieces: e.deliverables ?? (e.platforms ?? []).length,
        revision_rounds: e.revision_rounds ?? 0, platforms: e.platforms ?? [], settled: false,
      });
    else if (type === "budget.settled" && contracts.has(e.contract)) contracts.get(e.contract)!.settled = true;
    else if (type === "content.submitted")
      subs.set(seq, {
        id: seq, verdict: "pending", contract: e.contract, deliverable: e.deliverable, by: e.by, content: e.content,
        report: e.report ?? { passed: true, findings: [] }, at: e.at ?? at, review: null,
      });
    else if (type === "content.reviewed" && subs.has(e.submission)) {
      const sub = subs.get(e.submission)!;
      sub.verdict = e.verdict;
      sub.review = { submission: e.submission, by: e.by, verdict: e.verdict, reason: e.reason ?? "", release: Boolean(e.release), at: e.at ?? at };
    }
  }
  return { contracts: [...contracts.values()], subs: [...subs.values()].sort((a, b) => a.id - b.id) };
}

export function CampaignContent({ c, mine }: { c: CampaignView; mine: boolean }) {
  const store = useStore();
  const [data, setData] = useState<{ contracts: CampaignContract[]; subs: Submission[] } | null>(null);
  const [failure, setFailure] = useState("");
  // The feed is read once, then only what follows the last event seen (after every push and
  // reconnect); one read at a time, and a push during a read asks for one more.
  const feed = useRef<{ events: CampaignEvent[]; after: number; busy: boolean; again: boolean }>({ events: [], after: 0, busy: false, again: false });
  const load = useCallback(() => {
    const f = feed.current;
    if (f.busy) return void (f.again = true);
    f.busy = true;
    (async () => {
      do {
        f.again = false;
        for (;;) {
          const r = await campaignUpdates(c.id, f.after);
          for (const e of r.events) if (e.seq > f.after && /^(content|budget)\./.test(e.type)) f.events.push(e);
          if (r.events.length) f.after = Math.max(f.after, r.events[r.events.length - 1].seq);
          if (r.next_after === null || r.next_after === undefined || !r.events.length) break;
        }
        setData(fold(f.events));
        setFailure("");
      } while (f.again);
    })().catch((e) => setFailure(errorText(e))).finally(() => (f.busy = false));
  }, [c.id]);
  useEffect(load, [load]);
  useEffect(() => {
    // Live: subscribe now (queued until connected) and again after every reconnect, reading the gap.
    let first = false;
    const subscribe = (retry: boolean) => store.conn.request("campaign.subscribe", { campaign: c.id }, retry).catch(() => undefined);
    void subscribe(true).finally(() => (first = true));
    const offOpen = store.conn.onOpen(() => {
      if (first) void subscribe(false);
      load();
    });
    const offEvent = store.conn.onEvent((e) => {
      if (e.stream !== `campaign:${c.id}`) return;
      if (/^(content|budget)\./.test(String(e.event.type))) load();
    });
    return () => {
      offOpen();
      offEvent();
      void store.conn.request("campaign.unsubscribe", { campaign: c.id }, false).catch(() => undefined);
    };
  }, [store, c.id, load]);

  if (!data) return failure ? <Notice kind="error">{failure}</Notice> : null;
  if (!mine && !data.contracts.length) return null; // a creator without a contract here has nothing to submit
  return (
    <section className="card" aria-labelledby="content-h" data-testid="campaign-content">
      <h2 id="content-h">Content</h2>
      {failure && <Notice kind="error">{failure}</Notice>}
      {!data.contracts.length && (
        <p className="muted">No funded contract yet. When a contract made in one of this campaign's conversations is funded, its creator submits the content here for your review.</p>
      )}
      {data.contracts.map((k) => (
        <ContractContent key={k.id} campaign={c} k={k} subs={data.subs.filter((s) => s.contract === k.id)} brand={mine} reload={load} />
      ))}
    </section>
  );
}

function ContractContent(props: { campaign: CampaignView; k: CampaignContract; subs: Submission[]; brand: boolean; reload: () => void }) {
  const { k, subs } = props;
  const used = subs.filter((s) => s.verdict === "revision_requested").length;
  const left = Math.max(0, k.revision_rounds - used);
  return (
    <div className="contract-content" data-testid="content-contract">
      <h3>
        <Link to={`/contracts/${k.id}`}>Contract</Link> · {money(k.amount, props.campaign.currency)} · {k.pieces} {k.pieces === 1 ? "piece" : "pieces"}
        {k.settled && <> · <span className="badge badge-approved">Settled</span></>}
      </h3>
      <p className="small" data-testid="revisions-left">Revision rounds left: {left} of {k.revision_rounds}</p>
      <ol className="content-list">
        {Array.from({ length: k.pieces }, (_, i) => {
          const mineSubs = subs.filter((s) => s.deliverable === i);
          const latest = mineSubs[mineSubs.length - 1];
          const canSubmit = !props.brand && !k.settled && (!latest || latest.verdict === "revision_requested");
          return (
            <li key={i} className="deliverable" data-testid="deliverable">
              <div className="campaign-card-head">
                <h4>Piece {i + 1}{k.platforms[i] ? ` · ${k.platforms[i]}` : ""}</h4>
                <span className={`badge badge-${latest?.verdict ?? "none"}`} data-testid="deliverable-status">{latest ? VERDICT[latest.verdict] ?? latest.verdict : "Not submitted"}</span>
              </div>
              {mineSubs.map((s, j) => <SubmissionView key={s.id} s={s} round={j + 1} />)}
              {canSubmit && <SubmitForm campaign={props.campaign.id} k={k} deliverable={i} again={Boolean(latest)} onDone={props.reload} />}
              {props.brand && latest?.verdict === "pending" && !k.settled && <ReviewForm campaign={props.campaign.id} s={latest} left={left} onDone={props.reload} />}
            </li>
          );
        })}
      </ol>
    </div>
  );
}

function SubmissionView({ s, round }: { s: Submission; round: number }) {
  return (
    <article className={`submission ${s.verdict}`} aria-label={`Submission ${round}`} data-testid="submission">
      <p className="small muted">Submission {round} · {time(s.at)} · {s.content.platform}{s.content.paid_partnership ? " · paid partnership label" : ""}</p>
      <ul className="media-links">
        {s.content.media.map((m, i) => <li key={i}><a href={m.url} target="_blank" rel="noreferrer noopener">{m.url}</a></li>)}
      </ul>
      {s.content.caption && <p className="pre">{s.content.caption}</p>}
      <div data-testid="screening">
        {s.report.passed ? (
          <p className="report-passed">✓ Screening passed: no brand-safety findings</p>
        ) : (
          <>
            <p className="report-failed">⚠ Screening found {s.report.findings.length} {s.report.findings.length === 1 ? "issue" : "issues"}:</p>
            <ul>{s.report.findings.map((f, i) => <li key={i}><strong>{f.rule.replace(/_/g, " ")}</strong>: {f.detail}</li>)}</ul>
          </>
        )}
      </div>
      {s.review && (
        <p data-testid="review">
          <span className={`badge badge-${s.review.verdict}`}>{VERDICT[s.review.verdict] ?? s.review.verdict}</span>
          {s.review.reason && <> “{s.review.reason}”</>}
          {s.review.release && <span className="muted"> · the contract is released</span>}
        </p>
      )}
    </article>
  );
}

function SubmitForm(props: { campaign: string; k: CampaignContract; deliverable: number; again: boolean; onDone: () => void }) {
  const plat = props.k.platforms[props.deliverable];
  const [media, setMedia] = useState("");
  const [caption, setCaption] = useState("");
  const [platform, setPlatform] = useState(CONTENT_PLATFORMS.includes(plat) ? plat : "other");
  const [paid, setPaid] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState("");
  const [busy, setBusy] = useState(false);
  const key = useRef(newKey("content"));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const urls = media.split(/\s+/).filter(Boolean);
    const local: Record<string, string> = {};
    if (!urls.length) local.media = "add at least one link to the content";
    else if (urls.some((u) => !/^https?:\/\/\S+$/i.test(u))) local.media = "links start with https:// or http://";
    setErrors(local);
    if (Object.keys(local).length) return;
    setBusy(true);
    setFailure("");
    try {
      await submitContent(props.campaign, key.current, props.k.id, props.deliverable, { media: urls.map((url) => ({ url })), caption, platform, paid_partnership: paid });
      key.current = newKey("content");
      props.onDone();
    } catch (x) {
      if (x instanceof ApiError && Object.keys(x.fields).length) {
        const f: Record<string, string> = {};
        for (const [k, v] of Object.entries(x.fields)) {
          const at = k.startsWith("media") ? "media" : k; // "media[0].url" is shown at the links
          f[at] = (f[at] ? f[at] + "; " : "") + (at === k ? v : `${k.slice(5)} ${v}`);
        }
        setErrors(f);
        const other = Object.entries(f).filter(([k]) => !["media", "caption", "platform"].includes(k));
        if (other.length) setFailure(other.map(([k, v]) => `${k}: ${v}`).join("; "));
      } else setFailure(errorText(x));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="inline-form" aria-label={props.again ? `Submit piece ${props.deliverable + 1} again` : `Submit piece ${props.deliverable + 1}`} onSubmit={submit} noValidate>
      {failure && <Notice kind="error">{failure}</Notice>}
      <Field label="Links to the content" error={errors.media} hint="One link per line (the video or post, e.g. a draft upload)">
        {(a) => <textarea {...a} rows={2} value={media} onChange={(e) => setMedia(e.target.value)} />}
      </Field>
      <Field label="Caption" error={errors.caption} hint="Checked against the campaign's brand-safety rules when you submit">
        {(a) => <textarea {...a} rows={3} value={caption} onChange={(e) => setCaption(e.target.value)} />}
      </Field>
      <div className="row2">
        <Field label="Platform" error={errors.platform}>
          {(a) => (
            <select {...a} value={platform} onChange={(e) => setPlatform(e.target.value)}>
              {CONTENT_PLATFORMS.map((p) => <option key={p} value={p}>{p}</option>)}
            </select>
          )}
        </Field>
        <label className="check align-self-end">
          <input type="checkbox" checked={paid} onChange={(e) => setPaid(e.target.checked)} /> Paid-partnership label on
        </label>
      </div>
      <div className="actions"><button className="btn btn-primary" disabled={busy}>{props.again ? "Submit the revision" : "Submit content"}</button></div>
    </form>
  );
}

function ReviewForm(props: { campaign: string; s: Submission; left: number; onDone: () => void }) {
  const [reason, setReason] = useState("");
  const [error, setError] = useState("");
  const [failure, setFailure] = useState("");
  const [busy, setBusy] = useState(false);
  const review = async (verdict: "approved" | "rejected" | "revision_requested") => {
    if (verdict !== "approved" && !reason.trim()) return setError(verdict === "rejected" ? "say why you reject it" : "say what should change");
    setError("");
    setBusy(true);
    setFailure("");
    try {
      await reviewContent(props.campaign, props.s.id, newKey("review"), verdict, reason.trim());
      props.onDone();
    } catch (x) {
      setFailure(x instanceof ApiError && x.code === "limit_reached" ? "No revision rounds are left: approve or reject." : errorText(x));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="inline-form" aria-label="Review" onSubmit={(e) => e.preventDefault()}>
      {failure && <Notice kind="error">{failure}</Notice>}
      <Field label="Note for the creator" error={error} hint="Needed to request a revision or to reject; up to 500 characters">
        {(a) => <textarea {...a} rows={2} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />}
      </Field>
      <div className="actions">
        <button type="button" className="btn btn-ghost danger-text" disabled={busy} onClick={() => void review("rejected")}>Reject</button>
        <button type="button" className="btn btn-secondary" disabled={busy || props.left === 0} onClick={() => void review("revision_requested")}>
          Request a revision{props.left === 0 ? " (none left)" : ""}
        </button>
        <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void review("approved")}>Approve content</button>
      </div>
    </form>
  );
}
