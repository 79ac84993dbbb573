-- Retention (persistence/retention.hpp; docs/operations.md "Retention"): pactumd deletes access
-- tokens and WebSocket tickets a while after they expired, in bounded batches. This partial index
-- holds exactly those candidates (refresh tokens live as long as their login and go with it), so
-- each batch reads only rows it deletes instead of scanning the table, whose size is dominated by
-- one access token per active user every 15 minutes.
create index auth_tokens_expiry_idx on auth_tokens (expires_at) where kind <> 'refresh';
