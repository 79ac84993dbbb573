-- Foundation schema: accounts, session tokens, the event journal and conversations.

create table users (
  id            uuid primary key,
  email         text not null unique,
  password_hash text not null,
  display_name  text not null,
  role          text not null check (role in ('brand', 'creator', 'moderator', 'admin')),
  created_at    timestamptz not null default now()
);

-- Only the hash of a session token is stored, so a leaked table does not leak sessions.
create table auth_tokens (
  token_hash bytea primary key,
  user_id    uuid not null references users on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index auth_tokens_user_id_idx on auth_tokens (user_id);

-- One gap-free sequence per entity; the primary key is what makes a second writer fail.
create table journal (
  entity_id   uuid not null,
  seq         bigint not null check (seq > 0),
  entity_type text not null,
  event_type  text not null,
  version     smallint not null,
  payload     bytea not null,
  recorded_at timestamptz not null default now(),
  primary key (entity_id, seq)
);

create table conversations (
  id         uuid primary key,
  brand_id   uuid not null references users,
  creator_id uuid not null references users,
  created_at timestamptz not null default now(),
  unique (brand_id, creator_id)
);
create index conversations_brand_idx on conversations (brand_id, created_at desc);
create index conversations_creator_idx on conversations (creator_id, created_at desc);
