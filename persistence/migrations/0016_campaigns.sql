-- Campaigns read model (issue 6): one row per campaign, projected from the campaign actor's
-- journal after each commit (persistence/src/campaign_store.cpp), so lists, filters and the
-- creator's eligible campaigns never need the actors. `head_seq` is the journal seq the row
-- reflects: an older projection never overwrites a newer one.
create table campaigns (
  id            uuid primary key,
  brand_id      uuid not null references users on delete cascade,
  status        text not null check (status in ('draft', 'published', 'paused', 'completed', 'cancelled')),
  title         text not null,
  currency      text not null default '',
  budget        bigint not null default 0 check (budget >= 0),
  committed     bigint not null default 0 check (committed >= 0),
  spent         bigint not null default 0 check (spent >= 0),
  starts_at     timestamptz,
  ends_at       timestamptz,
  pricing_model text not null,
  rate          bigint not null default 0,
  niches        text[] not null default '{}',
  countries     text[] not null default '{}',
  min_followers bigint not null default 0,
  head_seq      bigint not null,
  created_at    timestamptz not null,
  updated_at    timestamptz not null
);
-- The public list: published campaigns by newest, budget or end date (keyset pagination by id).
create index campaigns_status_created_idx on campaigns (status, created_at desc, id desc);
create index campaigns_status_budget_idx on campaigns (status, budget desc, id desc);
create index campaigns_status_ends_idx on campaigns (status, ends_at, id);
create index campaigns_brand_idx on campaigns (brand_id, created_at desc, id desc);
create index campaigns_niches_idx on campaigns using gin (niches);
create index campaigns_countries_idx on campaigns using gin (countries);
create index campaigns_title_idx on campaigns using gin (to_tsvector('simple', title));

-- Invitations, for the invited creator's inbox across campaigns (the campaign's journal is the
-- truth; this is its projection, like `campaigns`).
create table campaign_invitations (
  campaign_id   uuid not null references campaigns on delete cascade,
  invitation_id bigint not null,
  brand_id      uuid not null,
  creator_id    uuid not null references users on delete cascade,
  brief         text not null,
  outcome       text not null,
  conversation_id uuid,
  created_at    timestamptz not null,
  updated_at    timestamptz not null,
  primary key (campaign_id, invitation_id)
);
create index campaign_invitations_creator_idx
  on campaign_invitations (creator_id, created_at desc, campaign_id, invitation_id);
