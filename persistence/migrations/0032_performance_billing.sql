-- Settlement of cpc/cpv campaigns (issue 8; docs/contracts.md "Performance contracts"). A
-- performance contract bills the VALID, unbilled clicks (cpc) or the unbilled view deltas (cpv,
-- migration 0030) of its (campaign, creator) above its billing watermark, then sets `billed_at`
-- on exactly those rows. The settlement job looks for (campaign, creator) pairs with such rows;
-- these partial indexes keep both the search and the per-contract count small however much
-- traffic is already billed or invalid.
create index link_clicks_unbilled_idx on link_clicks (campaign_id, creator_id, id)
  where verdict = 'valid' and billed_at is null;
