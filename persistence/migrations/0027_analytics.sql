-- Analytics (issue 8): per-minute rollups of the VALID tracking events of each (campaign,
-- creator), folded by the analytics pipeline in the same transaction that writes each event's
-- verdict (link_clicks / conversions, migration 0022), so an event is counted exactly once even
-- across crashes. Reports (`GET /api/v1/analytics/campaigns/{id}/performance`) sum these rows.
--
-- `clicks`           valid clicks
-- `unique_clicks`    valid clicks that were the client's (hashed address) first valid click on
--                    this creator's links of this campaign that UTC day: summed over a day's
--                    buckets it is the day's distinct visitors; over several days, the sum of
--                    the daily figures
-- `views`            new views of the creator's approved campaign posts (view-count deltas)
-- `conversions`      valid (attributed) conversions, `revenue` their amounts (minor units)
-- `spend`            what the valid events cost at the campaign's rate: cpc rate per click,
--                    cpv rate per 1,000 views (0 for other pricing models)
-- `invalid_clicks`, `invalid_conversions`: events classified invalid (never in the figures)
create table analytics_rollups (
  campaign_id          uuid not null,
  creator_id           uuid not null,
  bucket               timestamptz not null,
  clicks               bigint not null default 0,
  unique_clicks        bigint not null default 0,
  views                bigint not null default 0,
  conversions          bigint not null default 0,
  revenue              bigint not null default 0,
  spend                bigint not null default 0,
  invalid_clicks       bigint not null default 0,
  invalid_conversions  bigint not null default 0,
  primary key (campaign_id, bucket, creator_id)
);

-- Invalid events of a campaign, newest first (the review list).
create index link_clicks_invalid_idx on link_clicks (campaign_id, id desc) where verdict = 'invalid';
create index conversions_invalid_idx on conversions (campaign_id, id desc) where verdict = 'invalid';
-- Start-up rebuild of the detector: the recent classified clicks in time order.
create index link_clicks_at_idx on link_clicks (at);
