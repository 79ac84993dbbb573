#pragma once

// Private to the gateway, and included only by the files that handle TLS streams: Beast's and
// Asio's SSL headers (and through them OpenSSL's) stay out of every other translation unit.

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "shared.hpp"

namespace pactum::gateway {

using tls_stream = beast::ssl_stream<beast::tcp_stream>;

/// A server TLS context from PEM files: TLS 1.2 and 1.3 only, the Mozilla "intermediate" TLS 1.2
/// cipher suites, server cipher preference, no renegotiation, no compression. Throws
/// std::runtime_error naming the file it could not use.
std::shared_ptr<net::ssl::context> make_tls_context(const std::string& cert_file,
                                                    const std::string& key_file);

/// The TLS counterpart of run_ws_session (shared.hpp).
void run_ws_session(tls_stream stream, http::request<http::string_body> req, actors::principal who,
                    bool answer_v1, uint64_t conn_id, std::shared_ptr<gateway_state> gw);

} // namespace pactum::gateway
