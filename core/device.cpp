// Device::parse (core/device.h).
#include "core/device.h"

#include <charconv>

#include "core/error.h"

namespace cfx {

Device Device::parse(const std::string& text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.starts_with("cuda:")) {
    int index = -1;
    const char *first = text.data() + 5, *last = text.data() + text.size();
    const auto [end, err] = std::from_chars(first, last, index);
    if (err == std::errc() && end == last && first != last && index >= 0) return cuda(index);
  }
  CFX_FAIL("device: expected 'cpu', 'cuda' or 'cuda:N', got '", text, "'");
}

}  // namespace cfx
