// Campaigns (docs/api.md, Campaigns). Brands: the wizard, their list, a campaign's detail with its
// status actions, budget, applications and invitations. Creators: the marketplace (campaigns they
// are eligible for, and all published ones with filters), a campaign's detail with the
// application form, and their invitations. Live: campaign events pushed on `campaign:<id>`
// (docs/protocol.md) make the open screen read again; after a reconnect it reads again too.
import { FormEvent, useCallback, useEffect, useRef, useState } from "react";
import { ApiError, currentSession, newKey } from "../api";
import {
  AGE_BANDS, Application, applications, answerInvitation, apply, browseCampaigns, CampaignDetails, CampaignEvent, CampaignRow,
  campaignStatus, campaignUpdates, CampaignView, createCampaign, decideApplication, getCampaign, GOALS,
  invite, Invitation, myCampaigns, myInvitations, previewMatches, PRICING_MODELS, RankedCampaignRow, rankedCampaigns, STATUS_TEXT, updateCampaign,
  withdrawApplication,
} from "../campaigns";
import { MatchScore, Reasons } from "../reasons";
import { CampaignContent } from "./Content";
import { deliverableLabel, DELIVERABLE_TYPES, money, time } from "../format";
import { navigate } from "../router";
import { useStore } from "../store";
import { Empty, errorText, Field, Link, Notice, tabKeys } from "../ui";
import { NICHES } from "./Profile";

type Errors = Record<string, string>;
function err(errors: Errors, path: string): string | undefined {
  if (errors[path]) return errors[path];
  const below = Object.entries(errors).filter(([k]) => k.startsWith(path + "[") || k.startsWith(path + "."));
  // "audience.countries[0]" under "audience.countries": "item 1: …"
  const name = (k: string) => k.slice(path.length).replace(/^\./, "").replace(/^\[(\d+)\]/, (_, n) => `item ${Number(n) + 1}`);
  return below.length ? below.map(([k, v]) => `${name(k)}: ${v}`).join("; ") : undefined;
}
const toMinor = (s: string) => Math.round(Number(s.replace(",", ".")) * 100);
const fromMinor = (n: number) => (n / 100).toString();
const dateInput = (ms: number) => (ms ? new Date(ms).toISOString().slice(0, 10) : "");
const fromDate = (s: string) => (s ? Date.parse(s + "T00:00:00Z") : 0);
const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
const day = (ms: number) => (ms ? new Date(ms).toLocaleDateString("en", { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" }) : "open");
const modelLabel = (m: string) => PRICING_MODELS.find(([k]) => k === m)?.[1] ?? m;

/**
 * Reads again whenever a matching campaign event is pushed, and after every reconnect.
 * `readModel`: the screen reads a list served from the read model, which follows the journal
 * "within milliseconds" (docs/api.md) — a push can come first, so it reads again a little later too.
 */
function useLive(load: () => void, match: (stream: string, e: Record<string, unknown>) => boolean, readModel = false) {
  const store = useStore();
  const ref = useRef({ load, match });
  ref.current = { load, match };
  useEffect(() => {
    const timers = new Set<number>();
    const offE = store.conn.onEvent((e) => {
      if (!e.stream.startsWith("campaign:") || !ref.current.match(e.stream, e.event)) return;
      ref.current.load();
      if (readModel)
        for (const ms of [250, 1000, 3000]) {
          const t = window.setTimeout(() => { timers.delete(t); ref.current.load(); }, ms);
          timers.add(t);
        }
    });
    const offO = store.conn.onOpen(() => ref.current.load());
    return () => { offE(); offO(); timers.forEach((t) => clearTimeout(t)); };
  }, [store, readModel]);
}

function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`} data-testid="campaign-status">{STATUS_TEXT[status] ?? status}</span>;
}

function BudgetMeter({ c }: { c: { budget: number; committed: number; spent: number; remaining: number; currency: string } }) {
  const pct = (n: number) => (c.budget ? Math.min(100, (n / c.budget) * 100) : 0);
  return (
    <div className="budget" data-testid="budget">
      <div className="meter" role="img" aria-label={`Spent ${money(c.spent, c.currency)}, committed ${money(c.committed, c.currency)}, remaining ${money(c.remaining, c.currency)} of ${money(c.budget, c.currency)}`}>
        <span className="meter-spent" style={{ width: `${pct(c.spent)}%` }} />
        <span className="meter-committed" style={{ width: `${pct(c.committed)}%` }} />
      </div>
      <dl className="budget-figures">
        <div><dt>Budget</dt><dd>{money(c.budget, c.currency)}</dd></div>
        <div><dt><span className="key key-committed" aria-hidden="true" />Committed</dt><dd>{money(c.committed, c.currency)}</dd></div>
        <div><dt><span className="key key-spent" aria-hidden="true" />Spent</dt><dd>{money(c.spent, c.currency)}</dd></div>
        <div><dt>Remaining</dt><dd data-testid="budget-remaining">{money(c.remaining, c.currency)}</dd></div>
      </dl>
    </div>
  );
}

// ---- the wizard -------------------------------------------------------------------------------

interface Form {
  title: string; description: string; goals: string[]; brief: string;
  model: string; rate: string; budget: string; currency: string;
  niches: string[]; countries: string; age_bands: string[]; gender: string; min_followers: string;
  starts: string; ends: string; deliverables: { type: string; count: string }[];
  banned_words: string; banned_categories: string; require_disclosure: boolean; link_policy: string; max_caption_chars: string;
}
const STEPS = ["Goals", "Pricing & budget", "Audience", "Schedule & deliverables", "Brand safety"];
function stepOf(field: string): number {
  if (/^(title|description|goals|brief)/.test(field)) return 0;
  if (/^(pricing|budget|currency)/.test(field)) return 1;
  if (/^audience/.test(field)) return 2;
  if (/^(starts_at|ends_at|deliverables|collaboration_types)/.test(field)) return 3;
  return 4;
}

function initialForm(d?: CampaignDetails): Form {
  return {
    title: d?.title ?? "", description: d?.description ?? "", goals: d?.goals ?? [], brief: d?.brief ?? "",
    model: d?.pricing.model ?? "flat", rate: d ? fromMinor(d.pricing.rate) : "0", budget: d ? fromMinor(d.budget) : "", currency: d?.currency ?? "USD",
    niches: d?.audience.niches ?? [], countries: (d?.audience.countries ?? []).join(", "), age_bands: d?.audience.age_bands ?? [],
    gender: d?.audience.gender || "any", min_followers: String(d?.audience.min_followers ?? 0),
    starts: dateInput(d?.starts_at ?? 0), ends: dateInput(d?.ends_at ?? 0),
    deliverables: (d?.deliverables ?? [{ type: "tiktok_native_ad", count: 1 }]).map((x) => ({ type: x.type, count: String(x.count) })),
    banned_words: (d?.brand_safety.banned_words ?? []).join(", "), banned_categories: (d?.brand_safety.banned_categories ?? []).join(", "),
    require_disclosure: d?.brand_safety.require_disclosure ?? true, link_policy: d?.brand_safety.link_policy || "allowed",
    max_caption_chars: String(d?.brand_safety.max_caption_chars ?? 2200),
  };
}

function details(f: Form): CampaignDetails {
  const deliverables = f.deliverables.map((x) => ({ type: x.type, count: Number(x.count) }));
  return {
    title: f.title.trim(), description: f.description, goals: f.goals, brief: f.brief,
    budget: f.budget === "" ? 0 : toMinor(f.budget), currency: f.currency.trim().toUpperCase(),
    starts_at: fromDate(f.starts), ends_at: fromDate(f.ends), deliverables,
    audience: { niches: f.niches, countries: list(f.countries).map((c) => c.toUpperCase()), age_bands: f.age_bands, gender: f.gender,
      min_followers: Number(f.min_followers || 0), min_engagement_bps: 0 },
    collaboration_types: [...new Set(deliverables.map((x) => x.type))],
    pricing: { model: f.model, rate: f.rate === "" ? 0 : toMinor(f.rate) },
    brand_safety: { banned_words: list(f.banned_words), banned_categories: list(f.banned_categories), require_disclosure: f.require_disclosure,
      link_policy: f.link_policy, max_caption_chars: Number(f.max_caption_chars || 0) },
  };
}

function Chips(props: { legend: string; options: string[]; value: string[]; onChange: (v: string[]) => void; error?: string; label?: (s: string) => string }) {
  return (
    <fieldset className={props.error ? "has-error" : ""}>
      <legend>{props.legend}</legend>
      <div className="chips">
        {props.options.map((o) => (
          <label key={o} className={"chip" + (props.value.includes(o) ? " on" : "")}>
            <input type="checkbox" checked={props.value.includes(o)} onChange={(e) => props.onChange(e.target.checked ? [...props.value, o] : props.value.filter((x) => x !== o))} />
            {props.label ? props.label(o) : o}
          </label>
        ))}
      </div>
      {props.error && <p className="field-error" role="alert">{props.error}</p>}
    </fieldset>
  );
}

export function CampaignWizard({ id }: { id?: string }) {
  const [loaded, setLoaded] = useState<CampaignView | null>(null);
  const [f, setF] = useState<Form>(() => initialForm());
  const [step, setStep] = useState(0);
  const [errors, setErrors] = useState<Errors>({});
  const [failure, setFailure] = useState("");
  const [busy, setBusy] = useState(false);
  const key = useRef(newKey("campaign"));
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (!id) return;
    getCampaign(id).then((c) => { setLoaded(c); setF(initialForm(c.details)); }, (e) => setFailure(errorText(e)));
  }, [id]);
  useEffect(() => {
    const first = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"], .has-error input');
    first?.focus();
  }, [errors, step]);
  const set = (k: keyof Form) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const e = (p: string) => err(errors, p);
  const published = loaded && loaded.status !== "draft";

  /** The checks the browser can make before asking the server (the server checks everything again). */
  const local = (s: number): Errors => {
    const out: Errors = {};
    if (s === 0 && !f.title.trim()) out.title = "give the campaign a title";
    if (s === 1) {
      if (f.budget !== "" && !(Number(f.budget) >= 0)) out.budget = "must be an amount, e.g. 5000";
      if (f.rate !== "" && !(Number(f.rate) >= 0)) out["pricing.rate"] = "must be an amount, e.g. 0.05";
      if (!/^[A-Za-z]{3}$/.test(f.currency.trim())) out.currency = "a three-letter currency code, e.g. EUR";
    }
    if (s === 3 && f.starts && f.ends && fromDate(f.ends) <= fromDate(f.starts)) out.ends_at = "must be after the start";
    return out;
  };
  const next = () => {
    const l = local(step);
    setErrors(l);
    if (!Object.keys(l).length) setStep(step + 1);
  };
  const submit = async (ev: FormEvent, publish: boolean) => {
    ev.preventDefault();
    const l = local(step);
    if (Object.keys(l).length) return setErrors(l);
    setBusy(true);
    setFailure("");
    try {
      const d = details(f);
      const r = id ? await updateCampaign(id, key.current, d) : await createCampaign(key.current, d);
      key.current = newKey("campaign");
      const cid = r.campaign!.id;
      if (publish) {
        try {
          await campaignStatus(cid, newKey("publish"), "publish");
        } catch (x) {
          // Saved as a draft; the publish refusal names its fields: edit the draft to fix them.
          if (x instanceof ApiError && Object.keys(x.fields).length) {
            navigate(`/campaigns/${cid}/edit`, true);
            setErrors(x.fields);
            setStep(Math.min(...Object.keys(x.fields).map(stepOf)));
            setFailure("Saved as a draft, but it cannot be published yet: " + x.message);
            return;
          }
          throw x;
        }
      }
      navigate(`/campaigns/${cid}`);
    } catch (x) {
      if (x instanceof ApiError && Object.keys(x.fields).length) {
        setErrors(x.fields);
        setStep(Math.min(...Object.keys(x.fields).map(stepOf)));
        setFailure("Please check the highlighted fields.");
      } else setFailure(errorText(x));
    } finally {
      setBusy(false);
    }
  };
  const last = step === STEPS.length - 1;
  const stepErrors = (s: number) => Object.keys(errors).some((k) => stepOf(k) === s);

  return (
    <div className="page narrow">
      <p><Link to={id ? `/campaigns/${id}` : "/campaigns"}>← {id ? "Back to the campaign" : "Campaigns"}</Link></p>
      <h1>{id ? "Edit campaign" : "New campaign"}</h1>
      <ol className="steps wizard-steps" aria-label="Steps">
        {STEPS.map((s, i) => (
          <li key={s} className={(i === step ? "current" : i < step ? "done" : "") + (stepErrors(i) ? " step-error" : "")} aria-current={i === step ? "step" : undefined}>
            <button type="button" className="step-link" onClick={() => setStep(i)}>
              <span className="step-no">{i + 1}</span> <span className="step-name">{s}</span>
            </button>
          </li>
        ))}
      </ol>
      {failure && <Notice kind="error">{failure}</Notice>}
      <form ref={formRef} className="card" noValidate onSubmit={(ev) => (last ? submit(ev, false) : (ev.preventDefault(), next()))}>
        <h2>{STEPS[step]}</h2>
        {step === 0 && (
          <>
            <Field label="Title" error={e("title")} hint="Up to 120 characters">
              {(a) => <input {...a} value={f.title} onChange={set("title")} maxLength={120} />}
            </Field>
            <Field label="Description" error={e("description")}>
              {(a) => <textarea {...a} rows={3} value={f.description} onChange={set("description")} />}
            </Field>
            <Chips legend="Goals" options={[...new Set([...GOALS, ...f.goals])]} value={f.goals} onChange={(goals) => setF({ ...f, goals })} error={e("goals")} label={(g) => g.replace("_", " ")} />
            <Field label="Brief for creators" error={e("brief")} hint="What to make, the message, must-haves">
              {(a) => <textarea {...a} rows={4} value={f.brief} onChange={set("brief")} />}
            </Field>
          </>
        )}
        {step === 1 && (
          <>
            <Field label="Pricing model" error={e("pricing.model")} hint={published ? "Fixed once published" : undefined}>
              {(a) => (
                <select {...a} value={f.model} onChange={set("model")} disabled={Boolean(published)}>
                  {PRICING_MODELS.map(([k, l]) => <option key={k} value={k}>{l}</option>)}
                </select>
              )}
            </Field>
            <div className="row2">
              <Field label="Rate" error={e("pricing.rate")} hint={f.model === "flat" ? "Optional for a flat fee" : "Per click, view, post or call"}>
                {(a) => <input {...a} inputMode="decimal" value={f.rate} onChange={set("rate")} />}
              </Field>
              <Field label="Currency" error={e("currency")} hint={published ? "Fixed once published" : undefined}>
                {(a) => <input {...a} value={f.currency} onChange={set("currency")} maxLength={3} disabled={Boolean(published)} />}
              </Field>
            </div>
            <Field label="Total budget" error={e("budget")} hint={loaded ? `Cannot go below what contracts hold (${money(loaded.committed + loaded.spent, loaded.currency)})` : "Needed to publish"}>
              {(a) => <input {...a} inputMode="decimal" value={f.budget} onChange={set("budget")} />}
            </Field>
          </>
        )}
        {step === 2 && (
          <>
            <Chips legend="Niches" options={NICHES} value={f.niches} onChange={(niches) => setF({ ...f, niches })} error={e("audience.niches")} />
            <Field label="Countries" error={e("audience.countries")} hint="Two-letter codes separated by commas, e.g. DE, AT; empty: anywhere">
              {(a) => <input {...a} value={f.countries} onChange={set("countries")} />}
            </Field>
            <Chips legend="Age bands" options={AGE_BANDS} value={f.age_bands} onChange={(age_bands) => setF({ ...f, age_bands })} error={e("audience.age_bands")} />
            <div className="row2">
              <Field label="Gender" error={e("audience.gender")}>
                {(a) => (
                  <select {...a} value={f.gender} onChange={set("gender")}>
                    <option value="any">Any</option><option value="female">Female</option><option value="male">Male</option>
                  </select>
                )}
              </Field>
              <Field label="Minimum followers" error={e("audience.min_followers")}>
                {(a) => <input {...a} inputMode="numeric" value={f.min_followers} onChange={set("min_followers")} />}
              </Field>
            </div>
          </>
        )}
        {step === 3 && (
          <>
            <div className="row2">
              <Field label="Starts" error={e("starts_at")} hint="Optional">
                {(a) => <input {...a} type="date" value={f.starts} onChange={set("starts")} />}
              </Field>
              <Field label="Ends" error={e("ends_at")} hint="Optional; must be in the future to publish">
                {(a) => <input {...a} type="date" value={f.ends} onChange={set("ends")} />}
              </Field>
            </div>
            <fieldset className={e("deliverables") ? "has-error" : ""}>
              <legend>Deliverables</legend>
              {f.deliverables.map((d, i) => (
                <div className="row3 align-end" key={i}>
                  <Field label={`Deliverable ${i + 1}`} error={e(`deliverables[${i}].type`)}>
                    {(a) => (
                      <select {...a} value={d.type} onChange={(ev) => setF({ ...f, deliverables: f.deliverables.map((x, j) => (j === i ? { ...x, type: ev.target.value } : x)) })}>
                        {DELIVERABLE_TYPES.map(([k, l]) => <option key={k} value={k}>{l}</option>)}
                      </select>
                    )}
                  </Field>
                  <Field label={`Count of deliverable ${i + 1}`} error={e(`deliverables[${i}].count`)}>
                    {(a) => <input {...a} inputMode="numeric" value={d.count} onChange={(ev) => setF({ ...f, deliverables: f.deliverables.map((x, j) => (j === i ? { ...x, count: ev.target.value } : x)) })} />}
                  </Field>
                  <button type="button" className="btn btn-ghost" onClick={() => setF({ ...f, deliverables: f.deliverables.filter((_, j) => j !== i) })}>Remove</button>
                </div>
              ))}
              {e("deliverables") && <p className="field-error" role="alert">{e("deliverables")}</p>}
              <button type="button" className="btn btn-secondary" onClick={() => setF({ ...f, deliverables: [...f.deliverables, { type: "instagram_reel", count: "1" }] })}>+ Add a deliverable</button>
            </fieldset>
          </>
        )}
        {step === 4 && (
          <>
            <Field label="Banned words" error={e("brand_safety.banned_words")} hint="Separated by commas">
              {(a) => <input {...a} value={f.banned_words} onChange={set("banned_words")} />}
            </Field>
            <Field label="Banned categories" error={e("brand_safety.banned_categories")} hint="e.g. gambling, alcohol">
              {(a) => <input {...a} value={f.banned_categories} onChange={set("banned_categories")} />}
            </Field>
            <div className="row2">
              <Field label="Links in captions" error={e("brand_safety.link_policy")}>
                {(a) => (
                  <select {...a} value={f.link_policy} onChange={set("link_policy")}>
                    <option value="allowed">Allowed</option><option value="none">Not allowed</option><option value="required">Required</option>
                  </select>
                )}
              </Field>
              <Field label="Longest caption (characters)" error={e("brand_safety.max_caption_chars")}>
                {(a) => <input {...a} inputMode="numeric" value={f.max_caption_chars} onChange={set("max_caption_chars")} />}
              </Field>
            </div>
            <label className="check">
              <input type="checkbox" checked={f.require_disclosure} onChange={(ev) => setF({ ...f, require_disclosure: ev.target.checked })} /> Require an ad disclosure (#ad)
            </label>
          </>
        )}
        <div className="actions">
          {step > 0 && <button type="button" className="btn btn-ghost" onClick={() => setStep(step - 1)}>Back</button>}
          {!last && <button type="submit" className="btn btn-primary">Next</button>}
          {last && <button type="submit" className="btn btn-secondary" disabled={busy}>{id ? "Save changes" : "Save as draft"}</button>}
          {last && (!loaded || loaded.status === "draft") && (
            <button type="button" className="btn btn-primary" disabled={busy} onClick={(ev) => void submit(ev as unknown as FormEvent, true)}>Save and publish</button>
          )}
        </div>
      </form>
      {step >= 2 && <MatchPreview details={() => details(f)} />}
    </div>
  );
}

/** The creators the campaign as drafted would match, with the reasons (`POST /api/v1/brands/matches`). */
function MatchPreview({ details }: { details: () => CampaignDetails }) {
  const [r, setR] = useState<Awaited<ReturnType<typeof previewMatches>> | null>(null);
  const [failure, setFailure] = useState("");
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setFailure("");
    try {
      setR(await previewMatches(details(), 5));
    } catch (e) {
      setR(null);
      setFailure(e instanceof ApiError && Object.keys(e.fields).length
        ? "Fix these first: " + Object.entries(e.fields).map(([k, v]) => `${k} ${v}`).join("; ")
        : errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-label="Matching creators" aria-busy={busy}>
      <div className="campaign-card-head">
        <h2>Matching creators</h2>
        <button type="button" className="btn btn-secondary" disabled={busy} onClick={() => void run()}>{r ? "Refresh the preview" : "Preview matching creators"}</button>
      </div>
      <p className="muted small">Who this campaign, as it stands, would fit best — nothing is saved.</p>
      {failure && <Notice kind="error">{failure}</Notice>}
      {r && <p className="muted small" role="status">{r.matches.length} best of {r.eligible} eligible creators ({r.considered} considered)</p>}
      {r && (
        <ol className="creator-list">
          {r.matches.map((m) => (
            <li key={m.creator.user_id} className="match-preview" data-testid="match-preview">
              <p className="facts-line"><Link to={`/creators/${m.creator.user_id}`}>{m.creator.display_name}</Link> · <MatchScore score={m.score} /></p>
              <Reasons reasons={m.reasons} label={`Why ${m.creator.display_name} fits`} />
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

// ---- lists ------------------------------------------------------------------------------------

function CampaignCard({ c }: { c: RankedCampaignRow }) {
  return (
    <li className="card campaign-card" data-testid="campaign-card">
      <div className="campaign-card-head">
        <h3><Link to={`/campaigns/${c.id}`}>{c.title}</Link></h3>
        {c.match ? <MatchScore score={c.match.score} /> : <StatusBadge status={c.status} />}
      </div>
      <p className="muted small">
        {money(c.budget, c.currency)} budget · {money(c.remaining, c.currency)} remaining · {modelLabel(c.pricing_model)}
        {c.pricing_model !== "flat" ? ` ${money(c.rate, c.currency)}` : ""} · {day(c.starts_at)} – {day(c.ends_at)}
      </p>
      {(c.niches.length > 0 || c.countries.length > 0 || c.min_followers > 0) && (
        <p className="chips">
          {c.niches.map((n) => <span key={n} className="chip">{n}</span>)}
          {c.countries.map((n) => <span key={n} className="chip">{n}</span>)}
          {c.min_followers > 0 && <span className="chip">{c.min_followers.toLocaleString("en")}+ followers</span>}
        </p>
      )}
      {c.match && <Reasons reasons={c.match.reasons} label={`Why ${c.title} fits you`} />}
    </li>
  );
}

function Paged(props: { rows: CampaignRow[]; next: string | null; more: () => void; empty: string }) {
  if (!props.rows.length) return <Empty title={props.empty} />;
  return (
    <>
      <ul className="campaign-list">{props.rows.map((c) => <CampaignCard key={c.id} c={c} />)}</ul>
      {props.next && <button className="btn btn-ghost" onClick={props.more}>Show more</button>}
    </>
  );
}

function BrandCampaigns() {
  const [status, setStatus] = useState("");
  const [rows, setRows] = useState<CampaignRow[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [failure, setFailure] = useState("");
  const load = useCallback(() => {
    myCampaigns({ status, limit: 50 }).then((r) => { setRows(r.campaigns); setNext(r.next_before); setFailure(""); }, (e) => setFailure(errorText(e)));
  }, [status]);
  useEffect(load, [load]);
  useLive(load, () => true, true);
  return (
    <div className="page">
      <div className="page-head">
        <h1>Your campaigns</h1>
        <Link to="/campaigns/new" className="btn btn-primary">New campaign</Link>
      </div>
      <div className="filters">
        <Field label="Status">
          {(a) => (
            <select {...a} value={status} onChange={(e) => setStatus(e.target.value)}>
              <option value="">All</option>
              {Object.entries(STATUS_TEXT).map(([k, l]) => <option key={k} value={k}>{l}</option>)}
            </select>
          )}
        </Field>
      </div>
      {failure && <Notice kind="error">{failure}</Notice>}
      {rows && <Paged rows={rows} next={next} empty="No campaigns yet: create your first one." more={() => myCampaigns({ status, limit: 50, before: next! }).then((r) => { setRows([...rows, ...r.campaigns]); setNext(r.next_before); })} />}
    </div>
  );
}

function Marketplace() {
  const [tab, setTab] = useState<"for-you" | "all" | "invitations">("for-you");
  const [rows, setRows] = useState<CampaignRow[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [failure, setFailure] = useState("");
  const [q, setQ] = useState({ q: "", niche: "", country: "", pricing_model: "", currency: "", min_budget: "", max_budget: "", sort: "newest" });
  const [applied, setApplied] = useState(q);
  const query = (before?: string) => ({
    ...applied, min_budget: applied.min_budget ? toMinor(applied.min_budget) : undefined, max_budget: applied.max_budget ? toMinor(applied.max_budget) : undefined,
    currency: applied.currency.toUpperCase(), country: applied.country.toUpperCase(), limit: 20, before,
  });
  const load = useCallback(() => {
    if (tab === "invitations") return;
    const p = tab === "for-you" ? rankedCampaigns() : browseCampaigns(query());
    p.then((r) => { setRows(r.campaigns); setNext(r.next_before); setFailure(""); }, (e) => {
      setRows([]);
      setFailure(e instanceof ApiError && e.status === 409 ? "Complete your media kit to see the campaigns that fit you." : errorText(e));
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [tab, applied]);
  useEffect(load, [load]);
  const set = (k: keyof typeof q) => (e: { target: { value: string } }) => setQ({ ...q, [k]: e.target.value });
  const tabs: [typeof tab, string][] = [["for-you", "For you"], ["all", "All campaigns"], ["invitations", "Invitations"]];
  return (
    <div className="page">
      <h1>Campaigns</h1>
      <div className="tabs" role="tablist" aria-label="Campaigns" onKeyDown={tabKeys}>
        {tabs.map(([k, l]) => (
          <button key={k} role="tab" aria-selected={tab === k} tabIndex={tab === k ? 0 : -1} className={"tab" + (tab === k ? " on" : "")} onClick={() => { setRows(null); setTab(k); }}>{l}</button>
        ))}
      </div>
      {tab === "for-you" && <p className="muted">Published campaigns whose niches, countries and follower minimum fit your media kit, best fit first, with the reasons: each factor's weight and how well you meet it.</p>}
      {tab === "all" && (
        <form className="card filters" role="search" onSubmit={(e) => { e.preventDefault(); setApplied(q); }}>
          <div className="row3">
            <Field label="Words in the title">{(a) => <input {...a} type="search" value={q.q} onChange={set("q")} />}</Field>
            <Field label="Niche">
              {(a) => (
                <select {...a} value={q.niche} onChange={set("niche")}>
                  <option value="">Any</option>
                  {NICHES.map((n) => <option key={n} value={n}>{n}</option>)}
                </select>
              )}
            </Field>
            <Field label="Country" hint="e.g. DE">{(a) => <input {...a} value={q.country} onChange={set("country")} maxLength={2} />}</Field>
            <Field label="Pricing">
              {(a) => (
                <select {...a} value={q.pricing_model} onChange={set("pricing_model")}>
                  <option value="">Any</option>
                  {PRICING_MODELS.map(([k, l]) => <option key={k} value={k}>{l}</option>)}
                </select>
              )}
            </Field>
            <Field label="Currency">{(a) => <input {...a} value={q.currency} onChange={set("currency")} maxLength={3} />}</Field>
            <Field label="Sort by">
              {(a) => (
                <select {...a} value={q.sort} onChange={set("sort")}>
                  <option value="newest">Newest</option><option value="budget">Largest budget</option><option value="ending">Ending soonest</option>
                </select>
              )}
            </Field>
            <Field label="Budget from">{(a) => <input {...a} inputMode="decimal" value={q.min_budget} onChange={set("min_budget")} />}</Field>
            <Field label="Budget up to">{(a) => <input {...a} inputMode="decimal" value={q.max_budget} onChange={set("max_budget")} />}</Field>
            <div className="align-end field"><button className="btn btn-primary">Search</button></div>
          </div>
        </form>
      )}
      {failure && <Notice kind="error">{failure}</Notice>}
      {tab === "invitations" ? <Invitations /> : rows && (
        <Paged rows={rows} next={next} empty="No campaigns match right now." more={() => (tab === "for-you" ? rankedCampaigns(next!) : browseCampaigns(query(next!))).then((r) => { setRows([...rows, ...r.campaigns]); setNext(r.next_before); })} />
      )}
    </div>
  );
}

const OUTCOME_TEXT: Record<string, string> = {
  pending: "Waiting for your answer", accepted: "Accepted", denied: "Declined", withdrawn: "Withdrawn by the brand",
};
const APP_TEXT: Record<string, string> = { pending: "Waiting for a decision", approved: "Approved", rejected: "Not selected", withdrawn: "Withdrawn" };

function Invitations({ campaign }: { campaign?: string }) {
  const [rows, setRows] = useState<Invitation[] | null>(null);
  const [failure, setFailure] = useState("");
  const [busy, setBusy] = useState(0);
  const load = useCallback(() => {
    myInvitations().then((r) => setRows(campaign ? r.invitations.filter((i) => i.campaign === campaign) : r.invitations), (e) => setFailure(errorText(e)));
  }, [campaign]);
  useEffect(load, [load]);
  useLive(load, (_, e) => String(e.type).startsWith("invitation."), true);
  const answer = async (i: Invitation, outcome: "accepted" | "denied") => {
    setBusy(i.id);
    setFailure("");
    try {
      const r = await answerInvitation(i.campaign, i.id, newKey("invitation"), outcome);
      if (r.conversation) navigate(`/chats/${r.conversation}`);
      else load();
    } catch (e) {
      setFailure(errorText(e));
    } finally {
      setBusy(0);
    }
  };
  if (!rows) return failure ? <Notice kind="error">{failure}</Notice> : null;
  if (!rows.length) return campaign ? null : <Empty title="No invitations yet" />;
  return (
    <section aria-label="Invitations">
      {failure && <Notice kind="error">{failure}</Notice>}
      <ul className="campaign-list">
        {rows.map((i) => (
          <li key={i.id} className="card invitation">
            <div className="campaign-card-head">
              <h3>{campaign ? "You are invited" : <Link to={`/campaigns/${i.campaign}`}>{i.campaign_title}</Link>}</h3>
              <span className={`badge badge-${i.outcome}`}>{OUTCOME_TEXT[i.outcome ?? "pending"] ?? i.outcome}</span>
            </div>
            {i.brief && <p>{i.brief}</p>}
            <p className="muted small">Invited {time(i.created_at)}</p>
            {(!i.outcome || i.outcome === "pending") && (
              <div className="actions">
                <button className="btn btn-ghost" disabled={busy === i.id} onClick={() => void answer(i, "denied")}>Decline</button>
                <button className="btn btn-primary" disabled={busy === i.id} onClick={() => void answer(i, "accepted")}>Accept invitation</button>
              </div>
            )}
            {i.conversation && <p><Link to={`/chats/${i.conversation}`} className="btn btn-secondary">Open the conversation</Link></p>}
          </li>
        ))}
      </ul>
    </section>
  );
}

// ---- a campaign -------------------------------------------------------------------------------

function Summary({ c }: { c: CampaignView }) {
  const d = c.details;
  return (
    <section className="card" aria-label="Campaign details">
      <h2>Details</h2>
      {d.description && <p className="bio">{d.description}</p>}
      <dl className="facts">
        <dt>Goals</dt><dd>{d.goals.length ? d.goals.map((g) => g.replace("_", " ")).join(", ") : "—"}</dd>
        <dt>Pricing</dt><dd>{modelLabel(d.pricing.model)}{d.pricing.model !== "flat" || d.pricing.rate ? ` · ${money(d.pricing.rate, c.currency)}` : ""}</dd>
        <dt>Schedule</dt><dd>{day(d.starts_at)} – {day(d.ends_at)}</dd>
        <dt>Deliverables</dt><dd>{d.deliverables.map((x) => `${x.count} × ${deliverableLabel(x.type)}`).join(", ") || "—"}</dd>
        <dt>Audience</dt>
        <dd>
          {[d.audience.niches.join(", ") || "any niche", d.audience.countries.join(", ") || "any country", d.audience.age_bands.join(", ") || "any age",
            d.audience.gender && d.audience.gender !== "any" ? d.audience.gender : "",
            d.audience.min_followers ? `${d.audience.min_followers.toLocaleString("en")}+ followers` : ""].filter(Boolean).join(" · ")}
        </dd>
        <dt>Brand safety</dt>
        <dd>
          {[d.brand_safety.require_disclosure ? "ad disclosure required" : "",
            d.brand_safety.banned_words.length ? `no “${d.brand_safety.banned_words.join("”, “")}”` : "",
            d.brand_safety.banned_categories.length ? `no ${d.brand_safety.banned_categories.join(", ")}` : "",
            d.brand_safety.link_policy === "none" ? "no links" : d.brand_safety.link_policy === "required" ? "link required" : "",
            d.brand_safety.max_caption_chars ? `captions ≤ ${d.brand_safety.max_caption_chars} characters` : ""].filter(Boolean).join(" · ") || "—"}
        </dd>
      </dl>
      {d.brief && (<><h3>Brief</h3><p className="pre">{d.brief}</p></>)}
    </section>
  );
}

export function CampaignPage({ id }: { id: string }) {
  const me = currentSession()!.user;
  const [c, setC] = useState<CampaignView | null>(null);
  const [failure, setFailure] = useState("");
  const [tick, setTick] = useState(0);
  const load = useCallback(() => {
    getCampaign(id).then((v) => { setC(v); setFailure(""); setTick((t) => t + 1); }, (e) => setFailure(e instanceof ApiError && e.status === 404 ? "There is no such campaign, or it is not visible to you." : errorText(e)));
  }, [id]);
  useEffect(load, [load]);
  useLive(load, (s) => s === `campaign:${id}`);
  if (!c) return <div className="page narrow">{failure ? <Notice kind="error">{failure}</Notice> : <p className="muted">Loading…</p>}</div>;
  const mine = me.role === "brand" && c.brand === me.id;
  return (
    <div className="page campaign-page">
      <p><Link to="/campaigns">← Campaigns</Link></p>
      <div className="page-head">
        <h1>{c.details.title}</h1>
        <StatusBadge status={c.status} />
      </div>
      {failure && <Notice kind="error">{failure}</Notice>}
      <div className="campaign-grid">
        <div>
          <section className="card" aria-label="Budget">
            <h2>Budget</h2>
            <BudgetMeter c={c} />
            {mine && <p className="muted small">{c.applications ?? 0} applications ({c.pending_applications ?? 0} waiting) · {c.invitations ?? 0} invitations · {c.contracts ?? 0} contracts</p>}
          </section>
          <Summary c={c} />
        </div>
        <div>
          {mine ? (
            <>
              <StatusActions c={c} onChange={setC} />
              <p><Link to={`/discover?campaign=${c.id}`} className="btn btn-secondary">Find matching creators</Link></p>
              <p><Link to={`/campaigns/${c.id}/analytics`} className="btn btn-secondary">Analytics and affiliate links</Link></p>
              <ApplicationsInbox c={c} tick={tick} />
              <InviteCreator c={c} />
            </>
          ) : me.role === "creator" ? (
            <>
              <Invitations campaign={c.id} />
              <ApplyPanel c={c} tick={tick} />
            </>
          ) : null}
        </div>
      </div>
      <CampaignContent c={c} mine={mine} />
    </div>
  );
}

function StatusActions({ c, onChange }: { c: CampaignView; onChange: (c: CampaignView) => void }) {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<{ text: string; fields: Errors } | null>(null);
  const act = async (to: "publish" | "pause" | "complete" | "cancel") => {
    if (to === "cancel" && !window.confirm("Cancel this campaign? What no contract holds goes back to you.")) return;
    setBusy(true);
    setFailure(null);
    try {
      const r = await campaignStatus(c.id, newKey(to), to);
      if (r.campaign) onChange(r.campaign);
    } catch (e) {
      setFailure({ text: errorText(e), fields: e instanceof ApiError ? e.fields : {} });
    } finally {
      setBusy(false);
    }
  };
  const can: [("publish" | "pause" | "complete" | "cancel"), string, string][] = [];
  if (c.status === "draft") can.push(["publish", "Publish", "btn-primary"]);
  if (c.status === "paused") can.push(["publish", "Resume", "btn-primary"]);
  if (c.status === "published") can.push(["pause", "Pause", "btn-secondary"]);
  if (c.status === "published" || c.status === "paused") can.push(["complete", "Complete", "btn-secondary"]);
  if (c.status === "draft" || c.status === "published" || c.status === "paused") can.push(["cancel", "Cancel campaign", "btn-ghost danger-text"]);
  return (
    <section className="card" aria-label="Status">
      <h2>Status</h2>
      <p>{c.status === "draft" ? "Only you see this draft. Publish it to reach creators." : c.status === "published" ? "Creators can find this campaign and apply." : c.status === "paused" ? "Paused: hidden from the marketplace; nobody can apply." : "This campaign has ended."}</p>
      {failure && (
        <Notice kind="error">
          {failure.text}
          {Object.keys(failure.fields).length > 0 && (
            <ul>{Object.entries(failure.fields).map(([k, v]) => <li key={k}><strong>{k}</strong>: {v}</li>)}</ul>
          )}
          {Object.keys(failure.fields).length > 0 && <Link to={`/campaigns/${c.id}/edit`}>Fix these in the editor</Link>}
        </Notice>
      )}
      <div className="actions">
        {(c.status === "draft" || c.status === "published" || c.status === "paused") && <Link to={`/campaigns/${c.id}/edit`} className="btn btn-ghost">Edit</Link>}
        {can.map(([to, label, cls]) => <button key={label} className={`btn ${cls}`} disabled={busy} onClick={() => void act(to)}>{label}</button>)}
      </div>
    </section>
  );
}

function ApplicationsInbox({ c, tick }: { c: CampaignView; tick: number }) {
  const [rows, setRows] = useState<Application[] | null>(null);
  const [failure, setFailure] = useState("");
  const [busy, setBusy] = useState(0);
  useEffect(() => {
    applications(c.id).then((r) => setRows(r.applications), (e) => setFailure(errorText(e)));
  }, [c.id, tick]);
  const decide = async (a: Application, outcome: "approved" | "rejected") => {
    setBusy(a.id);
    setFailure("");
    try {
      const r = await decideApplication(c.id, a.id, newKey("decide"), outcome);
      setRows((rows ?? []).map((x) => (x.id === a.id ? { ...x, outcome, conversation: r.conversation } : x)));
    } catch (e) {
      setFailure(errorText(e));
    } finally {
      setBusy(0);
    }
  };
  return (
    <section className="card" aria-label="Applications">
      <h2>Applications</h2>
      {failure && <Notice kind="error">{failure}</Notice>}
      {rows && !rows.length && <p className="muted">No applications yet. They appear here as creators apply.</p>}
      <ul className="apps">
        {(rows ?? []).map((a) => (
          <li key={a.id} className="app-item" data-testid="application">
            <div className="campaign-card-head">
              <Link to={`/creators/${a.creator}`}>Creator profile</Link>
              <span className={`badge badge-${a.outcome}`}>{APP_TEXT[a.outcome] ?? a.outcome}</span>
            </div>
            {a.proposal && <p className="pre">{a.proposal}</p>}
            <p className="muted small">{a.amount ? `Asks ${money(a.amount, c.currency)} · ` : ""}applied {time(a.at)}</p>
            {a.outcome === "pending" && (
              <div className="actions">
                <button className="btn btn-ghost" disabled={busy === a.id} onClick={() => void decide(a, "rejected")}>Reject</button>
                <button className="btn btn-primary" disabled={busy === a.id} onClick={() => void decide(a, "approved")}>Approve</button>
              </div>
            )}
            {a.conversation && <p><Link to={`/chats/${a.conversation}`} className="btn btn-secondary">Open the conversation</Link></p>}
          </li>
        ))}
      </ul>
    </section>
  );
}

function InviteCreator({ c }: { c: CampaignView }) {
  const [creator, setCreator] = useState("");
  const [brief, setBrief] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [msg, setMsg] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const key = useRef(newKey("invite"));
  if (c.status !== "published") return null;
  const send = async (e: FormEvent) => {
    e.preventDefault();
    if (!/^[0-9a-f-]{36}$/i.test(creator.trim())) return setErrors({ creator: "paste the creator's Pactum ID (from their profile)" });
    setErrors({});
    setMsg(null);
    try {
      await invite(c.id, key.current, creator.trim(), brief);
      key.current = newKey("invite");
      setCreator("");
      setBrief("");
      setMsg({ kind: "ok", text: "Invitation sent." });
    } catch (x) {
      if (x instanceof ApiError && Object.keys(x.fields).length) setErrors(x.fields);
      else setMsg({ kind: "error", text: x instanceof ApiError && x.status === 404 ? "There is no creator with this Pactum ID." : errorText(x) });
    }
  };
  return (
    <form className="card" aria-label="Invite a creator" onSubmit={send} noValidate>
      <h2>Invite a creator</h2>
      {msg && <Notice kind={msg.kind}>{msg.text}</Notice>}
      <Field label="Creator's Pactum ID" error={errors.creator}>
        {(a) => <input {...a} value={creator} onChange={(e) => setCreator(e.target.value)} autoComplete="off" />}
      </Field>
      <Field label="Personal note (optional)" error={errors.brief}>
        {(a) => <textarea {...a} rows={2} value={brief} onChange={(e) => setBrief(e.target.value)} />}
      </Field>
      <div className="actions"><button className="btn btn-secondary">Send invitation</button></div>
    </form>
  );
}

/** The creator's own application, read from the campaign's feed (which shows them only their own). */
function ownApplication(events: CampaignEvent[], me: string) {
  let app: { id: number; proposal: string; amount: number; outcome: string; reason?: string; conversation?: string } | null = null;
  for (const e of events) {
    if (e.type === "application.submitted" && e.event.creator === me) app = { id: e.seq, proposal: e.event.proposal ?? "", amount: e.event.amount ?? 0, outcome: "pending" };
    if (e.type === "application.decided" && app && e.event.application === app.id)
      app = { ...app, outcome: e.event.outcome, reason: e.event.reason, conversation: e.event.conversation };
  }
  return app;
}

function ApplyPanel({ c, tick }: { c: CampaignView; tick: number }) {
  const me = currentSession()!.user;
  const [events, setEvents] = useState<CampaignEvent[] | null>(null);
  const [proposal, setProposal] = useState("");
  const [amount, setAmount] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [failure, setFailure] = useState("");
  const [busy, setBusy] = useState(false);
  const key = useRef(newKey("apply"));
  useEffect(() => {
    (async () => {
      const all: CampaignEvent[] = [];
      let after = 0;
      for (;;) {
        const r = await campaignUpdates(c.id, after);
        all.push(...r.events);
        if (r.next_after === null || r.next_after === undefined || r.next_after <= after || !r.events.length) break;
        after = r.next_after;
      }
      setEvents(all);
    })().catch((e) => setFailure(errorText(e)));
  }, [c.id, tick]);
  if (!events) return failure ? <Notice kind="error">{failure}</Notice> : null;
  const app = ownApplication(events, me.id);
  // invited: the invitation (shown above) is their way in; applying as well is refused (409)
  const invited = events.some((e) => e.type === "invitation.sent" && e.event.creator === me.id);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const local: Errors = {};
    if (!proposal.trim()) local.proposal = "tell the brand why you are a fit";
    if (amount && !(Number(amount) > 0)) local.amount = "must be an amount, e.g. 450";
    setErrors(local);
    if (Object.keys(local).length) return;
    setBusy(true);
    setFailure("");
    try {
      await apply(c.id, key.current, proposal, amount ? toMinor(amount) : undefined);
      key.current = newKey("apply");
    } catch (x) {
      if (x instanceof ApiError && Object.keys(x.fields).length) setErrors(x.fields);
      else setFailure(errorText(x));
    } finally {
      setBusy(false);
    }
  };
  if (app)
    return (
      <section className="card" aria-label="Your application">
        <div className="campaign-card-head">
          <h2>Your application</h2>
          <span className={`badge badge-${app.outcome}`} data-testid="application-status">{APP_TEXT[app.outcome] ?? app.outcome}</span>
        </div>
        <p className="pre">{app.proposal}</p>
        {app.amount > 0 && <p className="muted small">You asked {money(app.amount, c.currency)}</p>}
        {app.outcome === "pending" && <p className="muted">The brand decides soon; this page updates by itself.</p>}
        {app.reason && <p className="muted">“{app.reason}”</p>}
        {app.conversation && <p><Link to={`/chats/${app.conversation}`} className="btn btn-primary">Open the conversation</Link></p>}
        {failure && <Notice kind="error">{failure}</Notice>}
        {app.outcome === "pending" && (
          <div className="actions">
            <button className="btn btn-ghost" onClick={() => withdrawApplication(c.id, app.id, newKey("withdraw")).catch((e) => setFailure(errorText(e)))}>Withdraw application</button>
          </div>
        )}
      </section>
    );
  if (invited) return null;
  if (c.status !== "published") return <section className="card"><p className="muted">This campaign is {STATUS_TEXT[c.status]?.toLowerCase()}: it takes no applications now.</p></section>;
  return (
    <form className="card" aria-label="Apply" onSubmit={submit} noValidate>
      <h2>Apply</h2>
      {failure && <Notice kind="error">{failure}</Notice>}
      <Field label="Your proposal" error={errors.proposal} hint="Up to 2,000 characters: your idea, your audience, past work">
        {(a) => <textarea {...a} rows={5} maxLength={2000} value={proposal} onChange={(e) => setProposal(e.target.value)} />}
      </Field>
      <Field label={`Your price in ${c.currency} (optional)`} error={errors.amount}>
        {(a) => <input {...a} inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />}
      </Field>
      <div className="actions"><button className="btn btn-primary" disabled={busy}>Send application</button></div>
    </form>
  );
}

export function Campaigns() {
  return currentSession()!.user.role === "brand" ? <BrandCampaigns /> : <Marketplace />;
}
