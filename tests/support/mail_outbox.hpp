#pragma once

// Reading the mail outbox the way an SMTP relay would, for end-to-end tests of code login.

#include <cctype>
#include <chrono>
#include <cstdint>
#include <regex>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

namespace pactum::test_support {

/// The id of the newest mail in the outbox (0: none). Take it before asking for a code, and pass
/// it to `mailed_login_code`, so an older code still unsent is never mistaken for the new one.
inline int64_t last_mail_id(const std::string& db_url) {
  pqxx::connection db{db_url};
  pqxx::nontransaction tx{db};
  return tx.exec1("select coalesce(max(id), 0) from mail_outbox")[0].as<int64_t>();
}

/// The login code in the newest unsent mail to `email` (stored and mailed lower-cased) with an id
/// above `after_id`, read from the database at `db_url`; waits up to 5 s, since a code request is
/// answered before its mail is stored. Records a test failure and returns "" when none arrives.
inline std::string mailed_login_code(const std::string& db_url, std::string email, int64_t after_id) {
  for (auto& ch : email)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (int i = 0; i < 100; ++i) {
    pqxx::connection db{db_url};
    pqxx::nontransaction tx{db};
    auto rows = tx.exec_params("select body from mail_outbox where to_address = $1 and sent_at is null"
                               " and id > $2 order by id desc limit 1",
                               email, after_id);
    std::smatch m;
    auto body = rows.empty() ? std::string{} : rows[0][0].as<std::string>();
    if (std::regex_search(body, m, std::regex{"code is ([0-9]{6})"}))
      return m[1];
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "no login code mailed to " << email << " after mail " << after_id;
  return {};
}

} // namespace pactum::test_support
