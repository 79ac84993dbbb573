#include "qr_render.hpp"

#include <memory>
#include <stdexcept>

#include <png.h>
#include <qrencode.h>

namespace pactum::gateway::qr {

std::optional<matrix> encode(std::string_view text) {
  std::string copy{text}; // libqrencode wants a NUL-terminated string
  std::unique_ptr<QRcode, void (*)(QRcode*)> code{
    QRcode_encodeString8bit(copy.c_str(), 0, QR_ECLEVEL_M), &QRcode_free};
  if (!code)
    return std::nullopt;
  matrix m;
  m.width = code->width;
  m.dark.resize(static_cast<size_t>(m.width) * static_cast<size_t>(m.width));
  for (size_t i = 0; i < m.dark.size(); ++i)
    m.dark[i] = (code->data[i] & 1) != 0;
  return m;
}

namespace {

void append_bytes(png_structp png, png_bytep data, png_size_t size) {
  auto* out = static_cast<std::string*>(png_get_io_ptr(png));
  out->append(reinterpret_cast<const char*>(data), size);
}

void no_flush(png_structp) {}

[[noreturn]] void png_fail(png_structp, png_const_charp msg) {
  throw std::runtime_error(std::string{"libpng: "} + msg);
}

void png_warn(png_structp, png_const_charp) {}

} // namespace

std::string render_png(const matrix& m, int scale) {
  if (scale < 1 || scale > 32)
    throw std::invalid_argument("scale must be 1..32");
  auto side = static_cast<png_uint_32>((m.width + 2 * quiet_zone) * scale);
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, &png_fail, &png_warn);
  if (!png)
    throw std::runtime_error("libpng: out of memory");
  png_infop info = png_create_info_struct(png);
  struct guard {
    png_structp* p;
    png_infop* i;
    ~guard() { png_destroy_write_struct(p, i); }
  } g{&png, &info};
  if (!info)
    throw std::runtime_error("libpng: out of memory");
  png_set_write_fn(png, &out, &append_bytes, &no_flush);
  png_set_IHDR(png, info, side, side, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  std::vector<png_byte> row(side);
  for (png_uint_32 y = 0; y < side; ++y) {
    int my = static_cast<int>(y) / scale - quiet_zone;
    for (png_uint_32 x = 0; x < side; ++x) {
      int mx = static_cast<int>(x) / scale - quiet_zone;
      bool dark = mx >= 0 && my >= 0 && mx < m.width && my < m.width && m.at(mx, my);
      row[x] = dark ? 0 : 255;
    }
    png_write_row(png, row.data());
  }
  png_write_end(png, info);
  return out;
}

std::string render_svg(const matrix& m) {
  auto n = std::to_string(m.width + 2 * quiet_zone);
  std::string out = R"(<?xml version="1.0" encoding="UTF-8"?>)"
                    "\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "
                    + n + " " + n + "\" width=\"" + std::to_string((m.width + 2 * quiet_zone) * 8)
                    + "\" height=\"" + std::to_string((m.width + 2 * quiet_zone) * 8)
                    + "\" shape-rendering=\"crispEdges\">"
                      "<rect width=\""
                    + n + "\" height=\"" + n + "\" fill=\"#fff\"/><path fill=\"#000\" d=\"";
  // One horizontal run of dark modules per subpath: "M x y h len v 1 h -len z".
  for (int y = 0; y < m.width; ++y) {
    int x = 0;
    while (x < m.width) {
      if (!m.at(x, y)) {
        ++x;
        continue;
      }
      int start = x;
      while (x < m.width && m.at(x, y))
        ++x;
      auto len = std::to_string(x - start);
      out += "M" + std::to_string(start + quiet_zone) + " " + std::to_string(y + quiet_zone) + "h" + len
             + "v1h-" + len + "z";
    }
  }
  out += "\"/></svg>\n";
  return out;
}

} // namespace pactum::gateway::qr
