#pragma once

// The privacy store: per-user data keys (wrapped; the actors layer wraps and unwraps them),
// consents, and the erasure of an account (docs/security.md, "Privacy"). Same contract as
// `database`: asynchronous, blocking work on the database's pool threads, callbacks exactly once
// on those threads (or synchronously when refused up front), quick and non-blocking.

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pactum/persistence/database.hpp"

namespace pactum::persistence {

/// One consent change (table user_consents).
struct consent_row {
  std::string kind;    ///< e.g. "terms", "marketing"
  std::string version; ///< the text's version the user saw, e.g. "2026-01"; may be empty
  bool granted = false;
  millis at = 0;       ///< set by the database
};

/// What erasing an account does, beyond the fixed steps (see privacy_store.cpp).
struct erasure_plan {
  uuid user;
  std::string pseudonym;      ///< the display name it shows from now on, e.g. "Deleted user 7f3a"
  std::vector<uuid> entities; ///< its conversations, contracts and wallet: their snapshots go
  std::vector<uuid> contracts; ///< its contracts: an erasure waits while one holds money
};

/// The outcome of `erase_user`.
struct erasure_outcome {
  bool erased = false;
  std::string blocked; ///< why not (money in flight), when not erased
};

class privacy_store {
public:
  explicit privacy_store(database& db) : db_(db) {}

  /// The wrapped keys of `users` that exist. First inserts each `create` entry (user, wrapped
  /// fresh key) for a user who has no key and was never erased, so the answer holds a key for
  /// every such user. A user absent from the answer has no key: never created, or erased.
  void user_keys(std::vector<uuid> users, std::vector<std::pair<uuid, std::string>> create,
                 std::function<void(result<std::vector<std::pair<uuid, std::string>>>)> done);

  /// Appends consent changes of `user`, in one transaction.
  void record_consents(uuid user, std::vector<consent_row> rows,
                       std::function<void(result<unit>)> done);

  /// Every consent change of `user`, oldest first (at most 1,000).
  void consents(uuid user, std::function<void(result<std::vector<consent_row>>)> done);

  /// When `user` was erased and their pseudonym; nullopt when they were not.
  void erasure(uuid user,
               std::function<void(result<std::optional<std::pair<std::string, millis>>>)> done);

  /// Ledger transfers touching `user`'s own accounts ("user:<id>:*"), oldest first, at most
  /// `limit`.
  void user_transfers(uuid user, size_t limit,
                      std::function<void(result<std::vector<ledger_transfer_row>>)> done);

  /// The payloads of the `offer.accepted` events of every conversation `user` is a member of
  /// (they name the user's contracts), at most `limit`.
  void accepted_offers(uuid user, size_t limit,
                       std::function<void(result<std::vector<std::string>>)> done);

  /// The campaigns `user` has a part in, at most `limit`: those they own as a brand, and those
  /// whose approval or accepted invitation opened a conversation with them as the creator. Their
  /// campaign rooms are the rooms the user may be a member of.
  void campaigns_of(uuid user, size_t limit, std::function<void(result<std::vector<uuid>>)> done);

  /// Erases the account in one transaction, unless money is in flight for it (a pending transfer
  /// of its own accounts, or one of `plan.contracts` holding or reserving money): records the
  /// erasure, replaces email, password hash and display name, deletes its logins and tokens, its
  /// data key and the snapshots of `plan.entities`, and empties the guard's copies of its texts.
  /// `duplicate` when the account was already erased, `not_found` when there is none.
  void erase_user(erasure_plan plan, std::function<void(result<erasure_outcome>)> done);

private:
  database& db_;
};

} // namespace pactum::persistence
