// A brand's campaign analytics (`/campaigns/:id/analytics`): all-time totals, the time series for a
// bucket size (small multiples drawn as inline SVG, each with its table), the per-creator breakdown
// (table with bars) and the invalid traffic with its reasons. Live: `analytics.subscribe` on open
// (and after every reconnect), `analytics.updated` replaces the totals and the breakdown and reads
// the series and the invalid traffic again; `analytics.unsubscribe` on leaving.
// Below: the brand's products and the campaign's affiliate links, made here for its creators.

import { FormEvent, useCallback, useEffect, useRef, useState } from "react";
import {
  AffiliateLink, Bucket, BUCKET_MS, BUCKET_SPAN, campaignLinks, createLink, createProduct, CreatorFigures, Figures,
  InvalidEvent, invalidTraffic, performance, Performance, Product, products, REASONS,
} from "../analytics";
import { ApiError, creatorProfile } from "../api";
import { applications, CampaignView, getCampaign } from "../campaigns";
import { money, time } from "../format";
import { useStore } from "../store";
import { errorText, Field, Link, Notice } from "../ui";

const PAGE = 50; // invalid events per page (analytics.ts asks for 50)

type Live = { totals: Figures; creators: CreatorFigures[] };

export function AnalyticsPage({ id }: { id: string }) {
  const store = useStore();
  const [c, setC] = useState<CampaignView | null>(null);
  const [failure, setFailure] = useState("");
  const [bucket, setBucket] = useState<Bucket>("minute");
  const [perf, setPerf] = useState<Performance | null>(null);
  const [live, setLive] = useState<Live | null>(null);
  const [liveState, setLiveState] = useState<"off" | "on" | "error">("off");
  const [liveError, setLiveError] = useState("");
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [invalidTick, setInvalidTick] = useState(0);

  useEffect(() => {
    getCampaign(id).then(setC, (e) => setFailure(e instanceof ApiError && e.status === 404 ? "There is no such campaign, or it is not yours." : errorText(e)));
  }, [id]);

  const bucketRef = useRef(bucket);
  bucketRef.current = bucket;
  const loadSeries = useCallback(() => {
    const b = bucketRef.current;
    performance(id, b).then((p) => { if (bucketRef.current === b) setPerf(p); }, (e) => setFailure(errorText(e)));
  }, [id]);
  useEffect(loadSeries, [loadSeries, bucket]);

  // The live subscription: again after every reconnect; a push updates the figures at once and
  // reads the series and the invalid traffic again (a push comes at most once a second).
  useEffect(() => {
    let gone = false;
    let timer: number | undefined;
    const subscribe = () => {
      store.conn.request("analytics.subscribe", { campaign: id }).then((r) => {
        if (gone) return;
        const a = r.analytics as Live;
        setLive({ totals: a.totals, creators: a.creators });
        setLiveState("on");
        setLiveError("");
      }, (e) => { if (!gone) { setLiveState("error"); setLiveError(errorText(e)); } });
    };
    const offE = store.conn.onEvent((e) => {
      if (e.stream !== `analytics:${id}` || e.event.type !== "analytics.updated") return;
      setLive({ totals: e.event.totals as Figures, creators: e.event.creators as CreatorFigures[] });
      setUpdatedAt(Date.now());
      clearTimeout(timer);
      timer = window.setTimeout(() => { loadSeries(); setInvalidTick((t) => t + 1); }, 150);
    });
    const offO = store.conn.onOpen(() => { subscribe(); loadSeries(); setInvalidTick((t) => t + 1); });
    if (store.conn.state === "connected") subscribe();
    return () => {
      gone = true;
      clearTimeout(timer);
      offE();
      offO();
      void store.conn.request("analytics.unsubscribe", { campaign: id }, false).catch(() => undefined);
    };
  }, [store, id, loadSeries]);

  if (failure && !c) return <div className="page narrow"><Notice kind="error">{failure}</Notice></div>;
  if (!c) return <div className="page narrow"><p className="muted">Loading…</p></div>;
  const currency = perf?.currency ?? c.currency;
  const totals = live?.totals ?? null;
  const creators = live?.creators ?? [];
  return (
    <div className="page analytics-page">
      <p><Link to={`/campaigns/${id}`}>← {c.details.title}</Link></p>
      <div className="page-head">
        <h1>Analytics: {c.details.title}</h1>
        <span className={`badge ${liveState === "on" ? "badge-published" : ""}`} data-testid="analytics-live">
          {liveState === "on" ? "Live" : liveState === "error" ? "Not live" : "Connecting…"}
        </span>
      </div>
      {failure && <Notice kind="error">{failure}</Notice>}
      {liveState === "error" && <Notice kind="error">Live figures are unavailable: {liveError}</Notice>}
      <section className="card" aria-labelledby="totals-h">
        <h2 id="totals-h">Totals (all time)</h2>
        <p className="muted small" role="status" aria-live="polite">
          {updatedAt ? `Updated ${time(updatedAt)}.` : "Figures update as clicks are classified."}
          {perf ? ` Pricing: ${perf.pricing_model}${perf.rate ? `, rate ${money(perf.rate, currency)}` : ""}.` : ""}
        </p>
        {totals ? <Totals t={totals} currency={currency} /> : <p className="muted">Loading…</p>}
      </section>
      <section className="card" aria-labelledby="series-h">
        <div className="analytics-controls">
          <h2 id="series-h" style={{ flex: 1 }}>Over time</h2>
          <Field label="Bucket">
            {(a) => (
              <select {...a} value={bucket} onChange={(e) => setBucket(e.target.value as Bucket)}>
                <option value="minute">Minute (last 2 hours)</option>
                <option value="hour">Hour (last 7 days)</option>
                <option value="day">Day (last 90 days)</option>
              </select>
            )}
          </Field>
        </div>
        {perf && perf.bucket === bucket ? <Series p={perf} /> : <p className="muted">Loading…</p>}
      </section>
      <section className="card" aria-labelledby="creators-h">
        <h2 id="creators-h">By creator (all time)</h2>
        <Creators rows={creators} currency={currency} />
      </section>
      <InvalidTraffic id={id} tick={invalidTick} creators={creators} />
      <LinksSection c={c} />
    </div>
  );
}

const ratio = (v: number | null, currency: string) => (v === null ? "—" : money(v, currency));

function Totals({ t, currency }: { t: Figures; currency: string }) {
  const rows: [string, string, string][] = [
    ["clicks", "Clicks", String(t.clicks)],
    ["unique_clicks", "Unique clicks", String(t.unique_clicks)],
    ["views", "Views", String(t.views)],
    ["conversions", "Conversions", String(t.conversions)],
    ["revenue", "Revenue", money(t.revenue, currency)],
    ["spend", "Spend", money(t.spend, currency)],
    ["cpc", "CPC", ratio(t.cpc, currency)],
    ["cpv", "CPV", ratio(t.cpv, currency)],
    ["cpa", "CPA", ratio(t.cpa, currency)],
    ["roi", "ROI", t.roi === null ? "—" : `${(t.roi * 100).toFixed(1)} %`],
    ["invalid_clicks", "Invalid clicks", String(t.invalid_clicks)],
    ["invalid_conversions", "Invalid conversions", String(t.invalid_conversions)],
  ];
  return (
    <dl className="kpis">
      {rows.map(([k, label, v]) => (
        <div key={k}>
          <dt>{label}</dt>
          <dd data-testid={`kpi-${k}`}>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

const SERIES: { key: "clicks" | "views" | "conversions" | "spend"; label: string; color: string }[] = [
  { key: "clicks", label: "Clicks", color: "#3b2fc9" },
  { key: "views", label: "Views", color: "#136c3a" },
  { key: "conversions", label: "Conversions", color: "#8a5300" },
  { key: "spend", label: "Spend", color: "#b3261e" },
];

function bucketLabel(ms: number, b: Bucket) {
  const d = new Date(ms);
  if (b === "day") return d.toLocaleDateString("en", { month: "short", day: "numeric", timeZone: "UTC" });
  if (b === "hour") return d.toLocaleString("en", { month: "short", day: "numeric", hour: "2-digit", timeZone: "UTC" });
  return d.toLocaleTimeString("en", { hour: "2-digit", minute: "2-digit", timeZone: "UTC" });
}

/** Four small bar charts over the same buckets (each with its own scale), and their table. */
function Series({ p }: { p: Performance }) {
  const size = BUCKET_MS[p.bucket];
  const n = Math.min(BUCKET_SPAN[p.bucket], Math.max(1, Math.round((p.to - p.from) / size)));
  const byBucket = new Map(p.series.map((s) => [s.bucket, s]));
  const buckets = Array.from({ length: n }, (_, i) => p.from + i * size);
  const fmt = (k: string, v: number) => (k === "spend" ? money(v, p.currency) : String(v));
  return (
    <div data-testid="series">
      <div className="charts">
        {SERIES.map((s) => {
          const values = buckets.map((b) => byBucket.get(b)?.[s.key] ?? 0);
          const total = values.reduce((a, v) => a + v, 0);
          const peak = Math.max(0, ...values);
          return (
            <figure key={s.key} className="chart-fig">
              <figcaption><span className="swatch" style={{ background: s.color }} aria-hidden="true" /> {s.label}: {fmt(s.key, total)}</figcaption>
              <BarChart values={values} buckets={buckets} bucket={p.bucket} color={s.color} testid={`chart-${s.key}`}
                label={`${s.label} per ${p.bucket}, ${bucketLabel(buckets[0], p.bucket)} to ${bucketLabel(buckets[n - 1], p.bucket)} UTC: total ${fmt(s.key, total)}, peak ${fmt(s.key, peak)}`}
                fmt={(v) => fmt(s.key, v)} />
            </figure>
          );
        })}
      </div>
      <details className="table-alt">
        <summary>Show the figures as a table</summary>
        {p.series.length === 0 ? (
          <p className="muted">No events in this range.</p>
        ) : (
          <div className="table-wrap">
            <table className="table" data-testid="series-table">
              <caption className="sr-only">Figures per {p.bucket} (UTC), buckets with events</caption>
              <thead><tr><th scope="col">{p.bucket} (UTC)</th>{SERIES.map((s) => <th scope="col" key={s.key}>{s.label}</th>)}</tr></thead>
              <tbody>
                {p.series.map((pt) => (
                  <tr key={pt.bucket}><th scope="row">{bucketLabel(pt.bucket, p.bucket)}</th>{SERIES.map((s) => <td key={s.key}>{fmt(s.key, pt[s.key])}</td>)}</tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </details>
    </div>
  );
}

function BarChart(props: { values: number[]; buckets: number[]; bucket: Bucket; color: string; label: string; testid: string; fmt: (v: number) => string }) {
  const W = 480, H = 140, left = 36, bottom = 20, top = 8;
  const n = props.values.length;
  const peak = Math.max(1, ...props.values);
  const step = (W - left) / n;
  const bw = Math.max(1, step * 0.8);
  const y = (v: number) => top + (H - top - bottom) * (1 - v / peak);
  const ticks = [0, Math.round(peak / 2), peak].filter((v, i, a) => a.indexOf(v) === i);
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={props.label} data-testid={props.testid}
      data-total={props.values.reduce((a, v) => a + v, 0)}>
      {ticks.map((t) => (
        <g key={t}>
          <line x1={left} x2={W} y1={y(t)} y2={y(t)} stroke="#dfe2ec" />
          <text x={left - 4} y={y(t) + 4} textAnchor="end">{t}</text>
        </g>
      ))}
      {props.values.map((v, i) =>
        v > 0 ? (
          <rect key={i} x={left + i * step + (step - bw) / 2} y={y(v)} width={bw} height={H - bottom - y(v)} fill={props.color}>
            <title>{`${bucketLabel(props.buckets[i], props.bucket)}: ${props.fmt(v)}`}</title>
          </rect>
        ) : null,
      )}
      <text x={left} y={H - 4}>{bucketLabel(props.buckets[0], props.bucket)}</text>
      <text x={W} y={H - 4} textAnchor="end">{bucketLabel(props.buckets[n - 1], props.bucket)}</text>
    </svg>
  );
}

function Creators({ rows, currency }: { rows: CreatorFigures[]; currency: string }) {
  if (rows.length === 0) return <p className="muted">No clicks or conversions yet.</p>;
  const sorted = [...rows].sort((a, b) => b.clicks - a.clicks || a.creator.display_name.localeCompare(b.creator.display_name));
  const fmt = (k: string, v: number) => (k === "spend" ? money(v, currency) : String(v));
  return (
    <>
      <div className="charts" data-testid="creator-charts">
        {SERIES.map((s) => {
          const total = sorted.reduce((a, r) => a + r[s.key], 0);
          return (
            <figure key={s.key} className="chart-fig">
              <figcaption><span className="swatch" style={{ background: s.color }} aria-hidden="true" /> {s.label} by creator</figcaption>
              <HBarChart color={s.color} testid={`creator-chart-${s.key}`}
                rows={sorted.map((r) => ({ label: r.creator.display_name, value: r[s.key] }))} fmt={(v) => fmt(s.key, v)}
                label={`${s.label} by creator: ${sorted.map((r) => `${r.creator.display_name} ${fmt(s.key, r[s.key])}`).join(", ")}; total ${fmt(s.key, total)}`} />
            </figure>
          );
        })}
      </div>
      <div className="table-wrap">
        <table className="table" data-testid="creator-table">
          <caption className="sr-only">Figures per creator, all time</caption>
          <thead>
            <tr>
              <th scope="col">Creator</th><th scope="col">Clicks</th><th scope="col">Unique</th><th scope="col">Views</th><th scope="col">Conversions</th>
              <th scope="col">Revenue</th><th scope="col">Spend</th><th scope="col">Invalid clicks</th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((r) => (
              <tr key={r.creator.id} data-testid="creator-row">
                <th scope="row">{r.creator.display_name}</th>
                <td>{r.clicks}</td><td>{r.unique_clicks}</td><td>{r.views}</td><td>{r.conversions}</td>
                <td>{money(r.revenue, currency)}</td><td>{money(r.spend, currency)}</td><td>{r.invalid_clicks}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** One horizontal bar per creator, scaled to the largest; the value is written next to each bar. */
function HBarChart(props: { rows: { label: string; value: number }[]; color: string; label: string; testid: string; fmt: (v: number) => string }) {
  const W = 480, row = 26, left = 130, right = 70;
  const H = props.rows.length * row + 4;
  const peak = Math.max(1, ...props.rows.map((r) => r.value));
  const short = (t: string) => (t.length > 18 ? t.slice(0, 17) + "…" : t);
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={props.label} data-testid={props.testid}>
      {props.rows.map((r, i) => {
        const w = ((W - left - right) * r.value) / peak;
        const y = 2 + i * row;
        return (
          <g key={i}>
            <text x={left - 6} y={y + row / 2 + 4} textAnchor="end" className="hbar-label">{short(r.label)}</text>
            <rect x={left} y={y + 5} width={Math.max(r.value > 0 ? 2 : 0, w)} height={row - 10} rx={3} fill={props.color} />
            <text x={left + w + 6} y={y + row / 2 + 4}>{props.fmt(r.value)}</text>
          </g>
        );
      })}
    </svg>
  );
}

function InvalidTraffic({ id, tick, creators }: { id: string; tick: number; creators: CreatorFigures[] }) {
  const [kind, setKind] = useState<"click" | "conversion">("click");
  const [events, setEvents] = useState<InvalidEvent[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [failure, setFailure] = useState("");
  useEffect(() => {
    invalidTraffic(id, kind).then((r) => { setEvents(r.events); setNext(r.events.length < PAGE ? null : r.next_before); setFailure(""); }, (e) => setFailure(errorText(e)));
  }, [id, kind, tick]);
  const names = new Map(creators.map((c) => [c.creator.id, c.creator.display_name]));
  const older = () => {
    if (next === null) return;
    invalidTraffic(id, kind, next).then((r) => { setEvents((e) => [...e, ...r.events.filter((x) => !e.some((y) => y.id === x.id))]); setNext(r.events.length < PAGE ? null : r.next_before); }, (e) => setFailure(errorText(e)));
  };
  return (
    <section className="card" aria-labelledby="invalid-h">
      <div className="analytics-controls">
        <h2 id="invalid-h" style={{ flex: 1 }}>Invalid traffic</h2>
        <Field label="Kind">
          {(a) => (
            <select {...a} value={kind} onChange={(e) => setKind(e.target.value as "click" | "conversion")}>
              <option value="click">Clicks</option>
              <option value="conversion">Conversions</option>
            </select>
          )}
        </Field>
      </div>
      <p className="muted small">Excluded from every figure and from billing.</p>
      {failure && <Notice kind="error">{failure}</Notice>}
      {events.length === 0 ? (
        <p className="muted">Nothing was excluded.</p>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="invalid-table">
            <thead><tr><th scope="col">When</th><th scope="col">Reason</th><th scope="col">Creator</th><th scope="col">{kind === "click" ? "User agent" : "Order"}</th></tr></thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.id} data-testid="invalid-event">
                  <td>{time(e.at)}</td>
                  <td><span data-reason={e.reason}>{REASONS[e.reason] ?? e.reason}</span> <code>{e.reason}</code></td>
                  <td>{e.creator ? names.get(e.creator) ?? e.creator.slice(0, 8) : "—"}</td>
                  <td>{kind === "click" ? e.user_agent || "(none)" : `${e.order_id ?? ""} ${e.amount !== undefined && e.currency ? money(e.amount, e.currency) : ""}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next !== null && <button className="btn btn-ghost" onClick={older}>Show older</button>}
    </section>
  );
}

/** Products (the brand's catalog) and a link per creator and product for this campaign. */
function LinksSection({ c }: { c: CampaignView }) {
  const [list, setList] = useState<Product[]>([]);
  const [links, setLinks] = useState<AffiliateLink[]>([]);
  const [creators, setCreators] = useState<{ id: string; name: string }[]>([]);
  const [failure, setFailure] = useState("");
  const reload = useCallback(() => {
    products().then((r) => setList(r.products), (e) => setFailure(errorText(e)));
    campaignLinks(c.id).then((r) => setLinks(r.links), (e) => setFailure(errorText(e)));
  }, [c.id]);
  useEffect(reload, [reload]);
  useEffect(() => {
    // the creators with standing in the campaign: approved applications
    applications(c.id).then(async (r) => {
      const ids = [...new Set(r.applications.filter((a) => a.outcome === "approved").map((a) => a.creator))];
      const named = await Promise.all(ids.map((id) => creatorProfile(id).then((p) => ({ id, name: p.display_name }), () => ({ id, name: id }))));
      setCreators(named);
    }, (e) => setFailure(errorText(e)));
  }, [c.id]);
  const productName = new Map(list.map((p) => [p.id, p.name]));
  const creatorName = new Map(creators.map((x) => [x.id, x.name]));
  return (
    <section className="card" aria-labelledby="links-h">
      <h2 id="links-h">Products and affiliate links</h2>
      <p className="muted small">Each link sends visitors to the product (with UTM parameters) and counts the click for its creator.</p>
      {failure && <Notice kind="error">{failure}</Notice>}
      <NewProduct currency={c.currency} onMade={reload} />
      <NewLink c={c} products={list} creators={creators} onMade={reload} />
      {links.length === 0 ? (
        <p className="muted">No links yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead><tr><th scope="col">Creator</th><th scope="col">Product</th><th scope="col">Link</th></tr></thead>
            <tbody>
              {links.map((l) => (
                <tr key={l.code} data-testid="affiliate-link">
                  <td>{creatorName.get(l.creator_id) ?? l.creator_id.slice(0, 8)}</td>
                  <td>{productName.get(l.product_id) ?? "—"}</td>
                  <td><code data-code={l.code}>{`${location.origin}${l.path}`}</code></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function NewProduct({ currency, onMade }: { currency: string; onMade: () => void }) {
  const [f, setF] = useState({ sku: "", name: "", category: "", url: "", price: "", currency });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [note, setNote] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const price = Math.round(Number(f.price) * 100);
    if (f.price.trim() === "" || !Number.isFinite(price) || price < 0) {
      setErrors({ price: "Enter a price, e.g. 49.90" });
      return;
    }
    setBusy(true);
    setNote(null);
    setErrors({});
    try {
      const r = await createProduct({ sku: f.sku.trim(), name: f.name.trim(), category: f.category.trim(), url: f.url.trim(), price, currency: f.currency.trim().toUpperCase() });
      setNote({ kind: "ok", text: `Product “${r.product.name}” added.` });
      setF({ sku: "", name: "", category: "", url: "", price: "", currency: f.currency });
      onMade();
    } catch (err) {
      if (err instanceof ApiError) setErrors(err.fields);
      setNote({ kind: "error", text: errorText(err) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} noValidate aria-label="New product">
      <fieldset>
        <legend>Add a product</legend>
        <div className="row3">
          <Field label="SKU" error={errors.sku}>{(a) => <input {...a} value={f.sku} onChange={set("sku")} />}</Field>
          <Field label="Product name" error={errors.name}>{(a) => <input {...a} value={f.name} onChange={set("name")} />}</Field>
          <Field label="Category" error={errors.category}>{(a) => <input {...a} value={f.category} onChange={set("category")} />}</Field>
        </div>
        <Field label="Product URL" error={errors.url}>{(a) => <input {...a} type="url" value={f.url} onChange={set("url")} placeholder="https://shop.example/item" />}</Field>
        <div className="row3">
          <Field label="Price" error={errors.price}>{(a) => <input {...a} inputMode="decimal" value={f.price} onChange={set("price")} />}</Field>
          <Field label="Currency" error={errors.currency}>{(a) => <input {...a} value={f.currency} onChange={set("currency")} maxLength={3} />}</Field>
          <div><button className="btn btn-secondary" disabled={busy} style={{ marginTop: "1.65rem" }}>Add product</button></div>
        </div>
        {note && <Notice kind={note.kind}>{note.text}</Notice>}
      </fieldset>
    </form>
  );
}

function NewLink({ c, products: list, creators, onMade }: { c: CampaignView; products: Product[]; creators: { id: string; name: string }[]; onMade: () => void }) {
  const [product, setProduct] = useState("");
  const [creator, setCreator] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [note, setNote] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const p = product || list[0]?.id || "";
  const who = creator || creators[0]?.id || "";
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setNote(null);
    setErrors({});
    try {
      const r = await createLink(c.id, p, who);
      setNote({ kind: "ok", text: r.created ? "Link created." : "This creator already has a link for this product." });
      onMade();
    } catch (err) {
      if (err instanceof ApiError) setErrors(err.fields);
      setNote({ kind: "error", text: errorText(err) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} aria-label="New affiliate link">
      <fieldset>
        <legend>Create a link for a creator</legend>
        {creators.length === 0 ? (
          <p className="muted">Approve a creator's application first: links are made for the campaign's creators.</p>
        ) : list.length === 0 ? (
          <p className="muted">Add a product first.</p>
        ) : (
          <div className="row3">
            <Field label="Creator" error={errors.creator_id}>
              {(a) => <select {...a} value={who} onChange={(e) => setCreator(e.target.value)}>{creators.map((x) => <option key={x.id} value={x.id}>{x.name}</option>)}</select>}
            </Field>
            <Field label="Product" error={errors.product_id}>
              {(a) => <select {...a} value={p} onChange={(e) => setProduct(e.target.value)}>{list.map((x) => <option key={x.id} value={x.id}>{x.name} ({x.sku})</option>)}</select>}
            </Field>
            <div><button className="btn btn-primary" disabled={busy || !p || !who} style={{ marginTop: "1.65rem" }}>Create link</button></div>
          </div>
        )}
        {note && <Notice kind={note.kind}>{note.text}</Notice>}
      </fieldset>
    </form>
  );
}
