// pactumd: the Pactum server process.
//
// Start-up: parse flags and environment, apply migrations, start persistence, the actor runtime
// and the gateway, then wait for SIGINT/SIGTERM. Shutdown: stop accepting, answer new requests
// `unavailable`, let in-flight commands finish and the journal flush, close every WebSocket with
// 1001, then stop the actor system and the database threads, in that order.

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <sodium.h>
#include <spdlog/spdlog.h>

#include "pactum/actors/runtime.hpp"
#include "pactum/actors/sealer.hpp"
#include "pactum/gateway/server.hpp"
#include "pactum/payments/sandbox.hpp"
#include "pactum/persistence/database.hpp"
#include "pactum/persistence/retention.hpp"
#include "pactum/social/client.hpp"
#include "pactum/social/simulated.hpp"

namespace {

struct options {
  std::string listen = "127.0.0.1:8080";
  std::string database_url;
  size_t workers = 2;
  size_t io_threads = 1;
  size_t db_pool = 4;
  std::string log_level = "info";
  size_t max_frame_bytes = 64 * 1024;
  uint32_t max_text_chars = 4000;
  size_t outbound_queue = 4096;
  unsigned long long pwhash_opslimit = 3;
  size_t pwhash_memlimit_kib = 64 * 1024;
  size_t snapshot_every = 100;
  size_t passivate_after_ms = 300'000;
  size_t edit_window_ms = 15 * 60 * 1000;
  size_t tail_cache = 512;
  size_t dedup_window = 4'096;
  size_t offer_ttl_s = 72 * 3600;
  size_t max_pending_offers = 10;
  size_t max_members = 8;
  size_t campaign_max_applications = 10'000;
  size_t campaign_max_invitations = 10'000;
  size_t campaign_max_subscribers = 10'000;
  size_t notifications_per_user = 1'000;
  size_t timer_sweep_ms = 1'000;
  size_t timer_retry_ms = 0; ///< 0: 10 x timer_sweep_ms
  double message_rate_per_s = 10;
  double message_burst = 30;
  size_t access_token_ttl_s = 15 * 60;
  size_t refresh_token_ttl_s = 30 * 24 * 3600;
  size_t login_free_failures = 5;
  size_t login_free_failures_per_address = 20;
  size_t login_backoff_max_s = 900;
  size_t login_throttle_entries = 100'000;
  std::string allowed_origins;
  size_t max_sockets_per_user = 20;
  std::string port_file;
  bool migrate_only = false;
  std::string set_role; ///< EMAIL=ROLE: an operator action, then exit
  std::string set_kyc;  ///< EMAIL=STATUS: an operator action, then exit
  size_t settlement_window_s = 2 * 24 * 3600;
  size_t audit_queue = 10'000; ///< audit records waiting to be written before new ones are dropped
  std::string contact_guard = "mask";
  std::string payments = "sandbox";
  std::string webhook_secret;
  size_t sandbox_late_webhook_ms = 30'000;
  size_t commission_bps = 1000;
  size_t commission_fixed = 0;
  size_t review_window_s = 3 * 24 * 3600;
  size_t revision_window_s = 3 * 24 * 3600;
  size_t contract_day_ms = 24 * 3600 * 1000;
  bool ledger_check = false;
  std::string login_codes = "outbox";
  size_t login_code_ttl_s = 600;
  size_t login_code_attempts = 5;
  size_t login_codes_per_email_hour = 5;
  size_t login_codes_per_address_hour = 30;
  bool ws_deflate = false;
  size_t ws_ping_interval_s = 30;
  size_t ws_frame_rate_per_s = 50;
  size_t ws_frame_burst = 100;
  size_t ws_rate_strikes = 50;
  size_t ws_rate_window_s = 10;
  std::string tls_cert;
  std::string tls_key;
  std::string funding_mode_default = "escrow";
  std::string funding_modes; ///< CC=mode,...
  size_t authorization_validity_s = 6 * 24 * 3600;
  size_t authorization_margin_s = 24 * 3600;
  size_t sandbox_short_authorization_ms = 10'000;
  size_t journal_batch_max = 1'000;
  std::string master_key_file;
  size_t key_cache = 100'000;
  size_t export_max_events = 100'000;
  size_t search_page_max = 100;
  size_t search_radius_max_km = 500;
  size_t search_text_max_chars = 200;
  std::string web_root = "auto"; ///< auto: PACTUM_DEFAULT_WEB_ROOT when built; none: landing page
  size_t web_max_bytes = 32 * 1024 * 1024;
  std::string social_provider = "simulated";
  size_t social_seed = 1;
  size_t social_quota_calls = 60;
  size_t social_quota_window_ms = 60'000;
  size_t social_client_calls = 60;
  size_t social_burst = 6;
  size_t social_max_attempts = 4;
  size_t social_backoff_base_ms = 500;
  size_t social_backoff_max_ms = 30'000;
  size_t social_max_wait_ms = 10'000;
  size_t social_concurrency = 4;
  size_t social_queue = 1'000;
  size_t social_refresh_interval_s = 60;
  size_t match_candidates = 2'000;
  size_t match_limit_max = 100;
  size_t pledge_progress_ms = 250;
  size_t pledge_kyc_recheck_ms = 30'000;
  size_t pledge_max_pledges = 100'000;
  size_t analytics_interval_ms = 250;
  size_t analytics_batch = 5'000;
  size_t analytics_rebuild_s = 2 * 60 * 60;
  size_t fraud_repeat_window_s = 30 * 60;
  size_t fraud_velocity_window_s = 60;
  size_t fraud_client_floor = 6;
  size_t fraud_agent_floor = 12;
  size_t fraud_creator_floor = 20;
  size_t fraud_multiplier = 3;
  size_t fraud_attribution_window_h = 30 * 24;
  std::string metrics_token; ///< empty: /metrics for loopback clients only
  size_t promo_max_codes = 50;
  size_t promo_code_ttl_s = 30 * 24 * 60 * 60;
  size_t promo_points_redemption = 10;
  size_t promo_points_repost = 5;
  size_t promo_leaderboard_max = 100;
  size_t promo_push_ms = 1'000;
  size_t promo_max_subscribers = 10'000;
  std::string promo_signing_key_file;
  size_t link_cache_entries = 100'000;
  size_t click_queue = 100'000;
  size_t click_batch = 2'000;
  size_t click_user_agent_max = 256;
  size_t click_referrer_max = 512;
  size_t product_import_max_rows = 10'000;
  size_t product_import_max_bytes = 1024 * 1024;
  size_t conversion_tolerance_s = 300;
  size_t analytics_max_subscriptions = 20;
  size_t views_poll_interval_ms = 60'000;
  size_t views_poll_batch = 100;
  size_t views_quota_reserve = 2;
  size_t auth_cache_ttl_ms = 30'000;
  size_t auth_cache_entries = 100'000;
  size_t billing_interval_ms = 60'000;
  size_t billing_end_grace_ms = 60'000;
  size_t max_room_members = 200;
  size_t retention_interval_s = 3600;
  size_t retention_tokens_s = 24 * 3600;
  size_t retention_logins_s = 30 * 24 * 3600;
  size_t retention_login_codes_s = 24 * 3600;
  size_t retention_sent_mail_s = 7 * 24 * 3600;
};

constexpr const char* usage = R"(usage: pactumd [options]

Every option can also be set in the environment (shown in brackets); a flag wins.
  --listen HOST:PORT        address to serve HTTP and WebSocket on [PACTUM_LISTEN] (127.0.0.1:8080;
                            port 0 picks a free one)
  --database-url URL        PostgreSQL connection URL [PACTUM_DATABASE_URL] (required)
  --workers N               CAF scheduler threads [PACTUM_WORKERS] (2)
  --io-threads N            Asio I/O threads [PACTUM_IO_THREADS] (1)
  --db-pool N               database connections for reads [PACTUM_DB_POOL] (4)
  --log-level LEVEL         trace, debug, info, warn, error [PACTUM_LOG_LEVEL] (info)
  --max-frame-bytes N       largest WebSocket message [PACTUM_MAX_FRAME_BYTES] (65536)
  --max-text-chars N        longest chat message [PACTUM_MAX_TEXT_CHARS] (4000)
  --outbound-queue N        frames queued per socket before 4001 [PACTUM_OUTBOUND_QUEUE] (4096)
  --pwhash-opslimit N       argon2id passes [PACTUM_PWHASH_OPSLIMIT] (3)
  --pwhash-memlimit-kib N   argon2id memory in KiB [PACTUM_PWHASH_MEMLIMIT_KIB] (65536)
  --snapshot-every N        events between snapshots of an entity; 0 = never [PACTUM_SNAPSHOT_EVERY] (100)
  --passivate-after-ms N    stop entities idle this long; 0 = never [PACTUM_PASSIVATE_AFTER_MS] (300000)
  --edit-window-ms N        how long authors may edit/delete a message [PACTUM_EDIT_WINDOW_MS] (900000)
  --tail-cache N            recent events an active conversation keeps in memory [PACTUM_TAIL_CACHE] (512)
  --dedup-window N          recent messages a conversation remembers for retries, edits and deletes;
                            at least 1 [PACTUM_DEDUP_WINDOW] (4096)
  --offer-ttl-s N           lifetime of an offer that names none [PACTUM_OFFER_TTL_S] (259200)
  --max-pending-offers N    offers awaiting an answer per conversation [PACTUM_MAX_PENDING_OFFERS] (10)
  --max-members N           members per conversation: brand, creator and moderators who joined
                            (at least 2) [PACTUM_MAX_MEMBERS] (8)
  --max-room-members N      members per campaign room: its brand and the creators who entered
                            (at least 2) [PACTUM_MAX_ROOM_MEMBERS] (200)
  --campaign-max-applications N  applications ever made to one campaign [PACTUM_CAMPAIGN_MAX_APPLICATIONS] (10000)
  --campaign-max-invitations N   invitations ever sent by one campaign [PACTUM_CAMPAIGN_MAX_INVITATIONS] (10000)
  --campaign-max-subscribers N   live sessions watching one campaign [PACTUM_CAMPAIGN_MAX_SUBSCRIBERS] (10000)
  --notifications-per-user N     notifications kept per user, oldest read ones dropped first
                            (at least 1) [PACTUM_NOTIFICATIONS_PER_USER] (1000)
  --timer-sweep-ms N        how often due durable timers are looked for [PACTUM_TIMER_SWEEP_MS] (1000)
  --timer-retry-ms N        a fired timer its entity neither cleared nor moved fires again after
                            this; also how long a payment call may stay owed before its entity
                            is woken to make it [PACTUM_TIMER_RETRY_MS] (10 x --timer-sweep-ms)
  --message-rate-per-s R    messages, edits and offers per second per user; 0 = no limit
                            [PACTUM_MESSAGE_RATE_PER_S] (10)
  --message-burst N         how many of those a user may send at once above the rate
                            [PACTUM_MESSAGE_BURST] (30)
  --access-token-ttl-s N    access token lifetime in seconds [PACTUM_ACCESS_TOKEN_TTL_S] (900)
  --refresh-token-ttl-s N   refresh token lifetime in seconds [PACTUM_REFRESH_TOKEN_TTL_S] (2592000)
  --login-free-failures N   failed logins per account before waits start [PACTUM_LOGIN_FREE_FAILURES] (5)
  --login-free-failures-per-address N
                            failed logins per client address before waits start
                            [PACTUM_LOGIN_FREE_FAILURES_PER_ADDRESS] (20)
  --login-backoff-max-s N   longest wait after failed logins [PACTUM_LOGIN_BACKOFF_MAX_S] (900)
  --login-throttle-entries N  accounts + addresses tracked in memory [PACTUM_LOGIN_THROTTLE_ENTRIES] (100000)
  --allowed-origins LIST    comma-separated origins allowed to open WebSockets besides the
                            server's own [PACTUM_ALLOWED_ORIGINS] (none)
  --max-sockets-per-user N  concurrent WebSockets per user [PACTUM_MAX_SOCKETS_PER_USER] (20)
  --port-file FILE          write the bound port to FILE once listening
  --migrate-only            apply database migrations and exit
  --set-role EMAIL=ROLE     give an account a role (brand, creator, moderator, admin) and exit
  --contact-guard POLICY    before a deal, contact details and off-platform payment are: off,
                            flag (kept, queued for moderators), mask (hidden and queued) or
                            block (refused and queued) [PACTUM_CONTACT_GUARD] (mask)
  --payments PROVIDER       payment provider contracts call: sandbox (embedded, no network beyond
                            127.0.0.1; test cards only) or none [PACTUM_PAYMENTS] (sandbox)
  --webhook-secret S        HMAC secret of payment webhooks [PACTUM_WEBHOOK_SECRET] (sandbox:
                            a random one per start)
  --sandbox-late-webhook-ms N  delay of the sandbox's late-webhook test card
                            [PACTUM_SANDBOX_LATE_WEBHOOK_MS] (30000)
  --commission-bps N        platform commission on releases, basis points [PACTUM_COMMISSION_BPS] (1000)
  --commission-fixed N      plus a fixed part in minor units [PACTUM_COMMISSION_FIXED] (0)
  --review-window-s N       a delivery is released unless reviewed within this
                            [PACTUM_REVIEW_WINDOW_S] (259200)
  --revision-window-s N     least time to deliver after a revision request
                            [PACTUM_REVISION_WINDOW_S] (259200)
  --contract-day-ms N       length of one day of an offer's delivery_days; shorten only in
                            sandboxes and tests [PACTUM_CONTRACT_DAY_MS] (86400000)
  --funding-mode-default M  how new contracts hold the money when the brand's country is not
                            listed: escrow or authorize_capture [PACTUM_FUNDING_MODE_DEFAULT] (escrow)
  --funding-modes LIST      per brand country: CC=mode,... e.g. DE=authorize_capture,US=escrow
                            [PACTUM_FUNDING_MODES] (none)
  --authorization-validity-s N  authorize_capture: how long a card authorization is trusted
                            [PACTUM_AUTHORIZATION_VALIDITY_S] (518400)
  --authorization-margin-s N  renew an authorization this long before it stops being trusted
                            [PACTUM_AUTHORIZATION_MARGIN_S] (86400)
  --sandbox-short-authorization-ms N  lifetime of an authorization with the sandbox's
                            short-authorization test card [PACTUM_SANDBOX_SHORT_AUTHORIZATION_MS] (10000)
  --journal-batch-max N     appends the journal writer folds into one transaction at most; 1
                            commits each append alone (benchmark baselines) [PACTUM_JOURNAL_BATCH_MAX] (1000)
  --settlement-window-s N   money paid to a user in the last N seconds cannot be withdrawn yet
                            [PACTUM_SETTLEMENT_WINDOW_S] (172800)
  --audit-queue N           audit records waiting to be written; beyond it new ones are dropped
                            and counted, never blocking a request [PACTUM_AUDIT_QUEUE] (10000)
  --set-kyc EMAIL=STATUS    set an account's identity verification (unverified, pending,
                            verified, rejected; withdrawals need verified) and exit
  --login-codes MODE        one-time email login codes: outbox (mail queued in the mail_outbox
                            table for a relay) or off [PACTUM_LOGIN_CODES] (outbox)
  --login-code-ttl-s N      lifetime of a login code [PACTUM_LOGIN_CODE_TTL_S] (600)
  --login-code-attempts N   wrong guesses that kill a code [PACTUM_LOGIN_CODE_ATTEMPTS] (5)
  --login-codes-per-email-hour N  code requests per email per hour [PACTUM_LOGIN_CODES_PER_EMAIL_HOUR] (5)
  --login-codes-per-address-hour N  code requests per client address per hour
                            [PACTUM_LOGIN_CODES_PER_ADDRESS_HOUR] (30)
  --ws-deflate              accept permessage-deflate from clients that offer it [PACTUM_WS_DEFLATE=1]
                            (off: compression costs memory per socket and can leak secrets)
  --ws-ping-interval-s N    ping a WebSocket silent for N s, close it after N s more without an
                            answer; 0 = never [PACTUM_WS_PING_INTERVAL_S] (30)
  --ws-frame-rate-per-s N   inbound frames per second per WebSocket; beyond it frames are refused
                            `rate_limited`; 0 = no limit [PACTUM_WS_FRAME_RATE_PER_S] (50)
  --ws-frame-burst N        frames a WebSocket may send at once above that rate
                            [PACTUM_WS_FRAME_BURST] (100)
  --ws-rate-strikes N       refusals within --ws-rate-window-s that close the socket with 4029;
                            0 = never [PACTUM_WS_RATE_STRIKES] (50)
  --ws-rate-window-s N      the window of --ws-rate-strikes, seconds [PACTUM_WS_RATE_WINDOW_S] (10)
  --tls-cert FILE           PEM certificate (chain): serve HTTPS and WSS only [PACTUM_TLS_CERT]
  --tls-key FILE            PEM private key of that certificate [PACTUM_TLS_KEY]
  --master-key-file FILE    the key (32 random bytes, raw or hex; mode 600) that wraps every
                            user's data key; required to serve [PACTUM_MASTER_KEY_FILE]
  --key-cache N             users' data keys kept unwrapped in memory [PACTUM_KEY_CACHE] (100000)
  --export-max-events N     journal events one data export holds at most
                            [PACTUM_EXPORT_MAX_EVENTS] (100000)
  --search-page-max N       creator search: results per page at most [PACTUM_SEARCH_PAGE_MAX] (100)
  --search-radius-max-km N  creator search: the largest radius [PACTUM_SEARCH_RADIUS_MAX_KM] (500)
  --search-text-max-chars N creator search: the longest free text q [PACTUM_SEARCH_TEXT_MAX_CHARS] (200)
  --web-root DIR            the browser client served at / (loaded into memory at start), or
                            none for a bare landing page [PACTUM_WEB_ROOT] (web/dist of the
                            source tree when it has been built, else none)
  --web-max-bytes N         most bytes --web-root may hold [PACTUM_WEB_MAX_BYTES] (33554432)
  --social-provider P       social-platform statistics and post checks: simulated (embedded,
                            deterministic, no network) or none [PACTUM_SOCIAL_PROVIDER] (simulated)
  --social-seed N           seed of the simulated provider's figures [PACTUM_SOCIAL_SEED] (1)
  --social-quota-calls N    simulated provider: calls per platform per window before 429
                            [PACTUM_SOCIAL_QUOTA_CALLS] (60)
  --social-quota-window-ms N  simulated provider: the quota's window [PACTUM_SOCIAL_QUOTA_WINDOW_MS] (60000)
  --social-client-calls N   the client's own limit per platform per window (a token bucket; set it
                            to the platform's quota); 0 = none [PACTUM_SOCIAL_CLIENT_CALLS] (60)
  --social-burst N          calls per platform the client makes at once [PACTUM_SOCIAL_BURST] (6)
  --social-max-attempts N   platform calls per request, retries included [PACTUM_SOCIAL_MAX_ATTEMPTS] (4)
  --social-backoff-base-ms N  first retry delay, doubling, jittered [PACTUM_SOCIAL_BACKOFF_BASE_MS] (500)
  --social-backoff-max-ms N   longest retry delay [PACTUM_SOCIAL_BACKOFF_MAX_MS] (30000)
  --social-max-wait-ms N    most one request waits for quota and retries before answering 429/503
                            (at most 25000) [PACTUM_SOCIAL_MAX_WAIT_MS] (10000)
  --social-concurrency N    platform calls in flight at most (the client's threads)
                            [PACTUM_SOCIAL_CONCURRENCY] (4)
  --social-queue N          platform requests waiting for a thread before 503 overloaded
                            [PACTUM_SOCIAL_QUEUE] (1000)
  --social-refresh-interval-s N  a creator refreshes their statistics at most once per N s;
                            0 = no limit [PACTUM_SOCIAL_REFRESH_INTERVAL_S] (60)
  --match-candidates N      creators the matching prefilter hands to the scorer at most
                            [PACTUM_MATCH_CANDIDATES] (2000)
  --match-limit-max N       the most matches one request returns [PACTUM_MATCH_LIMIT_MAX] (100)
  --pledge-progress-ms N    live progress of a pledge campaign is pushed at most once per N ms
                            [PACTUM_PLEDGE_PROGRESS_MS] (250)
  --pledge-kyc-recheck-ms N a succeeded campaign whose creator is not verified re-reads the
                            verification at most once per N ms [PACTUM_PLEDGE_KYC_RECHECK_MS] (30000)
  --pledge-max-pledges N    pledges one campaign accepts [PACTUM_PLEDGE_MAX_PLEDGES] (100000)
  --analytics-interval-ms N pending clicks and conversions are classified every N ms
                            [PACTUM_ANALYTICS_INTERVAL_MS] (250)
  --analytics-batch N       events per pipeline transaction [PACTUM_ANALYTICS_BATCH] (5000)
  --analytics-rebuild-s N   at start-up the fraud detector replays the clicks of the last N s
                            [PACTUM_ANALYTICS_REBUILD_S] (7200)
  --fraud-repeat-window-s N the same client on the same link within N s is a repeat click
                            [PACTUM_FRAUD_REPEAT_WINDOW_S] (1800)
  --fraud-velocity-window-s N  the sliding window of the velocity rules [PACTUM_FRAUD_VELOCITY_WINDOW_S] (60)
  --fraud-client-floor N    clicks per window a client may always make [PACTUM_FRAUD_CLIENT_FLOOR] (6)
  --fraud-agent-floor N     ... one user-agent string [PACTUM_FRAUD_AGENT_FLOOR] (12)
  --fraud-creator-floor N   ... one creator's links [PACTUM_FRAUD_CREATOR_FLOOR] (20)
  --fraud-multiplier N      a key is flagged above N x its learned baseline (+ noise allowance)
                            [PACTUM_FRAUD_MULTIPLIER] (3)
  --fraud-attribution-window-h N  a conversion needs a valid click within N hours before it
                            [PACTUM_FRAUD_ATTRIBUTION_WINDOW_H] (720)
  --metrics-token T         GET /metrics requires `Authorization: Bearer T` from every client;
                            unset: served to loopback clients only [PACTUM_METRICS_TOKEN]
  --promo-max-codes N       promotion codes one request issues at most [PACTUM_PROMO_MAX_CODES] (50)
  --promo-code-ttl-s N      a promotion code's lifetime (capped by the promotion's end)
                            [PACTUM_PROMO_CODE_TTL_S] (2592000)
  --promo-points-redemption N  points a promoter earns per redeemed code
                            [PACTUM_PROMO_POINTS_REDEMPTION] (10)
  --promo-points-repost N   points per verified repost [PACTUM_PROMO_POINTS_REPOST] (5)
  --promo-leaderboard-max N the longest leaderboard [PACTUM_PROMO_LEADERBOARD_MAX] (100)
  --promo-push-ms N         a locality's live leaderboard is pushed at most once per N ms
                            [PACTUM_PROMO_PUSH_MS] (1000)
  --promo-max-subscribers N live leaderboard subscribers per locality
                            [PACTUM_PROMO_MAX_SUBSCRIBERS] (10000)
  --promo-signing-key-file F  the Ed25519 seed (32 raw bytes or 64 hex digits, mode 600) that
                            signs promotion codes; default: a key generated on first start and
                            kept in the database [PACTUM_PROMO_SIGNING_KEY_FILE]
  --link-cache-entries N    affiliate link targets `/r/{code}` keeps in memory
                            [PACTUM_LINK_CACHE_ENTRIES] (100000)
  --click-queue N           clicks waiting to be written; beyond, clicks are dropped and counted
                            [PACTUM_CLICK_QUEUE] (100000)
  --click-batch N           clicks written in one INSERT at most [PACTUM_CLICK_BATCH] (2000)
  --click-user-agent-max N  bytes of User-Agent stored per click [PACTUM_CLICK_USER_AGENT_MAX] (256)
  --click-referrer-max N    bytes of Referer stored per click [PACTUM_CLICK_REFERRER_MAX] (512)
  --product-import-max-rows N  product rows one CSV import takes [PACTUM_PRODUCT_IMPORT_MAX_ROWS] (10000)
  --product-import-max-bytes N  largest CSV import body [PACTUM_PRODUCT_IMPORT_MAX_BYTES] (1048576)
  --conversion-tolerance-s N  accepted clock difference of a signed conversion
                            [PACTUM_CONVERSION_TOLERANCE_S] (300)
  --analytics-max-subscriptions N  campaigns one connection may follow live (analytics.subscribe)
                            [PACTUM_ANALYTICS_MAX_SUBSCRIPTIONS] (20)
  --views-poll-interval-ms N  approved campaign posts' view counts are polled every N ms; 0 = never
                            [PACTUM_VIEWS_POLL_INTERVAL_MS] (60000)
  --views-poll-batch N      posts polled per round at most [PACTUM_VIEWS_POLL_BATCH] (100)
  --views-quota-reserve N   tokens of each platform's bucket view polls leave to user requests;
                            below --social-burst [PACTUM_VIEWS_QUOTA_RESERVE] (2)
  --auth-cache-ttl-ms N     a verified access token is served from memory for at most N ms
                            (revocations through this server apply at once); 0 = off, at most
                            60000 [PACTUM_AUTH_CACHE_TTL_MS] (30000)
  --auth-cache-entries N    access tokens cached at most [PACTUM_AUTH_CACHE_ENTRIES] (100000)
  --billing-interval-ms N   cpc/cpv campaigns bill valid clicks and views every N ms; 0 never
                            [PACTUM_BILLING_INTERVAL_MS] (60000)
  --billing-end-grace-ms N  a cpc campaign's end waits up to N ms for the verdicts on clicks made
                            before it, then bills; 0 bills what is judged
                            [PACTUM_BILLING_END_GRACE_MS] (60000)
  --retention-interval-s N  delete ended tokens, logins, login codes and sent mail every N s
                            (and at start); 0 never [PACTUM_RETENTION_INTERVAL_S] (3600)
  --retention-tokens-s N    keep tokens N s past their expiry [PACTUM_RETENTION_TOKENS_S] (86400)
  --retention-logins-s N    keep revoked or expired logins N s [PACTUM_RETENTION_LOGINS_S] (2592000)
  --retention-login-codes-s N  keep login codes N s past their expiry
                            [PACTUM_RETENTION_LOGIN_CODES_S] (86400)
  --retention-sent-mail-s N keep sent mail rows N s [PACTUM_RETENTION_SENT_MAIL_S] (604800)
  --ledger-check            verify the ledger's invariants, print what is broken, exit 1 if any
  --help                    show this text
)";

[[noreturn]] void die(const std::string& msg) {
  std::cerr << "pactumd: " << msg << "\n";
  std::exit(2);
}

size_t to_size(const std::string& name, const std::string& v) {
  try {
    size_t pos = 0;
    auto x = std::stoull(v, &pos);
    if (pos != v.size())
      throw std::invalid_argument(v);
    return x;
  } catch (const std::exception&) {
    die("--" + name + " needs a whole number, got '" + v + "'");
  }
}

options parse(int argc, char** argv) {
  options o;
  std::map<std::string, std::string> values;
  const std::map<std::string, const char*> env{
    {"listen", "PACTUM_LISTEN"},
    {"database-url", "PACTUM_DATABASE_URL"},
    {"workers", "PACTUM_WORKERS"},
    {"io-threads", "PACTUM_IO_THREADS"},
    {"db-pool", "PACTUM_DB_POOL"},
    {"log-level", "PACTUM_LOG_LEVEL"},
    {"max-frame-bytes", "PACTUM_MAX_FRAME_BYTES"},
    {"max-text-chars", "PACTUM_MAX_TEXT_CHARS"},
    {"outbound-queue", "PACTUM_OUTBOUND_QUEUE"},
    {"pwhash-opslimit", "PACTUM_PWHASH_OPSLIMIT"},
    {"pwhash-memlimit-kib", "PACTUM_PWHASH_MEMLIMIT_KIB"},
    {"port-file", "PACTUM_PORT_FILE"},
    {"snapshot-every", "PACTUM_SNAPSHOT_EVERY"},
    {"passivate-after-ms", "PACTUM_PASSIVATE_AFTER_MS"},
    {"edit-window-ms", "PACTUM_EDIT_WINDOW_MS"},
    {"tail-cache", "PACTUM_TAIL_CACHE"},
    {"dedup-window", "PACTUM_DEDUP_WINDOW"},
    {"offer-ttl-s", "PACTUM_OFFER_TTL_S"},
    {"max-pending-offers", "PACTUM_MAX_PENDING_OFFERS"},
    {"max-members", "PACTUM_MAX_MEMBERS"},
    {"max-room-members", "PACTUM_MAX_ROOM_MEMBERS"},
    {"campaign-max-applications", "PACTUM_CAMPAIGN_MAX_APPLICATIONS"},
    {"campaign-max-invitations", "PACTUM_CAMPAIGN_MAX_INVITATIONS"},
    {"campaign-max-subscribers", "PACTUM_CAMPAIGN_MAX_SUBSCRIBERS"},
    {"notifications-per-user", "PACTUM_NOTIFICATIONS_PER_USER"},
    {"timer-sweep-ms", "PACTUM_TIMER_SWEEP_MS"},
    {"timer-retry-ms", "PACTUM_TIMER_RETRY_MS"},
    {"message-rate-per-s", "PACTUM_MESSAGE_RATE_PER_S"},
    {"message-burst", "PACTUM_MESSAGE_BURST"},
    {"access-token-ttl-s", "PACTUM_ACCESS_TOKEN_TTL_S"},
    {"refresh-token-ttl-s", "PACTUM_REFRESH_TOKEN_TTL_S"},
    {"login-free-failures", "PACTUM_LOGIN_FREE_FAILURES"},
    {"login-free-failures-per-address", "PACTUM_LOGIN_FREE_FAILURES_PER_ADDRESS"},
    {"login-backoff-max-s", "PACTUM_LOGIN_BACKOFF_MAX_S"},
    {"login-throttle-entries", "PACTUM_LOGIN_THROTTLE_ENTRIES"},
    {"allowed-origins", "PACTUM_ALLOWED_ORIGINS"},
    {"max-sockets-per-user", "PACTUM_MAX_SOCKETS_PER_USER"},
    {"contact-guard", "PACTUM_CONTACT_GUARD"},
    {"payments", "PACTUM_PAYMENTS"},
    {"webhook-secret", "PACTUM_WEBHOOK_SECRET"},
    {"sandbox-late-webhook-ms", "PACTUM_SANDBOX_LATE_WEBHOOK_MS"},
    {"commission-bps", "PACTUM_COMMISSION_BPS"},
    {"commission-fixed", "PACTUM_COMMISSION_FIXED"},
    {"review-window-s", "PACTUM_REVIEW_WINDOW_S"},
    {"revision-window-s", "PACTUM_REVISION_WINDOW_S"},
    {"contract-day-ms", "PACTUM_CONTRACT_DAY_MS"},
    {"settlement-window-s", "PACTUM_SETTLEMENT_WINDOW_S"},
    {"login-codes", "PACTUM_LOGIN_CODES"},
    {"login-code-ttl-s", "PACTUM_LOGIN_CODE_TTL_S"},
    {"login-code-attempts", "PACTUM_LOGIN_CODE_ATTEMPTS"},
    {"login-codes-per-email-hour", "PACTUM_LOGIN_CODES_PER_EMAIL_HOUR"},
    {"login-codes-per-address-hour", "PACTUM_LOGIN_CODES_PER_ADDRESS_HOUR"},
    {"ws-ping-interval-s", "PACTUM_WS_PING_INTERVAL_S"},
    {"ws-frame-rate-per-s", "PACTUM_WS_FRAME_RATE_PER_S"},
    {"ws-frame-burst", "PACTUM_WS_FRAME_BURST"},
    {"ws-rate-strikes", "PACTUM_WS_RATE_STRIKES"},
    {"ws-rate-window-s", "PACTUM_WS_RATE_WINDOW_S"},
    {"tls-cert", "PACTUM_TLS_CERT"},
    {"tls-key", "PACTUM_TLS_KEY"},
    {"audit-queue", "PACTUM_AUDIT_QUEUE"},
    {"funding-mode-default", "PACTUM_FUNDING_MODE_DEFAULT"},
    {"funding-modes", "PACTUM_FUNDING_MODES"},
    {"authorization-validity-s", "PACTUM_AUTHORIZATION_VALIDITY_S"},
    {"authorization-margin-s", "PACTUM_AUTHORIZATION_MARGIN_S"},
    {"sandbox-short-authorization-ms", "PACTUM_SANDBOX_SHORT_AUTHORIZATION_MS"},
    {"journal-batch-max", "PACTUM_JOURNAL_BATCH_MAX"},
    {"master-key-file", "PACTUM_MASTER_KEY_FILE"},
    {"key-cache", "PACTUM_KEY_CACHE"},
    {"export-max-events", "PACTUM_EXPORT_MAX_EVENTS"},
    {"search-page-max", "PACTUM_SEARCH_PAGE_MAX"},
    {"search-radius-max-km", "PACTUM_SEARCH_RADIUS_MAX_KM"},
    {"search-text-max-chars", "PACTUM_SEARCH_TEXT_MAX_CHARS"},
    {"web-root", "PACTUM_WEB_ROOT"},
    {"web-max-bytes", "PACTUM_WEB_MAX_BYTES"},
    {"social-provider", "PACTUM_SOCIAL_PROVIDER"},
    {"social-seed", "PACTUM_SOCIAL_SEED"},
    {"social-quota-calls", "PACTUM_SOCIAL_QUOTA_CALLS"},
    {"social-quota-window-ms", "PACTUM_SOCIAL_QUOTA_WINDOW_MS"},
    {"social-client-calls", "PACTUM_SOCIAL_CLIENT_CALLS"},
    {"social-burst", "PACTUM_SOCIAL_BURST"},
    {"social-max-attempts", "PACTUM_SOCIAL_MAX_ATTEMPTS"},
    {"social-backoff-base-ms", "PACTUM_SOCIAL_BACKOFF_BASE_MS"},
    {"social-backoff-max-ms", "PACTUM_SOCIAL_BACKOFF_MAX_MS"},
    {"social-max-wait-ms", "PACTUM_SOCIAL_MAX_WAIT_MS"},
    {"social-concurrency", "PACTUM_SOCIAL_CONCURRENCY"},
    {"social-queue", "PACTUM_SOCIAL_QUEUE"},
    {"social-refresh-interval-s", "PACTUM_SOCIAL_REFRESH_INTERVAL_S"},
    {"match-candidates", "PACTUM_MATCH_CANDIDATES"},
    {"match-limit-max", "PACTUM_MATCH_LIMIT_MAX"},
    {"pledge-progress-ms", "PACTUM_PLEDGE_PROGRESS_MS"},
    {"pledge-kyc-recheck-ms", "PACTUM_PLEDGE_KYC_RECHECK_MS"},
    {"pledge-max-pledges", "PACTUM_PLEDGE_MAX_PLEDGES"},
    {"analytics-interval-ms", "PACTUM_ANALYTICS_INTERVAL_MS"},
    {"analytics-batch", "PACTUM_ANALYTICS_BATCH"},
    {"analytics-rebuild-s", "PACTUM_ANALYTICS_REBUILD_S"},
    {"fraud-repeat-window-s", "PACTUM_FRAUD_REPEAT_WINDOW_S"},
    {"fraud-velocity-window-s", "PACTUM_FRAUD_VELOCITY_WINDOW_S"},
    {"fraud-client-floor", "PACTUM_FRAUD_CLIENT_FLOOR"},
    {"fraud-agent-floor", "PACTUM_FRAUD_AGENT_FLOOR"},
    {"fraud-creator-floor", "PACTUM_FRAUD_CREATOR_FLOOR"},
    {"fraud-multiplier", "PACTUM_FRAUD_MULTIPLIER"},
    {"fraud-attribution-window-h", "PACTUM_FRAUD_ATTRIBUTION_WINDOW_H"},
    {"metrics-token", "PACTUM_METRICS_TOKEN"},
    {"promo-max-codes", "PACTUM_PROMO_MAX_CODES"},
    {"promo-code-ttl-s", "PACTUM_PROMO_CODE_TTL_S"},
    {"promo-points-redemption", "PACTUM_PROMO_POINTS_REDEMPTION"},
    {"promo-points-repost", "PACTUM_PROMO_POINTS_REPOST"},
    {"promo-leaderboard-max", "PACTUM_PROMO_LEADERBOARD_MAX"},
    {"promo-push-ms", "PACTUM_PROMO_PUSH_MS"},
    {"promo-max-subscribers", "PACTUM_PROMO_MAX_SUBSCRIBERS"},
    {"promo-signing-key-file", "PACTUM_PROMO_SIGNING_KEY_FILE"},
    {"link-cache-entries", "PACTUM_LINK_CACHE_ENTRIES"},
    {"click-queue", "PACTUM_CLICK_QUEUE"},
    {"click-batch", "PACTUM_CLICK_BATCH"},
    {"click-user-agent-max", "PACTUM_CLICK_USER_AGENT_MAX"},
    {"click-referrer-max", "PACTUM_CLICK_REFERRER_MAX"},
    {"product-import-max-rows", "PACTUM_PRODUCT_IMPORT_MAX_ROWS"},
    {"product-import-max-bytes", "PACTUM_PRODUCT_IMPORT_MAX_BYTES"},
    {"conversion-tolerance-s", "PACTUM_CONVERSION_TOLERANCE_S"},
    {"analytics-max-subscriptions", "PACTUM_ANALYTICS_MAX_SUBSCRIPTIONS"},
    {"views-poll-interval-ms", "PACTUM_VIEWS_POLL_INTERVAL_MS"},
    {"views-poll-batch", "PACTUM_VIEWS_POLL_BATCH"},
    {"views-quota-reserve", "PACTUM_VIEWS_QUOTA_RESERVE"},
    {"auth-cache-ttl-ms", "PACTUM_AUTH_CACHE_TTL_MS"},
    {"auth-cache-entries", "PACTUM_AUTH_CACHE_ENTRIES"},
    {"billing-interval-ms", "PACTUM_BILLING_INTERVAL_MS"},
    {"billing-end-grace-ms", "PACTUM_BILLING_END_GRACE_MS"},
    {"retention-interval-s", "PACTUM_RETENTION_INTERVAL_S"},
    {"retention-tokens-s", "PACTUM_RETENTION_TOKENS_S"},
    {"retention-logins-s", "PACTUM_RETENTION_LOGINS_S"},
    {"retention-login-codes-s", "PACTUM_RETENTION_LOGIN_CODES_S"},
    {"retention-sent-mail-s", "PACTUM_RETENTION_SENT_MAIL_S"},
  };
  for (auto& [name, var] : env)
    if (auto* v = std::getenv(var); v && *v)
      values[name] = v;
  if (auto* v = std::getenv("PACTUM_WS_DEFLATE"); v && std::string{v} == "1")
    o.ws_deflate = true;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      std::exit(0);
    }
    if (arg == "--migrate-only") {
      o.migrate_only = true;
      continue;
    }
    if (arg == "--ws-deflate") {
      o.ws_deflate = true;
      continue;
    }
    if (arg == "--ledger-check") {
      o.ledger_check = true;
      continue;
    }
    if (arg == "--set-kyc" || arg.rfind("--set-kyc=", 0) == 0) { // an action, not a setting
      if (arg.size() > 9)
        o.set_kyc = arg.substr(10);
      else if (i + 1 < argc)
        o.set_kyc = argv[++i];
      else
        die("--set-kyc needs EMAIL=STATUS");
      continue;
    }
    if (arg == "--set-role" || arg.rfind("--set-role=", 0) == 0) { // an action, not a setting
      if (arg.size() > 10)
        o.set_role = arg.substr(11);
      else if (i + 1 < argc)
        o.set_role = argv[++i];
      else
        die("--set-role needs EMAIL=ROLE");
      continue;
    }
    if (arg.rfind("--", 0) != 0)
      die("unexpected argument '" + arg + "' (see --help)");
    auto name = arg.substr(2);
    std::string value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      die("--" + name + " needs a value");
    }
    if (!env.count(name))
      die("unknown option --" + name + " (see --help)");
    values[name] = value;
  }
  for (auto& [name, v] : values) {
    if (name == "listen") o.listen = v;
    else if (name == "database-url") o.database_url = v;
    else if (name == "workers") o.workers = to_size(name, v);
    else if (name == "io-threads") o.io_threads = to_size(name, v);
    else if (name == "db-pool") o.db_pool = to_size(name, v);
    else if (name == "log-level") o.log_level = v;
    else if (name == "max-frame-bytes") o.max_frame_bytes = to_size(name, v);
    else if (name == "max-text-chars") o.max_text_chars = static_cast<uint32_t>(to_size(name, v));
    else if (name == "outbound-queue") o.outbound_queue = to_size(name, v);
    else if (name == "pwhash-opslimit") o.pwhash_opslimit = to_size(name, v);
    else if (name == "pwhash-memlimit-kib") o.pwhash_memlimit_kib = to_size(name, v);
    else if (name == "port-file") o.port_file = v;
    else if (name == "snapshot-every") o.snapshot_every = to_size(name, v);
    else if (name == "passivate-after-ms") o.passivate_after_ms = to_size(name, v);
    else if (name == "edit-window-ms") o.edit_window_ms = to_size(name, v);
    else if (name == "tail-cache") o.tail_cache = to_size(name, v);
    else if (name == "dedup-window") o.dedup_window = to_size(name, v);
    else if (name == "offer-ttl-s") o.offer_ttl_s = to_size(name, v);
    else if (name == "max-pending-offers") o.max_pending_offers = to_size(name, v);
    else if (name == "max-members") o.max_members = to_size(name, v);
    else if (name == "max-room-members") o.max_room_members = to_size(name, v);
    else if (name == "campaign-max-applications") o.campaign_max_applications = to_size(name, v);
    else if (name == "campaign-max-invitations") o.campaign_max_invitations = to_size(name, v);
    else if (name == "campaign-max-subscribers") o.campaign_max_subscribers = to_size(name, v);
    else if (name == "notifications-per-user") o.notifications_per_user = std::max<size_t>(to_size(name, v), 1);
    else if (name == "timer-sweep-ms") o.timer_sweep_ms = to_size(name, v);
    else if (name == "timer-retry-ms") o.timer_retry_ms = to_size(name, v);
    else if (name == "contact-guard") o.contact_guard = v;
    else if (name == "message-rate-per-s") o.message_rate_per_s = static_cast<double>(to_size(name, v));
    else if (name == "message-burst") o.message_burst = static_cast<double>(to_size(name, v));
    else if (name == "access-token-ttl-s") o.access_token_ttl_s = to_size(name, v);
    else if (name == "refresh-token-ttl-s") o.refresh_token_ttl_s = to_size(name, v);
    else if (name == "login-free-failures") o.login_free_failures = to_size(name, v);
    else if (name == "login-free-failures-per-address") o.login_free_failures_per_address = to_size(name, v);
    else if (name == "login-backoff-max-s") o.login_backoff_max_s = to_size(name, v);
    else if (name == "login-throttle-entries") o.login_throttle_entries = to_size(name, v);
    else if (name == "allowed-origins") o.allowed_origins = v;
    else if (name == "max-sockets-per-user") o.max_sockets_per_user = to_size(name, v);
    else if (name == "payments") o.payments = v;
    else if (name == "webhook-secret") o.webhook_secret = v;
    else if (name == "sandbox-late-webhook-ms") o.sandbox_late_webhook_ms = to_size(name, v);
    else if (name == "commission-bps") o.commission_bps = to_size(name, v);
    else if (name == "commission-fixed") o.commission_fixed = to_size(name, v);
    else if (name == "review-window-s") o.review_window_s = to_size(name, v);
    else if (name == "revision-window-s") o.revision_window_s = to_size(name, v);
    else if (name == "settlement-window-s") o.settlement_window_s = to_size(name, v);
    else if (name == "login-codes") o.login_codes = v;
    else if (name == "login-code-ttl-s") o.login_code_ttl_s = to_size(name, v);
    else if (name == "login-code-attempts") o.login_code_attempts = to_size(name, v);
    else if (name == "login-codes-per-email-hour") o.login_codes_per_email_hour = to_size(name, v);
    else if (name == "login-codes-per-address-hour") o.login_codes_per_address_hour = to_size(name, v);
    else if (name == "audit-queue") o.audit_queue = std::max<size_t>(to_size(name, v), 1);
    else if (name == "contract-day-ms") o.contract_day_ms = std::max<size_t>(to_size(name, v), 1);
    else if (name == "ws-ping-interval-s") o.ws_ping_interval_s = to_size(name, v);
    else if (name == "ws-frame-rate-per-s") o.ws_frame_rate_per_s = to_size(name, v);
    else if (name == "ws-frame-burst") o.ws_frame_burst = to_size(name, v);
    else if (name == "ws-rate-strikes") o.ws_rate_strikes = to_size(name, v);
    else if (name == "ws-rate-window-s") o.ws_rate_window_s = to_size(name, v);
    else if (name == "tls-cert") o.tls_cert = v;
    else if (name == "tls-key") o.tls_key = v;
    else if (name == "funding-mode-default") o.funding_mode_default = v;
    else if (name == "funding-modes") o.funding_modes = v;
    else if (name == "authorization-validity-s") o.authorization_validity_s = to_size(name, v);
    else if (name == "authorization-margin-s") o.authorization_margin_s = to_size(name, v);
    else if (name == "sandbox-short-authorization-ms") o.sandbox_short_authorization_ms = to_size(name, v);
    else if (name == "journal-batch-max") o.journal_batch_max = to_size(name, v);
    else if (name == "master-key-file") o.master_key_file = v;
    else if (name == "key-cache") o.key_cache = std::max<size_t>(to_size(name, v), 1);
    else if (name == "export-max-events") o.export_max_events = to_size(name, v);
    else if (name == "search-page-max") o.search_page_max = std::max<size_t>(to_size(name, v), 1);
    else if (name == "search-radius-max-km") o.search_radius_max_km = std::max<size_t>(to_size(name, v), 1);
    else if (name == "search-text-max-chars") o.search_text_max_chars = std::max<size_t>(to_size(name, v), 1);
    else if (name == "web-root") o.web_root = v;
    else if (name == "web-max-bytes") o.web_max_bytes = to_size(name, v);
    else if (name == "social-provider") o.social_provider = v;
    else if (name == "social-seed") o.social_seed = to_size(name, v);
    else if (name == "social-quota-calls") o.social_quota_calls = to_size(name, v);
    else if (name == "social-quota-window-ms") o.social_quota_window_ms = to_size(name, v);
    else if (name == "social-client-calls") o.social_client_calls = to_size(name, v);
    else if (name == "social-burst") o.social_burst = to_size(name, v);
    else if (name == "social-max-attempts") o.social_max_attempts = to_size(name, v);
    else if (name == "social-backoff-base-ms") o.social_backoff_base_ms = to_size(name, v);
    else if (name == "social-backoff-max-ms") o.social_backoff_max_ms = to_size(name, v);
    else if (name == "social-max-wait-ms") o.social_max_wait_ms = to_size(name, v);
    else if (name == "social-concurrency") o.social_concurrency = to_size(name, v);
    else if (name == "social-queue") o.social_queue = to_size(name, v);
    else if (name == "social-refresh-interval-s") o.social_refresh_interval_s = to_size(name, v);
    else if (name == "match-candidates") o.match_candidates = std::max<size_t>(to_size(name, v), 1);
    else if (name == "match-limit-max") o.match_limit_max = std::max<size_t>(to_size(name, v), 1);
    else if (name == "link-cache-entries") o.link_cache_entries = std::max<size_t>(to_size(name, v), 1);
    else if (name == "click-queue") o.click_queue = to_size(name, v);
    else if (name == "click-batch") o.click_batch = std::max<size_t>(to_size(name, v), 1);
    else if (name == "click-user-agent-max") o.click_user_agent_max = to_size(name, v);
    else if (name == "click-referrer-max") o.click_referrer_max = to_size(name, v);
    else if (name == "product-import-max-rows") o.product_import_max_rows = std::max<size_t>(to_size(name, v), 1);
    else if (name == "product-import-max-bytes") o.product_import_max_bytes = to_size(name, v);
    else if (name == "conversion-tolerance-s") o.conversion_tolerance_s = to_size(name, v);
    else if (name == "pledge-progress-ms") o.pledge_progress_ms = to_size(name, v);
    else if (name == "pledge-kyc-recheck-ms") o.pledge_kyc_recheck_ms = to_size(name, v);
    else if (name == "pledge-max-pledges") o.pledge_max_pledges = std::max<size_t>(to_size(name, v), 1);
    else if (name == "analytics-interval-ms") o.analytics_interval_ms = std::max<size_t>(to_size(name, v), 10);
    else if (name == "analytics-batch") o.analytics_batch = std::clamp<size_t>(to_size(name, v), 1, 100'000);
    else if (name == "analytics-rebuild-s") o.analytics_rebuild_s = to_size(name, v);
    else if (name == "fraud-repeat-window-s") o.fraud_repeat_window_s = to_size(name, v);
    else if (name == "fraud-velocity-window-s") o.fraud_velocity_window_s = std::max<size_t>(to_size(name, v), 1);
    else if (name == "fraud-client-floor") o.fraud_client_floor = std::max<size_t>(to_size(name, v), 1);
    else if (name == "fraud-agent-floor") o.fraud_agent_floor = std::max<size_t>(to_size(name, v), 1);
    else if (name == "fraud-creator-floor") o.fraud_creator_floor = std::max<size_t>(to_size(name, v), 1);
    else if (name == "fraud-multiplier") o.fraud_multiplier = std::max<size_t>(to_size(name, v), 1);
    else if (name == "fraud-attribution-window-h") o.fraud_attribution_window_h = std::max<size_t>(to_size(name, v), 1);
    else if (name == "metrics-token") o.metrics_token = v;
    else if (name == "promo-max-codes") o.promo_max_codes = std::max<size_t>(to_size(name, v), 1);
    else if (name == "promo-code-ttl-s") o.promo_code_ttl_s = std::max<size_t>(to_size(name, v), 1);
    else if (name == "promo-points-redemption") o.promo_points_redemption = to_size(name, v);
    else if (name == "promo-points-repost") o.promo_points_repost = to_size(name, v);
    else if (name == "promo-leaderboard-max") o.promo_leaderboard_max = std::max<size_t>(to_size(name, v), 1);
    else if (name == "promo-push-ms") o.promo_push_ms = to_size(name, v);
    else if (name == "promo-max-subscribers") o.promo_max_subscribers = std::max<size_t>(to_size(name, v), 1);
    else if (name == "promo-signing-key-file") o.promo_signing_key_file = v;
    else if (name == "analytics-max-subscriptions") o.analytics_max_subscriptions = std::max<size_t>(to_size(name, v), 1);
    else if (name == "views-poll-interval-ms") o.views_poll_interval_ms = to_size(name, v);
    else if (name == "views-poll-batch") o.views_poll_batch = std::clamp<size_t>(to_size(name, v), 1, 10'000);
    else if (name == "views-quota-reserve") o.views_quota_reserve = to_size(name, v);
    else if (name == "auth-cache-ttl-ms") o.auth_cache_ttl_ms = to_size(name, v);
    else if (name == "auth-cache-entries") o.auth_cache_entries = to_size(name, v);
    else if (name == "billing-interval-ms") o.billing_interval_ms = to_size(name, v);
    else if (name == "billing-end-grace-ms") o.billing_end_grace_ms = to_size(name, v);
    else if (name == "retention-interval-s") o.retention_interval_s = to_size(name, v);
    else if (name == "retention-tokens-s") o.retention_tokens_s = to_size(name, v);
    else if (name == "retention-logins-s") o.retention_logins_s = to_size(name, v);
    else if (name == "retention-login-codes-s") o.retention_login_codes_s = to_size(name, v);
    else if (name == "retention-sent-mail-s") o.retention_sent_mail_s = to_size(name, v);
  }
  if (o.social_provider != "simulated" && o.social_provider != "none")
    die("--social-provider must be simulated or none");
  if (o.social_quota_window_ms < 1 || o.social_burst < 1 || o.social_max_attempts < 1
      || o.social_max_attempts > 20 || o.social_backoff_base_ms < 1 || o.social_concurrency < 1
      || o.social_concurrency > 64 || o.social_queue < 1)
    die("--social-quota-window-ms, --social-burst, --social-backoff-base-ms and --social-queue must be "
        ">= 1, --social-max-attempts 1 to 20, --social-concurrency 1 to 64");
  if (o.views_poll_interval_ms > 0 && o.views_quota_reserve >= o.social_burst)
    die("--views-quota-reserve must be below --social-burst (else no view poll ever runs)");
  if (o.social_max_wait_ms > 25'000)
    die("--social-max-wait-ms must be at most 25000 (a refresh answers within the HTTP session's 30 s)");
  if (o.payments != "sandbox" && o.payments != "none")
    die("--payments must be sandbox or none");
  if (o.login_codes != "outbox" && o.login_codes != "off")
    die("--login-codes must be outbox or off");
  if (o.login_code_ttl_s < 1 || o.login_code_attempts < 1 || o.login_code_attempts > 1000
      || o.login_codes_per_email_hour < 1 || o.login_codes_per_address_hour < 1)
    die("--login-code-ttl-s, --login-code-attempts (at most 1000) and --login-codes-per-*-hour "
        "must be >= 1");
  if (o.tls_cert.empty() != o.tls_key.empty())
    die("--tls-cert and --tls-key go together");
  if (!o.tls_cert.empty() && o.payments == "sandbox")
    die("the embedded payments sandbox delivers its webhooks over plain HTTP; with --tls-cert use "
        "--payments none");
  if (o.ws_frame_burst < 1 || o.ws_rate_window_s < 1)
    die("--ws-frame-burst and --ws-rate-window-s must be at least 1");
  if (o.commission_bps > 10'000)
    die("--commission-bps must be at most 10000 (100%)");
  if (!pactum::protocol::funding_mode_from_string(o.funding_mode_default))
    die("--funding-mode-default must be escrow or authorize_capture");
  if (auto modes = pactum::actors::parse_funding_modes(o.funding_modes); !modes)
    die("--funding-modes: " + modes.error());
  if (o.authorization_validity_s < 2 || o.authorization_validity_s > 365 * 24 * 3600)
    die("--authorization-validity-s must be 2 to 31536000");
  if (o.dedup_window < 1)
    die("--dedup-window must be at least 1");
  if (o.journal_batch_max < 1)
    die("--journal-batch-max must be at least 1");
  if (o.sandbox_short_authorization_ms < 1)
    die("--sandbox-short-authorization-ms must be at least 1");
  if (o.database_url.empty())
    die("no database: set --database-url or PACTUM_DATABASE_URL");
  if (o.workers == 0 || o.io_threads == 0 || o.db_pool == 0)
    die("--workers, --io-threads and --db-pool must be at least 1");
  if (o.max_members < 2)
    die("--max-members must be at least 2 (the brand and the creator)");
  if (o.max_room_members < 2)
    die("--max-room-members must be at least 2 (the brand and a creator)");
  if (o.max_frame_bytes < 1024)
    die("--max-frame-bytes must be at least 1024");
  if (o.pwhash_opslimit < 1 || o.pwhash_memlimit_kib < 8)
    die("--pwhash-opslimit must be >= 1 and --pwhash-memlimit-kib >= 8");
  if (o.access_token_ttl_s < 1 || o.refresh_token_ttl_s < o.access_token_ttl_s)
    die("--access-token-ttl-s must be >= 1 and --refresh-token-ttl-s at least as long");
  if (o.login_free_failures < 1 || o.login_free_failures_per_address < 1
      || o.login_backoff_max_s < 1 || o.login_throttle_entries < 2 || o.max_sockets_per_user < 1)
    die("--login-free-failures*, --login-backoff-max-s and --max-sockets-per-user must be >= 1, "
        "--login-throttle-entries >= 2");
  return o;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    auto comma = s.find(',', start);
    auto item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty())
      out.push_back(item);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return out;
}

std::pair<std::string, uint16_t> split_listen(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos)
    die("--listen needs HOST:PORT, got '" + s + "'");
  auto port = to_size("listen", s.substr(colon + 1));
  if (port > 65535)
    die("--listen port out of range");
  return {s.substr(0, colon), static_cast<uint16_t>(port)};
}

/// The folder --web-root names: "none" is the landing page (""); "auto" is the source tree's
/// built client (web/dist) when it exists, else the landing page.
std::string web_root_of(const std::string& flag) {
  if (flag == "none")
    return {};
  if (flag != "auto")
    return flag;
#ifdef PACTUM_DEFAULT_WEB_ROOT
  std::error_code ec;
  if (std::filesystem::is_regular_file(std::filesystem::path{PACTUM_DEFAULT_WEB_ROOT} / "index.html", ec))
    return PACTUM_DEFAULT_WEB_ROOT;
#endif
  return {};
}

} // namespace

int main(int argc, char** argv) {
  auto opt = parse(argc, argv);
  spdlog::set_level(spdlog::level::from_str(opt.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%t] %v");

  // Signals are taken by sigwait on the main thread only: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  pactum::persistence::config dbcfg;
  dbcfg.url = opt.database_url;
  dbcfg.pool_threads = opt.db_pool;
  dbcfg.audit_queue_limit = opt.audit_queue;
  dbcfg.journal_batch_max = opt.journal_batch_max;
  pactum::persistence::database db{dbcfg};
  try {
    db.migrate();
  } catch (const std::exception& ex) {
    spdlog::critical("migrations failed: {}", ex.what());
    return 1;
  }
  if (opt.migrate_only) {
    spdlog::info("migrations applied");
    return 0;
  }
  db.start();
  if (!opt.set_role.empty()) {
    auto eq = opt.set_role.find('=');
    if (eq == std::string::npos)
      die("--set-role needs EMAIL=ROLE");
    auto role = opt.set_role.substr(eq + 1);
    if (role != "brand" && role != "creator" && role != "moderator" && role != "admin")
      die("--set-role: role must be brand, creator, moderator or admin");
    std::promise<pactum::persistence::result<pactum::persistence::unit>> done;
    db.set_user_role(opt.set_role.substr(0, eq), role, [&done](auto r) { done.set_value(std::move(r)); });
    auto r = done.get_future().get();
    // Recorded in the audit log as the operator's action on the account (by id, not email).
    std::promise<pactum::persistence::result<pactum::persistence::user_row>> found;
    db.find_user_by_email(opt.set_role.substr(0, eq), [&found](auto u) { found.set_value(std::move(u)); });
    auto user = found.get_future().get();
    pactum::persistence::audit_record rec;
    rec.at = pactum::now_millis();
    rec.actor_role = "operator";
    rec.action = "role.change";
    rec.target = user ? user->id.str() : std::string{};
    rec.outcome = r ? "ok" : (r.error().code == pactum::persistence::errc::not_found ? "not_found" : "internal");
    rec.detail = R"({"role":")" + role + R"(","via":"pactumd --set-role"})"; // role: one of four words
    db.audit(std::move(rec));
    db.stop(); // writes the queued audit record
    if (!r) {
      spdlog::error("--set-role: {}", r.error().message);
      return 1;
    }
    // Not the email: logs carry no personal data (docs/security.md, "Privacy").
    spdlog::info("role set: {}", opt.set_role.substr(opt.set_role.rfind('=') + 1));
    return 0;
  }
  if (!opt.set_kyc.empty()) {
    auto eq = opt.set_kyc.find('=');
    auto status = eq == std::string::npos ? std::string{} : opt.set_kyc.substr(eq + 1);
    if (status != "unverified" && status != "pending" && status != "verified" && status != "rejected")
      die("--set-kyc needs EMAIL=STATUS with STATUS unverified, pending, verified or rejected");
    std::promise<pactum::persistence::result<pactum::persistence::unit>> done;
    db.set_user_kyc(opt.set_kyc.substr(0, eq), status, [&done](auto r) { done.set_value(std::move(r)); });
    auto r = done.get_future().get();
    db.stop();
    if (!r) {
      spdlog::error("--set-kyc: {}", r.error().message);
      return 1;
    }
    spdlog::info("identity verification set: {}", opt.set_kyc.substr(opt.set_kyc.rfind('=') + 1));
    return 0;
  }
  if (opt.ledger_check) {
    std::promise<pactum::persistence::result<pactum::persistence::ledger_report>> done;
    db.ledger_check([&done](auto r) { done.set_value(std::move(r)); });
    auto r = done.get_future().get();
    db.stop();
    if (!r) {
      spdlog::error("ledger check failed to run: {}", r.error().message);
      return 2;
    }
    std::cout << "ledger: " << r->accounts << " accounts, " << r->transfers << " transfers ("
              << r->pending << " pending)\n";
    for (auto& v : r->violations)
      std::cout << "VIOLATION " << v << "\n";
    std::cout << (r->violations.empty() ? "ledger: all invariants hold\n" : "ledger: BROKEN\n");
    return r->violations.empty() ? 0 : 1;
  }
  auto guard = pactum::actors::conversation::guard_policy_from_string(opt.contact_guard);
  if (!guard)
    die("--contact-guard must be off, flag, mask or block");

  pactum::actors::runtime_config rcfg;
  rcfg.guard_policy = *guard;
  rcfg.scheduler_threads = opt.workers;
  rcfg.limits.max_text_chars = opt.max_text_chars;
  rcfg.max_frame_bytes = static_cast<uint32_t>(opt.max_frame_bytes);
  rcfg.pwhash_opslimit = opt.pwhash_opslimit;
  rcfg.snapshot_every = opt.snapshot_every;
  rcfg.passivate_after = std::chrono::milliseconds(opt.passivate_after_ms);
  rcfg.edit_window = std::chrono::milliseconds(opt.edit_window_ms);
  rcfg.tail_cache = opt.tail_cache;
  rcfg.dedup_window = opt.dedup_window;
  rcfg.offer_ttl = std::chrono::seconds(std::max<size_t>(opt.offer_ttl_s, 1));
  rcfg.max_pending_offers = opt.max_pending_offers;
  rcfg.max_members = opt.max_members;
  rcfg.max_room_members = opt.max_room_members;
  rcfg.campaign_rules.max_applications = opt.campaign_max_applications;
  rcfg.campaign_rules.max_invitations = opt.campaign_max_invitations;
  rcfg.campaign_max_subscribers = opt.campaign_max_subscribers;
  rcfg.notifications_per_user = opt.notifications_per_user;
  rcfg.message_rate_per_s = opt.message_rate_per_s;
  rcfg.message_burst = opt.message_burst;
  rcfg.timer_sweep_interval = std::chrono::milliseconds(std::max<size_t>(opt.timer_sweep_ms, 10));
  rcfg.timer_retry = std::chrono::milliseconds(
    std::max<size_t>(opt.timer_retry_ms == 0 ? 10 * rcfg.timer_sweep_interval.count() : opt.timer_retry_ms, 10));
  rcfg.billing_interval = std::chrono::milliseconds(opt.billing_interval_ms == 0 ? 0 : std::max<size_t>(opt.billing_interval_ms, 10));
  rcfg.billing_end_grace = std::chrono::milliseconds(opt.billing_end_grace_ms);
  rcfg.pwhash_memlimit = opt.pwhash_memlimit_kib * 1024;
  rcfg.access_ttl = std::chrono::seconds(opt.access_token_ttl_s);
  rcfg.refresh_ttl = std::chrono::seconds(opt.refresh_token_ttl_s);
  rcfg.login_free_failures = opt.login_free_failures;
  rcfg.login_free_failures_per_address = opt.login_free_failures_per_address;
  rcfg.login_backoff_max = std::chrono::seconds(opt.login_backoff_max_s);
  rcfg.login_throttle_entries = opt.login_throttle_entries;
  rcfg.contract_rules.commission_bps = static_cast<int64_t>(opt.commission_bps);
  rcfg.contract_rules.commission_fixed = static_cast<int64_t>(opt.commission_fixed);
  rcfg.contract_rules.review_window = static_cast<int64_t>(opt.review_window_s) * 1000;
  rcfg.contract_rules.revision_window = static_cast<int64_t>(opt.revision_window_s) * 1000;
  rcfg.contract_rules.day = static_cast<int64_t>(opt.contract_day_ms);
  rcfg.contract_rules.authorization_validity = static_cast<int64_t>(opt.authorization_validity_s) * 1000;
  rcfg.contract_rules.authorization_margin = static_cast<int64_t>(opt.authorization_margin_s) * 1000;
  rcfg.funding.default_mode = *pactum::protocol::funding_mode_from_string(opt.funding_mode_default);
  rcfg.funding.by_country = pactum::actors::parse_funding_modes(opt.funding_modes).value();
  rcfg.wallet_rules.settlement_window = static_cast<int64_t>(opt.settlement_window_s) * 1000;
  rcfg.login_codes = opt.login_codes == "outbox";
  rcfg.login_code_ttl = std::chrono::seconds(opt.login_code_ttl_s);
  rcfg.login_code_attempts = static_cast<int>(opt.login_code_attempts);
  rcfg.login_codes_per_email_hour = static_cast<double>(opt.login_codes_per_email_hour);
  rcfg.login_codes_per_address_hour = static_cast<double>(opt.login_codes_per_address_hour);
  if (opt.payments == "sandbox" && opt.webhook_secret.empty()) {
    // The sandbox lives in this process: a fresh secret per start is enough (it signs each
    // webhook when it delivers it).
    unsigned char key[32];
    randombytes_buf(key, sizeof key);
    char hex[2 * sizeof key + 1];
    sodium_bin2hex(hex, sizeof hex, key, sizeof key);
    opt.webhook_secret = hex;
  }
  if (opt.master_key_file.empty())
    die("no master key: set --master-key-file or PACTUM_MASTER_KEY_FILE (a file of 32 random "
        "bytes, e.g. head -c 32 /dev/urandom > key; chmod 600 key; see docs/security.md)");
  auto master = pactum::actors::privacy::read_key_file(opt.master_key_file);
  if (!master)
    die(master.error().what);
  rcfg.master_key.assign(reinterpret_cast<const char*>(master.value().data()), master.value().size());
  rcfg.key_cache = opt.key_cache;
  rcfg.export_max_events = opt.export_max_events;
  rcfg.search_page_max = opt.search_page_max;
  rcfg.search_radius_max_km = static_cast<double>(opt.search_radius_max_km);
  rcfg.search_text_max_chars = opt.search_text_max_chars;
  rcfg.match_candidates = opt.match_candidates;
  rcfg.match_limit_max = opt.match_limit_max;
  rcfg.pledge_rules.commission_bps = static_cast<int64_t>(opt.commission_bps);
  rcfg.pledge_rules.commission_fixed = static_cast<int64_t>(opt.commission_fixed);
  rcfg.pledge_rules.max_pledges = opt.pledge_max_pledges;
  rcfg.pledge_progress_interval = std::chrono::milliseconds(opt.pledge_progress_ms);
  rcfg.pledge_kyc_recheck = std::chrono::milliseconds(opt.pledge_kyc_recheck_ms);
  rcfg.promo_max_codes = opt.promo_max_codes;
  rcfg.promo_code_ttl = std::chrono::seconds(opt.promo_code_ttl_s);
  rcfg.promo_points_redemption = static_cast<int64_t>(std::min<size_t>(opt.promo_points_redemption, 1'000'000));
  rcfg.promo_points_repost = static_cast<int64_t>(std::min<size_t>(opt.promo_points_repost, 1'000'000));
  rcfg.promo_leaderboard_max = opt.promo_leaderboard_max;
  rcfg.promo_push_interval = std::chrono::milliseconds(opt.promo_push_ms);
  rcfg.promo_max_subscribers = opt.promo_max_subscribers;
  if (!opt.promo_signing_key_file.empty()) {
    auto seed = pactum::actors::privacy::read_key_file(opt.promo_signing_key_file);
    if (!seed)
      die(seed.error().what);
    rcfg.promo_signing_seed.assign(reinterpret_cast<const char*>(seed.value().data()), seed.value().size());
  }
  rcfg.affiliate.link_cache_entries = opt.link_cache_entries;
  rcfg.affiliate.click_queue = opt.click_queue;
  rcfg.affiliate.click_batch = opt.click_batch;
  rcfg.affiliate.user_agent_max = opt.click_user_agent_max;
  rcfg.affiliate.referrer_max = opt.click_referrer_max;
  rcfg.affiliate.import_max_rows = opt.product_import_max_rows;
  rcfg.affiliate.conversion_tolerance_s = static_cast<int64_t>(opt.conversion_tolerance_s);
  if (opt.auth_cache_ttl_ms > 60'000)
    die("--auth-cache-ttl-ms must be at most 60000 (a revocation made elsewhere applies within it)");
  rcfg.auth_cache_ttl = std::chrono::milliseconds(opt.auth_cache_ttl_ms);
  rcfg.auth_cache_entries = opt.auth_cache_entries;
  auto rt = std::make_unique<pactum::actors::runtime>(rcfg, db);

  // Social platforms: the embedded simulated provider behind the quota-respecting client, whose
  // own threads run the (blocking) platform calls. Stopped after the gateway, before the runtime.
  std::unique_ptr<pactum::social::adapter> social_provider;
  pactum::social::real_clock social_clock;
  std::unique_ptr<pactum::social::client> social_client;
  if (opt.social_provider == "simulated") {
    pactum::social::simulated_config sc;
    sc.seed = opt.social_seed;
    sc.calls_per_window = static_cast<int64_t>(opt.social_quota_calls);
    sc.window_ms = static_cast<int64_t>(opt.social_quota_window_ms);
    social_provider = std::make_unique<pactum::social::simulated_provider>(sc);
    pactum::social::client_config cc;
    cc.calls_per_window = static_cast<int64_t>(opt.social_client_calls);
    cc.window_ms = static_cast<int64_t>(opt.social_quota_window_ms);
    cc.burst = static_cast<int64_t>(opt.social_burst);
    cc.max_attempts = static_cast<int>(opt.social_max_attempts);
    cc.backoff_base_ms = static_cast<int64_t>(opt.social_backoff_base_ms);
    cc.backoff_max_ms = static_cast<int64_t>(opt.social_backoff_max_ms);
    cc.max_wait_ms = static_cast<int64_t>(opt.social_max_wait_ms);
    cc.concurrency = opt.social_concurrency;
    cc.queue_limit = opt.social_queue;
    social_client = std::make_unique<pactum::social::client>(*social_provider, social_clock, cc);
    rt->set_social_client(social_client.get(),
                          {std::chrono::milliseconds(opt.social_refresh_interval_s * 1000)});
    spdlog::info("social: simulated provider (seed {}, {} calls per {} ms per platform)", opt.social_seed,
                 opt.social_quota_calls, opt.social_quota_window_ms);
  }

  // Analytics: the tracking pipeline and its fraud detector (docs/operations.md, "Analytics").
  {
    pactum::actors::analytics_settings as;
    as.interval = std::chrono::milliseconds(opt.analytics_interval_ms);
    as.batch = opt.analytics_batch;
    as.rebuild_window = std::chrono::seconds(opt.analytics_rebuild_s);
    as.fraud.repeat_window = static_cast<int64_t>(opt.fraud_repeat_window_s) * 1000;
    as.fraud.velocity_window = static_cast<int64_t>(opt.fraud_velocity_window_s) * 1000;
    as.fraud.client_floor = static_cast<double>(opt.fraud_client_floor);
    as.fraud.agent_floor = static_cast<double>(opt.fraud_agent_floor);
    as.fraud.creator_floor = static_cast<double>(opt.fraud_creator_floor);
    as.fraud.multiplier = static_cast<double>(opt.fraud_multiplier);
    as.fraud.attribution_window = static_cast<int64_t>(opt.fraud_attribution_window_h) * 3'600'000;
    as.max_subscriptions = opt.analytics_max_subscriptions;
    rt->start_analytics(std::move(as));
  }
  // Views of approved campaign posts (docs/operations.md, "View polling"): after the analytics
  // hub, which it tells about changed figures.
  {
    pactum::actors::view_poll_settings vs;
    vs.interval = std::chrono::milliseconds(opt.views_poll_interval_ms);
    vs.batch = opt.views_poll_batch;
    vs.quota_reserve = static_cast<int64_t>(opt.views_quota_reserve);
    rt->start_view_polling(social_client.get(), vs);
  }

  auto [host, port] = split_listen(opt.listen);
  pactum::gateway::server_config scfg;
  scfg.address = host;
  scfg.port = port;
  scfg.io_threads = opt.io_threads;
  scfg.max_frame_bytes = opt.max_frame_bytes;
  scfg.outbound_queue_limit = opt.outbound_queue;
  scfg.allowed_origins = split_list(opt.allowed_origins);
  scfg.max_sockets_per_user = opt.max_sockets_per_user;
  scfg.webhook_secret = opt.webhook_secret;
  scfg.ws_deflate = opt.ws_deflate;
  scfg.ws_ping_interval = std::chrono::seconds(opt.ws_ping_interval_s);
  scfg.ws_frame_rate_per_s = static_cast<double>(opt.ws_frame_rate_per_s);
  scfg.ws_frame_burst = static_cast<double>(opt.ws_frame_burst);
  scfg.ws_rate_strikes = opt.ws_rate_strikes;
  scfg.ws_rate_window = std::chrono::seconds(opt.ws_rate_window_s);
  scfg.tls_cert_file = opt.tls_cert;
  scfg.tls_key_file = opt.tls_key;
  scfg.web_root = web_root_of(opt.web_root);
  scfg.web_max_bytes = opt.web_max_bytes;
  scfg.metrics_token = opt.metrics_token;
  scfg.product_import_max_bytes = opt.product_import_max_bytes;
  pactum::gateway::server srv{scfg, *rt};
  try {
    srv.start();
  } catch (const std::exception& ex) {
    spdlog::critical("{}", ex.what());
    return 1;
  }
  std::unique_ptr<pactum::payments::provider> payments;
  if (opt.payments == "sandbox") {
    pactum::payments::sandbox_config pcfg;
    pcfg.database_url = opt.database_url;
    pcfg.webhook_url = "http://127.0.0.1:" + std::to_string(srv.port()) + "/api/v1/webhooks/payments";
    pcfg.webhook_secret = opt.webhook_secret;
    pcfg.late_webhook_delay = std::chrono::milliseconds(opt.sandbox_late_webhook_ms);
    pcfg.short_authorization_validity = std::chrono::milliseconds(opt.sandbox_short_authorization_ms);
    try {
      payments = pactum::payments::make_sandbox(pcfg);
    } catch (const std::exception& ex) {
      spdlog::critical("payments sandbox: {}", ex.what());
      return 1;
    }
    rt->set_payment_provider(payments.get());
    spdlog::info("payments: embedded sandbox (test cards only), webhooks to {}", pcfg.webhook_url);
  }
  spdlog::info("pactumd listening on {}://{}:{}/ (WebSocket at /ws)", srv.tls() ? "https" : "http",
               host, srv.port());
  if (!opt.port_file.empty()) {
    auto tmp = opt.port_file + ".tmp";
    std::ofstream(tmp) << srv.port() << "\n";
    std::rename(tmp.c_str(), opt.port_file.c_str());
  }

  // Retention of what only expires, on a thread of its own (persistence/retention.hpp).
  std::unique_ptr<pactum::persistence::retention_job> retention;
  constexpr size_t ten_years_s = size_t{10} * 366 * 24 * 3600;
  for (auto [name, value] : {std::pair{"--retention-interval-s", opt.retention_interval_s},
                             std::pair{"--retention-tokens-s", opt.retention_tokens_s},
                             std::pair{"--retention-logins-s", opt.retention_logins_s},
                             std::pair{"--retention-login-codes-s", opt.retention_login_codes_s},
                             std::pair{"--retention-sent-mail-s", opt.retention_sent_mail_s}})
    if (value > ten_years_s)
      die(std::string{name} + " must be at most 10 years (" + std::to_string(ten_years_s) + " s)");
  if (opt.retention_interval_s > 0) {
    pactum::persistence::retention_rules rr;
    rr.tokens = std::chrono::seconds(opt.retention_tokens_s);
    rr.logins = std::chrono::seconds(opt.retention_logins_s);
    rr.login_codes = std::chrono::seconds(opt.retention_login_codes_s);
    rr.sent_mail = std::chrono::seconds(opt.retention_sent_mail_s);
    retention = std::make_unique<pactum::persistence::retention_job>(
      db, rr, std::chrono::seconds(opt.retention_interval_s), [] { return pactum::now_millis(); });
  }

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  srv.begin_shutdown();
  if (!rt->drain(std::chrono::seconds(10)))
    spdlog::warn("shutdown: {} requests still unanswered after 10 s", rt->in_flight());
  srv.close_all(std::chrono::seconds(3));
  srv.stop();
  if (payments)
    payments->stop(); // no provider callback after this; contracts retry on the next start
  if (social_client)
    social_client->stop(); // wakes waiting requests; queued ones fail fast
  rt.reset();
  retention.reset(); // its round in flight answers first
  db.stop();
  spdlog::info("stopped");
  return 0;
}
