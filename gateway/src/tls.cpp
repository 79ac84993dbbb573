// The server's TLS context (Asio SSL on OpenSSL).

#include "tls.hpp"

#include <fstream>
#include <stdexcept>

#include <openssl/ssl.h>

namespace pactum::gateway {

namespace {

void require_readable(const std::string& file, const char* what) {
  if (!std::ifstream(file).good())
    throw std::runtime_error(std::string{"cannot read the TLS "} + what + " file '" + file + "'");
}

} // namespace

std::shared_ptr<net::ssl::context> make_tls_context(const std::string& cert_file,
                                                    const std::string& key_file) {
  require_readable(cert_file, "certificate");
  require_readable(key_file, "key");
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2
                   | net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1
                   | net::ssl::context::no_tlsv1_1 | net::ssl::context::no_compression
                   | net::ssl::context::single_dh_use);
  auto* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1)
    throw std::runtime_error("TLS: cannot require TLS 1.2 or newer");
  SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  // TLS 1.2 suites: Mozilla's "intermediate" list (forward secrecy, AEAD only). TLS 1.3 suites
  // are OpenSSL's defaults, all of which are fine.
  if (SSL_CTX_set_cipher_list(native,
                              "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                              "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                              "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                              "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384")
      != 1)
    throw std::runtime_error("TLS: no usable cipher suite");
  beast::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec)
    throw std::runtime_error("TLS certificate '" + cert_file + "': " + ec.message());
  ctx->use_private_key_file(key_file, net::ssl::context::pem, ec);
  if (ec)
    throw std::runtime_error("TLS key '" + key_file + "': " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1)
    throw std::runtime_error("TLS: the key '" + key_file + "' does not match the certificate");
  return ctx;
}

} // namespace pactum::gateway
