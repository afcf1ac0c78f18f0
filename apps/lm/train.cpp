// conflux-lm train / eval: fairseq's language_modeling recipe (BENCHMARKS 2.3) on the shared
// loop: contiguous blocks of T tokens, max_tokens / T blocks per micro-batch, update_freq
// micro-batches per update, Adam (0.9, 0.98) with decoupled weight decay on every parameter,
// inverse_sqrt warm-up from warmup_init_lr, no clipping; the loss through the fused output
// layer (never [B, T, V] logits); validation on blocks, the final evaluation as eval-lm.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <numbers>

#include "apps/lm/lm.h"
#include "autograd/grad_mode.h"
#include "core/parallel.h"
#include "data/lm/blocks.h"
#include "data/loader.h"
#include "nn/checkpoint.h"
#include "nn/optim.h"
#include "nn/scheduler.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/linear_cross_entropy.h"
#include "ops/reduce.h"

namespace cfx::lm {

namespace fs = std::filesystem;
using data::lm::Dictionary;
using data::lm::LmBlocks;
using data::lm::TokenFile;

namespace {

using BlockLoader = data::Loader<data::TensorDict>;

std::unique_ptr<BlockLoader> block_loader(std::shared_ptr<const LmBlocks> blocks, int64_t batch, bool shuffle,
                                          uint64_t seed) {
  const int64_t n = blocks->size();
  return data::make_sample_loader(n, [blocks](int64_t k) { return blocks->get(k); }, data::lm::kBlockStack,
                                  {.batch_size = batch, .seed = seed}, shuffle);
}

// Sum of the NLL over the batch's scored (non-<pad>) targets, and their number.
std::pair<Tensor, int64_t> batch_nll(const nn::FlowformerLM& model, const data::TensorDict& b,
                                     const std::string& reduction) {
  const Tensor& target = b.at("target");
  const int64_t scored = target.numel() - sum(eq(target, full_like(target, Dictionary::kPad)).to(kInt64)).item<int64_t>();
  const Tensor loss = linear_cross_entropy(model.features(b.at("tokens")), model.output_weight(), Tensor(), target,
                                           {.ignore_index = Dictionary::kPad, .reduction = reduction});
  return {loss, scored};
}

std::shared_ptr<const TokenFile> open_split(const fs::path& dir, const std::string& split, int64_t vocab) {
  const fs::path file = dir / (split + ".tok");
  CFX_CHECK(fs::exists(file), "conflux-lm: the ", split, " split is missing: no ", file.string(),
            "\nHINT: `conflux-lm prepare --out ", dir.string(), " ...` writes dict.txt and {train,valid,test}.tok");
  auto ids = std::make_shared<const TokenFile>(file, vocab);
  CFX_CHECK(ids->size() > 0, "conflux-lm: ", file.string(), " holds no tokens");
  return ids;
}

}  // namespace

LmData load_data(const std::string& data_dir) {
  const fs::path dir(data_dir);
  CFX_CHECK(fs::exists(dir / "dict.txt"), "conflux-lm: no ", (dir / "dict.txt").string(),
            "\nHINT: `conflux-lm prepare --out ", data_dir, " ...` makes it");
  LmData d;
  d.dict = Dictionary::load(dir / "dict.txt");
  d.train = open_split(dir, "train", d.dict.size());
  d.valid = open_split(dir, "valid", d.dict.size());
  d.test = open_split(dir, "test", d.dict.size());
  return d;
}

nn::FlowformerLMConfig model_config(const LmConfig& cfg, int64_t vocab_size) {
  nn::FlowformerLMConfig m;
  m.vocab_size = vocab_size;
  m.d_model = cfg.d_model, m.n_heads = cfg.heads, m.d_ff = cfg.d_ff, m.n_layers = cfg.layers;
  m.max_len = cfg.tokens_per_sample;
  m.dropout = cfg.dropout;
  m.attention = cfg.attention == "softmax" ? nn::AttentionKind::Softmax : nn::AttentionKind::Flow;
  m.padding_idx = Dictionary::kPad;
  return m;
}

app::EvalResult evaluate(nn::FlowformerLM& model, std::shared_ptr<const TokenFile> ids, const std::string& split,
                         int64_t block_size, int64_t context, int64_t batch, Device device) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const auto blocks = std::make_shared<const LmBlocks>(std::move(ids), block_size, context);
  const std::unique_ptr<BlockLoader> loader = block_loader(blocks, batch, false, 0);
  double nll = 0;
  int64_t scored = 0;
  while (auto b = loader->next_batch()) {
    const auto [loss, n] = batch_nll(model, b->to(device), "sum");
    nll += loss.item<double>();
    scored += n;
  }
  model.train(was_training);
  app::EvalResult r{split};
  r.loss = nll / static_cast<double>(scored);
  r.examples = scored;
  r.extra = {{"ppl", std::exp(r.loss)}, {"bits_per_token", r.loss / std::numbers::ln2}};
  return r;
}

app::TrainSummary train(const LmConfig& cfg) {
  if (cfg.threads > 0) set_num_threads(static_cast<int>(cfg.threads));
  const LmData d = load_data(cfg.data_dir);
  const Device device = Device::parse(cfg.device);
  Generator init_gen(static_cast<uint64_t>(cfg.seed));
  nn::FlowformerLM model(model_config(cfg, d.dict.size()), &init_gen);
  model.to(device);  // before the optimizer, whose state is made beside each parameter
  nn::AdamW optimizer(model.parameters(), {.lr = cfg.lr, .beta1 = cfg.beta1, .beta2 = cfg.beta2, .eps = cfg.eps,
                                           .weight_decay = cfg.weight_decay});
  manual_seed(static_cast<uint64_t>(cfg.seed));  // dropout masks (a resumed run restores the position)

  // ---- contiguous blocks of T in a seeded order, max_tokens / T of them per micro-batch
  const auto blocks = std::make_shared<const LmBlocks>(d.train, cfg.tokens_per_sample);
  const std::unique_ptr<BlockLoader> loader =
      block_loader(blocks, cfg.max_tokens / cfg.tokens_per_sample, true, static_cast<uint64_t>(cfg.seed));
  data::BatchStream<data::TensorDict> batches(*loader);
  app::TrainHooks hooks;
  hooks.micro_step = [&](double loss_scale) {
    const data::TensorDict b = batches.next_batch().to(device);
    const auto [loss, scored] = batch_nll(model, b, "mean");  // mean NLL per target token
    (loss_scale == 1.0 ? loss : loss * loss_scale).backward();
    return app::StepStats{loss.item<double>(), 0, scored};
  };
  hooks.position = [&] { return std::pair{batches.epoch(), batches.batch()}; };
  hooks.seek = [&](int64_t epoch, int64_t batch) { batches.seek(epoch, batch); };
  hooks.evaluate = [&](bool final) {
    if (!final)  // fairseq validates on blocks of T, without context
      return std::vector<app::EvalResult>{
          evaluate(model, d.valid, "valid", cfg.tokens_per_sample, 0, cfg.eval_batch, device)};
    return std::vector<app::EvalResult>{
        evaluate(model, d.valid, "valid", cfg.tokens_per_sample, cfg.context_window, cfg.eval_batch, device),
        evaluate(model, d.test, "test", cfg.tokens_per_sample, cfg.context_window, cfg.eval_batch, device)};
  };

  app::TrainerOptions o;
  o.out_dir = cfg.out_dir;
  o.log_file = cfg.log_file;
  o.resume = cfg.resume;
  o.steps = cfg.max_update;
  o.accumulate = cfg.update_freq;
  o.clip_grad_norm = cfg.clip;
  o.schedule = nn::schedule::inverse_sqrt(cfg.warmup_updates, cfg.warmup_init_lr / cfg.lr);
  o.eval_every = cfg.eval_every;
  o.best_metric = "valid loss";
  o.checkpoint_every = cfg.checkpoint_every;
  o.keep_checkpoints = cfg.keep_checkpoints;
  o.log_every = cfg.log_every;
  o.time_limit = cfg.time_limit;
  o.accuracy = false;
  o.unit = "tok";
  o.name = fmt::format("conflux-lm {} ({} words, {} / {} / {} tokens, blocks of {})", cfg.preset, d.dict.size(),
                       d.train->size(), d.valid->size(), d.test->size(), cfg.tokens_per_sample);
  const app::TrainSummary s = app::train(model, optimizer, o, hooks);

  const app::EvalResult& valid = s.final.at(0);
  const app::EvalResult& test = s.final.at(1);
  app::Table table({"preset", "params", "updates", "train loss", "valid ppl", "test ppl", "time", "tokens/s"});
  table.add_row({cfg.preset, std::to_string(s.params), std::to_string(s.steps),
                 s.steps > s.start_step ? fmt::format("{:.4f}", s.train_loss) : "-",
                 fmt::format("{:.2f}", std::exp(valid.loss)), fmt::format("{:.2f}", std::exp(test.loss)),
                 app::format_duration(s.wall_s), fmt::format("{:.0f}", s.examples_per_s)});
  std::cout << "\n" << table.str() << fmt::format("eval-lm windows of {} tokens scoring the last {} (paper, "
                                                  "WikiText-103 test: 30.8)\n",
                                                  cfg.tokens_per_sample, cfg.tokens_per_sample - cfg.context_window)
            << "best model: " << (fs::path(cfg.out_dir) / "best.h5").string()
            << "\nmetrics:    " << s.log_file.string() << "\n";
  return s;
}

app::EvalResult evaluate_checkpoint(const LmConfig& cfg) {
  if (cfg.threads > 0) set_num_threads(static_cast<int>(cfg.threads));
  const fs::path file = cfg.checkpoint.empty() ? fs::path(cfg.out_dir) / "best.h5" : fs::path(cfg.checkpoint);
  CFX_CHECK(fs::exists(file), "conflux-lm eval: no checkpoint ", file.string(),
            "\nHINT: pass --out RUN_DIR of a training run, or --checkpoint FILE");
  const LmData d = load_data(cfg.data_dir);
  nn::FlowformerLM model(model_config(cfg, d.dict.size()));
  nn::load(model, file);
  const Device device = Device::parse(cfg.device);
  model.to(device);
  return evaluate(model, cfg.split == "valid" ? d.valid : d.test, cfg.split, cfg.tokens_per_sample, cfg.context_window,
                  cfg.eval_batch, device);
}

}  // namespace cfx::lm
