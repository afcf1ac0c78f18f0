// LRA tokenizers (see tokenizer.h).
#include "data/lra/tokenizer.h"

#include <algorithm>
#include <string>

#include "data/detail/io.h"  // defines: split_ws

namespace cfx::data {

const std::array<std::string_view, 15>& listops_vocab() {
  static const std::array<std::string_view, 15> vocab = {
      "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "[MIN", "[MAX", "[MED", "[SM", "X"};
  return vocab;
}

int32_t listops_token_id(std::string_view token) {
  const auto& v = listops_vocab();
  const auto it = std::find(v.begin(), v.end(), token);
  return it == v.end() ? kListOpsOovId : static_cast<int32_t>(it - v.begin()) + 1;
}

std::vector<int32_t> listops_tokenize(std::string_view source) {
  std::string s;
  s.reserve(source.size());
  for (char c : source) {
    if (c == '(' || c == ')') continue;  // LRA: re.sub(r'[()]', '')
    s.push_back(c == ']' ? 'X' : c);     // LRA: replace(']', 'X')
  }
  std::vector<int32_t> ids;
  for (std::string_view tok : detail::split_ws(s)) ids.push_back(listops_token_id(tok));
  return ids;
}

std::vector<int32_t> byte_encode(std::string_view text, int64_t max_len) {
  const size_t n = max_len < 0 ? text.size() : std::min(text.size(), static_cast<size_t>(max_len));
  std::vector<int32_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>(static_cast<unsigned char>(text[i])) + 1;
  return ids;
}

uint8_t tf_rgb_to_gray(uint8_t r, uint8_t g, uint8_t b) {
  // Each float32 step is stored to a volatile so it is rounded on its own, as TF's float32
  // kernels round it: GCC contracts a*b + c into one FMA in C++ by default (-ffp-contract=fast),
  // which changes 31 of the 2^24 results (checked exhaustively in tests/data/test_lra_files.cpp).
  const float scale_in = static_cast<float>(1.0 / 255.0);  // convert_image_dtype: uint8 -> [0, 1]
  volatile float rf = static_cast<float>(r) * scale_in, gf = static_cast<float>(g) * scale_in,
                 bf = static_cast<float>(b) * scale_in;
  volatile float pr = rf * 0.2989f, pg = gf * 0.5870f, pb = bf * 0.1140f;  // rgb_to_grayscale weights
  volatile float sum_rg = pr + pg;
  volatile float gray = sum_rg + pb;
  volatile float scaled = gray * 255.5f;  // convert_image_dtype: float -> uint8 scales by 255.5
  return static_cast<uint8_t>(scaled);    // and truncates
}

}  // namespace cfx::data
