-- Local promotions (issue 8, item 6; docs/api.md "Local promotions"): a business (brand) runs a
-- promotion in one locality; promoters (creators) join and hand out single-use QR codes carrying
-- an Ed25519-signed token; the business redeems a code once; promoters earn points per
-- redemption and per verified repost; the leaderboard ranks them per locality.

-- The server's signing keys. `key_id` is carried in every token, so old public keys keep
-- verifying codes after a rotation until those codes expire. `secret_key` is null for a key
-- whose secret lives outside the database (--promo-signing-key-file) or was retired by removing
-- it. Exactly one key signs at a time: the newest with `active`.
create table promo_signing_keys (
  key_id       bigint primary key check (key_id > 0 and key_id < 4294967296),
  public_key   bytea not null check (length(public_key) = 32),
  secret_key   bytea check (secret_key is null or length(secret_key) = 64),
  active       boolean not null default true,
  created_at   timestamptz not null default now()
);

create table promotions (
  id            uuid primary key,
  brand_id      uuid not null references users on delete cascade,
  title         text not null,
  reward_amount bigint not null check (reward_amount > 0),
  currency      text not null,
  budget        bigint not null check (budget > 0),
  budget_left   bigint not null check (budget_left >= 0 and budget_left <= budget),
  valid_from    timestamptz not null,
  valid_until   timestamptz not null check (valid_until > valid_from),
  country       text not null,   -- ISO 3166-1 alpha-2, upper case
  city          text not null,   -- normalised: trimmed, inner spaces collapsed, lower case
  status        text not null default 'active' check (status in ('active', 'paused', 'closed')),
  redemptions   bigint not null default 0,
  created_at    timestamptz not null default now()
);
create index promotions_locality_idx on promotions (country, city, status, valid_until);
create index promotions_brand_idx on promotions (brand_id, created_at desc);

create table promotion_promoters (
  promotion_id uuid not null references promotions on delete cascade,
  promoter_id  uuid not null references users on delete cascade,
  joined_at    timestamptz not null default now(),
  primary key (promotion_id, promoter_id)
);

-- Every issued code (its nonce), so that it redeems exactly once: redemption is
-- `update ... set redeemed_at = now() where nonce = $1 and redeemed_at is null`.
create table promotion_codes (
  nonce        bytea primary key check (length(nonce) = 16),
  promotion_id uuid not null references promotions on delete cascade,
  promoter_id  uuid not null references users on delete cascade,
  key_id       bigint not null,
  token        text not null,
  expires_at   timestamptz not null,
  created_at   timestamptz not null default now(),
  redeemed_at  timestamptz,
  redeemed_by  uuid references users on delete set null
);
create index promotion_codes_owner_idx on promotion_codes (promotion_id, promoter_id, created_at desc);

-- Verified reposts: each post earns points once, ever: one row per URL as submitted (so a URL is
-- verified with the platform once) and per post the platform named (so the same post under
-- another URL spelling earns nothing more).
create table promotion_reposts (
  url          text primary key,
  promotion_id uuid not null references promotions on delete cascade,
  promoter_id  uuid not null references users on delete cascade,
  platform     text not null,
  post_id      text not null,
  created_at   timestamptz not null default now(),
  unique (platform, post_id)
);

-- Points per promoter and locality (the leaderboard), updated in the transaction that earns them.
-- Ties rank by who reached the score first (`updated_at`), then by id: a stable order.
create table promoter_points (
  country      text not null,
  city         text not null,
  promoter_id  uuid not null references users on delete cascade,
  points       bigint not null default 0 check (points >= 0),
  redemptions  bigint not null default 0,
  reposts      bigint not null default 0,
  updated_at   timestamptz not null default now(),
  primary key (country, city, promoter_id)
);
create index promoter_points_rank_idx on promoter_points (country, city, points desc, updated_at, promoter_id);
