#pragma once

// The actors layer as the gateway sees it: no CAF type in this header, so the gateway's
// translation units never include CAF. Behind it: the CAF actor system, the entity directory,
// session actors, and the account service.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pactum/actors/campaign_machine.hpp"
#include "pactum/actors/contract_machine.hpp"
#include "pactum/actors/fraud.hpp"
#include "pactum/actors/funding_policy.hpp"
#include "pactum/actors/matching.hpp"
#include "pactum/actors/pledge_machine.hpp"
#include "pactum/actors/conversation_machine.hpp"
#include "pactum/actors/wallet_machine.hpp"
#include "pactum/common/expected.hpp"
#include "pactum/common/uuid.hpp"
#include "pactum/protocol/codec.hpp"
#include "pactum/protocol/errors.hpp"
#include "pactum/protocol/messages.hpp"
#include "pactum/social/adapter.hpp"

namespace pactum::persistence {
class database;
struct user_row;
}

namespace pactum::payments {
class provider;
}

namespace pactum::social {
class client;
}

namespace pactum::actors {

struct services;
class campaign_service;
class promotion_service;
class affiliate_service;

/// Affiliate tracking limits (docs/api.md, "Products and affiliate links"; pactumd flags in
/// docs/operations.md).
struct affiliate_settings {
  size_t link_cache_entries = 100'000; ///< `/r/{code}` targets kept in memory at most
  size_t click_queue = 100'000;        ///< clicks waiting for the writer; beyond: dropped, counted
  size_t click_batch = 2'000;          ///< clicks written in one INSERT at most
  size_t import_max_rows = 10'000;     ///< product rows one CSV import takes at most
  size_t user_agent_max = 256;         ///< bytes of User-Agent stored per click
  size_t referrer_max = 512;           ///< bytes of Referer stored per click
  int64_t conversion_tolerance_s = 300; ///< accepted clock difference of a signed conversion
  size_t list_max = 1'000;             ///< products or links one list answers at most
};

struct runtime_config {
  size_t scheduler_threads = 2;     ///< CAF worker threads (about one per core)
  size_t cpu_threads = 2;           ///< threads for password hashing
  size_t cpu_queue_limit = 1'000;   ///< queued hashing jobs before `overloaded`
  protocol::limits limits;          ///< frame validation limits
  uint32_t max_frame_bytes = 64 * 1024; ///< told to clients in `hello` (the gateway enforces it)
  std::chrono::seconds access_ttl{15 * 60};             ///< lifetime of an access token
  std::chrono::seconds refresh_ttl{30 * 24 * 60 * 60};  ///< lifetime of a refresh token
  std::chrono::seconds ticket_ttl{30};                  ///< lifetime of a WebSocket ticket
  /// Login throttling (in memory, per process): failures that cost nothing, per account (its
  /// normalised email) and per client address; then a wait of `login_backoff_base` doubling with
  /// each further failure up to `login_backoff_max`. A key quiet for 4 × max is forgotten; at most
  /// `login_throttle_entries` keys are kept (the least recently used go first).
  size_t login_free_failures = 5;
  size_t login_free_failures_per_address = 20;
  std::chrono::milliseconds login_backoff_base{1'000};
  std::chrono::milliseconds login_backoff_max{15 * 60 * 1'000};
  size_t login_throttle_entries = 100'000;
  std::chrono::seconds request_timeout{10};
  size_t max_gap = 10'000;          ///< most events a subscribe replays at once
  size_t tail_cache = 512;          ///< recent events an active conversation keeps in memory
  size_t dedup_window = 4'096;      ///< recent client ids remembered per conversation
  std::chrono::milliseconds edit_window{std::chrono::minutes(15)}; ///< edit/delete own messages
  size_t max_in_flight_per_session = 256; ///< unanswered commands per connection
  size_t max_pending_offers = 10;   ///< offers awaiting an answer per conversation
  size_t max_members = 8;           ///< brand + creator + moderators per conversation
  /// Per user, across all their connections: messages, edits and offers per second, and the
  /// burst allowed above that rate (0 per second: no limit).
  /// The anti-bypass guard before a deal: "off", "flag", "mask" or "block" (docs/contact-guard.md).
  conversation::guard_policy guard_policy = conversation::guard_policy::mask;
  double message_rate_per_s = 10;
  double message_burst = 30;
  std::chrono::seconds offer_ttl{72 * 60 * 60}; ///< an offer's lifetime when it names none
  /// How often the sweeper looks for due durable timers (and wakes their entities), and how many
  /// it takes per look. 0: no sweeper (tests that drive timers themselves).
  std::chrono::milliseconds timer_sweep_interval{1'000};
  size_t timer_sweep_batch = 500;
  /// A timer handed to its entity is offered again after this unless the entity cleared or moved
  /// it (persistence::database::due_timers). Also how long a payment provider call may stay owed
  /// (journaled, not yet confirmed) before a wake-up timer activates its entity to make it: the
  /// call is made at once after the commit, so this matters only after a crash or a passivation.
  std::chrono::milliseconds timer_retry{10'000};
  size_t snapshot_every = 100;      ///< events between snapshots of an entity (0: never)
  /// An entity with no subscriber and no command for this long is snapshotted and stopped; the
  /// next command re-activates it (0: never).
  std::chrono::milliseconds passivate_after{std::chrono::minutes(5)};
  /// argon2id cost. Defaults: libsodium's MODERATE-ish ops with 64 MiB (OWASP: at least 19 MiB, t=2).
  /// Escrow contracts: review window, revision window, reminders, commission (docs/contracts.md).
  contract::rules contract_rules;
  /// How new contracts hold the money, per brand country (docs/contracts.md, "Funding modes").
  funding_policy funding;
  /// Withdrawals: settlement window, smallest amount, how many may be pending.
  wallet::rules wallet_rules;
  unsigned long long pwhash_opslimit = 3;
  size_t pwhash_memlimit = 64ull << 20;
  /// One-time email login codes (docs/security.md): off answers the three endpoints (request,
  /// verify, password reset) 404; a code
  /// lives `login_code_ttl` and dies after `login_code_attempts` wrong guesses; code requests are
  /// limited per email and per client address (token buckets: this many per hour, all at once at
  /// most).
  bool login_codes = true;
  std::chrono::seconds login_code_ttl{10 * 60};
  int login_code_attempts = 5;
  double login_codes_per_email_hour = 5;
  double login_codes_per_address_hour = 30;
  /// Privacy (docs/security.md): the master key that wraps every per-user data key (32 raw
  /// bytes, required), how many users' unwrapped keys stay cached, and the most journal events
  /// one export holds.
  std::string master_key;
  size_t key_cache = 100'000;
  size_t export_max_events = 100'000;
  /// Creator search (docs/api.md "Creator search"): the largest page, the largest radius, the
  /// longest free text (characters).
  size_t search_page_max = 100;
  double search_radius_max_km = 500;
  size_t search_text_max_chars = 200;
  /// Matching (docs/api.md, "Matching"): creators the SQL prefilter hands to the scorer at most,
  /// and the most results one request may ask for.
  size_t match_candidates = 2'000;
  size_t match_limit_max = 100;
  /// Pledge campaigns (docs/contracts.md, "Pledge campaigns"): limits and commission; live
  /// progress is pushed to subscribers at most once per `pledge_progress_interval`; a release
  /// waiting for the creator's verification re-reads it at most once per `pledge_kyc_recheck`.
  pledge::rules pledge_rules;
  std::chrono::milliseconds pledge_progress_interval{250};
  std::chrono::milliseconds pledge_kyc_recheck{30'000};
  /// Campaigns: applications, invitations and submissions one campaign takes at most, and text
  /// lengths (actors/include/pactum/actors/campaign_machine.hpp).
  campaign::rules campaign_rules;
  /// Live sessions one campaign pushes to (campaign.subscribe; then `limit_reached`).
  size_t campaign_max_subscribers = 10'000;
  /// Local promotions (docs/api.md, "Local promotions"): codes one request issues at most, a
  /// code's lifetime, points per redemption and per verified repost, the longest leaderboard,
  /// how often a locality's leaderboard is pushed at most, the live subscribers one locality
  /// takes, and the signing key's 32-byte seed (empty: a key generated and kept in the database).
  size_t promo_max_codes = 50;
  std::chrono::seconds promo_code_ttl{30 * 24 * 60 * 60};
  int64_t promo_points_redemption = 10;
  int64_t promo_points_repost = 5;
  size_t promo_leaderboard_max = 100;
  std::chrono::milliseconds promo_push_interval{1'000};
  size_t promo_max_subscribers = 10'000;
  std::string promo_signing_seed;
  /// Products, affiliate links, the redirect's click queue and conversions.
  affiliate_settings affiliate;
  /// Notifications (docs/protocol.md "Notifications"): rows kept per user (the oldest read ones
  /// are dropped first), and the most unread ones pushed on connect (`notifications.missed`).
  size_t notifications_per_user = 1'000;
  size_t notifications_missed_max = 50;
  /// Access-token cache (docs/security.md "Token cache"): a verified access token is served from
  /// memory for at most `auth_cache_ttl` (never past its expiry); revocations made through this
  /// process drop its entries at once. 0 ms: every authentication reads the database. At most
  /// `auth_cache_entries` tokens are kept.
  std::chrono::milliseconds auth_cache_ttl{30'000};
  size_t auth_cache_entries = 100'000;
  /// Settlement of cpc/cpv campaigns (docs/contracts.md "Performance contracts"): how often the
  /// job asks the performance contracts with unbilled units to bill (0: never), and the most
  /// contracts it asks per round.
  std::chrono::milliseconds billing_interval{60'000};
  size_t billing_batch = 10'000;
  /// At a performance contract's end its last bill waits, at most this long past the end, for
  /// the analytics pipeline to judge the clicks made before the end (0: it bills what is judged).
  std::chrono::milliseconds billing_end_grace{60'000};
  /// Members of a campaign room at once: its brand and the creators who entered (campaign.room).
  size_t max_room_members = 200;
};

/// Who a session or REST call acts as.
struct principal {
  uuid user;
  std::string role; ///< "brand", "creator", "moderator", "admin"
  std::string display_name;
  std::string session_id; ///< identifies the login (token) this principal came from; may be empty
  std::string address = {}; ///< the client's IP address (REST peer, or the WebSocket's upgrade)
};

/// A refusal from the REST-facing operations: HTTP status, stable code, message, and per-field
/// messages a form can show inline.
struct api_error {
  int status = 500;
  protocol::error_code code = protocol::error_code::internal;
  std::string message;
  std::vector<std::pair<std::string, std::string>> fields;
  int64_t retry_after_s = 0; ///< > 0: sent as `Retry-After` (seconds), e.g. with 429
};

/// One consent: given (`granted`) or withdrawn, for a version of the text (e.g. "2026-01").
struct consent_change {
  std::string kind; ///< [a-z][a-z0-9_]{0,31}, e.g. "terms", "marketing"
  std::string version;
  bool granted = false;
  int64_t at = 0; ///< when recorded (ms since epoch); set by the server
};

struct registration {
  std::string email;
  std::string password;
  std::string display_name;
  std::string role;
  std::string client_address = {}; ///< the peer's IP address (for the audit log)
  std::vector<consent_change> consents = {}; ///< recorded with the account
};

/// Where a login comes from (for throttling and the session list).
struct login_context {
  std::string client_address; ///< the peer's IP address
  std::string user_agent;     ///< the User-Agent header (may be empty)
};

struct login_result {
  principal who;                  ///< `who.session_id` is the login id
  std::string token;              ///< opaque access token (shown once; only its hash is stored)
  int64_t expires_at = 0;         ///< access token expiry, ms since epoch
  std::string refresh_token;      ///< opaque refresh token, single use (rotates)
  int64_t refresh_expires_at = 0; ///< ms since epoch
};

/// One live login of a user, as listed to that user.
struct login_info {
  std::string id;
  int64_t created_at = 0;
  int64_t last_used_at = 0;
  std::string user_agent;
  bool current = false; ///< the login the listing request was made with
};

struct ws_ticket {
  std::string ticket;     ///< single use, for `/ws?ticket=`
  int64_t expires_at = 0; ///< ms since epoch
};

/// Where one connection's outbound frames go. Implemented by the gateway; called from CAF threads,
/// so implementations hand the work to their own I/O strand and never block.
class session_sink {
public:
  virtual ~session_sink() = default;

  /// A reply frame, already encoded in `enc` (the encoding of the request it answers).
  virtual void send(std::string frame, protocol::encoding enc) = 0;

  /// An event frame; the sink picks the connection's encoding (`push_frame::frame`).
  virtual void push(protocol::push_frame_ptr frame) = 0;

  /// Closes the connection (e.g. slow consumer, revoked session).
  virtual void close(protocol::close_code code, std::string reason) = 0;
};

/// The gateway's handle on one live session actor. Destroying it ends the session actor.
class session {
public:
  virtual ~session() = default;

  /// Hands a decoded client request to the session actor. Never blocks.
  virtual void handle(protocol::request req, protocol::encoding enc) = 0;
};

/// A finding of the anti-bypass guard, as moderators see it in their queue.
struct guard_hit_info {
  int64_t id = 0;
  uuid conversation;
  uuid sender;
  int64_t seq = 0; ///< the stored event; 0 when blocked
  std::string action;
  std::vector<std::string> categories;
  std::string original;
  millis created_at = 0;
  int64_t strikes = 0; ///< the sender's findings, not counting dismissed ones
};

/// One withdrawal, as its owner sees it.
struct withdrawal_info {
  std::string payout;   ///< the provider's payout key
  int64_t seq = 0;      ///< the request's event in the wallet's journal
  int64_t amount = 0;
  std::string currency;
  std::string destination;
  std::string status;   ///< "pending", "paid" or "failed"
  std::string code;     ///< why it failed
  millis at = 0;
  bool duplicate = false; ///< a retried request: the first answer
};

/// What a withdrawal request asks for.
struct withdrawal_request {
  std::string key; ///< idempotency key
  int64_t amount = 0;
  std::string currency;
  std::string destination;
};

/// One row of the audit log, as admins read it (docs/security.md, "Audit log").
struct audit_entry {
  int64_t id = 0;
  millis at = 0;
  std::string actor;      ///< user id, "" for anonymous, system and operator
  std::string actor_role;
  std::string address;
  std::string action;
  std::string target;
  std::string outcome;
  std::string detail;     ///< a JSON object
};

/// Which audit rows an admin asks for: newest first, ids below `before` (0: the newest).
struct audit_query_params {
  std::string actor;  ///< a user id, or "" for every actor
  std::string action; ///< an action name, or "" for every action
  int64_t before = 0;
  size_t limit = 100; ///< 1..1000
};

/// One fake-follower flag, as moderators see it (docs/api.md, "Social platforms").
struct social_flag_info {
  int64_t id = 0;
  uuid user;
  std::string display_name;
  std::string platform;
  std::string handle;
  std::string signals;  ///< JSON array [{code, message, figures}]
  std::string snapshot; ///< JSON object: the statistics that raised it
  std::string status;   ///< open, cleared, confirmed
  std::string reviewer; ///< user id, "" while open
  millis created_at = 0;
  millis updated_at = 0;
  millis reviewed_at = 0; ///< 0 while open
};

/// Which flags a moderator asks for: newest first, ids below `before` (0: the newest).
struct social_flag_query {
  std::string status; ///< open, cleared, confirmed, or "" for all
  int64_t before = 0;
  size_t limit = 50;  ///< 1..200
};

/// How refreshes of creators' statistics are limited (pactumd flags).
struct social_settings {
  std::chrono::milliseconds refresh_interval{60'000}; ///< per creator: one refresh per interval
};

/// The analytics pipeline (actors/src/analytics.cpp; docs/operations.md, pactumd `--analytics-*`
/// and `--fraud-*` flags).
struct analytics_settings {
  std::chrono::milliseconds interval{250}; ///< how often pending events are classified
  size_t batch = 1'000;                    ///< events per transaction
  /// Start-up: the detector replays the classified clicks of this last stretch (at most
  /// `rebuild_max`), so its windows and baselines survive a restart.
  std::chrono::milliseconds rebuild_window{std::chrono::hours(2)};
  size_t rebuild_max = 200'000;
  fraud::config fraud;
  size_t report_max_points = 2'000;        ///< buckets one performance report may span
  size_t invalid_page_max = 200;           ///< the invalid-traffic list's largest page
  /// Live figures (analytics.subscribe): at most one push per campaign per `push_interval`, and
  /// at most `max_subscriptions` campaigns per connection.
  std::chrono::milliseconds push_interval{1'000};
  size_t max_subscriptions = 20;
};

/// Polling of approved campaign posts' view counts (actors/src/views.cpp; docs/operations.md,
/// pactumd `--views-*` flags).
struct view_poll_settings {
  std::chrono::milliseconds interval{60'000}; ///< one round per interval; 0: no polling
  size_t batch = 100;                         ///< posts per round at most
  /// Tokens of each platform's bucket a poll never takes: kept for the requests users wait for.
  int64_t quota_reserve = 2;
};

/// One ranked creator of `runtime::match_creators`.
struct creator_match {
  uuid creator;
  std::string profile_json; ///< the creator's public profile view (no private fields)
  matching::match result;
};

struct match_results {
  std::vector<creator_match> matches; ///< best first
  size_t considered = 0; ///< candidates the prefilter returned (at most `match_candidates`)
  size_t eligible = 0;   ///< of those, meeting the hard requirements
};

/// A creator's new pledge campaign (POST /api/v1/pledges).
struct pledge_create_request {
  std::string key;
  std::string title;
  std::string description;
  int64_t goal = 0;
  std::string currency;
  int64_t end_at = 0;
  std::vector<protocol::pledge_tier> tiers;
};

/// A backer's pledge (POST /api/v1/pledges/{id}/pledge); `amount` 0: the tier's price.
struct pledge_back_request {
  std::string key;
  int64_t tier = 0;
  int64_t amount = 0;
  std::string payment_method;
};

/// Owns the actor system and services. Lifecycle: construct after the database has started,
/// serve, then `drain` and destroy before the database stops. Thread-safe.
class runtime {
public:
  runtime(runtime_config cfg, persistence::database& db);
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  const runtime_config& config() const noexcept;

  // -- accounts (REST). Callbacks run on a runtime thread and must not block. --

  void register_user(registration input, std::function<void(expected<principal, api_error>)> done);
  /// Throttled per account and per `ctx.client_address` (429 with `retry_after_s`); the answer
  /// for an unknown email is the same as for a wrong password.
  void login(std::string email, std::string password, login_context ctx,
             std::function<void(expected<login_result, api_error>)> done);
  /// Rotates a refresh token: a new access + refresh pair of the same login. An already used
  /// refresh token revokes its whole login (and closes its WebSockets with 4003).
  void refresh(std::string refresh_token,
               std::function<void(expected<login_result, api_error>)> done,
               std::string client_address = {});
  /// An access token's principal (401 when unknown, expired or revoked).
  void authenticate(std::string bearer_token,
                    std::function<void(expected<principal, api_error>)> done);
  /// An access token's principal for a WebSocket upgrade, served from the access-token cache
  /// when this server verified the token within `auth_cache_ttl` (a reconnect; docs/security.md
  /// "Token cache"), else as `authenticate`. Revocations through this server apply at once.
  void authenticate_upgrade(std::string bearer_token,
                            std::function<void(expected<principal, api_error>)> done);
  /// A WebSocket ticket's principal; the ticket is consumed whatever the outcome.
  void authenticate_ticket(std::string ticket,
                           std::function<void(expected<principal, api_error>)> done);
  /// Revokes `who`'s own login (logout) and closes its WebSockets with 4003.
  void logout(principal who, std::function<void(expected<bool, api_error>)> done);
  /// `who`'s live logins, newest first.
  void list_logins(principal who,
                   std::function<void(expected<std::vector<login_info>, api_error>)> done);
  /// Revokes one of `who`'s logins by id (404 when it is not a live login of theirs) and closes
  /// its WebSockets with 4003.
  void revoke_login(principal who, std::string login_id,
                    std::function<void(expected<bool, api_error>)> done);
  /// Log out everywhere: revokes every live login of `who`, the one in use included, and closes
  /// all their WebSockets with 4003.
  void revoke_all_logins(principal who, std::function<void(expected<bool, api_error>)> done);
  /// Replaces `who`'s password after checking `current` (403 when wrong; a wrong one counts as a
  /// failed login for the throttle), then revokes every other login of theirs (their sockets close
  /// with 4003); the login in use stays.
  void change_password(principal who, std::string current, std::string next,
                       std::function<void(expected<bool, api_error>)> done);
  /// A single-use ticket for `/ws?ticket=`, valid `ticket_ttl`, bound to `who`'s login.
  void issue_ws_ticket(principal who, std::function<void(expected<ws_ticket, api_error>)> done);

  /// The moderators' queue: unreviewed guard findings, oldest first (moderators and admins only).
  void guard_queue(principal who, size_t limit,
                   std::function<void(expected<std::vector<guard_hit_info>, api_error>)> done);
  /// Closes a finding with verdict "confirmed" or "dismissed" (moderators and admins only).
  void review_guard_hit(principal who, int64_t id, std::string verdict,
                        std::function<void(expected<bool, api_error>)> done);

  // -- escrow contracts (REST; WebSocket clients send the same commands as requests) --

  /// Hands contracts the payment provider they call. Call once, before serving.
  void set_payment_provider(payments::provider* provider);

  /// A contract command by `who` (a party, or a moderator resolving a dispute).
  void contract_command(principal who, protocol::contract_command_req req,
                        std::function<void(expected<protocol::contract_ack_reply, api_error>)> done);

  /// A contract and its timeline after `after` (its parties, moderators and admins).
  void get_contract(principal who, uuid contract, int64_t after,
                    std::function<void(expected<protocol::contract_reply, api_error>)> done);

  /// A payment-provider webhook whose signature the gateway verified: processed once per event
  /// id (true), or recognised as a replay and ignored (false). A failure means nothing was
  /// processed: the provider retries.
  void payment_webhook(std::string body, std::function<void(expected<bool, api_error>)> done);

  /// Disputed contracts awaiting a moderator, oldest first (moderators and admins only).
  void open_disputes(principal who, size_t limit,
                     std::function<void(expected<std::vector<std::pair<uuid, millis>>, api_error>)> done);

  /// The ledger's invariants (admins only), as `ledger_report` violations in words.
  void ledger_check(principal who,
                    std::function<void(expected<std::vector<std::string>, api_error>)> done);

  /// Audit log rows matching `q`, newest first (admins only; the query is itself recorded).
  void audit_query(principal who, audit_query_params q,
                   std::function<void(expected<std::vector<audit_entry>, api_error>)> done);

  /// `who`'s balances: posted and available per currency.
  void balances(principal who,
                std::function<void(expected<std::vector<std::pair<std::string, int64_t>>, api_error>)> done);

  /// Withdraws from `who`'s balance through the payment provider (verified users only; money
  /// still settling stays); answers the pending withdrawal.
  void withdraw(principal who, withdrawal_request req,
                std::function<void(expected<withdrawal_info, api_error>)> done);

  /// `who`'s withdrawals, newest first.
  void withdrawals(principal who,
                   std::function<void(expected<std::vector<withdrawal_info>, api_error>)> done);

  // -- privacy (actors/src/privacy.cpp; docs/security.md) --

  /// All of `who`'s data as one JSON document (account, consents, sessions, conversations with
  /// every event they can see, contracts with their timelines, balances, transfers, withdrawals).
  void export_user(principal who, std::function<void(expected<std::string, api_error>)> done);
  /// Erases `who`'s account after checking `password` (403 when wrong); 409 `conflict` while
  /// money is in flight for them. Answers the pseudonym the account shows from now on.
  void erase_user(principal who, std::string password,
                  std::function<void(expected<std::string, api_error>)> done);
  /// Every consent change of `who`, oldest first.
  void consents(principal who,
                std::function<void(expected<std::vector<consent_change>, api_error>)> done);
  /// Records consent changes; answers every change, oldest first.
  void set_consents(principal who, std::vector<consent_change> changes,
                    std::function<void(expected<std::vector<consent_change>, api_error>)> done);

  /// Campaigns, applications and invitations (actors/include/pactum/actors/campaigns.hpp).
  campaign_service& campaigns();
  /// Local promotions, codes, points and leaderboards (actors/include/pactum/actors/promotions.hpp).
  promotion_service& promotions();
  /// Products, affiliate links, `/r/{code}` and conversions (actors/include/pactum/actors/affiliate.hpp).
  affiliate_service& affiliate();

  /// Checks that the database answers.
  void check_health(std::function<void(bool ok, std::string detail)> done);

  // -- profiles, role changes and email-code logins (REST; actors/src/profiles.cpp) --

  /// Replaces `who`'s brand (creator) profile with the JSON object `body` (brands (creators)
  /// only, else 403; 400 with per-field errors; 409 when `body.version` is given and is not the
  /// stored one). Answers the own view (JSON text).
  void put_brand_profile(principal who, std::string body,
                         std::function<void(expected<std::string, api_error>)> done);
  void put_creator_profile(principal who, std::string body,
                           std::function<void(expected<std::string, api_error>)> done);
  /// A brand's profile as `who` may see it: the full view for the brand itself, moderators,
  /// admins and creators who share a contract with it; otherwise without the contact. 404 when
  /// `brand` is not a brand with a profile.
  void brand_profile(principal who, uuid brand,
                     std::function<void(expected<std::string, api_error>)> done);
  /// A creator's profile: the full view for the creator, moderators and admins; otherwise
  /// without the private fields. 404 when `creator` is not a creator with a profile.
  void creator_profile(principal who, uuid creator,
                       std::function<void(expected<std::string, api_error>)> done);
  /// Sets a user's role (admins only) and closes that user's WebSockets with 4004
  /// (`role_changed`); their next request acts with the new role.
  void change_role(principal who, uuid user, std::string role,
                   std::function<void(expected<principal, api_error>)> done);
  /// Queues a one-time login code by mail for the account with this email, if there is one.
  /// Answers the same whether or not there is (429 when requests for this email or from this
  /// address come too often).
  void request_login_code(std::string email, login_context ctx,
                          std::function<void(expected<bool, api_error>)> done);
  /// Logs in with a code from `request_login_code`: the same answer as a password login.
  void login_with_code(std::string email, std::string code, login_context ctx,
                       std::function<void(expected<login_result, api_error>)> done);
  /// Sets a new password with a code from `request_login_code` (which proves the mailbox), and
  /// revokes every login of the account: the forgotten-password path. Answers 401 like
  /// `login_with_code` for a wrong code, 400 for a password the rules refuse (the code stays).
  void reset_password(std::string email, std::string code, std::string next, login_context ctx,
                      std::function<void(expected<bool, api_error>)> done);

  // -- creator search (REST; actors/src/search.cpp) --

  /// Creators matching the query parameters `params` (decoded name/value pairs of
  /// `GET /api/v1/search/influencers`), one page of public views with the matched figures, as
  /// JSON text. Brands, moderators and admins (else 403); 400 with per-field errors.
  void search_creators(principal who, std::vector<std::pair<std::string, std::string>> params,
                       std::function<void(expected<std::string, api_error>)> done);
  // -- social platforms (actors/src/social.cpp; docs/api.md, "Social platforms") --

  /// Hands the runtime the social-platform client it calls (null: none; refreshes and post
  /// checks then answer 503). Call once, before serving; the client must outlive the runtime's
  /// use of it (stop it after the gateway stopped, before destroying the runtime).
  void set_social_client(social::client* client, social_settings settings = {});

  /// Replaces the figures of `who`'s declared social accounts with the platforms' (creators
  /// only), raises fake-follower flags, and answers JSON text {profile, accounts, provider}.
  /// 400 with per-field errors for unknown or invalid handles, 404 without a profile, 429 when
  /// refreshed too recently or the platforms' quotas are used up (with retry_after_s).
  void refresh_social_stats(principal who, std::function<void(expected<std::string, api_error>)> done);

  /// Fake-follower flags (moderators and admins only).
  void social_flags(principal who, social_flag_query q,
                    std::function<void(expected<std::vector<social_flag_info>, api_error>)> done);

  /// Closes an open flag as "cleared" or "confirmed" (moderators and admins only; audited).
  void review_social_flag(principal who, int64_t id, std::string status,
                          std::function<void(expected<social_flag_info, api_error>)> done);

  /// Whether a post exists on `platform` with `required_disclosure` ("none", "any", "#ad",
  /// "#sponsored", "paid_partnership"): for the campaigns' content review (no caller's policy:
  /// the caller has authorised its own action). 404 for a post that does not exist.
  void verify_post(std::string platform, std::string post, std::string required_disclosure,
                   std::function<void(expected<social::post_check, api_error>)> done);
  // -- matching (actors/src/matching_service.cpp; docs/api.md "Matching") --

  /// Creators ranked for `campaign`: prefiltered in PostgreSQL (niche overlap, target countries,
  /// minimum followers; at most `match_candidates`), scored on the persistence threads, at most
  /// `limit` (clamped to `match_limit_max`). No authorization: callers decide who may ask.
  void match_creators(const protocol::campaign_details& campaign, size_t limit,
                      std::function<void(expected<match_results, api_error>)> done);
  /// `POST /api/v1/brands/matches`: a brand previews the creators a campaign (JSON `body`, the
  /// shape of campaign creation; 400 with per-field errors) would match. Answers JSON text.
  void preview_matches(principal who, std::string body, size_t limit,
                       std::function<void(expected<std::string, api_error>)> done);
  /// `GET /api/v1/influencers/campaigns` (actors/src/campaign_matching.cpp; docs/api.md,
  /// "Campaigns"): the published campaigns the calling creator is eligible for (at most
  /// `match_candidates` of them, newest first), ranked by `matching::rank_campaigns` on the
  /// persistence threads, best first, each with its `match`; one page of `limit` (1..100) from
  /// the opaque cursor `before` ("" first page). `sort` "" or "match" ranks, "newest" is the
  /// eligible list newest first (`campaign_service::eligible`). Answers JSON text.
  void ranked_campaigns(principal who, std::string sort, std::string before, size_t limit,
                        std::function<void(expected<std::string, api_error>)> done);
  /// `GET /api/v1/brands/campaigns/{id}/matches`: `match_creators` for the stored campaign, for
  /// its brand and staff (policy `campaign_match_creators`; others get the campaign's 404).
  void campaign_creator_matches(principal who, uuid campaign, size_t limit,
                                std::function<void(expected<std::string, api_error>)> done);

  // -- live sessions --

  std::unique_ptr<session> open_session(principal who, std::shared_ptr<session_sink> sink);

  /// Closes the live WebSockets of `user` with `code` (e.g. session_revoked after logout): all of
  /// them, or with a non-empty `session_id` only those opened with that login. Asynchronous;
  /// takes effect within milliseconds.
  void close_user_sessions(const uuid& user, const std::string& session_id,
                           protocol::close_code code, std::string reason);

  /// Commands accepted from clients and not answered yet, across all sessions.
  size_t in_flight() const noexcept;

  /// Waits (blocking; call from main) until no command is in flight and the journal has no
  /// pending appends, or until `timeout`. Returns true when drained.
  bool drain(std::chrono::milliseconds timeout);

  // -- pledge campaigns (actors/src/pledge_api.cpp; docs/api.md). Answers are JSON objects. --
  /// Creates a draft campaign (creators only); answers its view.
  void pledge_create(principal who, pledge_create_request req,
                     std::function<void(expected<std::string, api_error>)> done);
  /// Opens the creator's draft to backers.
  void pledge_launch(principal who, uuid campaign, std::string key,
                     std::function<void(expected<std::string, api_error>)> done);
  /// A campaign's progress and tiers (drafts: their creator only).
  void pledge_get(principal who, uuid campaign,
                  std::function<void(expected<std::string, api_error>)> done);
  /// Live campaigns with ids above `after`, at most `limit` (1..100).
  void pledge_list(principal who, uuid after, size_t limit,
                   std::function<void(expected<std::string, api_error>)> done);
  /// Pledges to a tier; answered once the pledge (its place in the tier) is journaled.
  void pledge_back(principal who, uuid campaign, pledge_back_request req,
                   std::function<void(expected<std::string, api_error>)> done);
  /// Cancels `who`'s live pledge before the end.
  void pledge_cancel(principal who, uuid campaign, std::string key,
                     std::function<void(expected<std::string, api_error>)> done);
  /// The campaign's backers (its creator only).
  void pledge_backers(principal who, uuid campaign,
                      std::function<void(expected<std::string, api_error>)> done);

  // -- analytics (actors/src/analytics.cpp; docs/api.md, "Analytics") --

  /// Starts the pipeline: rebuilds the fraud detector from recent classified clicks, then every
  /// `interval` classifies pending clicks and conversions and folds the valid ones into the
  /// rollups. Call once, before serving; stopped when the runtime is destroyed.
  void start_analytics(analytics_settings settings);
  /// `GET /api/v1/analytics/campaigns/{id}/performance`: totals, per creator and a series over
  /// [from, to) in `bucket` ("minute", "hour", "day") buckets, as JSON text. Its brand and staff;
  /// anyone else gets the campaign's 404.
  void campaign_performance(principal who, uuid campaign, int64_t from, int64_t to, std::string bucket,
                            std::function<void(expected<std::string, api_error>)> done);
  /// `GET /api/v1/analytics/campaigns/{id}/invalid-traffic`: invalid events of `kind` ("click" or
  /// "conversion"), newest first, ids below `before` (0: newest), at most `limit`. JSON text.
  void campaign_invalid_traffic(principal who, uuid campaign, std::string kind, int64_t before, size_t limit,
                                std::function<void(expected<std::string, api_error>)> done);
  /// Starts polling the view counts of approved campaign posts through `client` (null, or a
  /// zero interval: not at all) every `settings.interval`. Call once, after start_analytics (live
  /// pushes of the changed figures); stopped when the runtime is destroyed.
  void start_view_polling(social::client* client, view_poll_settings settings);
  // -- notifications (actors/src/notifications.cpp; docs/protocol.md "Notifications") --
  /// `who`'s own notifications: list, mark read, mute preferences; answers a JSON object's text
  /// (the members of the WebSocket reply).
  void notifications(principal who, protocol::notifications_req req,
                     std::function<void(expected<std::string, api_error>)> done);

private:
  struct impl;
  std::unique_ptr<impl> impl_;

  // For the operations in profiles.cpp (defined in runtime.cpp, which owns `impl`).
  struct code_limits; ///< per-email and per-address limits on code requests (profiles.cpp)
  std::shared_ptr<code_limits> code_limits_;
  static std::shared_ptr<code_limits> make_code_limits(const runtime_config& cfg);
  persistence::database& database_() const noexcept;
  services& services_() const noexcept; ///< for audit(...) (actors/src/audit.hpp)
  /// The login throttle (the same counters as password logins).
  int64_t login_wait(const std::string& email, const std::string& address);
  void login_failed(const std::string& email, const std::string& address);
  void login_succeeded(const std::string& email);
  /// Why `password` may not be the password of the account with `email` (the registration
  /// rules), or nullopt when it may.
  static std::optional<std::string> password_problem(const std::string& password, const std::string& email);
  /// argon2id of `password`, on the CPU pool.
  void hash_password(std::string password, std::function<void(expected<std::string, api_error>)> done);
  /// Stores `new_hash` for `user` while the stored hash is still `expected_hash` (and `keep` is
  /// still live) and revokes every login of theirs but `keep`, closing their sockets with
  /// `reason`; 409 when either changed meanwhile.
  void replace_password(uuid user, std::string expected_hash, std::string new_hash, std::optional<uuid> keep,
                        std::string reason, std::function<void(expected<bool, api_error>)> done);
  /// What every use of an emailed code shares (a code login, a password reset): the login
  /// throttle, the code's shape, then the code itself, spent when it matches; a wrong one is a
  /// failed login. `prepare` (may be empty) runs once the cheap checks passed and before the code
  /// is spent: it calls its argument to go on, or answers the request itself. Refusals go to
  /// `refuse` and are audited as `action`, anonymously with the email's hash.
  void use_emailed_code(std::string email, std::string code, std::string address, const char* action,
                        std::function<void(api_error)> refuse,
                        std::function<void(std::function<void()>)> prepare,
                        std::function<void(persistence::user_row)> accepted);
  /// Opens a login (tokens) for a user who proved who they are.
  /// The login is stored only while the user's password hash is still `current_hash` (what the
  /// proof read), so a reset, a log out everywhere or an erasure committed meanwhile wins.
  void open_login(uuid user, std::string role, std::string display_name, std::string user_agent,
                  std::string current_hash, std::function<void(expected<login_result, api_error>)> done);

  // For social.cpp: the client and the per-creator refresh limit, published once.
  struct social_state;
  std::shared_ptr<social_state> social_owner_;
  std::atomic<social_state*> social_{nullptr};

  // For analytics.cpp: the pipeline (its ticker thread is joined when this is destroyed, before
  // `impl_`, while the database still runs).
  struct analytics_state;
  std::shared_ptr<analytics_state> analytics_;

  // For views.cpp: the view poller (its thread is joined when this is destroyed, first of all).
  struct views_state;
  std::shared_ptr<views_state> views_;
};

} // namespace pactum::actors
