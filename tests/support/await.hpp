#pragma once

// Waits for an asynchronous persistence call: `await<T>([&](auto cb) { db.something(..., cb); })`
// returns the result handed to the callback, or throws if none comes within `answer_timeout`.

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>

#include "pactum/persistence/database.hpp"

namespace pactum::test_support {

inline constexpr std::chrono::seconds answer_timeout{30};

template <class T, class Call>
persistence::result<T> await(Call&& call) {
  auto promise = std::make_shared<std::promise<persistence::result<T>>>();
  auto future = promise->get_future();
  call([promise](persistence::result<T> r) { promise->set_value(std::move(r)); });
  if (future.wait_for(answer_timeout) != std::future_status::ready)
    throw std::runtime_error("no answer within the timeout");
  return future.get();
}

} // namespace pactum::test_support
