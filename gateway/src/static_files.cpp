// Serves the browser client (static_files.hpp): loaded into memory at start, answered from there.

#include "static_files.hpp"

#include "upgrade_check.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <spdlog/spdlog.h>

namespace pactum::gateway {

namespace fs = std::filesystem;

namespace {

/// Paths that belong to the server, never to the client (no SPA fallback for them).
bool server_path(std::string_view p) {
  auto under = [&](std::string_view prefix) {
    return p == prefix || (p.size() > prefix.size() && p.substr(0, prefix.size()) == prefix
                           && p[prefix.size()] == '/');
  };
  return under("/api") || under("/ws") || under("/metrics") || under("/healthz");
}

std::string fnv1a_etag(std::string_view data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

} // namespace

std::string static_site::content_type_for(std::string_view name) {
  auto dot = name.rfind('.');
  auto ext = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
  static const std::vector<std::pair<std::string_view, std::string_view>> types{
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"txt", "text/plain; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"wasm", "application/wasm"},
  };
  for (auto& [e, t] : types)
    if (e == ext)
      return std::string{t};
  return "application/octet-stream";
}

std::shared_ptr<const static_site> static_site::load(const std::string& root, size_t max_total_bytes) {
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw std::runtime_error("--web-root " + root + " is not a folder");
  auto site = std::make_shared<static_site>();
  // Symbolic links are not followed (neither folders nor files): nothing outside the root is read.
  fs::recursive_directory_iterator it{root, fs::directory_options::none, ec}, end;
  if (ec)
    throw std::runtime_error("--web-root " + root + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec)
      throw std::runtime_error("--web-root " + root + ": " + ec.message());
    auto name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') { // .git, .env, editor files: never served
      if (it->is_directory(ec))
        it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink(ec) || !it->is_regular_file(ec))
      continue;
    auto size = it->file_size(ec);
    if (ec)
      throw std::runtime_error("--web-root: cannot read " + it->path().string());
    if (size > max_total_bytes || site->bytes_ + size > max_total_bytes)
      throw std::runtime_error("--web-root " + root + " holds more than --web-max-bytes ("
                               + std::to_string(max_total_bytes) + " bytes)");
    std::ifstream in(it->path(), std::ios::binary);
    std::string body{std::istreambuf_iterator<char>(in), {}};
    if (!in.good() && !in.eof())
      throw std::runtime_error("--web-root: cannot read " + it->path().string());
    auto rel = it->path().lexically_relative(root).generic_string();
    static_file f;
    f.content_type = content_type_for(rel);
    // Vite names everything under assets/ by a hash of its content: cache it for good.
    f.cache_control = rel.rfind("assets/", 0) == 0 ? "public, max-age=31536000, immutable" : "no-cache";
    f.etag = fnv1a_etag(body);
    site->bytes_ += body.size();
    f.body = std::move(body);
    site->files_.emplace(std::move(rel), std::move(f));
  }
  if (site->files_.find("index.html") == site->files_.end())
    throw std::runtime_error("--web-root " + root + " has no index.html (build the client: "
                             "npm run build in web/)");
  return site;
}

static_lookup static_site::lookup(std::string_view path) const {
  if (path.empty() || path[0] != '/' || server_path(path))
    return {};
  auto decoded = percent_decode(path, false); // a path: "+" is a plus
  if (!decoded)
    return {static_lookup::kind::refused, nullptr};
  // Normalise: drop empty segments; refuse "." and ".." (traversal), NUL and backslashes.
  std::string rel;
  std::string_view rest{*decoded};
  std::string_view last;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    auto seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (seg.empty())
      continue;
    if (seg == "." || seg == ".." || seg.find('\0') != std::string_view::npos
        || seg.find('\\') != std::string_view::npos)
      return {static_lookup::kind::refused, nullptr};
    if (!rel.empty())
      rel.push_back('/');
    rel.append(seg);
    last = seg;
  }
  if (rel.empty())
    rel = "index.html";
  if (auto i = files_.find(rel); i != files_.end())
    return {static_lookup::kind::file, &i->second};
  // A missing file (it has an extension) is a 404; anything else is a client-side route.
  if (last.find('.') != std::string_view::npos)
    return {static_lookup::kind::missing, nullptr};
  return {static_lookup::kind::file, &files_.find("index.html")->second};
}

std::optional<http_response> serve_static(const http::request<http::string_body>& req,
                                          std::string_view path, const static_site& site) {
  if (req.method() != http::verb::get && req.method() != http::verb::head)
    return std::nullopt;
  auto found = site.lookup(path);
  switch (found.what) {
  case static_lookup::kind::not_mine:
    return std::nullopt;
  case static_lookup::kind::refused:
    return error_response(req, actors::api_error{400, protocol::error_code::bad_request,
                                                 "malformed path", {}});
  case static_lookup::kind::missing:
    return error_response(req, actors::api_error{404, protocol::error_code::not_found,
                                                 "no such file", {}});
  case static_lookup::kind::file:
    break;
  }
  auto& f = *found.file;
  bool not_modified = req[http::field::if_none_match] == f.etag;
  http_response res{not_modified ? http::status::not_modified : http::status::ok, req.version()};
  res.set(http::field::server, "pactumd");
  res.set(http::field::content_type, f.content_type);
  res.set(http::field::cache_control, f.cache_control);
  res.set(http::field::etag, f.etag);
  res.set("X-Content-Type-Options", "nosniff");
  if (f.content_type.rfind("text/html", 0) == 0) {
    // The client loads only its own files and talks only to this server.
    res.set("Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; "
            "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
            "form-action 'self'");
    res.set("Referrer-Policy", "no-referrer");
    res.set("X-Frame-Options", "DENY");
  }
  res.keep_alive(req.keep_alive());
  if (not_modified) {
    res.prepare_payload();
    return res;
  }
  if (req.method() == http::verb::head) {
    res.content_length(f.body.size());
    return res;
  }
  res.body() = f.body;
  res.prepare_payload();
  return res;
}

} // namespace pactum::gateway
