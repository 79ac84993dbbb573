-- Tracking (issue 8): the brand's product catalog, one affiliate link per (campaign, creator,
-- product), and the raw traffic events those links and the brand's server produce. This schema is
-- the seam between two parts: the redirect and the conversion endpoint only INSERT raw events with
-- verdict 'pending'; the analytics pipeline is the only writer of `verdict`, `reason` and
-- `billed_at` (it classifies each event exactly once, in id order, and aggregates the valid ones).

create table products (
  id           uuid primary key,
  brand_id     uuid not null references users on delete cascade,
  sku          text not null,
  name         text not null,
  category     text not null,
  url          text not null,
  price        bigint not null check (price >= 0),
  currency     text not null,
  created_at   timestamptz not null default now(),
  unique (brand_id, sku)
);
create index products_brand_idx on products (brand_id, created_at desc, id desc);

-- `code` is the short, unguessable part of `/r/{code}`.
create table affiliate_links (
  code         text primary key,
  campaign_id  uuid not null references campaigns on delete cascade,
  creator_id   uuid not null references users on delete cascade,
  product_id   uuid not null references products on delete cascade,
  brand_id     uuid not null references users on delete cascade,
  created_at   timestamptz not null default now(),
  unique (campaign_id, creator_id, product_id)
);
create index affiliate_links_creator_idx on affiliate_links (creator_id, created_at desc);

-- One row per redirect served. `client_hash` is a keyed hash of the client's address (never the
-- address itself). `verdict`: 'pending' until the analytics pipeline classifies it, then 'valid'
-- or 'invalid' with `reason` (e.g. 'bot_agent', 'repeat_click', 'velocity_creator',
-- 'velocity_client', 'velocity_agent'). `billed_at` is set when a CPC campaign paid for it.
create table link_clicks (
  id           bigserial primary key,
  code         text not null,
  campaign_id  uuid not null,
  creator_id   uuid not null,
  product_id   uuid not null,
  at           timestamptz not null,
  client_hash  bytea not null,
  user_agent   text not null default '',
  referrer     text not null default '',
  verdict      text not null default 'pending' check (verdict in ('pending', 'valid', 'invalid')),
  reason       text,
  billed_at    timestamptz
);
create index link_clicks_pending_idx on link_clicks (id) where verdict = 'pending';
create index link_clicks_campaign_idx on link_clicks (campaign_id, at);
create index link_clicks_client_idx on link_clicks (campaign_id, client_hash, at);

-- Conversions posted by the brand's server (`POST /api/v1/track/conversion`), idempotent by
-- (brand, order id). `code` is the affiliate link the brand attributes the order to (may be
-- null); `click_id` is filled by the analytics pipeline when it finds the click that led to it
-- (no click → verdict 'invalid', reason 'conversion_without_click').
create table conversions (
  id           bigserial primary key,
  brand_id     uuid not null references users on delete cascade,
  order_id     text not null,
  code         text,
  campaign_id  uuid,
  creator_id   uuid,
  product_id   uuid,
  amount       bigint not null check (amount >= 0),
  currency     text not null,
  client_hash  bytea,
  at           timestamptz not null,
  received_at  timestamptz not null default now(),
  click_id     bigint,
  verdict      text not null default 'pending' check (verdict in ('pending', 'valid', 'invalid')),
  reason       text,
  unique (brand_id, order_id)
);
create index conversions_pending_idx on conversions (id) where verdict = 'pending';
create index conversions_campaign_idx on conversions (campaign_id, at);

-- The per-brand key that signs conversion posts (HMAC-SHA256). Only the brand and the server
-- know it; rotating it replaces the row.
create table brand_signing_keys (
  brand_id     uuid primary key references users on delete cascade,
  secret       bytea not null,
  created_at   timestamptz not null default now()
);
