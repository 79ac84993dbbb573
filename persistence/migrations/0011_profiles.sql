-- Profiles (docs/api.md): one row per user and kind, written whole by PUT. Discovery (a later
-- issue) searches these, so what it filters on is a proper column or array: country, city,
-- lat/lon, niches, languages, the follower total. Nested things (social accounts, audience
-- demographics, rates, the brand's contact) are JSONB that pactumd validated before storing.
-- `version` counts the PUTs (1 for the first), so clients can detect lost updates.

create table brand_profiles (
  user_id         uuid primary key references users on delete cascade,
  company_name    text not null,
  industry        text not null,
  website         text not null default '',
  budget_min      bigint check (budget_min >= 0),
  budget_max      bigint check (budget_max >= budget_min),
  budget_currency text,
  contact         jsonb not null, -- private: {name, email, phone}
  country         char(2) not null,
  version         bigint not null default 1 check (version >= 1),
  updated_at      timestamptz not null default now()
);
create index brand_profiles_country_idx on brand_profiles (country);

create table creator_profiles (
  user_id         uuid primary key references users on delete cascade,
  bio             text not null default '',
  niches          text[] not null,
  social_accounts jsonb not null default '[]',
  follower_total  bigint not null default 0 check (follower_total >= 0),
  audience        jsonb not null default '{}',
  country         char(2) not null,
  city            text not null default '',
  lat             double precision check (lat between -90 and 90),
  lon             double precision check (lon between -180 and 180),
  languages       text[] not null,
  rates           jsonb not null default '[]',
  media_kit_url   text not null default '',
  version         bigint not null default 1 check (version >= 1),
  updated_at      timestamptz not null default now(),
  check ((lat is null) = (lon is null))
);
create index creator_profiles_country_idx on creator_profiles (country, city);
create index creator_profiles_niches_idx on creator_profiles using gin (niches);
create index creator_profiles_languages_idx on creator_profiles using gin (languages);
create index creator_profiles_followers_idx on creator_profiles (follower_total desc);
