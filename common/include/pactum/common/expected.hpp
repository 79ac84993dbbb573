#pragma once

#include <cassert>
#include <utility>
#include <variant>

namespace pactum {

/// A value or an error, for C++20 (std::expected needs C++23). Deliberately tiny: `has_value`,
/// `value`, `error`, and `operator bool`.
template <class T, class E>
class expected {
public:
  expected(T value) : data_(std::in_place_index<0>, std::move(value)) {}
  expected(E error) : data_(std::in_place_index<1>, std::move(error)) {}

  bool has_value() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(data_); }
  const T& value() const& { assert(has_value()); return std::get<0>(data_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  E& error() & { assert(!has_value()); return std::get<1>(data_); }
  const E& error() const& { assert(!has_value()); return std::get<1>(data_); }

private:
  std::variant<T, E> data_;
};

} // namespace pactum
