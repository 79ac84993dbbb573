-- Creator search, third tuning pass (docs/benchmarks.md "Creator search"): indexes only.
--
-- 1. One multicolumn GIN over the bio words, niches, platforms and languages. A search with text
--    and a niche and a platform was a BitmapAnd of three single-column GIN bitmaps, two of them
--    large (EXPLAIN ANALYZE on 100,000 profiles, q=cycling + lifestyle + instagram: 12,063 +
--    34,574 + 57,011 rows, 45 ms before the first heap row). In one GIN index the keys of all
--    columns are matched in one scan: the rarest posting list drives and the others are skipped
--    through (2,375 rows, 49 buffers, 5-11 ms under the same load). The single-column indexes stay
--    for the searches with one of these filters.
create index creator_profiles_search_multi_idx on creator_profiles
  using gin (bio_tsv, niches, platforms, languages) with (fastupdate = off);

-- 2. The (country, sort key, user_id) btrees of migration 0018 cover the array filters and the
--    other sort key, so a search with a country checks niches, languages, platform and the
--    totals on index tuples (index-only, no heap visit for a creator it rejects) and reads the
--    heap only for the per-account JSONB check of the creators that pass (search_store.cpp runs
--    such a search in two steps). EXPLAIN ANALYZE, combined filters with FR, fr, tiktok:
--    821 -> 363 buffers (628 heap blocks -> 48 index tuples + their rows).
drop index creator_profiles_country_followers_id_idx;
drop index creator_profiles_country_engagement_id_idx;
create index creator_profiles_country_followers_id_idx on creator_profiles (country, follower_total, user_id)
  include (searchable, max_engagement, niches, languages, platforms);
create index creator_profiles_country_engagement_id_idx on creator_profiles (country, max_engagement, user_id)
  include (searchable, follower_total, niches, languages, platforms);
