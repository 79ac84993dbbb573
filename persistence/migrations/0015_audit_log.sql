-- The audit log (docs/security.md, "Audit log"): security-relevant actions, append-only.
-- The application role owns its tables, so privileges alone cannot stop it from changing rows;
-- triggers refuse every UPDATE, DELETE and TRUNCATE instead, for every role. Removing them takes
-- an explicit ALTER TABLE ... DISABLE TRIGGER (or DROP TRIGGER), which is itself visible in the
-- server's log when log_statement = 'ddl'.
create table audit_log (
  id bigint generated always as identity primary key,
  at timestamptz not null,                  -- when the action happened (the server's clock)
  actor_id uuid,                            -- null: an anonymous caller, the system, an operator
  actor_role text not null,                 -- brand, creator, moderator, admin, anonymous,
                                            -- system (timers, webhooks) or operator (pactumd flags)
  address text not null default '',         -- the client's IP address ('' when none)
  action text not null,                     -- the policy's action name, e.g. contract.fund
  target text not null default '',          -- what it acted on: an id, never personal data
  outcome text not null,                    -- ok, or the stable error code of the refusal
  detail jsonb not null default '{}'::jsonb -- ids and codes only: no secrets, no emails
);

create index audit_log_by_actor on audit_log (actor_id, id);
create index audit_log_by_action on audit_log (action, id);

create function audit_log_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'audit_log is append-only: % refused', tg_op
    using errcode = 'insufficient_privilege';
end;
$$;

create trigger audit_log_no_change before update or delete on audit_log
  for each row execute function audit_log_append_only();
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function audit_log_append_only();
