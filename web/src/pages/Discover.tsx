// Creator discovery for brands (docs/api.md, Creator search and Matching): search every creator by
// every parameter `GET /api/v1/search/influencers` takes, page on with its cursor ("Show more"), and
// for one of the brand's campaigns the ranked matches (`GET /api/v1/brands/campaigns/{id}/matches`)
// with each factor's weight and score. Any result can be invited to a published campaign.
import { FormEvent, useEffect, useRef, useState } from "react";
import { ApiError, newKey } from "../api";
import {
  AGE_BANDS, campaignMatches, CampaignRow, CreatorMatch, invite, myCampaigns, PublicCreator, searchCreators, SearchResult,
} from "../campaigns";
import { DELIVERABLE_TYPES, money } from "../format";
import { MatchScore, Reasons } from "../reasons";
import { Empty, errorText, Field, Link, Notice, tabKeys } from "../ui";
import { NICHES } from "./Profile";

const PLATFORMS = ["tiktok", "instagram", "youtube", "twitch", "x", "facebook", "snapchat", "pinterest", "linkedin"];
// the profile's audience bands (docs/api.md, Taxonomy); the campaign's 55+ is 55-64 and 65+ here
const AUDIENCE_AGES = [...AGE_BANDS.filter((b) => b !== "55+"), "55-64", "65+"];

interface Filters {
  q: string; niche: string[]; platform: string; followers_min: string; followers_max: string;
  engagement_min: string; engagement_max: string; audience_country: string; audience_age: string; audience_min_share: string;
  country: string; lat: string; lon: string; radius_km: string; language: string;
  rate_currency: string; rate_type: string; rate_min: string; rate_max: string; sort: string;
}
const EMPTY: Filters = {
  q: "", niche: [], platform: "", followers_min: "", followers_max: "", engagement_min: "", engagement_max: "",
  audience_country: "", audience_age: "", audience_min_share: "", country: "", lat: "", lon: "", radius_km: "", language: "",
  rate_currency: "", rate_type: "", rate_min: "", rate_max: "", sort: "",
};
/** Amounts are typed in major units; the API takes minor units (a non-number goes as typed, for the server to name). */
const minor = (s: string) => (s.trim() === "" ? undefined : Number.isFinite(Number(s)) ? String(Math.round(Number(s) * 100)) : s.trim());
const up = (s: string) => s.trim().toUpperCase() || undefined;
const csv = (s: string) => s.split(/[\s,]+/).filter(Boolean).join(",").toLowerCase() || undefined;

function query(f: Filters, cursor?: string): Record<string, string | undefined> {
  const t = (s: string) => s.trim() || undefined;
  return {
    q: t(f.q), niche: f.niche.join(",") || undefined, platform: t(f.platform),
    followers_min: t(f.followers_min), followers_max: t(f.followers_max), engagement_min: t(f.engagement_min), engagement_max: t(f.engagement_max),
    audience_country: up(f.audience_country), audience_age: t(f.audience_age), audience_min_share: t(f.audience_min_share),
    country: up(f.country), lat: t(f.lat), lon: t(f.lon), radius_km: t(f.radius_km), language: csv(f.language),
    rate_currency: up(f.rate_currency), rate_type: t(f.rate_type), rate_min: minor(f.rate_min), rate_max: minor(f.rate_max),
    sort: t(f.sort), limit: "20", cursor,
  };
}

export function Discover() {
  const [tab, setTab] = useState<"search" | "matches">(() => (new URLSearchParams(location.search).get("campaign") ? "matches" : "search"));
  const [campaigns, setCampaigns] = useState<CampaignRow[]>([]);
  useEffect(() => {
    myCampaigns({ limit: 100 }).then((r) => setCampaigns(r.campaigns.filter((c) => c.status !== "cancelled" && c.status !== "completed")), () => undefined);
  }, []);
  const tabs: [typeof tab, string][] = [["search", "Search creators"], ["matches", "Matches for a campaign"]];
  return (
    <div className="page">
      <h1>Find creators</h1>
      <div className="tabs" role="tablist" aria-label="Find creators" onKeyDown={tabKeys}>
        {tabs.map(([k, l]) => (
          <button key={k} id={`tab-${k}`} role="tab" aria-selected={tab === k} tabIndex={tab === k ? 0 : -1} aria-controls={`panel-${k}`} className={"tab" + (tab === k ? " on" : "")} onClick={() => setTab(k)}>{l}</button>
        ))}
      </div>
      <div id={`panel-${tab}`} role="tabpanel" aria-labelledby={`tab-${tab}`}>
        {tab === "search" ? <Search campaigns={campaigns} /> : <Matches campaigns={campaigns} />}
      </div>
    </div>
  );
}

function Search({ campaigns }: { campaigns: CampaignRow[] }) {
  const [f, setF] = useState<Filters>(EMPTY);
  const [rows, setRows] = useState<SearchResult[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState("");
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const run = async (filters: Filters, cursor?: string) => {
    setBusy(true);
    setFailure("");
    try {
      const r = await searchCreators(query(filters, cursor));
      setErrors({});
      setRows(cursor ? [...(rows ?? []), ...r.results] : r.results);
      setNext(r.next_cursor);
      setApplied(filters);
    } catch (e) {
      if (e instanceof ApiError && Object.keys(e.fields).length) {
        setErrors(e.fields);
        setFailure("Some filters are not valid: see the highlighted fields.");
      } else setFailure(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => void run(EMPTY), []); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [errors]);
  const set = (k: keyof Filters) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const input = (k: keyof Filters, label: string, props: Record<string, unknown> = {}, hint?: string) => (
    <Field label={label} error={errors[k]} hint={hint}>
      {(a) => <input {...a} {...props} value={f[k] as string} onChange={set(k)} />}
    </Field>
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(f);
  };
  return (
    <div className="discover-grid">
      <form ref={formRef} className="card filters-form" role="search" aria-label="Creator filters" onSubmit={submit} noValidate>
        <h2>Filters</h2>
        {input("q", "Words in the bio", { type: "search", maxLength: 200 }, "All words must occur; \"a phrase\", or, -word")}
        <Group title="Niches (any of)" keys={["niche"]} f={f} errors={errors}>
        <fieldset className={errors.niche ? "has-error" : ""}>
          <legend className="sr-only">Niches (any of)</legend>
          <div className="chips">
            {NICHES.map((n) => (
              <label key={n} className={"chip" + (f.niche.includes(n) ? " on" : "")}>
                <input type="checkbox" checked={f.niche.includes(n)} onChange={(e) => setF({ ...f, niche: e.target.checked ? [...f.niche, n] : f.niche.filter((x) => x !== n) })} />
                {n}
              </label>
            ))}
          </div>
          {errors.niche && <p className="field-error" role="alert">{errors.niche}</p>}
        </fieldset>
        </Group>
        <Field label="Platform" error={errors.platform} hint="With a platform, followers and engagement are that account's">
          {(a) => (
            <select {...a} value={f.platform} onChange={set("platform")}>
              <option value="">Any</option>
              {PLATFORMS.map((p) => <option key={p} value={p}>{p}</option>)}
            </select>
          )}
        </Field>
        <div className="row2">
          {input("followers_min", "Followers from", { inputMode: "numeric" })}
          {input("followers_max", "Followers up to", { inputMode: "numeric" })}
        </div>
        <div className="row2">
          {input("engagement_min", "Engagement from (%)", { inputMode: "decimal" })}
          {input("engagement_max", "Engagement up to (%)", { inputMode: "decimal" })}
        </div>
        <Group title="Audience" keys={["audience_country", "audience_age", "audience_min_share"]} f={f} errors={errors}>
          <div className="row2">
            {input("audience_country", "Audience country", { maxLength: 2 }, "e.g. DE")}
            <Field label="Audience age" error={errors.audience_age}>
              {(a) => (
                <select {...a} value={f.audience_age} onChange={set("audience_age")}>
                  <option value="">Any</option>
                  {AUDIENCE_AGES.map((b) => <option key={b} value={b}>{b}</option>)}
                </select>
              )}
            </Field>
          </div>
          {input("audience_min_share", "Least audience share there (%)", { inputMode: "decimal", placeholder: "10" })}
        </Group>
        <Group title="Where the creator lives" keys={["country", "lat", "lon", "radius_km"]} f={f} errors={errors}>
          {input("country", "Country", { maxLength: 2 }, "e.g. DE")}
          <p className="hint">Or within a distance of a point:</p>
          <div className="row2">
            {input("lat", "Latitude", { inputMode: "decimal", placeholder: "52.52" })}
            {input("lon", "Longitude", { inputMode: "decimal", placeholder: "13.40" })}
          </div>
          {input("radius_km", "Radius (km)", { inputMode: "decimal" }, "Up to 500 km; all three together")}
        </Group>
        {input("language", "Languages (any of)", {}, "ISO codes, e.g. de, en")}
        <Group title="Rates" keys={["rate_currency", "rate_type", "rate_min", "rate_max"]} f={f} errors={errors}>
          <div className="row2">
            {input("rate_currency", "Rate currency", { maxLength: 3 }, "Needed for rate filters")}
            <Field label="Rate for" error={errors.rate_type}>
              {(a) => (
                <select {...a} value={f.rate_type} onChange={set("rate_type")}>
                  <option value="">Any</option>
                  {DELIVERABLE_TYPES.map(([k, l]) => <option key={k} value={k}>{l}</option>)}
                </select>
              )}
            </Field>
          </div>
          <div className="row2">
            {input("rate_min", "Rate from", { inputMode: "decimal" })}
            {input("rate_max", "Rate up to", { inputMode: "decimal" })}
          </div>
        </Group>
        <Field label="Sort by" error={errors.sort}>
          {(a) => (
            <select {...a} value={f.sort} onChange={set("sort")}>
              <option value="">Best (relevance with words, else followers)</option>
              <option value="followers">Most followers</option>
              <option value="engagement">Highest engagement</option>
              <option value="relevance">Relevance (needs words)</option>
            </select>
          )}
        </Field>
        {errors.cursor && <p className="field-error" role="alert">{errors.cursor}</p>}
        <div className="actions">
          <button type="button" className="btn btn-ghost" onClick={() => { setF(EMPTY); setErrors({}); void run(EMPTY); }}>Clear</button>
          <button className="btn btn-primary" disabled={busy}>Search</button>
        </div>
      </form>
      <section aria-label="Creators found" aria-busy={busy}>
        {failure && <Notice kind="error">{failure}</Notice>}
        <p className="sr-only" role="status">{rows ? `${rows.length} creators shown${next ? ", more available" : ""}` : ""}</p>
        {rows && !rows.length && <Empty title="No creators match these filters." />}
        <ul className="creator-list">
          {(rows ?? []).map((r) => (
            <CreatorCard key={r.profile.user_id} c={r.profile} campaigns={campaigns}>
              <Matched m={r.matched} />
            </CreatorCard>
          ))}
        </ul>
        {next && <button className="btn btn-ghost" disabled={busy} onClick={() => void run(applied, next)}>Show more</button>}
      </section>
    </div>
  );
}

/**
 * A group of filters that folds away (the form stays short, on a phone too). It opens by itself when
 * one of its filters is set or has an error; its summary counts the filters set.
 */
function Group(props: { title: string; keys: (keyof Filters)[]; f: Filters; errors: Record<string, string>; children: React.ReactNode }) {
  const set = props.keys.filter((k) => (Array.isArray(props.f[k]) ? props.f[k].length > 0 : String(props.f[k]).trim() !== "")).length;
  const bad = props.keys.some((k) => props.errors[k]);
  const [open, setOpen] = useState(set > 0);
  useEffect(() => {
    if (bad) setOpen(true);
  }, [bad]);
  return (
    <details className={"filter-group" + (bad ? " has-error" : "")} open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>{props.title}{set > 0 ? ` (${set} set)` : ""}</summary>
      <div className="filter-group-body">{props.children}</div>
    </details>
  );
}

function Matched({ m }: { m: SearchResult["matched"] }) {
  const parts = [
    m.platform ? `on ${m.platform}` : "",
    m.engagement_rate !== undefined ? `${m.engagement_rate}% engagement` : "",
    m.audience_country_share !== undefined ? `${m.audience_country_share}% of the audience in the country` : "",
    m.audience_age_share !== undefined ? `${m.audience_age_share}% of the audience in the age band` : "",
    m.rate ? `rate ${money(m.rate.amount, m.rate.currency)} (${m.rate.type.replace(/_/g, " ")})` : "",
  ].filter(Boolean);
  return parts.length ? <p className="small muted facts-line">Matched: {parts.join(" · ")}</p> : null;
}

function CreatorCard(props: { c: PublicCreator; campaigns: CampaignRow[]; campaign?: string; children?: React.ReactNode }) {
  const c = props.c;
  const [open, setOpen] = useState(false);
  const where = [c.location?.city, c.location?.country].filter(Boolean).join(", ");
  return (
    <li className="card creator-card" data-testid="creator">
      <div className="campaign-card-head">
        <h3><Link to={`/creators/${c.user_id}`}>{c.display_name}</Link></h3>
        <button className="btn btn-secondary" aria-expanded={open} onClick={() => setOpen(!open)}>
          Invite<span className="sr-only"> {c.display_name}</span>
        </button>
      </div>
      <p className="small facts-line">
        {[(c.follower_total ?? 0).toLocaleString("en") + " followers", where, (c.languages ?? []).join(", ")].filter(Boolean).join(" · ")}
      </p>
      {c.bio && <p className="bio">{c.bio}</p>}
      {(c.niches ?? []).length > 0 && <p className="chips">{c.niches!.map((n) => <span key={n} className="chip">{n}</span>)}</p>}
      {props.children}
      {open && <InviteForm creator={c} campaigns={props.campaigns} campaign={props.campaign} />}
    </li>
  );
}

function InviteForm({ creator, campaigns, campaign }: { creator: PublicCreator; campaigns: CampaignRow[]; campaign?: string }) {
  const published = campaigns.filter((c) => c.status === "published");
  const [id, setId] = useState(campaign && published.some((c) => c.id === campaign) ? campaign : published[0]?.id ?? "");
  const [brief, setBrief] = useState("");
  const [msg, setMsg] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const key = useRef(newKey("invite"));
  if (!published.length) return <p className="inline-form muted">Publish a campaign to invite creators to it.</p>;
  const send = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setMsg(null);
    try {
      await invite(id, key.current, creator.user_id, brief);
      key.current = newKey("invite");
      setMsg({ kind: "ok", text: `Invitation sent to ${creator.display_name}.` });
    } catch (x) {
      setMsg({ kind: "error", text: errorText(x) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="inline-form" aria-label={`Invite ${creator.display_name}`} onSubmit={send}>
      {msg && <Notice kind={msg.kind}>{msg.text}</Notice>}
      <Field label="Campaign">
        {(a) => (
          <select {...a} value={id} onChange={(e) => setId(e.target.value)}>
            {published.map((c) => <option key={c.id} value={c.id}>{c.title}</option>)}
          </select>
        )}
      </Field>
      <Field label="Personal note (optional)">
        {(a) => <textarea {...a} rows={2} value={brief} onChange={(e) => setBrief(e.target.value)} />}
      </Field>
      <div className="actions"><button className="btn btn-primary" disabled={busy}>Send invitation</button></div>
    </form>
  );
}

function Matches({ campaigns }: { campaigns: CampaignRow[] }) {
  const [id, setId] = useState(() => new URLSearchParams(location.search).get("campaign") ?? "");
  const [r, setR] = useState<{ matches: CreatorMatch[]; considered: number; eligible: number } | null>(null);
  const [failure, setFailure] = useState("");
  useEffect(() => {
    if (!id && campaigns.length) setId(campaigns[0].id);
  }, [id, campaigns]);
  useEffect(() => {
    if (!id) return;
    setR(null);
    setFailure("");
    campaignMatches(id, 20).then(setR, (e) => setFailure(errorText(e)));
  }, [id]);
  if (!campaigns.length) return <Empty title="No campaigns yet"><p><Link to="/campaigns/new">Create a campaign</Link> to see the creators that fit it.</p></Empty>;
  return (
    <section aria-label="Matches" aria-busy={Boolean(id && !r && !failure)}>
      <div className="card filters">
        <Field label="Campaign" hint="The creators that fit it best, and why">
          {(a) => (
            <select {...a} value={id} onChange={(e) => setId(e.target.value)}>
              {campaigns.map((c) => <option key={c.id} value={c.id}>{c.title} ({c.status})</option>)}
            </select>
          )}
        </Field>
      </div>
      {failure && <Notice kind="error">{failure}</Notice>}
      {r && <p className="muted small" role="status">{r.matches.length} best of {r.eligible} eligible creators ({r.considered} considered)</p>}
      {r && !r.matches.length && <Empty title="No creator fits this campaign yet." />}
      <ul className="creator-list">
        {(r?.matches ?? []).map((m) => (
          <CreatorCard key={m.creator.user_id} c={m.creator} campaigns={campaigns} campaign={id}>
            <p className="facts-line">#{m.rank} · <MatchScore score={m.score} /></p>
            <Reasons reasons={m.reasons} label={`Why ${m.creator.display_name} fits`} />
          </CreatorCard>
        ))}
      </ul>
    </section>
  );
}
