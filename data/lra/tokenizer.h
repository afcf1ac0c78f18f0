// The LRA tokenizers: ListOps symbols, bytes (Text, Retrieval) and the TF grayscale used for
// CIFAR-10 (Image). Each matches the official input pipeline (../shared/BENCHMARKS.md 1.4).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace cfx::data {

// ---- ListOps -----------------------------------------------------------------------------------
// LRA preprocessing: ']' -> 'X', delete '(' and ')', split on whitespace, map each token to
// its id. The official vocabulary has the same 15 symbols but numbers them in Python set order
// (arbitrary per run); ours is fixed: digit d -> d + 1 (1..10), [MIN 11, [MAX 12, [MED 13,
// [SM 14, X 15. Unknown tokens -> 16, padding 0, vocab size 17 (as LRA's TokenTextEncoder).
inline constexpr int32_t kListOpsPadId = 0;
inline constexpr int32_t kListOpsOovId = 16;
inline constexpr int64_t kListOpsVocabSize = 17;
// The 15 symbols; symbol k has id k + 1.
const std::array<std::string_view, 15>& listops_vocab();
int32_t listops_token_id(std::string_view token);  // kListOpsOovId when unknown
std::vector<int32_t> listops_tokenize(std::string_view source);

// ---- bytes ---------------------------------------------------------------------------------------
// tfds ByteTextEncoder: id = byte + 1 (1..256), pad 0, vocab 257. Keeps the first max_len bytes
// (max_len < 0: all).
inline constexpr int64_t kByteVocabSize = 257;
std::vector<int32_t> byte_encode(std::string_view text, int64_t max_len = -1);

// ---- pixels --------------------------------------------------------------------------------------
// tf.image.rgb_to_grayscale on uint8, then back to uint8, in float32 like TF:
//   gray = trunc(((R/255)*0.2989 + (G/255)*0.5870 + (B/255)*0.1140) * 255.5)
// (convert_image_dtype scales by 1/255 in, 255.5 out, and truncates).
uint8_t tf_rgb_to_gray(uint8_t r, uint8_t g, uint8_t b);

}  // namespace cfx::data
