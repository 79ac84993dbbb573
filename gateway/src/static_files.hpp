#pragma once

// The browser client's files (web/dist), served at `/` by the gateway. Private to the gateway.
//
// The whole folder is read into memory once, when the server starts (the built client is a few
// hundred KiB; `max_total_bytes` bounds it), so serving never touches the disk on an I/O thread
// and a file changed or added later is not served until a restart. Lookups go through a map of
// the files found under the root at load time: a request can only ever name one of those.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility> // before Boost.Asio (1.74 uses std::exchange without it)

#include "shared.hpp"

namespace pactum::gateway {

struct static_file {
  std::string body;
  std::string content_type;
  std::string cache_control; ///< immutable for hashed assets (assets/…), else no-cache
  std::string etag;          ///< a strong validator: "\"<hash of the body>\""
};

/// What a request path resolves to.
struct static_lookup {
  enum class kind {
    not_mine, ///< not the client's (API, /ws, /metrics, /healthz): the caller answers it
    file,     ///< `file` answers it (200, or 304 when If-None-Match matches)
    refused,  ///< a malformed or traversing path: 400
    missing,  ///< a file-like path (with an extension) that does not exist: 404
  };
  kind what = kind::not_mine;
  const static_file* file = nullptr;
};

class static_site {
public:
  /// Reads every regular file under `root` (hidden files and symbolic links are skipped). Throws
  /// std::runtime_error when `root` is not a folder, has no index.html, or holds more than
  /// `max_total_bytes`.
  static std::shared_ptr<const static_site> load(const std::string& root, size_t max_total_bytes);

  /// Resolves a request path (without its query). Client-side routes (no extension) fall back to
  /// index.html.
  static_lookup lookup(std::string_view path) const;

  size_t files() const noexcept { return files_.size(); }
  size_t bytes() const noexcept { return bytes_; }

  /// The content type for a file name, by its extension.
  static std::string content_type_for(std::string_view name);

private:
  std::map<std::string, static_file, std::less<>> files_; ///< key: path relative to the root
  size_t bytes_ = 0;
};

/// The HTTP answer for a GET or HEAD of `path`, or nullopt when the path is not the client's.
std::optional<http_response> serve_static(const http::request<http::string_body>& req,
                                          std::string_view path, const static_site& site);

} // namespace pactum::gateway
