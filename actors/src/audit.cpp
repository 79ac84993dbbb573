#include "audit.hpp"

#include <sodium.h>

#include "services.hpp"

namespace pactum::actors {

void audit(services& svc, const audit_actor& by, std::string action, std::string target,
           std::string outcome, const nlohmann::json& detail) {
  if (!svc.db)
    return; // the deterministic simulation has no database
  persistence::audit_record r;
  r.at = now_millis();
  r.actor = by.user;
  r.actor_role = by.role.empty() ? std::string{"anonymous"} : by.role;
  r.address = by.address;
  r.action = std::move(action);
  r.target = std::move(target);
  r.outcome = std::move(outcome);
  r.detail = detail.is_object() ? detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                                : std::string{"{}"};
  svc.db->audit(std::move(r));
}

std::string contract_action_name(protocol::contract_action a) {
  using protocol::contract_action;
  switch (a) {
    case contract_action::fund:
      return "contract.fund";
    case contract_action::deliver:
      return "contract.deliver";
    case contract_action::approve:
      return "contract.approve";
    case contract_action::request_revision:
      return "contract.request_revision";
    case contract_action::dispute:
      return "contract.dispute";
    case contract_action::resolve:
      return "contract.resolve";
    case contract_action::cancel:
      break;
  }
  return "contract.cancel";
}

std::string email_hash(const std::string& email) {
  unsigned char h[crypto_generichash_BYTES];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(email.data()), email.size(),
                     nullptr, 0);
  char hex[sizeof h * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  return hex;
}

std::string audit_outcome(const api_error* err) {
  return err ? std::string{protocol::to_string(err->code)} : std::string{"ok"};
}

} // namespace pactum::actors
