-- Creator search (docs/api.md "Creator search"): read-model columns on creator_profiles, derived
-- from the validated JSONB parts so every filter has a plain column and an index.
--
-- The derived columns are computed by a BEFORE INSERT OR UPDATE trigger, not by each writer: the
-- profile PUT (persistence/src/profile_store.cpp) needs no change and no writer (erasure, a bulk
-- load, a future import) can leave them stale. A PUT rewrites one row, so the trigger's cost is
-- one small JSONB walk per PUT.
--
--   platforms               distinct platforms of the social accounts (GIN)
--   max_engagement          the best account's engagement rate, 0 without accounts (sort key)
--   audience_countries      per country of audience.top_countries with a share > 0, one key per
--                           share level it reaches: 'DE:0', 'DE:5', ... 'DE:60' for 60% (levels 0,
--                           5, 10, ..., 35, 40, 50, ..., 90). The GIN prefilter is the country at
--                           the highest level not above the asked minimum share: selective, and
--                           its statistics tell the planner so (with the bare country, a search
--                           for a small share of a rare country walked 14,000 rows in follower
--                           order: 106 ms)
--   audience_country_shares {"DE": 60, ...} (the exact share check after the prefilter)
--   audience_age_bands      age bands of audience.age_bands with a share > 0 (GIN prefilter)
--   rate_keys               per rate: 'EUR' and 'tiktok_duet:EUR' (GIN prefilter for rate ranges)
--   geo_lat, geo_lon        lat/lon rounded to 0.01 degree (about 1 km): the radius filter works on
--                           these, so repeated searches cannot pin a creator's private position
--                           more finely than that (btree for the bounding-box prefilter)
--   bio_tsv                 to_tsvector('simple', bio), generated (GIN); 'simple' has no
--                           stemming or stop words, so it works for a bio in any language
--   searchable              the owner's role is creator (kept by this trigger and by one on
--                           users' role), so a search filters without joining users per row

alter table creator_profiles
  add column platforms text[] not null default '{}',
  add column max_engagement real not null default 0,
  add column audience_countries text[] not null default '{}',
  add column audience_country_shares jsonb not null default '{}',
  add column audience_age_bands text[] not null default '{}',
  add column rate_keys text[] not null default '{}',
  add column geo_lat double precision,
  add column geo_lon double precision,
  add column bio_tsv tsvector generated always as (to_tsvector('simple', bio)) stored,
  add column searchable boolean not null default false;

create function creator_profiles_derive() returns trigger language plpgsql as $$
begin
  new.platforms := coalesce((select array_agg(distinct a->>'platform' order by a->>'platform')
                               from jsonb_array_elements(new.social_accounts) a), '{}');
  new.max_engagement := coalesce((select max((a->>'engagement_rate')::real)
                                    from jsonb_array_elements(new.social_accounts) a), 0);
  new.audience_country_shares :=
    coalesce((select jsonb_object_agg(c->>'country', (c->>'percent')::real)
                from jsonb_array_elements(coalesce(new.audience->'top_countries', '[]')) c), '{}');
  new.audience_countries :=
    coalesce((select array_agg((c->>'country') || ':' || l order by c->>'country', l)
                from jsonb_array_elements(coalesce(new.audience->'top_countries', '[]')) c,
                     unnest(array[0, 5, 10, 15, 20, 25, 30, 35, 40, 50, 60, 70, 80, 90]) l
               where (c->>'percent')::real > 0 and (c->>'percent')::real >= l), '{}');
  new.audience_age_bands :=
    coalesce((select array_agg(b.key order by b.key)
                from jsonb_each(coalesce(new.audience->'age_bands', '{}')) b
               where (b.value #>> '{}')::real > 0), '{}');
  new.rate_keys :=
    coalesce((select array_agg(distinct k order by k)
                from jsonb_array_elements(new.rates) r,
                     lateral (values (r->>'currency'), ((r->>'type') || ':' || (r->>'currency'))) v(k)),
             '{}');
  new.geo_lat := round(new.lat::numeric, 2)::double precision;
  new.geo_lon := round(new.lon::numeric, 2)::double precision;
  new.searchable := exists (select 1 from users u where u.id = new.user_id and u.role = 'creator');
  return new;
end;
$$;

-- A role change (admin or operator) takes a profile in or out of the search at once.
create function users_role_searchable() returns trigger language plpgsql as $$
begin
  update creator_profiles set searchable = (new.role = 'creator')
   where user_id = new.id and searchable <> (new.role = 'creator');
  return null;
end;
$$;

create trigger users_role_searchable after update of role on users
  for each row when (old.role is distinct from new.role) execute function users_role_searchable();

create trigger creator_profiles_derive before insert or update on creator_profiles
  for each row execute function creator_profiles_derive();

-- Backfill: the trigger computes the columns for every existing row.
update creator_profiles set bio = bio;

-- GIN without the pending list (fastupdate off): a PUT updates the index at once (a little more
-- work per PUT, which is rare), and a search never scans a long unsorted pending list (with the
-- default, a search after many PUTs walked up to 4 MB of it: tens of ms per index).
alter index creator_profiles_niches_idx set (fastupdate = off);
alter index creator_profiles_languages_idx set (fastupdate = off);
create index creator_profiles_platforms_idx on creator_profiles using gin (platforms) with (fastupdate = off);
create index creator_profiles_audience_countries_idx on creator_profiles using gin (audience_countries) with (fastupdate = off);
-- No index on audience_age_bands: seven bands, each held by 15 to 50% of creators, so a bitmap
-- of one costs more than checking the share on the rows another index or the sort order yields
-- (EXPLAIN ANALYZE on 100,000 rows: 44 ms for a 50,000-row GIN bitmap ANDed with a 3,000-row one).
create index creator_profiles_rate_keys_idx on creator_profiles using gin (rate_keys) with (fastupdate = off);
create index creator_profiles_bio_tsv_idx on creator_profiles using gin (bio_tsv) with (fastupdate = off);
-- Radius: GiST on the point, with the columns a radius search filters and sorts on included, so
-- the bounding box is an index-only scan (EXPLAIN ANALYZE on 100,000 rows, 1,167 creators within
-- 100 km of Berlin: 1.3 ms without heap fetches, against 7.8 ms and 1,440 heap blocks for a btree
-- on (geo_lat, geo_lon)). The niches are included too, for radius + niche (13,776 creators within
-- 180 km of Washington, 423 of them in a niche: 25 ms index-only against 49 ms for a BitmapAnd
-- with the niche GIN and 2,859 heap blocks). 19 MB on 100,000 profiles.
create index creator_profiles_geo_idx on creator_profiles
  using gist (point(geo_lon, geo_lat))
  include (searchable, follower_total, max_engagement, geo_lat, geo_lon, user_id, niches);
-- Sort orders with the user id as tie-breaker, read backwards for "descending" and used by the
-- cursor's row comparison (followers, user_id) < ($1, $2).
create index creator_profiles_followers_id_idx on creator_profiles (follower_total, user_id);
create index creator_profiles_engagement_id_idx on creator_profiles (max_engagement, user_id);
-- The country filter with either sort order: a search with a country walks that country's rows in
-- sort order and checks the other filters on them, instead of ANDing bitmaps of unselective GIN
-- indexes (platforms, languages, niches: 15,000-67,000 rows each, 12-14 ms per bitmap).
-- EXPLAIN ANALYZE, combined filters with country US: 13.4 ms -> 1.2 ms; with GB: 15.1 -> 3.3 ms.
create index creator_profiles_country_followers_id_idx on creator_profiles (country, follower_total, user_id);
create index creator_profiles_country_engagement_id_idx on creator_profiles (country, max_engagement, user_id);
