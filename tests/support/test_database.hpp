#pragma once

// A fresh, uniquely named PostgreSQL database per test, for integration tests.
//
// PACTUM_TEST_DATABASE_URL must name a superuser connection to an existing database (for example
// postgresql://postgres@127.0.0.1:55432/postgres). When it is unset the test FAILS rather than
// skips: a green run must mean the integration tests really ran.
//
// Lifecycle: `test_database` creates its database in the constructor and drops it (forcibly,
// closing leftover sessions) in the destructor. Threading: one owner; `url()` may be read from
// any thread while the object lives.

#include <atomic>
#include <cstdlib>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <unistd.h>

namespace pactum::test_support {

inline constexpr const char* test_database_env = "PACTUM_TEST_DATABASE_URL";

/// Returns the admin URL from the environment, or an empty string when unset.
inline std::string admin_database_url() {
  const char* value = std::getenv(test_database_env);
  return value != nullptr ? std::string{value} : std::string{};
}

/// Returns `url` with its database replaced by `name`; accepts URL and key=value forms.
inline std::string with_database(const std::string& url, const std::string& name) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos)
    return url + " dbname=" + name; // key=value form: a later keyword wins
  auto authority = scheme + 3;
  auto query = url.find('?', authority);
  auto path = url.find('/', authority);
  if (path == std::string::npos || (query != std::string::npos && path > query))
    path = query == std::string::npos ? url.size() : query;
  auto path_end = query == std::string::npos ? url.size() : query;
  return url.substr(0, path) + "/" + name + url.substr(path_end);
}

class test_database {
public:
  test_database() : admin_url_(admin_database_url()) {
    if (admin_url_.empty())
      throw std::runtime_error(std::string{test_database_env}
                               + " is not set: integration tests need a PostgreSQL superuser URL");
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    name_ = "pactum_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_"
            + std::to_string(rd() % 1'000'000);
    pqxx::connection admin{admin_url_};
    pqxx::nontransaction tx{admin};
    tx.exec0("create database " + tx.quote_name(name_));
    url_ = with_database(admin_url_, name_);
  }

  ~test_database() {
    try {
      pqxx::connection admin{admin_url_};
      pqxx::nontransaction tx{admin};
      tx.exec0("drop database if exists " + tx.quote_name(name_) + " with (force)");
    } catch (const std::exception& e) {
      ADD_FAILURE() << "could not drop test database " << name_ << ": " << e.what();
    }
  }

  test_database(const test_database&) = delete;
  test_database& operator=(const test_database&) = delete;

  /// Returns a URL to the fresh database (same credentials as the admin URL).
  const std::string& url() const noexcept { return url_; }
  const std::string& name() const noexcept { return name_; }
  const std::string& admin_url() const noexcept { return admin_url_; }

private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

/// A gtest fixture owning one fresh database per test. Subclasses overriding SetUp call this one
/// first and return when `HasFatalFailure()`.
class database_test : public ::testing::Test {
protected:
  void SetUp() override {
    if (admin_database_url().empty())
      GTEST_FAIL() << test_database_env
                   << " is not set: integration tests need a PostgreSQL superuser URL, e.g. "
                      "postgresql://postgres@127.0.0.1:55432/postgres";
    db_.emplace();
  }

  void TearDown() override { db_.reset(); }

  const std::string& url() const { return db_->url(); }
  const test_database& db() const { return *db_; }

  /// Runs one statement on a connection of its own, committed.
  void sql(const std::string& statement) const {
    pqxx::connection c{url()};
    pqxx::work tx{c};
    tx.exec0(statement);
    tx.commit();
  }

  /// The single value `query` returns, as an integer.
  int64_t scalar(const std::string& query) const {
    pqxx::connection c{url()};
    pqxx::read_transaction tx{c};
    return tx.exec1(query)[0].as<int64_t>();
  }

private:
  std::optional<test_database> db_;
};

} // namespace pactum::test_support
