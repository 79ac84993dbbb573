// The promotion QR renderers (gateway/src/qr_render.hpp): the PNG decodes back (libpng) to the
// same module grid, the SVG is a well-formed document whose one path covers exactly the dark
// modules, both with a quiet zone.

#include "qr_render.hpp"

#include <regex>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <png.h>

namespace qr = pactum::gateway::qr;

namespace {

// A base64url token of the length real codes have (125 bytes → 167 characters).
const std::string token = std::string(100, 'A') + "x-_9QzLmN0pRsTuVwXyZaBcDeFgHiJkLmNoPqRsTuVwXyZ01234";

struct decoded {
  png_uint_32 width = 0, height = 0;
  std::vector<std::vector<uint8_t>> rows; ///< 8-bit gray
};

decoded decode_png(const std::string& bytes) {
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&img, bytes.data(), bytes.size()))
    throw std::runtime_error(std::string{"not a PNG: "} + img.message);
  img.format = PNG_FORMAT_GRAY;
  std::vector<uint8_t> buf(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, buf.data(), 0, nullptr))
    throw std::runtime_error(std::string{"PNG read failed: "} + img.message);
  decoded d;
  d.width = img.width;
  d.height = img.height;
  for (png_uint_32 y = 0; y < img.height; ++y)
    d.rows.emplace_back(buf.begin() + y * img.width, buf.begin() + (y + 1) * img.width);
  return d;
}

} // namespace

TEST(QrRender, EncodesATokenIntoASquareMatrix) {
  auto m = qr::encode(token);
  ASSERT_TRUE(m);
  EXPECT_GE(m->width, 21);
  EXPECT_EQ((m->width - 17) % 4, 0); // QR versions: 21, 25, 29, ...
  EXPECT_EQ(m->dark.size(), static_cast<size_t>(m->width * m->width));
  // The finder pattern's corner modules are dark, the separator next to it light.
  EXPECT_TRUE(m->at(0, 0));
  EXPECT_TRUE(m->at(6, 6));
  EXPECT_FALSE(m->at(7, 7));
  EXPECT_TRUE(m->at(m->width - 1, 0));
  EXPECT_TRUE(m->at(0, m->width - 1));
  // Different text, different matrix.
  EXPECT_NE(qr::encode(token + "B")->dark, m->dark);
}

TEST(QrRender, PngDecodesBackToTheSameModules) {
  auto m = *qr::encode(token);
  for (int scale : {1, 4, 7}) {
    auto d = decode_png(qr::render_png(m, scale));
    auto side = static_cast<png_uint_32>((m.width + 2 * qr::quiet_zone) * scale);
    ASSERT_EQ(d.width, side);
    ASSERT_EQ(d.height, side);
    for (int y = -qr::quiet_zone; y < m.width + qr::quiet_zone; ++y)
      for (int x = -qr::quiet_zone; x < m.width + qr::quiet_zone; ++x) {
        bool inside = x >= 0 && y >= 0 && x < m.width && y < m.width;
        bool dark = inside && m.at(x, y);
        // Every pixel of the module has the module's colour.
        for (int py = 0; py < scale; ++py)
          for (int px = 0; px < scale; ++px) {
            auto v = d.rows[static_cast<size_t>((y + qr::quiet_zone) * scale + py)]
                           [static_cast<size_t>((x + qr::quiet_zone) * scale + px)];
            ASSERT_EQ(v, dark ? 0 : 255) << "module " << x << "," << y << " scale " << scale;
          }
      }
  }
  EXPECT_THROW(qr::render_png(m, 0), std::invalid_argument);
  EXPECT_THROW(qr::render_png(m, 33), std::invalid_argument);
}

TEST(QrRender, SvgIsOnePathOverTheDarkModulesWithAQuietZone) {
  auto m = *qr::encode(token);
  auto svg = qr::render_svg(m);
  auto n = std::to_string(m.width + 2 * qr::quiet_zone);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("viewBox=\"0 0 " + n + " " + n + "\""), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  // Exactly one path; its subpaths rebuild the matrix.
  auto first = svg.find("<path");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(svg.find("<path", first + 1), std::string::npos);
  auto d0 = svg.find(" d=\"", first) + 4;
  auto d = svg.substr(d0, svg.find('"', d0) - d0);
  std::vector<bool> grid(m.dark.size());
  std::regex run{R"(M(\d+) (\d+)h(\d+)v1h-(\d+)z)"};
  size_t covered = 0;
  std::string rest;
  auto end = std::sregex_iterator();
  size_t consumed = 0;
  for (auto i = std::sregex_iterator(d.begin(), d.end(), run); i != end; ++i) {
    auto& mt = *i;
    EXPECT_EQ(static_cast<size_t>(mt.position()), consumed) << "unexpected path text";
    consumed = static_cast<size_t>(mt.position() + mt.length());
    int x = std::stoi(mt[1]) - qr::quiet_zone, y = std::stoi(mt[2]) - qr::quiet_zone, len = std::stoi(mt[3]);
    EXPECT_EQ(mt[3], mt[4]);
    ASSERT_GE(x, 0);
    ASSERT_GE(y, 0);
    ASSERT_LE(x + len, m.width);
    ASSERT_LT(y, m.width);
    for (int k = 0; k < len; ++k) {
      auto idx = static_cast<size_t>(y * m.width + x + k);
      EXPECT_FALSE(grid[idx]) << "module painted twice";
      grid[idx] = true;
      ++covered;
    }
  }
  EXPECT_EQ(consumed, d.size());
  EXPECT_EQ(grid, m.dark);
  EXPECT_EQ(covered, static_cast<size_t>(std::count(m.dark.begin(), m.dark.end(), true)));
  // Well-formed enough for XML: balanced tags, no stray ampersands or angle brackets in attributes.
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '<'), std::count(svg.begin(), svg.end(), '>'));
  EXPECT_EQ(svg.find('&'), std::string::npos);
}
