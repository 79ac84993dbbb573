-- Presence: when each user's last session ended ("last seen"), so it outlives a restart.
alter table users add column last_seen_at timestamptz;
