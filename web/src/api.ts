// REST client for the documented API (docs/protocol.md, docs/api.md). Tokens live in
// sessionStorage (one login per tab); the access token is refreshed once, single-flight, when a
// request answers 401 (a refresh token is never sent twice: docs/protocol.md).

export type Role = "brand" | "creator" | "moderator" | "admin";
export interface User {
  id: string;
  role: Role;
  display_name: string;
}
export interface Tokens {
  token: string;
  expires_at: number;
  refresh_token: string;
  refresh_expires_at: number;
  session_id: string;
  user: User;
}

/** An error answer: `{"error":{"code","message","fields"?}}` with its HTTP status. */
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public fields: Record<string, string> = {},
    public retryAfter?: number,
  ) {
    super(message);
  }
}

const KEY = "pactum.session";
let session: Tokens | null = load();
const listeners = new Set<() => void>();

function load(): Tokens | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Tokens) : null;
  } catch {
    return null;
  }
}

export function currentSession(): Tokens | null {
  return session;
}
export function onSessionChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
export function setSession(t: Tokens | null) {
  session = t;
  if (t) sessionStorage.setItem(KEY, JSON.stringify(t));
  else sessionStorage.removeItem(KEY);
  listeners.forEach((fn) => fn());
}

async function parse(res: Response): Promise<unknown> {
  if (res.status === 204) return null;
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(res.status, "internal", `unexpected answer (${res.status})`);
  }
  if (!res.ok) {
    const e = (body as { error?: { code?: string; message?: string; fields?: Record<string, string> } })?.error;
    const retry = Number(res.headers.get("Retry-After") ?? "") || undefined;
    throw new ApiError(res.status, e?.code ?? "internal", e?.message ?? `request failed (${res.status})`, e?.fields ?? {}, retry);
  }
  return body;
}

let refreshing: Promise<boolean> | null = null;

/** Trades the refresh token for a new pair, once at a time. false: the login is gone. */
function refresh(): Promise<boolean> {
  if (refreshing) return refreshing;
  const s = session;
  if (!s) return Promise.resolve(false);
  refreshing = (async () => {
    try {
      const res = await fetch("/api/v1/users/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: s.refresh_token }),
      });
      if (!res.ok) {
        if (res.status === 401) setSession(null);
        return false;
      }
      setSession((await res.json()) as Tokens);
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** Calls the API; `auth` adds the bearer token (refreshing it once on 401). */
export async function api<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
  let used = "";
  const send = () => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (auth && session) {
      used = session.token;
      headers["Authorization"] = `Bearer ${used}`;
    }
    return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  };
  let res = await send();
  if (res.status === 401 && auth && session) {
    // Another request may have refreshed meanwhile: then just retry with the new token.
    if (session.token !== used || (await refresh())) res = await send();
  }
  return (await parse(res)) as T;
}

// ---- accounts -------------------------------------------------------------------------------

export async function register(email: string, password: string, display_name: string, role: Role) {
  return api<{ user: User }>("POST", "/api/v1/users/register", { email, password, display_name, role, consents: { terms: "2026-01" } }, false);
}
export async function login(email: string, password: string): Promise<Tokens> {
  const t = await api<Tokens>("POST", "/api/v1/users/login", { email, password }, false);
  setSession(t);
  return t;
}
export async function logout() {
  try {
    await api("POST", "/api/v1/users/logout");
  } finally {
    setSession(null);
  }
}
/** Replaces the password; the server revokes every other login (this one stays). */
export async function changePassword(current_password: string, new_password: string) {
  await api("PUT", "/api/v1/users/me/password", { current_password, new_password });
}
/** Revokes every login of the user, this one included, then forgets the session here. */
export async function logoutEverywhere() {
  // Only a success forgets the session: on a failure the user must see that the other devices
  // may still be logged in (a 401 whose refresh fails already signs out in api()).
  await api("DELETE", "/api/v1/users/me/sessions");
  setSession(null);
}
export async function wsTicket(): Promise<string> {
  const r = await api<{ ticket: string }>("POST", "/api/v1/ws-ticket");
  return r.ticket;
}

// ---- profiles -------------------------------------------------------------------------------

export type Profile = Record<string, unknown> & { user_id: string; display_name: string; role: Role; version: number };

export function profilePath(role: Role) {
  return role === "brand" ? "/api/v1/brands/profile" : "/api/v1/influencers/profile";
}
export async function ownProfile(role: Role): Promise<Profile | null> {
  try {
    return await api<Profile>("GET", profilePath(role));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}
export function saveProfile(role: Role, body: Record<string, unknown>) {
  return api<Profile>("PUT", profilePath(role), body);
}
export function creatorProfile(id: string) {
  return api<Profile>("GET", `/api/v1/influencers/${encodeURIComponent(id)}`);
}
export function brandProfile(id: string) {
  return api<Profile>("GET", `/api/v1/brands/${encodeURIComponent(id)}`);
}

// ---- money ----------------------------------------------------------------------------------

export interface Balance {
  currency: string;
  available: number;
}
export interface Withdrawal {
  payout: string;
  seq: number;
  amount: number;
  currency: string;
  destination: string;
  status: string;
  at: number;
  code?: string;
}
export const balances = () => api<{ balances: Balance[] }>("GET", "/api/v1/users/me/balance");
export const withdrawals = () => api<{ withdrawals: Withdrawal[] }>("GET", "/api/v1/users/me/withdrawals");
export const withdraw = (key: string, amount: number, currency: string, destination: string) =>
  api<Withdrawal>("POST", "/api/v1/users/me/withdrawals", { key, amount, currency, destination });

export function newKey(prefix: string): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return prefix + "-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
