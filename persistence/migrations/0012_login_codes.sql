-- One-time email login codes (docs/security.md) and the mail outbox a relay drains
-- (docs/operations.md).

-- Only a hash of the code is stored. A new code for an account replaces its unused ones (they
-- are deleted), so there is at most one live code per account; a wrong guess counts against it.
create table login_codes (
  id         uuid primary key,
  user_id    uuid not null references users on delete cascade,
  code_hash  bytea not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  attempts   integer not null default 0 check (attempts >= 0),
  used_at    timestamptz
);
create index login_codes_user_idx on login_codes (user_id, created_at desc);

-- Mail waiting for (or handed to) an SMTP relay. pactumd only inserts; a relay claims unsent rows
-- (`for update skip locked`), sends them, sets `sent_at` and blanks `body`, or counts a failed
-- attempt in `attempts` / `last_error`.
create table mail_outbox (
  id         bigserial primary key,
  to_address text not null,
  subject    text not null,
  body       text not null,
  created_at timestamptz not null default now(),
  sent_at    timestamptz,
  attempts   integer not null default 0 check (attempts >= 0),
  last_error text
);
create index mail_outbox_unsent_idx on mail_outbox (id) where sent_at is null;
