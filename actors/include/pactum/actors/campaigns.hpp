#pragma once

// Campaign operations as the gateway sees them (docs/api.md, "Campaigns"): no CAF type here.
// Commands and reads of one campaign go to its actor (actors/src/campaign_actor.cpp) through the
// directory; lists, filters, the creator's eligible campaigns and invitation inbox are read from
// the read model (persistence/campaign_store) on the persistence pool. Every answer is a JSON
// object as text, or an api_error in the documented shape. Callbacks run on a runtime or
// persistence thread and must not block. Owned by the runtime (`runtime::campaigns()`).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pactum/actors/runtime.hpp"

namespace caf {
class actor_system;
}

namespace pactum::actors {

using json_answer = std::function<void(expected<std::string, api_error>)>;

/// A list request's filters, as the query string gave them (validated by the service).
struct campaign_list_params {
  std::string status;        ///< own list only: "" (any) or one status
  std::string niche;         ///< comma-separated niches (any overlap)
  std::string country;
  std::string pricing_model;
  std::string currency;
  std::optional<int64_t> min_budget;
  std::optional<int64_t> max_budget;
  std::string q;             ///< words in the title
  std::string sort;          ///< "newest" (default), "budget", "ending"
  std::string before;        ///< the previous page's `next_before`
  size_t limit = 20;         ///< 1..100
};

class campaign_service {
public:
  campaign_service(services& svc, caf::actor_system& sys);
  ~campaign_service();

  // -- commands (idempotent per caller and key) --
  void create(principal who, std::string key, std::string details_json, json_answer done);
  void update(principal who, uuid id, std::string key, std::string details_json, json_answer done);
  void change_status(principal who, uuid id, std::string key, std::string to, json_answer done);
  void apply(principal who, uuid id, std::string key, std::string proposal, int64_t amount,
             json_answer done);
  void decide_application(principal who, uuid id, int64_t application, std::string key,
                          std::string outcome, std::string reason, json_answer done);
  void withdraw_application(principal who, uuid id, int64_t application, std::string key,
                            json_answer done);
  void invite(principal who, uuid id, std::string key, uuid creator, std::string brief,
              json_answer done);
  void answer_invitation(principal who, uuid id, int64_t invitation, std::string key,
                         std::string outcome, std::string reason, json_answer done);

  /// The contract's creator submits content: `body_json` is the request body ({contract,
  /// deliverable, media[], caption, platform, categories?, paid_partnership?}).
  void submit_content(principal who, uuid id, std::string key, std::string body_json, json_answer done);
  void review_content(principal who, uuid id, int64_t submission, std::string key, std::string verdict,
                      std::string reason, json_answer done);

  /// The campaign's brand funds every accepted contract of the campaign that awaits funding, with
  /// one payment method, within the campaign's remaining budget (docs/api.md, "Campaign escrow").
  /// Each contract is funded with the key `<key>:<contract id>`, so a retry funds nothing twice.
  void fund_escrow(principal who, uuid id, std::string key, std::string payment_method, json_answer done);

  // -- reads --
  void get(principal who, uuid id, json_answer done);
  void updates(principal who, uuid id, int64_t after, size_t limit, json_answer done);
  void applications(principal who, uuid id, int64_t before, size_t limit, json_answer done);
  void list_published(principal who, campaign_list_params p, json_answer done);
  void list_mine(principal who, campaign_list_params p, json_answer done);
  void invitations(principal who, std::string before, size_t limit, json_answer done);
  void eligible(principal who, std::string before, size_t limit, json_answer done);
  /// Content submissions after `after` (the brand and staff: all; a creator: their own).
  void content(principal who, uuid id, int64_t after, size_t limit, json_answer done);

  /// Re-projects campaigns whose read-model row is behind their journal (called at start-up).
  void heal_read_model();

private:
  services& svc_;
  caf::actor_system& sys_;
};

} // namespace pactum::actors
