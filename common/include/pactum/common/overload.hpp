#pragma once

// `std::visit(overload{[](const A&) {...}, [](const B&) {...}}, v)`: one visitor from lambdas.

namespace pactum {

template <class... Fs>
struct overload : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overload(Fs...) -> overload<Fs...>;

} // namespace pactum
