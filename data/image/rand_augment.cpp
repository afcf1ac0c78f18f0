// RandAugment: the config string (timm's rand_augment_transform) and the per-image draws
// (RandAugment.__call__ + AugmentOp.__call__). See rand_augment.h for the draw order.
#include "data/image/rand_augment.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <type_traits>

namespace cfx::data {

namespace {

template <class T>
T parse_number(std::string_view section, std::string_view key, std::string_view val, std::string_view config) {
  T out{};
  const auto [end, ec] = std::from_chars(val.data(), val.data() + val.size(), out);
  CFX_CHECK(ec == std::errc() && end == val.data() + val.size(), "RandAugmentConfig::parse: section '", section,
            "' of '", config, "': '", key, "' expects ", std::is_integral_v<T> ? "an integer" : "a number",
            ", got '", val, "'");
  return out;
}

}  // namespace

RandAugmentConfig RandAugmentConfig::parse(std::string_view config) {
  RandAugmentConfig c;
  std::vector<std::string_view> sections;
  for (size_t start = 0;;) {
    const size_t dash = config.find('-', start);
    sections.push_back(config.substr(start, dash == std::string_view::npos ? std::string_view::npos : dash - start));
    if (dash == std::string_view::npos) break;
    start = dash + 1;
  }
  CFX_CHECK(sections[0] == "rand", "RandAugmentConfig::parse: expected a config starting with 'rand', got '",
            config, "'");
  for (size_t i = 1; i < sections.size(); ++i) {
    const std::string_view s = sections[i];
    // timm splits each section at its first digit: key = the letters before, value = the rest.
    const size_t digit = s.find_first_of("0123456789");
    CFX_CHECK(digit != std::string_view::npos && digit > 0, "RandAugmentConfig::parse: section '", s, "' of '",
              config, "' is not <key><number> (keys: m, n, p, mstd, mmax, inc)");
    const std::string_view key = s.substr(0, digit), val = s.substr(digit);
    if (key == "m") {
      c.magnitude = static_cast<double>(parse_number<int64_t>(s, key, val, config));
    } else if (key == "n") {
      c.num_layers = parse_number<int64_t>(s, key, val, config);
    } else if (key == "p") {
      c.prob = parse_number<double>(s, key, val, config);
      CFX_CHECK(c.prob >= 0.0 && c.prob <= 1.0, "RandAugmentConfig::parse: 'p' must lie in [0, 1], got ", c.prob,
                " in '", config, "'");
    } else if (key == "mstd") {
      c.magnitude_std = parse_number<double>(s, key, val, config);
      if (c.magnitude_std > 100) c.magnitude_std = std::numeric_limits<double>::infinity();  // timm: uniform
    } else if (key == "mmax") {
      const int64_t mmax = parse_number<int64_t>(s, key, val, config);
      c.magnitude_max = mmax == 0 ? 10.0 : static_cast<double>(mmax);  // timm: `magnitude_max or 10`
    } else if (key == "inc") {
      parse_number<int64_t>(s, key, val, config);
      c.increasing = true;  // timm: bool(val) of a non-empty string, so inc0 too
    } else {
      CFX_FAIL("RandAugmentConfig::parse: unknown key '", key, "' in section '", s, "' of '", config,
               "' (keys: m, n, p, mstd, mmax, inc; timm's w and t are not supported)");
    }
  }
  return c;
}

RandAugment::RandAugment(RandAugmentConfig config)
    : config_(config), ops_(rand_augment_ops(config.increasing)) {
  CFX_CHECK(config_.num_layers >= 0, "RandAugment: num_layers must be >= 0, got ", config_.num_layers);
  CFX_CHECK(config_.prob >= 0.0 && config_.prob <= 1.0, "RandAugment: prob must lie in [0, 1], got ", config_.prob);
  CFX_CHECK(config_.magnitude >= 0.0 && config_.magnitude_max > 0.0,
            "RandAugment: expected magnitude >= 0 and magnitude_max > 0, got ", config_.magnitude, " and ",
            config_.magnitude_max);
}

std::vector<AugStep> RandAugment::sample(detail::Rng& rng) const {
  const RandAugmentConfig& c = config_;
  // np.random.choice(ops, n, replace=True): every op index first, uniform.
  std::vector<AugStep> steps(static_cast<size_t>(c.num_layers));
  for (auto& s : steps) s.op = ops_[static_cast<size_t>(rng.randint(0, static_cast<int64_t>(ops_.size()) - 1))];
  for (auto& s : steps) {
    // `if self.prob < 1.0 and random.random() > self.prob: return img`
    if (c.prob < 1.0 && rng.uniform() > c.prob) continue;
    s.applied = true;
    double m = c.magnitude;
    if (c.magnitude_std > 0) {
      m = std::isinf(c.magnitude_std) ? rng.uniform(0.0, c.magnitude) : m + c.magnitude_std * rng.normal();
    }
    s.magnitude = std::max(0.0, std::min(m, c.magnitude_max));
    // _randomly_negate: `-v if random.random() > 0.5 else v`
    if (aug_op_is_signed(s.op)) s.negated = rng.uniform() > 0.5;
    s.arg = level_to_arg(s.op, s.magnitude, s.negated, c.translate_pct);
  }
  return steps;
}

Image RandAugment::apply(const Image& img, const std::vector<AugStep>& steps) const {
  // timm would fail on an L image (a 3-tuple fill); we fill it with the fill's luma instead.
  pil::Fill fill = config_.fill;
  if (img.channels == 1) {
    const uint32_t grey = (fill[0] * 19595u + fill[1] * 38470u + fill[2] * 7471u + 0x8000u) >> 16;
    fill = {static_cast<uint8_t>(grey), static_cast<uint8_t>(grey), static_cast<uint8_t>(grey)};
  }
  Image out = img;
  for (const AugStep& s : steps)
    if (s.applied) out = apply_aug_op(out, s.op, s.arg, fill);
  return out;
}

}  // namespace cfx::data
