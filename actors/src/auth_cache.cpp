#include "auth_cache.hpp"

#include <algorithm>

namespace pactum::actors {

std::optional<principal> auth_cache::find(const std::string& token_hash, int64_t now_ms) {
  if (!enabled())
    return std::nullopt;
  std::lock_guard lock{mu_};
  auto i = by_hash_.find(token_hash);
  if (i == by_hash_.end())
    return std::nullopt;
  if (i->second.until <= clock::now() || i->second.expires_at_ms <= now_ms) {
    erase_locked(token_hash);
    return std::nullopt;
  }
  return i->second.who;
}

uint64_t auth_cache::generation() const {
  std::lock_guard lock{mu_};
  return gen_;
}

void auth_cache::put(const std::string& token_hash, const principal& who, int64_t expires_at_ms,
                     uint64_t gen) {
  if (!enabled() || expires_at_ms <= 0)
    return;
  std::lock_guard lock{mu_};
  if (gen != gen_)
    return; // something was revoked while the database answered: do not trust this answer
  auto now = clock::now();
  if (by_hash_.size() >= max_ && !by_hash_.count(token_hash)) {
    drop_expired_locked(now);
    if (by_hash_.size() >= max_)
      return; // full of live entries: the database keeps answering for the rest
  }
  auto [i, fresh] = by_hash_.insert_or_assign(token_hash, entry{who, expires_at_ms, now + ttl_});
  (void)i;
  if (fresh)
    by_user_[who.user].push_back(token_hash);
}

void auth_cache::drop_login(const uuid& user, const std::string& login) {
  std::lock_guard lock{mu_};
  ++gen_;
  auto u = by_user_.find(user);
  if (u == by_user_.end())
    return;
  auto& hashes = u->second;
  hashes.erase(std::remove_if(hashes.begin(), hashes.end(),
                              [&](const std::string& h) {
                                auto i = by_hash_.find(h);
                                if (i == by_hash_.end())
                                  return true;
                                if (!login.empty() && i->second.who.session_id != login)
                                  return false;
                                by_hash_.erase(i);
                                return true;
                              }),
               hashes.end());
  if (hashes.empty())
    by_user_.erase(u);
}

void auth_cache::drop_user(const uuid& user) {
  drop_login(user, {});
}

size_t auth_cache::size() const {
  std::lock_guard lock{mu_};
  return by_hash_.size();
}

void auth_cache::erase_locked(const std::string& token_hash) {
  auto i = by_hash_.find(token_hash);
  if (i == by_hash_.end())
    return;
  auto u = by_user_.find(i->second.who.user);
  by_hash_.erase(i);
  if (u == by_user_.end())
    return;
  auto& hashes = u->second;
  hashes.erase(std::remove(hashes.begin(), hashes.end(), token_hash), hashes.end());
  if (hashes.empty())
    by_user_.erase(u);
}

void auth_cache::drop_expired_locked(clock::time_point now) {
  for (auto u = by_user_.begin(); u != by_user_.end();) {
    auto& hashes = u->second;
    hashes.erase(std::remove_if(hashes.begin(), hashes.end(),
                                [&](const std::string& h) {
                                  auto i = by_hash_.find(h);
                                  if (i == by_hash_.end())
                                    return true;
                                  if (i->second.until > now)
                                    return false;
                                  by_hash_.erase(i);
                                  return true;
                                }),
                 hashes.end());
    u = hashes.empty() ? by_user_.erase(u) : std::next(u);
  }
}

} // namespace pactum::actors
