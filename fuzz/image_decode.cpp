// decode_image (data/image/decode*.cpp): JPEG through libturbojpeg, PNG through libspng, by
// signature; the ImageNet app's decoder.
#include "data/image/decode.h"
#include "fuzz_input.h"

CFX_FUZZ_TARGET(data, size) {
  const cfx::data::Image image = cfx::data::decode_image(cfx::fuzz::as_chars(data, size), "input");
  if (image.pixels.size() != static_cast<size_t>(image.height * image.width * image.channels)) std::abort();
}
