import { FormEvent, useEffect, useRef, useState } from "react";
import { ApiError, brandProfile, changePassword, creatorProfile, currentSession, logoutEverywhere, ownProfile, Profile, Role, saveProfile } from "../api";
import { deliverableLabel, DELIVERABLE_TYPES, money } from "../format";
import { navigate } from "../router";
import { useStore } from "../store";
import { errorText, Field, Notice } from "../ui";

export const NICHES = ["art", "automotive", "beauty", "business", "comedy", "diy", "education", "entertainment", "family", "fashion", "finance", "fitness", "food", "gaming", "health", "home", "lifestyle", "music", "outdoors", "pets", "photography", "science", "sports", "sustainability", "tech", "travel"];
const PLATFORMS = ["tiktok", "instagram", "youtube", "twitch", "x", "facebook", "snapchat", "pinterest", "linkedin"];

type Errors = Record<string, string>;
/** The API's error for a field path, or for anything below it ("niches" also shows "niches[1]"). */
function err(errors: Errors, path: string): string | undefined {
  if (errors[path]) return errors[path];
  const below = Object.entries(errors).filter(([k]) => k.startsWith(path + "[") || k.startsWith(path + "."));
  return below.length ? below.map(([k, v]) => (k === path ? v : `${k.slice(path.length).replace(/^\./, "")}: ${v}`)).join("; ") : undefined;
}

interface Social { platform: string; handle: string; followers: string; views: string; engagement: string }
interface Rate { type: string; amount: string; currency: string }

export function ProfileForm(props: { role: Role; initial: Profile | null; submitLabel: string; onSaved: (p: Profile) => void; secondary?: JSX.Element }) {
  const p = (props.initial ?? {}) as Record<string, any>;
  const [f, setF] = useState(() => ({
    company_name: p.company_name ?? "",
    industry: p.industry ?? "",
    website: p.website ?? "",
    contact_name: p.contact?.name ?? "",
    contact_email: p.contact?.email ?? "",
    contact_phone: p.contact?.phone ?? "",
    country: p.country ?? p.location?.country ?? "",
    city: p.location?.city ?? "",
    bio: p.bio ?? "",
    niches: (p.niches as string[]) ?? [],
    languages: ((p.languages as string[]) ?? ["en"]).join(", "),
    media_kit_url: p.media_kit_url ?? "",
    social: ((p.social_accounts as any[]) ?? []).map((s) => ({ platform: s.platform, handle: s.handle, followers: String(s.followers ?? 0), views: String(s.average_views ?? 0), engagement: String(s.engagement_rate ?? 0) })) as Social[],
    rates: ((p.rates as any[]) ?? []).map((r) => ({ type: r.type, amount: String(r.amount / 100), currency: r.currency })) as Rate[],
  }));
  const [errors, setErrors] = useState<Errors>({});
  const [status, setStatus] = useState("");
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (!Object.keys(errors).length) return;
    const first = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    if (first) first.focus();
    else formRef.current?.scrollIntoView({ block: "start" });
  }, [errors]);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });

  const body = (): Record<string, unknown> => {
    if (props.role === "brand")
      return {
        company_name: f.company_name, industry: f.industry, ...(f.website ? { website: f.website } : {}),
        contact: { name: f.contact_name, email: f.contact_email, ...(f.contact_phone ? { phone: f.contact_phone } : {}) },
        country: f.country.trim().toUpperCase(),
      };
    return {
      bio: f.bio, niches: f.niches,
      social_accounts: f.social.filter((s) => s.handle).map((s) => ({ platform: s.platform, handle: s.handle, followers: Number(s.followers) || 0, average_views: Number(s.views) || 0, engagement_rate: Number(s.engagement) || 0 })),
      location: { country: f.country.trim().toUpperCase(), ...(f.city ? { city: f.city } : {}) },
      languages: f.languages.split(",").map((l) => l.trim().toLowerCase()).filter(Boolean),
      rates: f.rates.filter((r) => r.amount).map((r) => ({ type: r.type, amount: Math.round(Number(r.amount) * 100), currency: r.currency.trim().toUpperCase() })),
      ...(f.media_kit_url ? { media_kit_url: f.media_kit_url } : {}),
    };
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    // Inline checks before the round trip; the server's own field errors land in the same places.
    const local: Errors = {};
    if (!/^[A-Za-z]{2}$/.test(f.country.trim())) local[props.role === "brand" ? "country" : "location.country"] = "two letters, e.g. DE";
    if (props.role === "brand") {
      if (!f.company_name.trim()) local.company_name = "required";
      if (!f.industry.trim()) local.industry = "required";
      if (!f.contact_name.trim()) local["contact.name"] = "required";
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(f.contact_email)) local["contact.email"] = "must be an email address like name@example.com";
    } else if (f.niches.length === 0) local.niches = "choose 1 to 5 niches";
    else if (f.niches.length > 5) local.niches = "at most 5 niches";
    setErrors(local);
    if (Object.keys(local).length) return;
    setBusy(true);
    setStatus("");
    try {
      const saved = await saveProfile(props.role, body());
      setStatus("Saved.");
      props.onSaved(saved);
    } catch (ex) {
      if (ex instanceof ApiError && Object.keys(ex.fields).length) setErrors(ex.fields);
      setStatus(errorText(ex));
    } finally {
      setBusy(false);
    }
  };

  const e = (path: string) => err(errors, path);
  return (
    <form ref={formRef} onSubmit={submit} noValidate className="form-grid" aria-label={props.role === "brand" ? "Brand profile" : "Creator profile"}>
      {status && <Notice kind={status === "Saved." ? "ok" : "error"}>{status}</Notice>}
      {props.role === "brand" ? (
        <>
          <Field label="Company name" error={e("company_name")}>{(a) => <input {...a} value={f.company_name} onChange={set("company_name")} />}</Field>
          <Field label="Industry" error={e("industry")}>{(a) => <input {...a} value={f.industry} onChange={set("industry")} />}</Field>
          <Field label="Website (optional)" error={e("website")}>{(a) => <input {...a} type="url" placeholder="https://" value={f.website} onChange={set("website")} />}</Field>
          <Field label="Country" hint="ISO code, e.g. DE or US" error={e("country")}>{(a) => <input {...a} maxLength={2} value={f.country} onChange={set("country")} />}</Field>
          <fieldset>
            <legend>Deal contact (shown to a creator only after a deal)</legend>
            <Field label="Contact name" error={e("contact.name")}>{(a) => <input {...a} value={f.contact_name} onChange={set("contact_name")} />}</Field>
            <Field label="Contact email" error={e("contact.email")}>{(a) => <input {...a} type="email" value={f.contact_email} onChange={set("contact_email")} />}</Field>
            <Field label="Contact phone (optional)" error={e("contact.phone")}>{(a) => <input {...a} type="tel" value={f.contact_phone} onChange={set("contact_phone")} />}</Field>
          </fieldset>
        </>
      ) : (
        <>
          <Field label="Bio" error={e("bio")}>{(a) => <textarea {...a} rows={3} value={f.bio} onChange={set("bio")} />}</Field>
          <fieldset className={e("niches") ? "has-error" : ""}>
            <legend>Niches (1 to 5)</legend>
            <div className="chips">
              {NICHES.map((n) => (
                <label key={n} className={"chip" + (f.niches.includes(n) ? " on" : "")}>
                  <input type="checkbox" checked={f.niches.includes(n)} onChange={(ev) => setF({ ...f, niches: ev.target.checked ? [...f.niches, n] : f.niches.filter((x) => x !== n) })} />
                  {n}
                </label>
              ))}
            </div>
            {e("niches") && <p className="field-error" role="alert">{e("niches")}</p>}
          </fieldset>
          <div className="row2">
            <Field label="Country" hint="ISO code, e.g. DE" error={e("location.country")}>{(a) => <input {...a} maxLength={2} value={f.country} onChange={set("country")} />}</Field>
            <Field label="City (optional)" error={e("location.city")}>{(a) => <input {...a} value={f.city} onChange={set("city")} />}</Field>
          </div>
          <Field label="Languages" hint="ISO codes separated by commas, e.g. en, de" error={e("languages")}>{(a) => <input {...a} value={f.languages} onChange={set("languages")} />}</Field>
          <fieldset>
            <legend>Social accounts</legend>
            {f.social.map((s, i) => (
              <div className="row5" key={i}>
                <Field label="Platform">{(a) => <select {...a} value={s.platform} onChange={(ev) => setF({ ...f, social: f.social.map((x, j) => (j === i ? { ...x, platform: ev.target.value } : x)) })}>{PLATFORMS.map((pl) => <option key={pl}>{pl}</option>)}</select>}</Field>
                <Field label="Handle" error={e(`social_accounts[${i}].handle`)}>{(a) => <input {...a} value={s.handle} onChange={(ev) => setF({ ...f, social: f.social.map((x, j) => (j === i ? { ...x, handle: ev.target.value } : x)) })} />}</Field>
                <Field label="Followers" error={e(`social_accounts[${i}].followers`)}>{(a) => <input {...a} inputMode="numeric" value={s.followers} onChange={(ev) => setF({ ...f, social: f.social.map((x, j) => (j === i ? { ...x, followers: ev.target.value } : x)) })} />}</Field>
                <Field label="Average views" error={e(`social_accounts[${i}].average_views`)}>{(a) => <input {...a} inputMode="numeric" value={s.views} onChange={(ev) => setF({ ...f, social: f.social.map((x, j) => (j === i ? { ...x, views: ev.target.value } : x)) })} />}</Field>
                <Field label="Engagement %" error={e(`social_accounts[${i}].engagement_rate`)}>{(a) => <input {...a} inputMode="decimal" value={s.engagement} onChange={(ev) => setF({ ...f, social: f.social.map((x, j) => (j === i ? { ...x, engagement: ev.target.value } : x)) })} />}</Field>
              </div>
            ))}
            <button type="button" className="btn btn-ghost" onClick={() => setF({ ...f, social: [...f.social, { platform: "tiktok", handle: "", followers: "0", views: "0", engagement: "0" }] })}>+ Add a social account</button>
          </fieldset>
          <fieldset>
            <legend>Rates</legend>
            {f.rates.map((r, i) => (
              <div className="row3" key={i}>
                <Field label="Type">{(a) => <select {...a} value={r.type} onChange={(ev) => setF({ ...f, rates: f.rates.map((x, j) => (j === i ? { ...x, type: ev.target.value } : x)) })}>{DELIVERABLE_TYPES.map(([k, l]) => <option key={k} value={k}>{l}</option>)}</select>}</Field>
                <Field label="Price" error={e(`rates[${i}].amount`)}>{(a) => <input {...a} inputMode="decimal" value={r.amount} onChange={(ev) => setF({ ...f, rates: f.rates.map((x, j) => (j === i ? { ...x, amount: ev.target.value } : x)) })} />}</Field>
                <Field label="Currency" error={e(`rates[${i}].currency`)}>{(a) => <input {...a} maxLength={3} value={r.currency} onChange={(ev) => setF({ ...f, rates: f.rates.map((x, j) => (j === i ? { ...x, currency: ev.target.value } : x)) })} />}</Field>
              </div>
            ))}
            <button type="button" className="btn btn-ghost" onClick={() => setF({ ...f, rates: [...f.rates, { type: "tiktok_native_ad", amount: "", currency: "USD" }] })}>+ Add a rate</button>
          </fieldset>
          <Field label="Media kit link (optional)" error={e("media_kit_url")}>{(a) => <input {...a} type="url" placeholder="https://" value={f.media_kit_url} onChange={set("media_kit_url")} />}</Field>
        </>
      )}
      <div className="actions">
        {props.secondary}
        <button className="btn btn-primary" disabled={busy}>{busy ? "Saving…" : props.submitLabel}</button>
      </div>
    </form>
  );
}

export function ProfilePage() {
  const s = currentSession()!;
  const [profile, setProfile] = useState<Profile | null | undefined>(undefined);
  const [error, setError] = useState("");
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    ownProfile(s.user.role).then(setProfile, (e) => setError(errorText(e)));
  }, [s.user.role]);
  return (
    <div className="page narrow">
      <h1>{s.user.role === "creator" ? "Profile & media kit" : "Brand profile"}</h1>
      <section className="card id-card" aria-label="Your Pactum ID">
        <div>
          <p className="muted">Your Pactum ID {s.user.role === "creator" ? "— share it with brands so they can message you" : ""}</p>
          <code data-testid="my-id">{s.user.id}</code>
        </div>
        <button className="btn btn-ghost" onClick={() => navigator.clipboard?.writeText(s.user.id).then(() => setCopied(true), () => undefined)}>
          {copied ? "Copied" : "Copy"}
        </button>
      </section>
      {error && <Notice kind="error">{error}</Notice>}
      {profile && (
        <section className="card" aria-label="How others see you">
          <p className="muted small">How others see you</p>
          <h2>{profile.display_name}</h2>
          <ProfileView p={profile} />
        </section>
      )}
      {profile !== undefined && (
        <section className="card" aria-label="Edit">
          <h2>Edit</h2>
          {profile === null && <Notice>You have no profile yet. Fill it in so the other side knows who you are.</Notice>}
          <ProfileForm key={profile?.version ?? 0} role={s.user.role} initial={profile} submitLabel="Save profile" onSaved={setProfile} />
        </section>
      )}
      <AccountSecurity />
    </div>
  );
}

/** Change the password (other devices are logged out) and log out everywhere. */
function AccountSecurity() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [status, setStatus] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const change = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setStatus(null);
    try {
      await changePassword(current, next);
      setCurrent("");
      setNext("");
      setStatus({ kind: "ok", text: "Password changed. Your other devices were logged out." });
    } catch (err) {
      if (err instanceof ApiError && err.code === "forbidden") setErrors({ current_password: "This is not your current password." });
      else if (err instanceof ApiError && Object.keys(err.fields).length) setErrors(err.fields);
      else if (err instanceof ApiError && err.code === "rate_limited")
        setStatus({ kind: "error", text: `Too many wrong passwords. Try again in ${err.retryAfter ?? 60} seconds.` });
      else setStatus({ kind: "error", text: errorText(err) });
    } finally {
      setBusy(false);
    }
  };
  const everywhere = async () => {
    setBusy(true);
    try {
      await logoutEverywhere();
      navigate("/login");
    } catch (err) {
      setStatus({ kind: "error", text: `Could not log out everywhere: ${errorText(err)}. Your other devices may still be logged in; try again.` });
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="security-title">
      <h2 id="security-title">Account security</h2>
      <form onSubmit={change} noValidate aria-label="Change password">
        {status && <Notice kind={status.kind}>{status.text}</Notice>}
        <Field label="Current password" error={errors.current_password}>
          {(a) => <input {...a} type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required />}
        </Field>
        <Field label="New password" error={errors.new_password} hint="10 to 128 characters">
          {(a) => <input {...a} type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} required />}
        </Field>
        <button className="btn btn-primary" disabled={busy}>Change password</button>
      </form>
      <p className="muted small">Lost a phone or logged in somewhere you should not have? End every login, this one included.</p>
      <button className="btn btn-ghost" onClick={() => void everywhere()} disabled={busy}>Log out everywhere</button>
    </section>
  );
}

export function ProfileView({ p }: { p: Profile }) {
  const x = p as Record<string, any>;
  if (p.role === "brand")
    return (
      <dl className="facts">
        <dt>Company</dt><dd>{x.company_name}</dd>
        <dt>Industry</dt><dd>{x.industry}</dd>
        <dt>Country</dt><dd>{x.country}</dd>
        {x.website && (<><dt>Website</dt><dd>{x.website}</dd></>)}
        {x.contact && (<><dt>Deal contact</dt><dd>{x.contact.name} · {x.contact.email}{x.contact.phone ? ` · ${x.contact.phone}` : ""}</dd></>)}
      </dl>
    );
  return (
    <div className="media-kit">
      {x.bio && <p className="bio">{x.bio}</p>}
      <dl className="facts">
        <dt>Niches</dt><dd>{(x.niches ?? []).join(", ")}</dd>
        <dt>Location</dt><dd>{[x.location?.city, x.location?.country].filter(Boolean).join(", ")}</dd>
        <dt>Languages</dt><dd>{(x.languages ?? []).join(", ")}</dd>
        <dt>Total followers</dt><dd>{(x.follower_total ?? 0).toLocaleString("en")}</dd>
      </dl>
      {(x.social_accounts ?? []).length > 0 && (
        <ul className="plain">{x.social_accounts.map((s: any) => <li key={s.platform + s.handle}><strong>{s.platform}</strong> {s.handle} — {Number(s.followers).toLocaleString("en")} followers</li>)}</ul>
      )}
      {(x.rates ?? []).length > 0 && (
        <ul className="plain">{x.rates.map((r: any) => <li key={r.type + r.currency}>{deliverableLabel(r.type)}: {money(r.amount, r.currency)}</li>)}</ul>
      )}
      {x.media_kit_url && <p>Media kit: <a href={x.media_kit_url} rel="noopener noreferrer" target="_blank">{x.media_kit_url}</a></p>}
    </div>
  );
}

export function PublicProfile({ id, role }: { id: string; role: "creator" | "brand" }) {
  const store = useStore();
  const me = currentSession()!.user;
  const [p, setP] = useState<Profile | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    (role === "creator" ? creatorProfile(id) : brandProfile(id)).then(setP, (e) => setError(e instanceof ApiError && e.status === 404 ? `No ${role} profile with this ID.` : errorText(e)));
  }, [id, role]);
  return (
    <div className="page narrow">
      {error && <Notice kind="error">{error}</Notice>}
      {p && (
        <section className="card">
          <h1>{p.display_name}</h1>
          <ProfileView p={p} />
          {me.role === "brand" && role === "creator" && (
            <button className="btn btn-primary" onClick={() => store.openWith(id).then((cid) => navigate(`/chats/${cid}`), (e) => setError(errorText(e)))}>
              Message {p.display_name}
            </button>
          )}
        </section>
      )}
    </div>
  );
}
