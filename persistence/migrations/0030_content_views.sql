-- Views from the social adapter (issue 8): the analytics pipeline polls the view counts of the
-- creators' approved campaign posts and records each increase here, one row per observed
-- increase, in the same transaction that adds it to `analytics_rollups.views`. CPV campaigns are
-- billed from these rows: `billed_at` is set in the transaction whose ledger transfer paid for
-- them, so a view is paid for at most once.
--
-- `submission`  the campaign content submission (its seq in the campaign's journal) whose post
--               was observed
-- `post`        the post reference as submitted (URL or id), `platform` its platform
-- `views`       the increase since the previous observation (> 0)
-- `total`       the post's view count at this observation
create table content_view_deltas (
  id           bigserial primary key,
  campaign_id  uuid not null,
  creator_id   uuid not null,
  submission   bigint not null,
  platform     text not null,
  post         text not null,
  at           timestamptz not null,
  views        bigint not null check (views > 0),
  total        bigint not null check (total >= views),
  billed_at    timestamptz
);
create index content_view_deltas_campaign_idx on content_view_deltas (campaign_id, at);
create index content_view_deltas_unbilled_idx on content_view_deltas (campaign_id, creator_id, id)
  where billed_at is null;
