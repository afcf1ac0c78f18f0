// Language-model samples from a token stream (data/lm/token_file.h), as fairseq cuts them.
//
// Training (fairseq TokenBlockDataset, --sample-break-mode none, with targets): the stream
// ids[0, N) is cut into contiguous blocks of T; block k predicts
//   target = ids[kT, e)   from   tokens = ids[kT - 1, e - 1)   (</s> in front at k = 0),
// e = min((k + 1)T, N), so the last block may be shorter.
//
// Evaluation (fairseq eval-lm --context-window C, LMContextWindowDataset): blocks of
// S = T - C scored targets, each window led by up to C tokens of the stream before it, which
// the model sees but which are not scored (their target is <pad>). Window j scores
// ids[jS, e) with context c = min(C, jS):
//   tokens = source[jS - c, e),  target = <pad> x c ++ ids[jS, e)    (source[i] = ids[i - 1])
// so every scored token is predicted from up to T - 1 tokens of history, and the causal
// attention's position counter restarts at each window (the official normaliser's n_i).
//
// Samples are TensorDicts {"tokens": [n] int64, "target": [n] int64}; stack_samples with
// pad = {"tokens", "target"} and pad_value = <pad> batches them (<pad> targets are ignored).
#pragma once

#include <cstdint>
#include <memory>

#include "data/lm/token_file.h"
#include "data/tensor_dict.h"

namespace cfx::data::lm {

class LmBlocks {
 public:
  // block_size T; context C (0 = training blocks of T, > 0 = evaluation windows scoring T - C).
  LmBlocks(std::shared_ptr<const TokenFile> ids, int64_t block_size, int64_t context = 0);
  int64_t size() const { return blocks_; }  // blocks (or windows)
  int64_t scored() const { return ids_->size(); }  // targets scored over all blocks: every id once
  TensorDict get(int64_t k) const;

 private:
  std::shared_ptr<const TokenFile> ids_;
  int64_t block_size_, context_, stride_, blocks_;
};

// How samples (LmBlocks::get) are batched: tokens/target [B, n_max], padded with <pad>.
inline const StackOptions kBlockStack{.pad = {"tokens", "target"}, .pad_value = Dictionary::kPad};
inline TensorDict stack_blocks(std::span<const TensorDict> samples) { return stack_samples(samples, kBlockStack); }

}  // namespace cfx::data::lm
