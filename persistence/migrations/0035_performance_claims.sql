-- Claims of performance contracts (issue 8; docs/contracts.md "Performance contracts"). Before
-- this migration two funded cpc/cpv contracts of the same creator in the same campaign could both
-- count the same unbilled rows between one's bill commit and its marking, and both pay them. Now a
-- contract claims the rows it counts, in the counting transaction (`claimed_by` = its id, rows
-- locked in id order), and counts only rows unclaimed or its own: a row is billed by at most one
-- contract. The claim survives a crash: the contract bills its own claimed, unbilled rows above
-- its watermark on its next count, and marks them (`billed_at`) after the bill's commit.
--
-- Rows of an ended contract that it claimed but did not bill (a mutual cancel while its count was
-- in flight) stay claimed and unpaid, as the rows a contract's last round did not bill always did.
alter table link_clicks add column claimed_by uuid;
alter table content_view_deltas add column claimed_by uuid;
