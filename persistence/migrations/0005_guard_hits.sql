-- The anti-bypass guard's findings (docs/contact-guard.md): one row per message, edit, offer or
-- decline in which contact details or off-platform payment were found before a deal. It is the
-- moderators' queue (unreviewed rows) and each sender's strike record (all rows).
create table guard_hits (
  id              bigserial primary key,
  conversation_id uuid not null,
  sender_id       uuid not null references users on delete cascade,
  seq             bigint,          -- the stored event; null when the text was blocked
  action          text not null check (action in ('blocked', 'masked', 'flagged')),
  categories      text[] not null,
  original        text not null,   -- what the sender wrote (moderators need the evidence)
  created_at      timestamptz not null default now(),
  reviewed_at     timestamptz,
  reviewed_by     uuid references users on delete set null,
  verdict         text check (verdict in ('confirmed', 'dismissed'))
);
create index guard_hits_queue on guard_hits (created_at) where reviewed_at is null;
create index guard_hits_sender on guard_hits (sender_id);
