-- The double-entry ledger (docs/ledger.md). Money moves only as transfers between accounts; a
-- transfer is written in the same transaction as the journal event that decided it, so an entity's
-- history and its money never disagree.
--
-- Balances are credit-normal: balance = credits - debits. A transfer of `amount` from its debit
-- account to its credit account adds `amount` to the debit account's debits and to the credit
-- account's credits, so the balances of all accounts of a currency always sum to zero. Pending
-- transfers (two-phase: an authorization) count in the *_pending columns until they are posted or
-- voided, exactly once.
create table ledger_accounts (
  id              text primary key,  -- "clearing:USD", "escrow:<uuid>", "user:<uuid>:USD", "revenue:USD"
  currency        text not null check (currency ~ '^[A-Z]{3}$'),
  floor_enforced  boolean not null,  -- false only for provider clearing (money from outside)
  debits_posted   bigint not null default 0 check (debits_posted >= 0),
  credits_posted  bigint not null default 0 check (credits_posted >= 0),
  debits_pending  bigint not null default 0 check (debits_pending >= 0),
  credits_pending bigint not null default 0 check (credits_pending >= 0),
  created_at      timestamptz not null default now(),
  -- What an account can still give never drops below zero, counting what is promised (pending).
  constraint ledger_floor check (not floor_enforced
                                 or credits_posted - debits_posted - debits_pending >= 0)
);

create table ledger_transfers (
  id             text primary key,   -- unique: the idempotency key ("<entity>:<seq>:<leg>")
  debit_account  text not null references ledger_accounts,
  credit_account text not null references ledger_accounts,
  amount         bigint not null check (amount > 0),
  currency       text not null,
  state          text not null check (state in ('pending', 'posted', 'voided')),
  two_phase      boolean not null,   -- created pending (posted/voided later) or posted at once
  entity_id      uuid not null,      -- the entity whose journal event created it
  entity_seq     bigint not null,
  resolved_seq   bigint,             -- two-phase: the event that posted or voided it
  created_at     timestamptz not null default now(),
  resolved_at    timestamptz,
  check (debit_account <> credit_account),
  check (two_phase or state = 'posted'),
  check ((state = 'pending') = (two_phase and resolved_seq is null))
);
create index ledger_transfers_entity on ledger_transfers (entity_id, entity_seq);
create index ledger_transfers_debit on ledger_transfers (debit_account);
create index ledger_transfers_credit on ledger_transfers (credit_account);

-- Payment-provider webhooks already processed, by the provider's event id: a replayed webhook is
-- acknowledged and ignored.
create table payment_webhooks (
  event_id    text primary key,
  event_type  text not null,
  reference   text not null,
  received_at timestamptz not null default now()
);
