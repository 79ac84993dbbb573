-- Pledge campaigns (crowdfunding; docs/contracts.md, "Pledge campaigns"): a read model for the
-- listing of live campaigns. The truth is each campaign's journal (entity type "pledge"); the
-- pledge actor upserts this row after each commit that changes what the listing shows, so it may
-- lag a moment behind the journal and is rebuilt by the actor's next change. A create first claims
-- its row by the creator's idempotency key (unique), so a retried create reaches the same campaign;
-- a claimed row whose create was refused has no journal and stays a 'draft' nobody lists.
create table pledge_campaigns (
  id          uuid primary key,
  creator     uuid not null references users(id),
  title       text not null,
  status      text not null check (status in ('draft', 'live', 'succeeded', 'failed')),
  goal        bigint not null,
  currency    text not null,
  end_at      bigint not null,
  pledged     bigint not null default 0,
  backers     bigint not null default 0,
  create_key  text not null,         -- the creator's idempotency key of the create
  head        bigint not null default 0, -- the journal seq the row reflects: updates only move it forward
  updated_at  timestamptz not null default now()
);
create unique index pledge_campaigns_create_key on pledge_campaigns (creator, create_key);
create index pledge_campaigns_live on pledge_campaigns (id) where status = 'live';
