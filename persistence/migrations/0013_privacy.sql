-- Privacy: per-user data keys (crypto-shredding) and the record of erasures (docs/security.md).

-- One XChaCha20-Poly1305 key per user, wrapped by the server's master key (--master-key-file):
-- personal data inside journal events is sealed under it. Erasing the user deletes the row, which
-- makes everything sealed under it unreadable. No foreign key: a key may exist for any entity
-- owner, and the row must be deletable without touching anything else.
create table user_keys (
  user_id    uuid primary key,
  wrapped    bytea not null,
  created_at timestamptz not null default now()
);

-- Proof that an account was erased, without personal data: the pseudonym it now shows and when.
-- A user listed here never gets a data key again.
create table user_erasures (
  user_id   uuid primary key,
  pseudonym text not null,
  erased_at timestamptz not null default now()
);
