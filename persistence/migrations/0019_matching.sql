-- Matching (docs/api.md, "Matching"): a creator's history figures come from the contract journals.
-- Which creator a contract belongs to is in its first event, contract.opened, whose msgpack
-- payload holds the key "creator" with the user id as a 36-character string (never sealed:
-- sealing covers the terms only). This function reads that id straight from the bytes (the
-- payload's keys are written sorted, so the first "creator" key is the top-level one) and
-- answers null for anything that does not look like it; it never raises, because it runs inside
-- every insert of a contract.opened row through the index below.
create function pactum_contract_creator(payload bytea) returns uuid
language sql immutable strict parallel safe as $$
  select case when s ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
              then s::uuid end
  from (select case when i > 0 then encode(substring(payload from i + 10 for 36), 'escape') end as s
        from (select position('\xa763726561746f72d924'::bytea in payload) as i) as at) as found
$$;

-- A creator's contracts without reading the whole journal: partial, so other events cost nothing.
create index journal_contract_creator on journal (pactum_contract_creator(payload))
  where event_type = 'contract.opened';
