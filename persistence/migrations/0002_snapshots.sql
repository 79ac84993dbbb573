-- The latest snapshot of each entity: recovery loads it, then the journal events after `seq`.
-- Only the newest is kept (a snapshot is an optimisation; the journal stays the truth).
create table snapshots (
  entity_id   uuid primary key,
  entity_type text not null,
  seq         bigint not null check (seq > 0),
  version     smallint not null,
  payload     bytea not null,
  taken_at    timestamptz not null default now()
);
