import { FormEvent, useState } from "react";
import { ApiError, login } from "../api";
import { navigate } from "../router";
import { Field, Link, Notice } from "../ui";

export function Welcome() {
  return (
    <div className="auth-page">
      <div className="auth-card welcome">
        <div className="logo big" aria-hidden="true">P</div>
        <h1>Deals between brands and creators, safely.</h1>
        <p className="lead">
          Chat, agree on terms with structured offers, and let escrow hold the money until the content is approved.
        </p>
        <div className="cta-row">
          <Link to="/signup?role=brand" className="btn btn-primary">I am a brand</Link>
          <Link to="/signup?role=creator" className="btn btn-primary">I am a creator</Link>
        </div>
        <p>
          Already have an account? <Link to="/login">Log in</Link>
        </p>
      </div>
    </div>
  );
}

export function Login() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await login(email, password);
      navigate("/chats");
    } catch (err) {
      if (err instanceof ApiError && err.code === "rate_limited")
        setError(`Too many failed attempts. Try again in ${err.retryAfter ?? 60} seconds.`);
      else setError(err instanceof ApiError ? err.message : "Cannot reach the server. Check your connection.");
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="auth-page">
      <form className="auth-card" onSubmit={submit} noValidate aria-labelledby="login-title">
        <h1 id="login-title">Log in to Pactum</h1>
        {error && <Notice kind="error">{error}</Notice>}
        <Field label="Email">
          {(a) => <input {...a} type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} required />}
        </Field>
        <Field label="Password">
          {(a) => (
            <input {...a} type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
          )}
        </Field>
        <button className="btn btn-primary wide" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
        <p>
          New here? <Link to="/signup">Create an account</Link>
        </p>
      </form>
    </div>
  );
}
