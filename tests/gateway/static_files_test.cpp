// The browser client's static file serving (gateway/src/static_files.cpp): content types, the
// client-side-route fallback, traversal refused, cache headers, validators, the size limit.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "static_files.hpp"

namespace fs = std::filesystem;
using namespace pactum::gateway;

namespace {

class StaticFiles : public ::testing::Test {
protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("pactum-static-" + std::to_string(::getpid()) + "-"
                                         + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    root_ = base_ / "dist";
    fs::create_directories(root_ / "assets");
    write(root_ / "index.html", "<!doctype html><title>Pactum</title>");
    write(root_ / "assets" / "index-abc123.js", "console.log('hi')");
    write(root_ / "assets" / "index-abc123.css", "body{}");
    write(root_ / "favicon.svg", "<svg/>");
    write(root_ / ".env", "SECRET=1");
    write(base_ / "secret.txt", "outside the root");
    fs::create_symlink(base_ / "secret.txt", root_ / "linked.txt");
  }
  void TearDown() override { fs::remove_all(base_); }

  static void write(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
  }

  static http::request<http::string_body> get(std::string target, http::verb verb = http::verb::get) {
    http::request<http::string_body> req{verb, target, 11};
    return req;
  }

  static http_response serve(const static_site& site, const http::request<http::string_body>& req) {
    auto target = std::string_view{req.target()};
    auto r = serve_static(req, target.substr(0, target.find('?')), site);
    EXPECT_TRUE(r.has_value()) << target;
    return r ? std::move(*r) : http_response{};
  }

  fs::path base_, root_;
};

TEST_F(StaticFiles, ServesFilesWithTheirContentTypeAndCacheHeaders) {
  auto site = static_site::load(root_.string(), 1 << 20);
  EXPECT_EQ(site->files(), 4u); // index, js, css, svg: not .env, not the symlink

  auto index = serve(*site, get("/"));
  EXPECT_EQ(index.result(), http::status::ok);
  EXPECT_EQ(index[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(index[http::field::cache_control], "no-cache");
  EXPECT_NE(index["Content-Security-Policy"], "");
  EXPECT_EQ(index.body(), "<!doctype html><title>Pactum</title>");

  auto js = serve(*site, get("/assets/index-abc123.js"));
  EXPECT_EQ(js.result(), http::status::ok);
  EXPECT_EQ(js[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(js[http::field::cache_control], "public, max-age=31536000, immutable");
  EXPECT_EQ(js.body(), "console.log('hi')");
  EXPECT_EQ(serve(*site, get("/assets/index-abc123.css"))[http::field::content_type], "text/css; charset=utf-8");
  EXPECT_EQ(serve(*site, get("/favicon.svg?v=2"))[http::field::content_type], "image/svg+xml");
  EXPECT_EQ(serve(*site, get("/favicon.svg"))[http::field::cache_control], "no-cache");
}

TEST_F(StaticFiles, ClientRoutesFallBackToIndexButMissingFilesAre404) {
  auto site = static_site::load(root_.string(), 1 << 20);
  for (auto* route : {"/login", "/deals/01a21218-545f-72f9-89ea-f9e600658080", "/signup/"}) {
    auto r = serve(*site, get(route));
    EXPECT_EQ(r.result(), http::status::ok) << route;
    EXPECT_EQ(r.body(), "<!doctype html><title>Pactum</title>") << route;
  }
  EXPECT_EQ(serve(*site, get("/assets/gone-123.js")).result(), http::status::not_found);
  EXPECT_EQ(serve(*site, get("/.env")).result(), http::status::not_found);
  EXPECT_EQ(serve(*site, get("/linked.txt")).result(), http::status::not_found);
}

TEST_F(StaticFiles, ServerPathsAreNotTheClients) {
  auto site = static_site::load(root_.string(), 1 << 20);
  for (auto* path : {"/api/v1/nothing", "/api", "/ws", "/metrics", "/healthz"})
    EXPECT_FALSE(serve_static(get(path), path, *site).has_value()) << path;
  // other methods are left to the REST router (which answers 404/405)
  EXPECT_FALSE(serve_static(get("/", http::verb::post), "/", *site).has_value());
  // "/apis" is not "/api"
  EXPECT_EQ(serve(*site, get("/apis")).result(), http::status::ok);
}

TEST_F(StaticFiles, PathTraversalIsRefused) {
  auto site = static_site::load(root_.string(), 1 << 20);
  for (auto* path : {"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt",
                     "/%2E%2E%2Fsecret.txt", "/assets/..%2f..%2fsecret.txt", "/./index.html",
                     "/..\\secret.txt", "/%00", "/bad%zzescape", "/trailing%2"}) {
    auto r = serve(*site, get(path));
    EXPECT_EQ(r.result(), http::status::bad_request) << path;
    EXPECT_EQ(r.body().find("outside the root"), std::string::npos) << path;
  }
}

TEST_F(StaticFiles, HeadAndConditionalRequests) {
  auto site = static_site::load(root_.string(), 1 << 20);
  auto head = serve(*site, get("/assets/index-abc123.js", http::verb::head));
  EXPECT_EQ(head.result(), http::status::ok);
  EXPECT_EQ(head.body(), "");
  EXPECT_EQ(head[http::field::content_length], "17");

  auto first = serve(*site, get("/"));
  auto etag = std::string{first[http::field::etag]};
  ASSERT_FALSE(etag.empty());
  auto again = get("/");
  again.set(http::field::if_none_match, etag);
  auto r = serve(*site, again);
  EXPECT_EQ(r.result(), http::status::not_modified);
  EXPECT_EQ(r.body(), "");
  again.set(http::field::if_none_match, "\"something-else\"");
  EXPECT_EQ(serve(*site, again).result(), http::status::ok);
}

TEST_F(StaticFiles, LoadRefusesTooLargeMissingIndexAndNonFolders) {
  // index 36 + js 17 + css 6 + svg 6 = 65 bytes
  EXPECT_NO_THROW(static_site::load(root_.string(), 65));
  EXPECT_THROW(static_site::load(root_.string(), 64), std::runtime_error);
  EXPECT_THROW(static_site::load((base_ / "nope").string(), 1 << 20), std::runtime_error);
  EXPECT_THROW(static_site::load((base_ / "secret.txt").string(), 1 << 20), std::runtime_error);
  fs::remove(root_ / "index.html");
  EXPECT_THROW(static_site::load(root_.string(), 1 << 20), std::runtime_error);
}

TEST_F(StaticFiles, ContentTypes) {
  EXPECT_EQ(static_site::content_type_for("a.woff2"), "font/woff2");
  EXPECT_EQ(static_site::content_type_for("a.png"), "image/png");
  EXPECT_EQ(static_site::content_type_for("a.json"), "application/json");
  EXPECT_EQ(static_site::content_type_for("a.unknown"), "application/octet-stream");
  EXPECT_EQ(static_site::content_type_for("noext"), "application/octet-stream");
}

} // namespace
