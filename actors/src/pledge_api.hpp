#pragma once

// Private to the actors layer: the payment webhooks of pledge campaigns (intent keys
// "pledge:<campaign>:<seq>"), routed here by runtime::payment_webhook.

#include <functional>
#include <string>

#include <caf/fwd.hpp>

#include "pactum/actors/runtime.hpp"

namespace pactum::actors {

struct services;

/// True when `intent` names a pledge's authorization ("pledge:...").
bool is_pledge_intent(const std::string& intent);

/// Processes a verified webhook for pledge campaign `campaign` once per `event_id` (as contracts'
/// webhooks): true processed, false a replay; on failure nothing was recorded.
void pledge_webhook(caf::actor_system& sys, services& svc, std::string event_id, std::string type,
                    uuid campaign, std::string intent, std::string key, std::string reason,
                    std::string failure_code, std::function<void(expected<bool, api_error>)> done);

} // namespace pactum::actors
