// resize and the torchvision / timm transforms against Pillow 9.4 and torchvision 0.14
// (tests/data/reference/image/, written by make_image_reference.py): every filter, down and up,
// one pass only, fractional boxes, Resize(shorter side), CenterCrop with its rounding and
// padding, resized_crop; ToTensor + Normalize to the float; hand-made crops and flips; timm's
// RandomResizedCrop draws; the eval transform on every Imagenette sample file.
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>

#include "data/image/decode.h"
#include "data/image/resize.h"
#include "data/image/transforms.h"
#include "image_helpers.h"

using namespace cfx;
using namespace cfx::data;
using cfx::testing::check_error;
using cfx::testing::image_reference_dir;
using cfx::testing::max_pixel_diff;

namespace {

ResampleFilter filter_named(const std::string& name) {
  for (ResampleFilter f : {ResampleFilter::kBox, ResampleFilter::kBilinear, ResampleFilter::kHamming,
                           ResampleFilter::kBicubic, ResampleFilter::kLanczos})
    if (name == resample_filter_name(f)) return f;
  FAIL("unknown filter ", name);
  return ResampleFilter::kBicubic;
}

// "x0,y0,x1,y1" as written by repr(float).
ResizeBox parse_box(const std::string& s) {
  ResizeBox b;
  REQUIRE(std::sscanf(s.c_str(), "%f,%f,%f,%f", &b.x0, &b.y0, &b.x1, &b.y1) == 4);
  return b;
}

// An image whose pixel (y, x, k) is base + a * y + b * x + 100 * k, to see where crops come from.
Image ramp(int64_t h, int64_t w, int64_t c, int a = 16, int b = 1, int base = 0) {
  Image img(h, w, c);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < c; ++k) img.at(y, x, k) = static_cast<uint8_t>(base + a * y + b * x + 100 * k);
  return img;
}

}  // namespace

TEST_CASE("image resize and torchvision transforms equal PIL's pixels") {
  const auto records = testing::read_image_records(
      image_reference_dir() / "resize_pil.bin",
      [](const std::vector<std::string>& f) { return std::stoul(f.at(2)) * std::stoul(f.at(3)) * std::stoul(f.at(4)); });
  REQUIRE(records.size() >= 30);
  std::map<std::string, int> worst;  // per op and filter
  for (const auto& r : records) {
    const auto& f = r.fields;
    REQUIRE(f.size() == 9);
    const std::string& op = f[1];
    const int64_t c = std::stol(f[2]), h = std::stol(f[3]), w = std::stol(f[4]);
    CAPTURE(f[0]);
    CAPTURE(op);
    const Image src = testing::reference_sample(c);
    const Image want = testing::image_from_bytes(r.bytes, h, w, c);
    Image got;
    std::string key = op;
    if (op == "resize") {
      key += " " + f[5];
      got = f[6] == "-" ? resize(src, h, w, filter_named(f[5])) : resize(src, h, w, filter_named(f[5]), parse_box(f[6]));
    } else if (op == "resize_shorter") {
      got = resize_shorter(src, std::stol(f[5]), ResampleFilter::kBicubic);
    } else if (op == "center_crop") {
      got = center_crop(src, h, w);
    } else if (op == "resized_crop") {
      got = resized_crop(src, {std::stol(f[5]), std::stol(f[6]), std::stol(f[7]), std::stol(f[8])}, h, w);
    } else {
      FAIL("unknown op ", op);
    }
    const int diff = max_pixel_diff(got, want);
    worst[key] = std::max(worst[key], diff);
    CHECK_MESSAGE(diff <= 1, f[0], " ", op, ": max |ours - PIL| = ", diff);
    // Bicubic and bilinear are integer arithmetic on the same double coefficients as Pillow:
    // bit-exact. (Hamming and Lanczos call sin/cos, whose last bit may differ between libms.)
    if (key.find("hamming") == std::string::npos && key.find("lanczos") == std::string::npos)
      CHECK_MESSAGE(diff == 0, f[0], " ", op, ": not bit-exact, max diff ", diff);
  }
  for (const auto& [key, diff] : worst) MESSAGE("vs PIL: ", key, ": max abs difference ", diff);
}

TEST_CASE("image resize: shortcuts, one-pass cases and argument errors") {
  const Image src = testing::reference_sample(3);
  CHECK(max_pixel_diff(resize(src, 40, 48), src) == 0);  // same size: a copy
  // An integer box the size of the output is PIL's crop.
  CHECK(max_pixel_diff(resize(src, 11, 13, ResampleFilter::kBicubic, {5, 4, 18, 15}), crop(src, 4, 5, 11, 13)) == 0);
  // A constant image stays constant under every filter, down and up (weights sum to one).
  const Image flat(9, 17, 3, 77);
  for (ResampleFilter f : {ResampleFilter::kBox, ResampleFilter::kBilinear, ResampleFilter::kHamming,
                           ResampleFilter::kBicubic, ResampleFilter::kLanczos})
    for (auto [h, w] : {std::pair<int64_t, int64_t>{4, 5}, {23, 31}, {1, 1}}) {
      const Image out = resize(flat, h, w, f);
      CHECK(out.height == h);
      CHECK(out.width == w);
      CHECK(max_pixel_diff(out, Image(h, w, 3, 77)) == 0);
    }
  check_error([&] { resize(src, 0, 5); }, {"resize", "at least 1 x 1", "0 x 5"});
  check_error([&] { resize(src, 5, 5, ResampleFilter::kBicubic, {0, 0, 49, 40}); }, {"resize", "box inside", "x1 49"});
  check_error([&] { resize(src, 5, 5, ResampleFilter::kBicubic, {-1, 0, 10, 10}); }, {"x0 -1"});
  check_error([&] { resize(Image(), 5, 5); }, {"resize", "non-empty"});
}

TEST_CASE("image transforms: Resize(shorter side) sizes as torchvision computes them") {
  using S = std::array<int64_t, 2>;
  CHECK(resize_shorter_size(375, 500, 256) == S{256, 341});  // int(256 * 500 / 375) = int(341.33)
  CHECK(resize_shorter_size(500, 375, 256) == S{341, 256});
  CHECK(resize_shorter_size(333, 500, 256) == S{256, 384});  // 384.38
  CHECK(resize_shorter_size(160, 213, 256) == S{256, 340});  // 340.8: truncated, not rounded
  CHECK(resize_shorter_size(300, 300, 256) == S{256, 256});
  CHECK(resize_shorter_size(7, 1000, 256) == S{256, 36571});
  check_error([] { resize_shorter_size(0, 5, 256); }, {"resize_shorter", "positive"});
}

TEST_CASE("image transforms: crop, center_crop rounding and padding, hflip on hand-made images") {
  const Image img = ramp(6, 9, 3);
  const Image c = crop(img, 1, 2, 3, 4);
  REQUIRE(c.height == 3);
  REQUIRE(c.width == 4);
  CHECK(c.at(0, 0, 0) == img.at(1, 2, 0));
  CHECK(c.at(2, 3, 2) == img.at(3, 5, 2));
  // Outside the image PIL's crop fills zeros.
  const Image o = crop(img, -1, 7, 3, 4);
  CHECK(o.at(0, 0, 0) == 0);
  CHECK(o.at(1, 0, 1) == img.at(0, 7, 1));
  CHECK(o.at(1, 1, 0) == img.at(0, 8, 0));
  CHECK(o.at(1, 2, 0) == 0);
  CHECK(o.at(2, 3, 2) == 0);

  // top = int(round((H - h) / 2.0)): Python rounds halves to even, 16.5 -> 16 but 17.5 -> 18.
  const Image tall35 = ramp(35, 3, 1, 1, 0), tall37 = ramp(37, 3, 1, 1, 0);
  CHECK(center_crop(tall35, 2, 3).at(0, 0, 0) == 16);
  CHECK(center_crop(tall37, 2, 3).at(0, 0, 0) == 18);
  CHECK(center_crop(ramp(256, 300, 1, 0, 1), 224).at(0, 0, 0) == 38);  // (300 - 224) / 2
  // Larger than the image: zero padding, (crop - size) // 2 before.
  // Rows: (5 - 2) // 2 = 1 zero row before, 2 after; columns: (4 - 3) // 2 = 0 before, 1 after.
  const Image padded = center_crop(ramp(2, 3, 1, 10, 1, 50), 5, 4);
  REQUIRE(padded.height == 5);
  REQUIRE(padded.width == 4);
  CHECK(padded.at(0, 0, 0) == 0);
  CHECK(padded.at(1, 0, 0) == 50);
  CHECK(padded.at(2, 2, 0) == 62);
  CHECK(padded.at(1, 3, 0) == 0);
  CHECK(padded.at(3, 0, 0) == 0);

  const Image f = hflip(img);
  CHECK(f.at(2, 0, 1) == img.at(2, 8, 1));
  CHECK(f.at(5, 8, 2) == img.at(5, 0, 2));
  CHECK(max_pixel_diff(hflip(f), img) == 0);
  CHECK(max_pixel_diff(hflip(ramp(4, 1, 1)), ramp(4, 1, 1)) == 0);

  check_error([&] { crop(img, 0, 0, 0, 3); }, {"crop", "positive"});
  check_error([] { hflip(Image()); }, {"hflip", "non-empty"});
}

TEST_CASE("image transforms: timm RandomResizedCrop params in range, fallback, determinism") {
  Generator gen(123);
  data::detail::Rng rng(gen);
  const int64_t H = 375, W = 500;
  double min_frac = 1, max_frac = 0;
  for (int t = 0; t < 2000; ++t) {
    const CropBox b = random_resized_crop_params(H, W, rng);
    REQUIRE(b.height >= 1);
    REQUIRE(b.width >= 1);
    REQUIRE(b.top >= 0);
    REQUIRE(b.left >= 0);
    REQUIRE(b.top + b.height <= H);
    REQUIRE(b.left + b.width <= W);
    const double frac = static_cast<double>(b.height * b.width) / (H * W);
    const double ratio = static_cast<double>(b.width) / b.height;
    min_frac = std::min(min_frac, frac);
    max_frac = std::max(max_frac, frac);
    // Rounding each side to whole pixels moves area and ratio a little past the bounds.
    CHECK(frac >= 0.08 * 0.97);
    CHECK(frac <= 1.0);
    CHECK(ratio >= 0.75 * 0.98);
    CHECK(ratio <= 4.0 / 3.0 * 1.02);
  }
  CHECK(min_frac < 0.1);
  CHECK(max_frac > 0.7);

  // No draw can fit a 10-pixel-high strip: the fallback is the centred crop, ratio clamped.
  CHECK(random_resized_crop_params(10, 1000, rng) == CropBox{0, 493, 10, 13});  // round(10 * 4/3)
  CHECK(random_resized_crop_params(1000, 10, rng) == CropBox{493, 0, 13, 10});  // round(10 / 0.75)
  // Python's round in the fallback: round(1 * 2.5) = 2 (half to even), so left = (100 - 2) // 2.
  CHECK(random_resized_crop_params(1, 100, rng, {.ratio_min = 0.4, .ratio_max = 2.5}) == CropBox{0, 49, 1, 2});
  // An aspect ratio inside the range falls back to the whole image.
  CHECK(random_resized_crop_params(3, 3, rng, {.scale_min = 5.0, .scale_max = 6.0}) == CropBox{0, 0, 3, 3});

  // Same seed, same params; another seed, other params.
  auto draws = [](uint64_t seed) {
    Generator g(seed);
    data::detail::Rng r(g);
    std::vector<CropBox> out;
    for (int t = 0; t < 20; ++t) out.push_back(random_resized_crop_params(240, 320, r));
    return out;
  };
  CHECK(draws(7) == draws(7));
  CHECK(draws(7) != draws(8));

  // random_resized_crop = params then crop + bicubic resize to size x size.
  const Image img = testing::reference_sample(3);
  Generator g1(9), g2(9);
  data::detail::Rng r1(g1), r2(g2);
  const Image out = random_resized_crop(img, 24, r1);
  CHECK(out.height == 24);
  CHECK(out.width == 24);
  const CropBox b = random_resized_crop_params(img.height, img.width, r2);
  CHECK(max_pixel_diff(out, resized_crop(img, b, 24, 24)) == 0);
  check_error([&] { random_resized_crop_params(10, 10, r1, {.scale_min = 0.5, .scale_max = 0.1}); },
              {"random_resized_crop", "scale_min <= scale_max"});
}

TEST_CASE("image to_tensor_normalized equals ToTensor + Normalize bit for bit") {
  const std::string all = testing::read_bytes(image_reference_dir() / "normalize_torch.bin");
  const std::string header = "normalize 3 5 4\n";
  REQUIRE(all.substr(0, header.size()) == header);
  const Image img = testing::image_from_bytes(all.substr(header.size(), 60), 5, 4, 3);
  std::vector<float> want(60);
  REQUIRE(all.size() == header.size() + 60 + 240);
  std::memcpy(want.data(), all.data() + header.size() + 60, 240);
  const Tensor t = to_tensor_normalized(img);
  REQUIRE(t.shape() == Shape{3, 5, 4});
  CHECK(t.dtype() == kFloat32);
  const auto got = to_vector<float>(t);
  int exact = 0;
  for (size_t i = 0; i < 60; ++i) exact += got[i] == want[i];
  CHECK(exact == 60);

  // Grayscale counts as R = G = B; write_normalized fills a batch slot in place.
  const Image gray = testing::reference_sample(1);
  std::vector<float> slot(3 * 40 * 48);
  write_normalized(gray, kImageNetMean, kImageNetStd, slot.data());
  const float v = gray.pixels[5];
  CHECK(slot[5] == (v / 255.0f - 0.485f) / 0.229f);
  CHECK(slot[40 * 48 + 5] == (v / 255.0f - 0.456f) / 0.224f);
  CHECK(slot[2 * 40 * 48 + 5] == (v / 255.0f - 0.406f) / 0.225f);
}

TEST_CASE("image eval transform and a downscale on the Imagenette sample equal torchvision + PIL's") {
  if (!testing::have_shared_data("imagenet/imagenette2-160-subset")) return;
  const auto root = testing::shared_data_dir() / "imagenet/imagenette2-160-subset";
  std::ifstream list(image_reference_dir() / "imagenette_pil.txt");
  REQUIRE(list.good());
  auto hex = [](const Image& img) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(testing::fnv1a64(img.pixels)));
    return std::string(buf);
  };
  std::string rel, hash, eval_hash, down_hash;
  int64_t h = 0, w = 0, files = 0, exact = 0;
  while (list >> rel >> h >> w >> hash >> eval_hash >> down_hash) {
    const Image img = read_image(root / rel);
    const Image eval = center_crop(resize_shorter(img, 256), 224);  // timm's eval transform, crop_pct 0.875
    const Image down = resize_shorter(img, 137);
    REQUIRE(eval.height == 224);
    REQUIRE(eval.width == 224);
    CHECK_MESSAGE(hex(eval) == eval_hash, rel, ": Resize(256) + CenterCrop(224) differs from torchvision + PIL's");
    CHECK_MESSAGE(hex(down) == down_hash, rel, ": Resize(137) differs from torchvision + PIL's");
    exact += hex(eval) == eval_hash && hex(down) == down_hash;
    ++files;
  }
  CHECK(files == 150);
  MESSAGE("Imagenette: ", exact, " of ", files, " images bit-identical to torchvision + PIL under both transforms");
}
