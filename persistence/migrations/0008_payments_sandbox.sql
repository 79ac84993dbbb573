-- The embedded SANDBOX payment provider (docs/payments.md). These tables stand in for an external
-- provider's own database: only persistence/src/sandbox_store.cpp touches them, never the rest of
-- Pactum, which learns about payments from the provider's answers and webhooks only.

-- One row per idempotency key. The first use records the key with the canonical form of its
-- parameters; a later use with another fingerprint is refused, one with the same fingerprint
-- gets `result` back verbatim once there is one. Retryable failures (the network-error test card)
-- only count `attempts`.
create table sandbox_calls (
  key          text primary key,
  fingerprint  text not null,
  attempts     int not null default 0,
  result       text,
  created_at   timestamptz not null default now(),
  completed_at timestamptz
);

-- Payment intents (kind payment) and payouts (kind payout), keyed by the key of the call that
-- created them. `method` is always one of the public test card numbers (anything else is refused
-- before a row is written) or an opaque payout destination.
create table sandbox_intents (
  key           text primary key,
  kind          text not null check (kind in ('payment', 'payout')),
  status        text not null
                check (status in ('requires_capture', 'succeeded', 'failed', 'canceled',
                                  'refunded', 'paid')),
  amount        bigint not null check (amount > 0),
  currency      text not null,
  method        text not null,
  reference     text not null,
  captured      bigint not null default 0,
  refunded      bigint not null default 0,
  failure_code  text,
  cancel_reason text,
  created_at    timestamptz not null,
  expires_at    timestamptz,
  updated_at    timestamptz not null default now(),
  check (0 <= refunded and refunded <= captured and captured <= amount)
);
create index sandbox_intents_lapsing on sandbox_intents (expires_at)
  where status = 'requires_capture';

-- The webhook outbox. A row is written in the same transaction as the change it reports; the
-- deliverer POSTs due rows, oldest first and per object in `seq` order (a row waits while an
-- earlier row of its object is undelivered), and on failure stores the attempt count and the
-- next due time.
create table sandbox_webhooks (
  seq          bigserial primary key,
  id           text not null unique,
  object_key   text not null,
  event_type   text not null,
  body         text not null,
  created_at   timestamptz not null default now(),
  due_at       timestamptz not null,
  attempts     int not null default 0,
  last_error   text,
  delivered_at timestamptz
);
create index sandbox_webhooks_object on sandbox_webhooks (object_key, seq)
  where delivered_at is null;
create index sandbox_webhooks_due on sandbox_webhooks (due_at) where delivered_at is null;
