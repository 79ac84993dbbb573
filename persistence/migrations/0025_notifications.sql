-- Notifications (issue 8, docs/protocol.md "Notifications"): what the per-user notifier stored for
-- a user, and the types each user muted. `source` names the fact a notification comes from (the
-- entity's journal event, e.g. "contract:<id>:<seq>"), so a fact told twice (a retry, a replayed
-- actor) stores one row. `coalesce_key` groups `message.received` per conversation: at most one
-- unread row per (user, key), updated in place while it stays unread.

create table notifications (
  id            bigserial primary key,
  user_id       uuid not null references users on delete cascade,
  type          text not null,
  source        text not null,
  coalesce_key  text,
  payload       jsonb not null,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  read_at       timestamptz,
  unique (user_id, source)
);
-- Keyset pagination (newest first) and the per-user cap.
create index notifications_user_idx on notifications (user_id, id desc);
-- The unread count and the unread-only list.
create index notifications_unread_idx on notifications (user_id, id desc) where read_at is null;
-- Coalescing: one unread row per (user, key).
create unique index notifications_coalesce_idx on notifications (user_id, coalesce_key)
  where read_at is null and coalesce_key is not null;

create table notification_prefs (
  user_id     uuid primary key references users on delete cascade,
  muted       text[] not null default '{}',
  updated_at  timestamptz not null default now()
);
