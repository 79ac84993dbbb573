-- Consents: every change is a row (kind, version, granted, time); the current state of a kind is
-- its latest row. Kept after an erasure (they hold no personal data beyond the user id) as proof.
create table user_consents (
  id          bigserial primary key,
  user_id     uuid not null,
  kind        text not null check (kind ~ '^[a-z][a-z0-9_]{0,31}$'),
  version     text not null check (length(version) <= 32),
  granted     boolean not null,
  recorded_at timestamptz not null default now()
);
create index user_consents_user on user_consents (user_id, id);
