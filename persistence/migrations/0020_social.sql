-- Social platforms (docs/api.md, "Social platforms"): statistics a creator refreshed from the
-- platforms, and fake-follower flags awaiting a moderator.
--
-- creator_profiles.stats_verified_at: when the figures of the social accounts last came from the
-- provider (a refresh). Any other change of social_accounts (a creator's PUT with other figures
-- or accounts) clears it, so "verified" never labels self-declared numbers; a PUT that keeps
-- the accounts as they are keeps it.
alter table creator_profiles add column stats_verified_at timestamptz;

create function creator_profiles_unverify() returns trigger language plpgsql as $$
begin
  if new.social_accounts is distinct from old.social_accounts
     and new.stats_verified_at is not distinct from old.stats_verified_at then
    new.stats_verified_at := null;
  end if;
  return new;
end;
$$;

create trigger creator_profiles_unverify before update on creator_profiles
  for each row execute function creator_profiles_unverify();

-- Every statistics fetch a refresh stored (the provider's whole answer), newest last.
create table social_snapshots (
  id         bigint generated always as identity primary key,
  user_id    uuid not null references users on delete cascade,
  platform   text not null,
  handle     text not null,
  stats      jsonb not null,
  fetched_at timestamptz not null
);
create index social_snapshots_by_account on social_snapshots (user_id, platform, handle, id);

-- An account whose statistics showed fake-follower signals, for a moderator to clear or confirm.
-- At most one open flag per account: a later refresh updates its signals and snapshot.
create table social_flags (
  id          bigint generated always as identity primary key,
  user_id     uuid not null references users on delete cascade,
  platform    text not null,
  handle      text not null,
  signals     jsonb not null,  -- [{code, message, figures}]
  snapshot    jsonb not null,  -- the statistics that raised (or last updated) the flag
  status      text not null default 'open' check (status in ('open', 'cleared', 'confirmed')),
  reviewer_id uuid references users on delete set null,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  reviewed_at timestamptz,
  check ((status = 'open') = (reviewed_at is null))
);
create unique index social_flags_one_open on social_flags (user_id, platform, handle)
  where status = 'open';
create index social_flags_by_status on social_flags (status, id);
