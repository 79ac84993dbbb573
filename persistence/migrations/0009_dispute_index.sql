-- Moderators' dispute queue (GET /api/v1/moderation/disputes): contracts with a contract.disputed
-- event and no contract.resolved one. A partial index keeps the lookup off the rest of the journal.
create index journal_disputes on journal (entity_id)
  where event_type in ('contract.disputed', 'contract.resolved');
