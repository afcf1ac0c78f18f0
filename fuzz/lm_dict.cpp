// Dictionary::load (data/lm/dictionary.cpp): fairseq's dict.txt; then the input's lines as text
// through the tokenizer (for_each_line, split_words, encode_line, decode) and finalize.
#include "data/lm/dictionary.h"
#include "fuzz_input.h"

CFX_FUZZ_TARGET(data, size) {
  const std::string_view text = cfx::fuzz::as_chars(data, size);
  cfx::data::lm::Dictionary dict = cfx::data::lm::Dictionary::load(cfx::fuzz::as_file(data, size));
  cfx::data::lm::for_each_line(text, [&](std::string_view line) {
    const std::vector<int32_t> ids = dict.encode_line(line);
    dict.decode(ids);
  });
  dict.finalize();
}
