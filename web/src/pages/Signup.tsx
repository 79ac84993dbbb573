// Sign-up in three steps: 1. who you are (brand or creator), 2. your account, 3. your profile.
import { FormEvent, useState } from "react";
import { ApiError, currentSession, login, register, Role } from "../api";
import { navigate } from "../router";
import { Field, Link, Notice } from "../ui";
import { ProfileForm } from "./Profile";

const STEPS = ["Account type", "Your account", "Your profile"];

function checkAccount(email: string, password: string, name: string): Record<string, string> {
  const e: Record<string, string> = {};
  const mail = email.trim().toLowerCase();
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(mail)) e.email = "must be an email address like name@example.com";
  const chars = [...password];
  if (chars.length < 10) e.password = "at least 10 characters";
  else if (chars.length > 128) e.password = "at most 128 characters";
  else if (new Set(chars).size === 1) e.password = "must not be one character repeated";
  else if (password.trim().toLowerCase() === mail) e.password = "must not be your email address";
  const n = [...name.trim()].length;
  if (n < 1) e.display_name = "required";
  else if (n > 80) e.display_name = "at most 80 characters";
  return e;
}

export function Signup() {
  const initialRole = new URLSearchParams(location.search).get("role");
  const signedIn = currentSession();
  const [step, setStep] = useState(signedIn ? 2 : initialRole === "brand" || initialRole === "creator" ? 1 : 0);
  const [role, setRole] = useState<Role>((signedIn?.user.role as Role) ?? (initialRole === "creator" ? "creator" : "brand"));
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const live = checkAccount(email, password, name);
  const shown = (k: string) => errors[k] ?? (touched[k] ? live[k] : undefined);

  const createAccount = async (e: FormEvent) => {
    e.preventDefault();
    setTouched({ email: true, password: true, display_name: true });
    if (Object.keys(live).length) return;
    setBusy(true);
    setError("");
    setErrors({});
    try {
      await register(email, password, name.trim(), role);
      await login(email, password);
      setStep(2);
    } catch (ex) {
      if (ex instanceof ApiError) {
        setErrors(ex.fields);
        if (!Object.keys(ex.fields).length) setError(ex.message);
      } else setError("Cannot reach the server. Check your connection.");
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="auth-page">
      <div className="auth-card signup">
        <h1>Create your Pactum account</h1>
        <ol className="steps" aria-label="Progress">
          {STEPS.map((s, i) => (
            <li key={s} className={i === step ? "current" : i < step ? "done" : ""} aria-current={i === step ? "step" : undefined}>
              <span className="step-no" aria-hidden="true">{i < step ? "✓" : i + 1}</span>
              <span>{s}</span>
            </li>
          ))}
        </ol>
        <p className="sr-only" aria-live="polite">Step {step + 1} of 3: {STEPS[step]}</p>

        {step === 0 && (
          <fieldset className="role-pick">
            <legend>I am…</legend>
            {(["brand", "creator"] as Role[]).map((r) => (
              <label key={r} className={"role-option" + (role === r ? " on" : "")}>
                <input type="radio" name="role" value={r} checked={role === r} onChange={() => setRole(r)} />
                <strong>{r === "brand" ? "A brand" : "A creator"}</strong>
                <span>{r === "brand" ? "I want creators to make content for my products." : "I make content and want paid collaborations."}</span>
              </label>
            ))}
            <div className="actions">
              <Link to="/" className="btn btn-ghost">Back</Link>
              <button className="btn btn-primary" onClick={() => setStep(1)}>Continue</button>
            </div>
          </fieldset>
        )}

        {step === 1 && (
          <form onSubmit={createAccount} noValidate aria-label="Your account">
            {error && <Notice kind="error">{error}</Notice>}
            <Field label={role === "brand" ? "Your name or your brand's" : "Your creator name"} error={shown("display_name")}>
              {(a) => <input {...a} autoComplete="name" value={name} onChange={(e) => { setName(e.target.value); const { display_name: _, ...rest } = errors; setErrors(rest); }} onBlur={() => setTouched({ ...touched, display_name: true })} />}
            </Field>
            <Field label="Email" error={shown("email")}>
              {(a) => <input {...a} type="email" autoComplete="email" value={email} onChange={(e) => { setEmail(e.target.value); const { email: _, ...rest } = errors; setErrors(rest); }} onBlur={() => setTouched({ ...touched, email: true })} />}
            </Field>
            <Field label="Password" hint="10 to 128 characters; a passphrase is best" error={shown("password")}>
              {(a) => <input {...a} type="password" autoComplete="new-password" value={password} onChange={(e) => { setPassword(e.target.value); const { password: _, ...rest } = errors; setErrors(rest); }} onBlur={() => setTouched({ ...touched, password: true })} />}
            </Field>
            <p className="muted small">By creating an account you accept the terms (version 2026-01).</p>
            <div className="actions">
              <button type="button" className="btn btn-ghost" onClick={() => setStep(0)}>Back</button>
              <button className="btn btn-primary" disabled={busy}>{busy ? "Creating…" : "Create account"}</button>
            </div>
            <p>Already have an account? <Link to="/login">Log in</Link></p>
          </form>
        )}

        {step === 2 && (
          <>
            <p className="muted">
              {role === "brand" ? "Tell creators who you are." : "Your media kit: brands choose creators by it."} You can change it any time.
            </p>
            <ProfileForm
              role={role}
              initial={null}
              submitLabel="Finish"
              onSaved={() => navigate("/chats")}
              secondary={<button type="button" className="btn btn-ghost" onClick={() => navigate("/chats")}>Skip for now</button>}
            />
          </>
        )}
      </div>
    </div>
  );
}
