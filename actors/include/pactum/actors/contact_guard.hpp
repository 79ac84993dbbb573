#pragma once

// The anti-bypass guard's detector: finds contact details and off-platform payment attempts in a
// chat message (docs/contact-guard.md). It only finds; what to do about a hit (mask, block or
// flag, strikes, the moderator queue) is the conversation's policy.
//
// Pure functions: no CAF, no I/O, no clock, no mutable global state. Every function may be called
// from any thread at the same time; the same input always gives the same output. Measured on the
// labelled corpus in tests/data/contact_guard/ by tests/actors/contact_guard_test.cpp.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pactum::actors::guard {

/// What a hit is. The wire names (`to_string`) are stable: moderators and clients see them.
enum class category : uint8_t {
  email,          ///< "email": an e-mail address, also spelled out ("name at gmail dot com")
  phone,          ///< "phone": a phone number, international or local, digits or spelled out
  url,            ///< "url": a web address or bare domain ("zoebakes.com", "t.me/x")
  social_handle,  ///< "social_handle": a personal social account offered as a contact
  messaging_app,  ///< "messaging_app": WhatsApp, Telegram, Signal, WeChat, ... or an id on one
  payment_app,    ///< "payment_app": PayPal, Venmo, Zelle, Cash App, crypto coins, ... as a channel
  bank_account,   ///< "bank_account": an IBAN, account/routing/sort code, "bank details"
  crypto_address, ///< "crypto_address": a BTC/ETH/TRON/... wallet address
  off_platform,   ///< "off_platform": an explicit ask to deal or pay outside the platform
};

/// The wire name of `c` ("email", "phone", ...); "unknown" for a value outside the enum.
std::string_view to_string(category c) noexcept;

/// One finding: `[begin, end)` is a byte range of the ORIGINAL UTF-8 text, on code point
/// boundaries.
struct hit {
  category what = category::email;
  size_t begin = 0;
  size_t end = 0;

  friend bool operator==(const hit&, const hit&) = default;
};

/// Returns the hits in `utf8_text`, sorted by `begin`, non-overlapping: findings that overlap or
/// touch are merged into one, which takes the most specific category among them (order:
/// crypto_address, bank_account, payment_app, email, phone, messaging_app, social_handle, url,
/// off_platform). Empty when nothing is found. `utf8_text` should be valid UTF-8 (an invalid byte
/// is read as one unknown character); time is linear in its length.
std::vector<hit> scan(std::string_view utf8_text);

/// True when `utf8_text` provably gives no hit: printable ASCII without digits, '@', '$', '.',
/// ':', '/', '_', '*', opening brackets, spelled-out digits, spaced-out letters, and without any
/// word that a detection rule or a rewrite starts from (most ordinary chat). `scan` returns at once
/// for such a text; false only means the full scan has to decide.
bool provably_clean(std::string_view utf8_text);

/// `scan` without the `provably_clean` short cut: the whole pipeline for every text. Same results
/// as `scan` for every input; kept for the equivalence test and bench/guard_bench.cpp.
std::vector<hit> scan_reference(std::string_view utf8_text);

/// What `mask` puts in place of each hit.
inline constexpr std::string_view mask_replacement = "[hidden]";

/// Returns `utf8_text` with every range of `hits` replaced by `mask_replacement`. `hits` must be
/// sorted and non-overlapping (as `scan` returns them); ranges past the end are clipped.
std::string mask(std::string_view utf8_text, const std::vector<hit>& hits);

} // namespace pactum::actors::guard
