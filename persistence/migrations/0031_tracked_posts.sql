-- Posts whose view counts are polled (issue 8): one row per APPROVED campaign content submission
-- on a social platform (its first media URL, as the contract's delivery names it). The campaign
-- actor writes it after the approval has committed, and again on every activation of the
-- campaign for all of its approved submissions (`on conflict do nothing`: the first write wins),
-- so a crash between the commit and the write heals on the next activation and a submission is
-- tracked exactly once.
--
-- The view poller (actors/src/views.cpp) reads the active rows of published campaigns, oldest
-- poll first, and for each answer writes, in ONE transaction: this row, and for an increase of
-- the highest count seen so far a `content_view_deltas` row (migration 0030) and the views (and
-- cpv spend) in the creator's `analytics_rollups` minute. Counted views = `last_total` −
-- `first_total`: views before the first observation (before the approval) are not counted.
--
-- `status`          'active' (polled) or 'gone' (the platform answered not_found / not a post:
--                   never polled again)
-- `first_total`     the first observed count (null: not observed yet)
-- `last_total`      the highest observed count: views are counted up to it
-- `observed_total`  the latest count (below `last_total` after a platform corrected it down)
-- `polled_at`       the last poll that reached the platform (null: never): the poll order
-- `failures`, `last_error`: retryable errors since the last answer, and the last error's text
create table tracked_posts (
  campaign_id     uuid not null,
  submission      bigint not null,
  creator_id      uuid not null,
  platform        text not null,
  post            text not null,
  approved_at     timestamptz not null,
  status          text not null default 'active' check (status in ('active', 'gone')),
  first_total     bigint,
  last_total      bigint,
  observed_total  bigint,
  polled_at       timestamptz,
  observed_at     timestamptz,
  failures        integer not null default 0,
  last_error      text,
  primary key (campaign_id, submission)
);
-- The poll order: never polled first, then the least recently polled.
create index tracked_posts_poll_idx on tracked_posts (polled_at nulls first, campaign_id, submission)
  where status = 'active';
