// decode_gray_png (data/detail/png.cpp): the 8-bit gray 32x32 PNGs of LRA Pathfinder, on libspng.
#include "data/detail/png.h"
#include "fuzz_input.h"

CFX_FUZZ_TARGET(data, size) {
  cfx::data::detail::decode_gray_png("fuzz", "input.png", cfx::fuzz::as_chars(data, size), 32, 32);
}
