#pragma once

// Signed webhooks: how a payment provider proves that a webhook body is its own and recent.
//
// The header value is `t=<unix seconds>,v1=<lower-hex HMAC-SHA256(secret, "<t>.<body>")>`. The
// timestamp is signed with the body, so a captured request cannot be replayed after the
// tolerance window; within the window the receiver dedupes by the event id in the body. Several
// `v1=` entries may appear (a provider rotating its secret signs with both); one match suffices.
// Pure functions over libsodium, no I/O, safe from any thread.

#include <cstdint>
#include <string>
#include <string_view>

namespace pactum::payments {

/// The HTTP header carrying the signature.
inline constexpr std::string_view signature_header = "Pactum-Signature";

/// The default accepted clock difference between signer and verifier, in seconds.
inline constexpr int64_t default_webhook_tolerance_s = 300;

/// Returns the `Pactum-Signature` value for `body` sent at `timestamp_s` (Unix seconds):
/// `t=<timestamp_s>,v1=<lower-hex HMAC-SHA256(secret, "<timestamp_s>.<body>")>`. Any secret
/// length is allowed.
std::string sign_webhook(std::string_view secret, int64_t timestamp_s, std::string_view body);

/// The verdict on a received webhook.
enum class webhook_check : uint8_t {
  ok,            ///< signed with `secret`, within the window
  malformed,     ///< no usable `t=` or `v1=`, or a `v1=` that is not 64 hex digits
  expired,       ///< |now - t| exceeds the tolerance (also in the future: clock skew or forgery)
  bad_signature, ///< well-formed and recent, but no `v1=` matches
};

/// Returns "ok", "malformed", "expired" or "bad_signature".
const char* to_string(webhook_check) noexcept;

/// Checks a `Pactum-Signature` header against `body`. The header is a comma-separated list of
/// `scheme=value` items in any order (spaces around items are ignored): exactly one `t=` (decimal
/// Unix seconds), one or more `v1=`, and any other schemes, which are ignored. Checks in order:
/// well-formed, |now_s - t| <= tolerance_s, then each `v1` compared in constant time.
webhook_check verify_webhook(std::string_view secret, std::string_view header,
                             std::string_view body, int64_t now_s,
                             int64_t tolerance_s = default_webhook_tolerance_s);

} // namespace pactum::payments
