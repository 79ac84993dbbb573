#pragma once

// QR codes for promotion codes (docs/api.md, "Local promotions"): the module matrix from
// libqrencode, rendered as PNG (libpng) or SVG (one path). Pure functions, no I/O; private to the
// gateway and unit-tested (tests/gateway/qr_render_test.cpp).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pactum::gateway::qr {

/// A square matrix of modules, row-major, true = dark. No quiet zone.
struct matrix {
  int width = 0;
  std::vector<bool> dark;
  bool at(int x, int y) const { return dark[static_cast<size_t>(y * width + x)]; }
};

/// The quiet zone the renderers add around the matrix, in modules (the standard asks for 4).
inline constexpr int quiet_zone = 4;

/// The matrix of `text` (8-bit mode, error correction level M); nullopt when it does not fit a
/// QR code.
std::optional<matrix> encode(std::string_view text);

/// A grayscale PNG, `scale` pixels per module (1..32), quiet zone included.
std::string render_png(const matrix& m, int scale);

/// An SVG document: a white background and one black path, one unit per module, quiet zone
/// included (viewBox 0 0 N N with N = width + 2 * quiet_zone).
std::string render_svg(const matrix& m);

} // namespace pactum::gateway::qr
