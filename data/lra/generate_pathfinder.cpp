// Synthetic Pathfinder: dashed curved paths, marker discs, release-format files (see generate.h).
//
// Drawing happens on a 2x grid ("fine" pixels, N = 2 * image_size) that records which path owns
// each pixel; a new dash or disc may not come within kKeepOut fine pixels (Chebyshev) of another
// path, so after the 2x2 box filter different paths never touch, even diagonally.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <numbers>

#include "data/detail/png.h"  // defines: write_gray_png
#include "data/detail/rng.h"  // defines: Rng
#include "data/lra/generate.h"

namespace cfx::data {

namespace fs = std::filesystem;

namespace {

constexpr int kScale = 2;    // fine pixels per output pixel (anti-aliasing)
constexpr int kKeepOut = 4;  // fine pixels between different paths (=> >= 2 output pixels apart)

struct Canvas {
  int n;                     // fine grid is n x n
  std::vector<int> owner;    // 0 = free, s + 1 = path s (drawn or reserved)
  std::vector<uint8_t> ink;  // 1 where something visible is drawn

  explicit Canvas(int size) : n(size), owner(size * size, 0), ink(size * size, 0) {}

  // Fine pixels whose centres lie within `radius` of segment a-b (a point when a == b).
  std::vector<int> footprint(double ax, double ay, double bx, double by, double radius) const {
    std::vector<int> px;
    const int x0 = std::max(0, static_cast<int>(std::floor(std::min(ax, bx) - radius)));
    const int x1 = std::min(n - 1, static_cast<int>(std::ceil(std::max(ax, bx) + radius)));
    const int y0 = std::max(0, static_cast<int>(std::floor(std::min(ay, by) - radius)));
    const int y1 = std::min(n - 1, static_cast<int>(std::ceil(std::max(ay, by) + radius)));
    const double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x) {
        const double cx = x + 0.5, cy = y + 0.5;
        const double t = len2 > 0 ? std::clamp(((cx - ax) * dx + (cy - ay) * dy) / len2, 0.0, 1.0) : 0.0;
        const double ex = cx - (ax + t * dx), ey = cy - (ay + t * dy);
        if (ex * ex + ey * ey <= radius * radius) px.push_back(y * n + x);
      }
    return px;
  }

  // True when no pixel within kKeepOut of `px` belongs to a path other than `self`.
  bool clear_for(const std::vector<int>& px, int self) const {
    for (int p : px) {
      const int x = p % n, y = p / n;
      for (int yy = std::max(0, y - kKeepOut); yy <= std::min(n - 1, y + kKeepOut); ++yy)
        for (int xx = std::max(0, x - kKeepOut); xx <= std::min(n - 1, x + kKeepOut); ++xx) {
          const int o = owner[yy * n + xx];
          if (o != 0 && o != self) return false;
        }
    }
    return true;
  }

  void claim(const std::vector<int>& px, int self, bool visible) {
    for (int p : px) {
      owner[p] = self;
      if (visible) ink[p] = 1;
    }
  }
};

struct Path {
  double x0, y0, x1, y1;  // fine coordinates of its two ends
};

// Grows path `self` of `dashes` dashes from a random start; false (canvas untouched) when no
// start out of kRestarts fits. `reserve_ends`: also claim (invisibly) a marker disc at both
// ends, so the markers fit later.
constexpr int kRestarts = 50, kTurnTrials = 20;

bool try_path(Canvas& c, detail::Rng& rng, const PathfinderOptions& o, int self, int64_t dashes, bool reserve_ends,
              Path& path) {
  const double len = o.dash_length * kScale, gap = o.dash_gap * kScale, half = o.thickness * kScale / 2;
  const double disc = o.marker_radius * kScale, turn = o.max_turn_deg * std::numbers::pi / 180.0;
  const double border = (reserve_ends ? disc : half) + 1.0;
  double x = rng.uniform(border, c.n - border), y = rng.uniform(border, c.n - border);
  double angle = rng.uniform(0.0, 2 * std::numbers::pi);
  path.x0 = x;
  path.y0 = y;
  if (reserve_ends) {
    const auto px = c.footprint(x, y, x, y, disc);
    if (!c.clear_for(px, self)) return false;
    c.claim(px, self, false);
  }
  for (int64_t d = 0; d < dashes; ++d) {
    bool placed = false;
    for (int trial = 0; trial < kTurnTrials && !placed; ++trial) {
      const double a = d == 0 && trial == 0 ? angle : angle + rng.uniform(-turn, turn);
      const double dx = std::cos(a), dy = std::sin(a);
      const double ax = x + (d == 0 ? 0.0 : gap) * dx, ay = y + (d == 0 ? 0.0 : gap) * dy;
      const double bx = ax + len * dx, by = ay + len * dy;
      if (bx < border || by < border || bx > c.n - border || by > c.n - border) continue;
      const auto px = c.footprint(ax, ay, bx, by, half);
      if (!c.clear_for(px, self)) continue;
      c.claim(px, self, true);
      x = bx;
      y = by;
      angle = a;
      placed = true;
    }
    if (!placed) return false;
  }
  if (reserve_ends) {
    const auto px = c.footprint(x, y, x, y, disc);
    if (!c.clear_for(px, self)) return false;
    c.claim(px, self, false);
  }
  path.x1 = x;
  path.y1 = y;
  return true;
}

bool grow_path(Canvas& c, detail::Rng& rng, const PathfinderOptions& o, int self, int64_t dashes, bool reserve_ends,
               Path& path) {
  for (int restart = 0; restart < kRestarts; ++restart) {
    Canvas trial = c;
    if (try_path(trial, rng, o, self, dashes, reserve_ends, path)) {
      c = std::move(trial);
      return true;
    }
  }
  return false;
}

// 8-connected flood fill over pixels > 0 from (sx, sy); true when it reaches (tx, ty).
bool connected(const std::vector<uint8_t>& img, int64_t n, int64_t sx, int64_t sy, int64_t tx, int64_t ty) {
  if (!img[sy * n + sx] || !img[ty * n + tx]) return false;
  std::vector<uint8_t> seen(img.size(), 0);
  std::vector<int64_t> stack{sy * n + sx};
  seen[sy * n + sx] = 1;
  while (!stack.empty()) {
    const int64_t p = stack.back();
    stack.pop_back();
    if (p == ty * n + tx) return true;
    const int64_t x = p % n, y = p / n;
    for (int64_t yy = std::max<int64_t>(0, y - 1); yy <= std::min(n - 1, y + 1); ++yy)
      for (int64_t xx = std::max<int64_t>(0, x - 1); xx <= std::min(n - 1, x + 1); ++xx) {
        const int64_t q = yy * n + xx;
        if (img[q] && !seen[q]) {
          seen[q] = 1;
          stack.push_back(q);
        }
      }
  }
  return false;
}

}  // namespace

PathfinderImage generate_pathfinder_image(int label, const PathfinderOptions& o, Generator& gen) {
  CFX_CHECK(label == 0 || label == 1, "generate_pathfinder_image: label must be 0 or 1, got ", label);
  CFX_CHECK(o.image_size >= 8 && o.image_size <= 1024, "generate_pathfinder_image: image_size ", o.image_size,
            " outside 8..1024");
  CFX_CHECK(o.contour_length >= 1 && o.distractor_length >= 1 && o.num_distractors >= 0 && o.dash_length > 0 &&
                o.dash_gap >= 0 && o.thickness > 0 && o.marker_radius > 0,
            "generate_pathfinder_image: lengths must be positive (contour_length ", o.contour_length,
            ", distractor_length ", o.distractor_length, ", dash_length ", o.dash_length, ")");
  detail::Rng rng(gen);
  const int n = static_cast<int>(o.image_size) * kScale;
  const double disc = o.marker_radius * kScale;
  for (int64_t attempt = 0; attempt < o.max_attempts; ++attempt) {
    Canvas c(n);
    Path a{}, b{};
    if (!grow_path(c, rng, o, 1, o.contour_length, true, a) || !grow_path(c, rng, o, 2, o.contour_length, true, b))
      continue;
    // Markers: positive = both ends of path a; negative = start of a and a random end of b.
    double mx[2] = {a.x0, a.x1}, my[2] = {a.y0, a.y1};
    if (label == 0) {
      const bool end = rng.uniform() < 0.5;
      mx[1] = end ? b.x1 : b.x0;
      my[1] = end ? b.y1 : b.y0;
    }
    for (int m = 0; m < 2; ++m) {
      const int self = (label == 0 && m == 1) ? 2 : 1;
      c.claim(c.footprint(mx[m], my[m], mx[m], my[m], disc), self, true);
    }
    for (int64_t d = 0; d < o.num_distractors; ++d) {  // a distractor that does not fit is left out
      Path unused{};
      grow_path(c, rng, o, static_cast<int>(3 + d), o.distractor_length, false, unused);
    }
    PathfinderImage img;
    img.label = label;
    const auto S = o.image_size;
    img.pixels.assign(static_cast<size_t>(S * S), 0);
    for (int64_t y = 0; y < S; ++y)
      for (int64_t x = 0; x < S; ++x) {
        int sum = 0;
        for (int dy = 0; dy < kScale; ++dy)
          for (int dx = 0; dx < kScale; ++dx) sum += c.ink[(y * kScale + dy) * n + x * kScale + dx];
        img.pixels[static_cast<size_t>(y * S + x)] =
            static_cast<uint8_t>((sum * 255 + kScale * kScale / 2) / (kScale * kScale));
      }
    for (int m = 0; m < 2; ++m) {
      img.marker_x[m] = static_cast<int64_t>(mx[m] / kScale);
      img.marker_y[m] = static_cast<int64_t>(my[m] / kScale);
    }
    // Keep the image only if its pixels say what its label says.
    if (connected(img.pixels, S, img.marker_x[0], img.marker_y[0], img.marker_x[1], img.marker_y[1]) == (label == 1))
      return img;
  }
  CFX_FAIL("generate_pathfinder_image: no image fitted in ", o.max_attempts, " attempts (image_size ", o.image_size,
           ", contour_length ", o.contour_length, ", dash_length ", o.dash_length,
           "); use shorter paths or a larger image");
}

void generate_pathfinder(const fs::path& root, int64_t num_images, const PathfinderOptions& o, uint64_t seed) {
  CFX_CHECK(num_images >= 0, "generate_pathfinder: num_images must be >= 0, got ", num_images);
  CFX_CHECK(o.images_per_dir >= 1, "generate_pathfinder: images_per_dir must be >= 1, got ", o.images_per_dir);
  Generator gen(seed);
  detail::Rng rng(gen);
  fs::create_directories(root / "metadata");
  std::ofstream meta;
  for (int64_t i = 0; i < num_images; ++i) {
    const int64_t k = i / o.images_per_dir, j = i % o.images_per_dir;
    const std::string sub = "imgs/" + std::to_string(k);
    if (j == 0) {
      fs::create_directories(root / sub);
      meta = std::ofstream(root / "metadata" / (std::to_string(k) + ".npy"), std::ios::binary);
      CFX_CHECK(meta, "generate_pathfinder: cannot write ", (root / "metadata").string());
    }
    const int label = rng.uniform() < 0.5 ? 1 : 0;
    const PathfinderImage img = generate_pathfinder_image(label, o, gen);
    const std::string file = "sample_" + std::to_string(j) + ".png";
    detail::write_gray_png(root / sub / file, img.pixels.data(), o.image_size, o.image_size);
    meta << sub << ' ' << file << ' ' << j << ' ' << label << ' ' << o.max_turn_deg << ' ' << o.contour_length << ' '
         << o.distractor_length << ' ' << o.dash_length << ' ' << o.thickness << ' ' << o.dash_gap << " 1\n";
    CFX_CHECK(meta.good(), "generate_pathfinder: write error in ", (root / "metadata").string());
  }
}

}  // namespace cfx::data
