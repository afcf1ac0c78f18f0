// JPEG encode through libturbojpeg's TurboJPEG API (data/image/encode.h).
#include "data/image/encode.h"

#include <turbojpeg.h>

#include <fstream>
#include <memory>

#include "core/detail/atomic_file.h"
#include "core/error.h"

namespace cfx::data {

std::string encode_jpeg(const Image& image, int quality) {
  CFX_CHECK(image.width > 0 && image.height > 0 && (image.channels == 1 || image.channels == 3),
            "encode_jpeg: expected a non-empty 1- or 3-channel image, got ", image.height, " x ", image.width, " x ",
            image.channels);
  CFX_CHECK(quality >= 1 && quality <= 100, "encode_jpeg: quality must be in 1..100, got ", quality);
  std::unique_ptr<void, decltype(&tjDestroy)> tj(tjInitCompress(), &tjDestroy);
  CFX_CHECK(tj, "encode_jpeg: tjInitCompress failed: ", tjGetErrorStr());
  unsigned char* out = nullptr;
  unsigned long size = 0;
  const bool gray = image.channels == 1;
  const int rc = tjCompress2(tj.get(), image.pixels.data(), static_cast<int>(image.width), 0,
                             static_cast<int>(image.height), gray ? TJPF_GRAY : TJPF_RGB, &out, &size,
                             gray ? TJSAMP_GRAY : TJSAMP_420, quality, TJFLAG_ACCURATEDCT);
  std::unique_ptr<unsigned char, decltype(&tjFree)> owned(out, &tjFree);
  CFX_CHECK(rc == 0, "encode_jpeg: ", tjGetErrorStr2(tj.get()));
  return std::string(reinterpret_cast<const char*>(out), size);
}

void write_jpeg(const std::filesystem::path& path, const Image& image, int quality) {
  const std::string bytes = encode_jpeg(image, quality);
  cfx::detail::write_through_temporary(path, [&](const std::filesystem::path& tmp) {
    std::ofstream f(tmp, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    CFX_CHECK(f.good(), "write_jpeg: cannot write ", tmp.string());
  });
}

}  // namespace cfx::data
