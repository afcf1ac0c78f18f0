// conflux-bench-lm-train: one training step of the paper's language model (BENCHMARKS.md §2:
// fairseq transformer_lm, 6 pre-LN layers x 512, 8 heads, FFN 2048, tied embedding of
// --vocab words, causal Flow-Attention clamp 5, dropout 0.1) on --batch x --tokens random
// tokens: forward, the fused output layer + cross-entropy (ops/linear_cross_entropy.h),
// backward, AdamW. Prints tokens/s (median step), the caching allocator's peak of live tensor
// bytes over a step, and the process's peak RSS. apps/bench/lm_train_torch.py is the PyTorch
// twin (the official NLP Flow-Attention equations), same fields.
//
//   conflux-bench-lm-train [--vocab 267744] [--batch 4] [--tokens 512] [--steps 5] [--threads N]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/bench_machine.h"
#include "core/allocator.h"
#include "core/cpu_capability.h"
#include "core/generator.h"
#include "core/parallel.h"
#include "nn/models.h"
#include "nn/optim.h"
#include "ops/creation.h"
#include "ops/linear_cross_entropy.h"

using namespace cfx;

namespace {

using Clock = std::chrono::steady_clock;

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // kilobytes on Linux
}

}  // namespace

int main(int argc, char** argv) {
  int64_t vocab = 267744, batch = 4, tokens = 512, steps = 5, warmup = 1;
  int threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--vocab") vocab = std::stoll(value);
    else if (flag == "--batch") batch = std::stoll(value);
    else if (flag == "--tokens") tokens = std::stoll(value);
    else if (flag == "--steps") steps = std::stoll(value);
    else if (flag == "--threads") threads = std::stoi(value);
    else {
      std::fprintf(stderr, "usage: conflux-bench-lm-train [--vocab V] [--batch B] [--tokens T] [--steps N] [--threads N]\n");
      return 2;
    }
  }
  try {
    if (threads > 0) set_num_threads(threads);
    std::printf("{\"config\":{\"bench\":\"lm_train\",\"cpu\":\"%s\",\"cpu_capability\":\"%s\",\"threads\":%d,"
                "\"vocab\":%lld,\"batch\":%lld,\"tokens\":%lld,\"steps\":%lld},\"loadavg_1min\":%.2f}\n",
                cpu_model_name().c_str(), cpu_capability_name(cpu_capability()), num_threads(),
                static_cast<long long>(vocab), static_cast<long long>(batch), static_cast<long long>(tokens),
                static_cast<long long>(steps), bench::load_average());
    std::fflush(stdout);
    Generator gen(0);
    nn::FlowformerLMConfig cfg;
    cfg.vocab_size = vocab;
    cfg.max_len = tokens;
    nn::FlowformerLM model(cfg, &gen);
    nn::AdamW opt(model.parameters(), {.lr = 1e-4, .beta1 = 0.9, .beta2 = 0.98, .eps = 1e-8, .weight_decay = 0.01});
    const Tensor input = randint(4, vocab, {batch, tokens}, {kInt64}, &gen);
    const Tensor target = randint(4, vocab, {batch, tokens}, {kInt64}, &gen);
    std::vector<double> ms;
    double loss = 0, peak_live_mb = 0;
    for (int64_t s = 0; s < warmup + steps; ++s) {
      reset_peak_cpu_memory();
      const int64_t before = cpu_memory_stats().allocated;
      const auto t0 = Clock::now();
      opt.zero_grad();
      const Tensor l = linear_cross_entropy(model.features(input), model.output_weight(), Tensor(), target, {.ignore_index = 1});
      l.backward();
      opt.step();
      loss = l.item<double>();
      if (s >= warmup) ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      peak_live_mb = std::max(peak_live_mb, static_cast<double>(cpu_memory_stats().peak_allocated - before) / 1e6);
    }
    std::sort(ms.begin(), ms.end());
    const double med = ms[ms.size() / 2];
    std::printf("{\"bench\":\"lm_train\",\"impl\":\"conflux\",\"params\":%lld,\"ms_per_step\":%.1f,\"tokens_per_s\":%.0f,"
                "\"step_peak_live_mb\":%.1f,\"peak_rss_mb\":%.1f,\"loss\":%.4f}\n",
                static_cast<long long>(model.num_parameters()), med, static_cast<double>(batch * tokens) / (med / 1e3),
                peak_live_mb, peak_rss_mb(), loss);
    std::printf("{\"done\":true,\"loadavg_1min\":%.2f}\n", bench::load_average());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "conflux-bench-lm-train: %s\n", e.what());
    return 1;
  }
  return 0;
}
