// decode_image against Pillow 9.4's Image.open(f).convert("RGB") (tests/data/reference/image/,
// written by make_image_reference.py): JPEG colour / odd-sized / progressive, grayscale,
// Adobe CMYK and YCCK, a PNG named .JPEG, every PNG colour type and bit depth; broken files
// (truncated, random bytes, empty, other formats); every Imagenette sample file.
#include <fstream>
#include <map>

#include "data/detail/rng.h"
#include "data/image/decode.h"
#include "data/image/encode.h"
#include "image_helpers.h"

using namespace cfx;
using namespace cfx::data;
using cfx::testing::check_error;
using cfx::testing::fnv1a64;
using cfx::testing::image_reference_dir;
using cfx::testing::max_pixel_diff;
using cfx::testing::read_bytes;

namespace {

std::vector<testing::ImageRecord> decode_records() {
  return testing::read_image_records(image_reference_dir() / "decode_pil.bin", [](const std::vector<std::string>& f) {
    return std::stoul(f.at(1)) * std::stoul(f.at(2)) * std::stoul(f.at(3));
  });
}

std::string reference_bytes(const std::string& name) { return read_bytes(image_reference_dir() / name); }

}  // namespace

TEST_CASE("decode_image equals PIL's convert(\"RGB\") on every reference JPEG and PNG") {
  const auto records = decode_records();
  REQUIRE(records.size() >= 20);
  int worst = 0;
  for (const auto& r : records) {
    const std::string& name = r.fields[0];
    CAPTURE(name);
    const Image want = testing::image_from_bytes(r.bytes, std::stol(r.fields[1]), std::stol(r.fields[2]), 3);
    const Image got = read_image(image_reference_dir() / name);
    REQUIRE(got.channels == 3);
    CHECK(got.height == want.height);
    CHECK(got.width == want.width);
    const int diff = max_pixel_diff(got, want);
    worst = std::max(worst, diff);
    CHECK_MESSAGE(diff == 0, name, ": max |decode - PIL| = ", diff);  // same libjpeg-turbo: exact
  }
  MESSAGE("decode_image vs PIL over ", records.size(), " files: max abs difference ", worst);
}

TEST_CASE("decode_image: format by signature, not name; grayscale JPEG replicated; CMYK as PIL") {
  const std::string png = reference_bytes("png_named.JPEG");
  CHECK(sniff_image_format(png) == ImageFormat::kPng);
  CHECK(sniff_image_format(reference_bytes("color_420.jpg")) == ImageFormat::kJpeg);
  CHECK(decode_image(png, "x.JPEG").height == 29);
  // A "RIFF" file shorter than a WebP header is unknown, not std::out_of_range (fuzz/image_decode).
  CHECK(sniff_image_format("RIFFP") == ImageFormat::kUnknown);
  CHECK_THROWS_AS(decode_image("RIFFP", "short.webp"), Error);

  const Image gray = read_image(image_reference_dir() / "gray_odd.jpg");
  REQUIRE(gray.channels == 3);
  bool replicated = true, varied = false;
  for (size_t i = 0; i < gray.pixels.size(); i += 3) {
    replicated &= gray.pixels[i] == gray.pixels[i + 1] && gray.pixels[i] == gray.pixels[i + 2];
    varied |= gray.pixels[i] != gray.pixels[0];
  }
  CHECK(replicated);
  CHECK(varied);

  // The CMYK reference came from PIL's own RGB -> CMYK (C = 255 - R, K = 0), so PIL's
  // round trip is the identity up to JPEG loss: the decode must be close to the RGB source,
  // which checks the Adobe inversion (without it every pixel would be far off).
  const Image cmyk = read_image(image_reference_dir() / "cmyk_adobe.jpg");
  const Image rgb = read_image(image_reference_dir() / "color_progressive_444.jpg");  // q95 of the same sample
  double mean_abs = 0;
  for (size_t i = 0; i < rgb.pixels.size(); ++i) mean_abs += std::abs(int(cmyk.pixels[i]) - int(rgb.pixels[i]));
  mean_abs /= static_cast<double>(rgb.pixels.size());
  CHECK(mean_abs < 6.0);
}

TEST_CASE("decode_image: broken files name the file and say what is wrong") {
  const std::string jpeg = reference_bytes("color_420.jpg");
  REQUIRE(jpeg.size() > 1000);
  // PIL raises "image file is truncated" for every cut; so must we, up to losing the EOI alone.
  for (size_t cut : {size_t{3}, size_t{20}, size_t{200}, jpeg.size() / 2, jpeg.size() - 100, jpeg.size() - 2}) {
    CAPTURE(cut);
    const std::string msg = testing::error_message([&] { decode_image(jpeg.substr(0, cut), "cut.jpg"); });
    CHECK(msg.find("cut.jpg") != std::string::npos);
    CHECK_MESSAGE((msg.find("truncated") != std::string::npos || msg.find("JPEG header") != std::string::npos), msg);
  }
  check_error([&] { decode_image(jpeg.substr(0, jpeg.size() / 2), "half.jpg"); }, {"half.jpg", "truncated JPEG"});
  // Trailing bytes after the end-of-image marker are ignored, as by PIL.
  CHECK(max_pixel_diff(decode_image(jpeg + "trailing junk", "t.jpg"), decode_image(jpeg, "t.jpg")) == 0);

  check_error([] { decode_image("", "empty.JPEG"); }, {"empty.JPEG", "empty file"});
  std::string noise(3000, '\0');
  Generator gen(5);
  data::detail::Rng rng(gen);
  for (char& c : noise) c = static_cast<char>(rng.next_u32() & 0xff);
  noise[0] = 'x';  // not a signature by chance
  check_error([&] { decode_image(noise, "noise.JPEG"); }, {"noise.JPEG", "not an image", "78 "});
  // A JPEG signature followed by noise: libjpeg's error, not a crash.
  std::string fake = "\xff\xd8\xff" + noise;
  CHECK(testing::error_message([&] { decode_image(fake, "fake.jpg"); }).find("fake.jpg") != std::string::npos);
  // Noise inside the entropy-coded data of a real JPEG: PIL decodes it (libjpeg warns), so do we.
  std::string garbled = jpeg;
  for (size_t i = garbled.size() / 2; i < garbled.size() / 2 + 40; ++i) garbled[i] = static_cast<char>(i * 37 & 0x7f);
  CHECK(decode_image(garbled, "garbled.jpg").width == 48);

  const std::string png = reference_bytes("png_rgb8.png");
  check_error([&] { decode_image(png.substr(0, png.size() / 2), "half.png"); }, {"half.png", "PNG"});
  check_error([&] { decode_image(png.substr(0, 20), "head.png"); }, {"head.png", "truncated PNG"});
  std::string bad_crc = png;
  bad_crc[png.size() / 2] ^= 0x55;
  check_error([&] { decode_image(bad_crc, "crc.png"); }, {"crc.png", "PNG"});

  check_error([] { decode_image("BM\x36\x00\x00\x00", "x.bmp"); }, {"x.bmp", "unsupported image format BMP"});
  check_error([] { decode_image("GIF89a....", "x.gif"); }, {"x.gif", "GIF"});
  check_error([] { decode_image(std::string("RIFF\x10\0\0\0WEBPVP8 ", 16), "x.webp"); }, {"x.webp", "WebP"});
  check_error([] { read_image("/nonexistent/n0/x.JPEG"); }, {"/nonexistent/n0/x.JPEG", "missing file"});
}

TEST_CASE("decode_image on the Imagenette sample: every file decodes to PIL's pixels") {
  if (!testing::have_shared_data("imagenet/imagenette2-160-subset")) return;
  const auto root = testing::shared_data_dir() / "imagenet/imagenette2-160-subset";
  std::ifstream list(image_reference_dir() / "imagenette_pil.txt");
  REQUIRE(list.good());
  std::string rel, hash, eval_hash, down_hash;
  int64_t h = 0, w = 0, files = 0, exact = 0;
  while (list >> rel >> h >> w >> hash >> eval_hash >> down_hash) {
    CAPTURE(rel);
    const Image img = read_image(root / rel);
    CHECK(img.height == h);
    CHECK(img.width == w);
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a64(img.pixels)));
    exact += hash == buf;
    CHECK_MESSAGE(hash == buf, rel, ": decoded pixels differ from PIL's (hash ", buf, ", PIL ", hash, ")");
    ++files;
  }
  CHECK(files == 150);
  MESSAGE("Imagenette: ", exact, " of ", files, " files decode to exactly PIL's pixels");
}

TEST_CASE("encode_jpeg: colour and grayscale round trips through decode_image, errors") {
  Image rgb(24, 40, 3), gray(16, 16, 1);
  for (int64_t y = 0; y < 24; ++y)
    for (int64_t x = 0; x < 40; ++x)
      for (int64_t c = 0; c < 3; ++c) rgb.at(y, x, c) = static_cast<uint8_t>(40 + 3 * x + 2 * y + 20 * c);
  for (int64_t y = 0; y < 16; ++y)
    for (int64_t x = 0; x < 16; ++x) gray.at(y, x, 0) = static_cast<uint8_t>(10 * x + 5 * y);
  const Image back = decode_image(encode_jpeg(rgb, 95), "rgb.jpg");
  REQUIRE(back.height == 24);
  REQUIRE(back.width == 40);
  CHECK(max_pixel_diff(back, rgb) <= 6);  // smooth ramps survive quality 95 nearly intact
  const Image g = decode_image(encode_jpeg(gray, 95), "gray.jpg");
  REQUIRE(g.channels == 3);  // decoded as PIL's convert("RGB")
  for (int64_t i = 0; i < 16 * 16; ++i) {
    CHECK(g.pixels[3 * i] == g.pixels[3 * i + 1]);
    CHECK(std::abs(int(g.pixels[3 * i]) - int(gray.pixels[i])) <= 4);
  }
  CHECK_THROWS_WITH_AS(encode_jpeg(Image(), 90), doctest::Contains("encode_jpeg: expected a non-empty"), cfx::Error);
  CHECK_THROWS_WITH_AS(encode_jpeg(rgb, 0), doctest::Contains("quality must be in 1..100, got 0"), cfx::Error);
}
