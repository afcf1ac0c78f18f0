// Language-model blocks and evaluation windows (see blocks.h).
#include "data/lm/blocks.h"

#include <algorithm>

#include "core/error.h"
#include "ops/creation.h"

namespace cfx::data::lm {

LmBlocks::LmBlocks(std::shared_ptr<const TokenFile> ids, int64_t block_size, int64_t context)
    : ids_(std::move(ids)), block_size_(block_size), context_(context) {
  CFX_CHECK(ids_, "LmBlocks: no token file");
  CFX_CHECK(block_size >= 1 && context >= 0 && context < block_size, "LmBlocks: need block_size >= 1 and 0 <= context < "
            "block_size, got block_size ", block_size, ", context ", context);
  stride_ = block_size - context;
  blocks_ = (ids_->size() + stride_ - 1) / stride_;
}

TensorDict LmBlocks::get(int64_t k) const {
  CFX_CHECK(k >= 0 && k < blocks_, "LmBlocks: block ", k, " out of range [0, ", blocks_, ")");
  const int64_t begin = k * stride_, end = std::min(begin + stride_, ids_->size());
  const int64_t c = std::min(context_, begin);  // unscored tokens before the block
  const int64_t n = c + (end - begin);
  Tensor tokens = empty({n}, {kInt64}), target = full({n}, Dictionary::kPad, {kInt64});
  int64_t* tok = tokens.data_ptr<int64_t>();
  // tokens = source[begin - c, end) with source[i] = ids[i - 1] and source[0] = </s>.
  const int64_t first = begin - c;
  if (first == 0) tok[0] = Dictionary::kEos;
  ids_->copy(std::max<int64_t>(first - 1, 0), end - 1 - std::max<int64_t>(first - 1, 0), tok + (first == 0 ? 1 : 0));
  ids_->copy(begin, end - begin, target.data_ptr<int64_t>() + c);
  return {{"tokens", tokens}, {"target", target}};
}

}  // namespace cfx::data::lm
