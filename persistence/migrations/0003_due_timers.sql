-- Durable timers. A row is written or deleted in the same transaction as the journal events that
-- set or clear the timer, so timer and state never disagree; a sweeper finds due rows (also those
-- that fell due while the server was down) and wakes their entities.
create table due_timers (
  entity_id   uuid not null,
  kind        text not null,
  entity_type text not null,
  due_at      timestamptz not null,
  primary key (entity_id, kind)
);
create index due_timers_due_at on due_timers (due_at);
