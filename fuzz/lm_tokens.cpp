// TokenFile (data/lm/token_file.cpp): the binarised token stream, a 32-byte header then ids,
// mapped into memory. Opened twice: without a dictionary, then checked against the size its
// header declares (clamped so the id check runs), and every id read.
#include <algorithm>

#include "data/lm/token_file.h"
#include "fuzz_input.h"

CFX_FUZZ_TARGET(data, size) {
  const std::filesystem::path& path = cfx::fuzz::as_file(data, size);
  int64_t dictionary_size = 0;
  {
    const cfx::data::lm::TokenFile tokens(path);
    dictionary_size = tokens.dictionary_size();
    const std::vector<int32_t> ids = tokens.slice(0, tokens.size());
    std::vector<int64_t> out(ids.size());
    tokens.copy(0, tokens.size(), out.data());
  }
  if (dictionary_size > 0) cfx::data::lm::TokenFile checked(path, dictionary_size);
}
