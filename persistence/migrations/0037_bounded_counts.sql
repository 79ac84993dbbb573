-- Performance contracts count only the traffic of their own time (docs/contracts.md "Performance
-- contracts"): from the funding to the end (the delivery deadline while undelivered, else the
-- campaign's end date). A click after the end can therefore lie below a contract's watermark,
-- unclaimed: it is not that contract's, and another contract of the same creator may still pay it.
--
-- The marking after a bill also sets `billed_at` on unclaimed rows below the watermark: rows
-- billed before migration 0035, whose marking a crash lost. Those are all older than this
-- migration; the marking takes unclaimed rows only from before the moment recorded here.
create table settlement_epochs (
  name text primary key,
  at   timestamptz not null default now()
);
insert into settlement_epochs (name) values ('bounded_counts');
