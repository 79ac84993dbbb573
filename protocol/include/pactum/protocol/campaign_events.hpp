#pragma once

// Campaign events: what the campaign entity decides, what its journal stores (msgpack payloads) and
// what subscribers of `campaign:<id>` receive. Like the other entities' events, an event is encoded
// once, when it is decided.
//
// A campaign is a brand's call for creators: what it wants made (deliverables, collaboration
// types), for whom (target audience), for how much (budget, pricing model) and under which
// brand-safety rules. Creators apply or are invited; an approved application or an accepted
// invitation opens the pair's conversation; each funded contract of the campaign reserves part of
// the budget; content is submitted per deliverable, screened automatically, then reviewed.
//
// Money is integer minor units of the campaign's currency. Ids of applications, invitations and
// submissions are the seq of the event that created them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "pactum/common/expected.hpp"
#include "pactum/common/time.hpp"
#include "pactum/common/uuid.hpp"
#include "pactum/protocol/events.hpp"

namespace pactum::protocol {

/// Who the campaign is for. Empty lists mean "any".
struct campaign_audience {
  std::vector<std::string> niches;    ///< taxonomy names (docs/api.md), e.g. "beauty"
  std::vector<std::string> countries; ///< ISO 3166-1 alpha-2, upper case, e.g. "DE"
  std::vector<std::string> age_bands; ///< "13-17", "18-24", "25-34", "35-44", "45-54", "55+"
  std::string gender = "any";         ///< "any", "female" or "male" (the audience's majority)
  int64_t min_followers = 0;
  int64_t min_engagement_bps = 0;     ///< basis points: 250 = 2.5 % engagement rate
  friend bool operator==(const campaign_audience&, const campaign_audience&) = default;
};

/// How creators are paid. `rate` is minor units per unit: flat = per creator for the whole
/// deal, per_post = per published post, per_call = per call (e.g. a live session), cpc = per
/// valid click, cpv = per 1,000 valid views.
struct campaign_pricing {
  std::string model = "flat"; ///< "flat", "cpc", "cpv", "per_post" or "per_call"
  int64_t rate = 0;
  friend bool operator==(const campaign_pricing&, const campaign_pricing&) = default;
};

/// What submitted content must respect; the automated screening checks it (screen_content).
struct brand_safety {
  std::vector<std::string> banned_words;      ///< matched case-insensitively as whole words
  std::vector<std::string> banned_categories; ///< content categories the brand refuses
  bool require_disclosure = true; ///< #ad, #sponsored, or the platform's paid-partnership flag
  std::string link_policy = "allowed";        ///< "allowed", "none" or "required"
  int64_t max_caption_chars = 2'200;          ///< in Unicode code points
  friend bool operator==(const brand_safety&, const brand_safety&) = default;
};

/// Everything a brand describes about a campaign; replaced as a whole by an update.
struct campaign_details {
  std::string title;
  std::string description;
  std::vector<std::string> goals; ///< e.g. "awareness", "conversions" (free, short)
  int64_t budget = 0;             ///< minor units; > 0 to publish
  std::string currency;           ///< ISO 4217, e.g. "EUR"
  millis starts_at = 0;
  millis ends_at = 0;
  std::vector<deliverable> deliverables;
  campaign_audience audience;
  std::vector<std::string> collaboration_types; ///< names from collaboration_types
  campaign_pricing pricing;
  std::string brief;
  brand_safety safety;
  friend bool operator==(const campaign_details&, const campaign_details&) = default;
};

/// One field a form can show inline: its path (e.g. "audience.countries[2]") and what is wrong.
struct field_error {
  std::string field;
  std::string message;
  friend bool operator==(const field_error&, const field_error&) = default;
};

/// Limits of campaign details (documented in docs/api.md, "Campaigns").
struct campaign_limits {
  size_t max_title_chars = 120;
  size_t max_description_chars = 5'000;
  size_t max_brief_chars = 5'000;
  size_t max_goals = 10;
  size_t max_list_items = 50;   ///< niches, countries, banned words, ...
  size_t max_item_chars = 60;   ///< one goal, niche, banned word, ...
  int64_t max_budget = 100'000'000'000; ///< minor units
};

/// Parses and validates campaign details from the JSON a client sends; every problem found is
/// reported with its field, so a form can show them all at once.
expected<campaign_details, std::vector<field_error>>
campaign_details_from_json(const std::string& json_text, const campaign_limits& limits = {});

/// The details as the JSON object clients send and receive (serialised text).
std::string campaign_details_to_json(const campaign_details& d);

/// What the automated screening found in one submission.
struct screening_finding {
  std::string rule;   ///< "banned_word", "banned_category", "disclosure", "link_policy",
                      ///< "caption_length", "platform"
  std::string detail; ///< e.g. the banned word found
  friend bool operator==(const screening_finding&, const screening_finding&) = default;
};

struct screening_report {
  bool passed = true; ///< no finding
  std::vector<screening_finding> findings;
  friend bool operator==(const screening_report&, const screening_report&) = default;
};

/// The content a creator submits for one deliverable.
struct content_item {
  std::vector<attachment> media; ///< the post's media (references)
  std::string caption;
  std::string platform;              ///< "tiktok", "instagram", "youtube" or "other"
  std::vector<std::string> categories; ///< what the content is about (creator-declared)
  bool paid_partnership = false;     ///< the platform's paid-partnership label is set
  friend bool operator==(const content_item&, const content_item&) = default;
};

/// Checks content against the brand's rules. Pure; the same input gives the same report.
/// `expected_platform` is the deliverable's platform ("" or "other": any).
screening_report screen_content(const content_item& c, const brand_safety& rules,
                                std::string_view expected_platform);

// -- events ---------------------------------------------------------------------------------------

/// Seq 1 of every campaign journal: a draft.
struct campaign_created {
  uuid brand;
  std::string key; ///< the brand's idempotency key
  campaign_details details;
  millis at = 0;
  friend bool operator==(const campaign_created&, const campaign_created&) = default;
};

/// The brand replaced the details.
struct campaign_updated {
  uuid by;
  std::string key;
  campaign_details details;
  millis at = 0;
  friend bool operator==(const campaign_updated&, const campaign_updated&) = default;
};

/// The status changed: "published" (from draft, or resumed from paused), "paused", "completed" or
/// "cancelled". On completed and cancelled, `released` is the budget no contract holds any more
/// (given back to the brand).
struct campaign_status_changed {
  uuid by; ///< nil when the campaign's end date passed (completed by the clock)
  std::string key;
  std::string status;
  int64_t released = 0;
  millis at = 0;
  friend bool operator==(const campaign_status_changed&, const campaign_status_changed&) = default;
};

/// A creator applied. The event's seq is the application's id.
struct application_submitted {
  uuid creator;
  std::string key;
  std::string proposal;
  int64_t amount = 0; ///< the creator's asking price; 0: none given
  millis at = 0;
  friend bool operator==(const application_submitted&, const application_submitted&) = default;
};

/// An application ended: "withdrawn" (by its creator), "approved" or "rejected" (by the brand).
/// Approval opens the pair's conversation `conversation`.
struct application_decided {
  int64_t application = 0;
  uuid by;
  std::string key;
  std::string outcome;
  std::string reason; ///< rejected: may be empty
  uuid conversation;  ///< approved only
  millis at = 0;
  friend bool operator==(const application_decided&, const application_decided&) = default;
};

/// The brand invited a creator. The event's seq is the invitation's id.
struct invitation_sent {
  uuid by;
  std::string key;
  uuid creator;
  std::string brief;
  millis at = 0;
  friend bool operator==(const invitation_sent&, const invitation_sent&) = default;
};

/// An invitation ended: "accepted" or "denied" by the creator, or "withdrawn" by the brand.
/// Acceptance opens the pair's conversation `conversation`.
struct invitation_answered {
  int64_t invitation = 0;
  uuid by;
  std::string key;
  std::string outcome;
  std::string reason;
  uuid conversation; ///< accepted only
  millis at = 0;
  friend bool operator==(const invitation_answered&, const invitation_answered&) = default;
};

/// A contract of this campaign is funded: `amount` of the budget is committed to it.
struct budget_committed {
  uuid contract;
  uuid creator;
  int64_t amount = 0;
  int64_t deliverables = 0;    ///< how many pieces of content the contract asks for
  int64_t revision_rounds = 0; ///< how many revisions the brand may ask for in all
  std::vector<std::string> platforms; ///< the platform of each piece, in order
  millis at = 0;
  friend bool operator==(const budget_committed&, const budget_committed&) = default;
};

/// A committed contract ended: `spent` was paid out (to the creator, with commission) and
/// `returned` went back to the brand (refund, cancellation, a split).
struct budget_settled {
  uuid contract;
  int64_t spent = 0;
  int64_t returned = 0;
  millis at = 0;
  friend bool operator==(const budget_settled&, const budget_settled&) = default;
};

/// The creator submitted content for deliverable `deliverable` (0-based) of `contract`; the
/// screening ran first and its report is stored with it. The event's seq is the submission's id.
struct content_submitted {
  uuid contract;
  int64_t deliverable = 0;
  uuid by;
  std::string key;
  content_item content;
  screening_report report;
  millis at = 0;
  friend bool operator==(const content_submitted&, const content_submitted&) = default;
};

/// The brand (or a moderator) reviewed a submission: "approved", "rejected" (the deliverable is
/// refused for good) or "revision_requested" (one of the contract's revision rounds; the creator
/// submits again). `release` is set on the approval that completes the contract's last
/// deliverable: the campaign then asks the contract to release.
struct content_reviewed {
  int64_t submission = 0;
  uuid by;
  std::string key;
  std::string verdict;
  std::string reason;
  bool release = false;
  millis at = 0;
  friend bool operator==(const content_reviewed&, const content_reviewed&) = default;
};

/// Every campaign event; new alternatives are only ever appended.
using campaign_event =
  std::variant<campaign_created, campaign_updated, campaign_status_changed, application_submitted,
               application_decided, invitation_sent, invitation_answered, budget_committed,
               budget_settled, content_submitted, content_reviewed>;

/// Returns the journal/event type name, e.g. "campaign.created".
std::string_view campaign_event_type(const campaign_event&) noexcept;

/// Returns true when `type` names a campaign event.
bool is_campaign_event_type(std::string_view type) noexcept;

/// The payload version this build writes (1 for every type so far).
inline constexpr int16_t campaign_event_version = 1;

/// Encodes as a msgpack map that includes `"type"`: the bytes stored and pushed.
std::string encode_campaign_event(const campaign_event&);

/// Decodes a journal payload of any version this build has written; a missing field or one of the
/// wrong type is an error naming it.
expected<campaign_event, std::string> decode_campaign_event(std::string_view type, int16_t version,
                                                            std::string_view msgpack);

} // namespace pactum::protocol
