-- Campaign matching (docs/api.md, "Campaigns" and "Matching"): the read model keeps each
-- campaign's full details (the JSON its view renders under "details"), so the creator's eligible
-- campaigns can be ranked by the matching scorer without activating every campaign actor. Null
-- for rows projected before this migration: start-up healing re-projects those
-- (persistence/src/campaign_store.cpp, `stale_campaigns`).
alter table campaigns add column details jsonb;
