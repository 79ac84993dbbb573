#pragma once

// The runtime's one way into the audit log (docs/security.md, "Audit log"). Callable from any
// thread, CAF actors included: it only queues the record for the persistence layer's audit
// writer, which inserts in batches on its own thread. Never blocks; when the writer's queue is
// full the record is dropped and counted (`persistence::database::audit_dropped`).
//
// What to record: sign-up, logins (and failures), refresh-token reuse, logout and revocations,
// role changes, exports and deletions, every money action, and admin actions. `detail` carries
// ids, codes and hashes only: never a token, a password, an email or a message text.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "pactum/actors/runtime.hpp"

namespace pactum::actors {

struct services;

/// Who acted: a user (with their role and address), or the system / an operator.
struct audit_actor {
  std::optional<uuid> user;
  std::string role;    ///< account role, or "anonymous", "system", "operator"
  std::string address; ///< client IP address ("" when none)

  static audit_actor of(const principal& who) { return {who.user, who.role, who.address}; }
  static audit_actor system() { return {std::nullopt, "system", ""}; }
  static audit_actor anonymous(std::string address) {
    return {std::nullopt, "anonymous", std::move(address)};
  }
};

/// Records `action` (the policy's action name, e.g. "contract.fund") on `target` (an id, or "")
/// with `outcome` ("ok" or the refusal's error code).
void audit(services& svc, const audit_actor& by, std::string action, std::string target,
           std::string outcome, const nlohmann::json& detail = nlohmann::json::object());

/// The audit/policy name of a contract command ("contract.fund", ...).
std::string contract_action_name(protocol::contract_action a);

/// The hex BLAKE2b hash of a normalised email: failed logins are recorded by it, not the email.
std::string email_hash(const std::string& email);

/// The outcome word for an api_error or protocol code ("ok" when none).
std::string audit_outcome(const api_error* err);

} // namespace pactum::actors
