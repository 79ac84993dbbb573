-- Logins ("sessions" to users): one row per successful login, the family of every token issued
-- from it. Revoking the row (logout, revocation, refresh-token reuse) ends every token of the family.
create table auth_sessions (
  id                 uuid primary key,
  user_id            uuid not null references users on delete cascade,
  created_at         timestamptz not null default now(),
  last_used_at       timestamptz not null default now(),
  user_agent         text not null default '',
  refresh_expires_at timestamptz not null,
  revoked_at         timestamptz
);
create index auth_sessions_user_idx on auth_sessions (user_id, created_at desc);

-- Tokens now belong to a login and have a kind: short-lived access tokens, rotating refresh
-- tokens (kept after use, `used_at` set, so that a replay is recognised as theft) and single-use
-- WebSocket tickets. Rows from before this migration (session_id null) are 24-hour access tokens.
alter table auth_tokens
  add column session_id uuid references auth_sessions on delete cascade,
  add column kind text not null default 'access' check (kind in ('access', 'refresh', 'ticket')),
  add column used_at timestamptz;
create index auth_tokens_session_idx on auth_tokens (session_id);
