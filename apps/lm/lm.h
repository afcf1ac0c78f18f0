// conflux-lm: the paper's language-modelling benchmark (../shared/BENCHMARKS.md section 2,
// WikiText-103 with fairseq's transformer_lm and causal Flow-Attention) as one program, on the
// shared app layer (apps/common/):
//
//   conflux-lm prepare  --text DIR | --train F --valid F --test F  --out DATA [--dict dict.txt]
//   conflux-lm train    --data DATA [--preset wikitext103|small] [--out RUN] [--resume] [flags]
//   conflux-lm eval     --data DATA --out RUN [--split test] [--context-window 400]
//   conflux-lm generate --data DATA --out RUN --prompt "..." [--temperature T --top-k K --top-p P]
//                       [--decode state|rerun]
//
// prepare builds fairseq's dictionary from the training text (dict.txt) and binarises every
// split into a token file (data/lm/); train cuts the training stream into contiguous blocks and
// trains with the fused output-layer loss (ops/linear_cross_entropy.h), validating on blocks
// as fairseq does; the final evaluation and `eval` follow fairseq eval-lm (windows of T tokens
// scoring T - context_window); perplexity = exp(mean NLL per scored token).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "apps/common/trainer.h"
#include "apps/lm/config.h"
#include "data/lm/dictionary.h"
#include "data/lm/token_file.h"
#include "nn/models.h"

namespace cfx::lm {

// The whole program: args without argv[0]. Returns the exit code; errors propagate as cfx::Error.
int run(const std::vector<std::string>& args);

// `prepare` (apps/lm/prepare.cpp).
int run_prepare(const std::vector<std::string>& args);

// What prepare wrote: the dictionary and the three splits, each checked against it.
struct LmData {
  data::lm::Dictionary dict;
  std::shared_ptr<const data::lm::TokenFile> train, valid, test;
};
LmData load_data(const std::string& data_dir);

nn::FlowformerLMConfig model_config(const LmConfig& cfg, int64_t vocab_size);

// Mean NLL per scored token of `ids` cut as data/lm/blocks.h says (context 0: training
// blocks; > 0: eval-lm windows), with "ppl" and "bits_per_token" in extra.
app::EvalResult evaluate(nn::FlowformerLM& model, std::shared_ptr<const data::lm::TokenFile> ids,
                         const std::string& split, int64_t block_size, int64_t context, int64_t batch, Device device);

app::TrainSummary train(const LmConfig& cfg);
app::EvalResult evaluate_checkpoint(const LmConfig& cfg);
// Continues cfg.prompt by cfg.gen_tokens sampled tokens; returns the whole text.
std::string generate(const LmConfig& cfg);

}  // namespace cfx::lm
