// conflux-bench-flow-attention-step: the cost of generating one token against its position,
// with causal Flow-Attention's running state (flow_attention_step, FlowformerLM::decode) next
// to re-running the whole prefix for that token, and the state's size. One JSON line per
// (level, position, impl). A benchmark program, not a test: it asserts nothing, but prints the
// largest difference between the two ways' outputs at each position, so a fast wrong answer
// cannot pass unnoticed.
//
//   level "op":    one attention layer, B 1, H heads of dim d (the paper's LM: 8 x 64);
//                  step = flow_attention_step of the token after `position` tokens,
//                  rerun = flow_attention over all position + 1 tokens (the last row kept).
//   level "model": FlowformerLM with the paper's sizes (6 layers, 512 wide, 8 heads, FFN 2048,
//                  --vocab words, random weights) including the output layer's logits;
//                  step = decode() of one token, rerun = features() of the prefix.
//
//   conflux-bench-flow-attention-step                      # positions 10,100,1000,4000,16000
//   conflux-bench-flow-attention-step --positions 10,16000 --reps 5 --rerun-reps 1 --vocab 33280
// The states are brought to each position by one decode() call over the prefix (whose time is
// printed as prefill_ms), then `reps` single tokens are timed one after another (median).
// Softmax attention would instead keep a KV cache of 2 d numbers per head and token: printed,
// computed from the sizes, as kv_cache_bytes_softmax next to the measured state_bytes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "apps/bench_machine.h"
#include "autograd/grad_mode.h"
#include "core/cpu_capability.h"
#include "core/parallel.h"
#include "nn/models.h"
#include "ops/creation.h"
#include "ops/flow_attention_step.h"
#include "ops/linalg.h"
#include "ops/reduce.h"

using namespace cfx;

namespace {

struct Config {
  std::vector<int64_t> positions{10, 100, 1000, 4000, 16000};
  int64_t heads = 8, head_dim = 64;                       // op level
  int64_t layers = 6, d_model = 512, d_ff = 2048, vocab = 267744;  // model level (WikiText-103's words)
  int reps = 20, rerun_reps = 3, threads = 0;
  std::string levels = "op,model";
};

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <class F>
double median_ms(int reps, F&& f) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto start = Clock::now();
    f();
    t.push_back(ms_since(start));
  }
  return median(t);
}

void line(const char* level, int64_t position, const char* impl, double ms, int64_t state_bytes, double extra_ms,
          const char* extra_name) {
  std::printf("{\"level\":\"%s\",\"position\":%lld,\"impl\":\"%s\",\"ms_per_token\":%.4f,\"state_bytes\":%lld,"
              "\"%s\":%.1f}\n",
              level, static_cast<long long>(position), impl, ms, static_cast<long long>(state_bytes), extra_name,
              extra_ms);
  std::fflush(stdout);
}

double max_diff(const Tensor& a, const Tensor& b) { return max((a - b).abs()).item<double>(); }

void bench_op(const Config& c) {
  const int64_t H = c.heads, d = c.head_dim;
  const FlowAttentionOptions opts = FlowAttentionOptions::nlp();
  const int64_t longest = *std::max_element(c.positions.begin(), c.positions.end()) + c.reps + 1;
  Generator gen(1);
  const Tensor q = randn({1, H, longest, d}, {kFloat32}, &gen), k = randn({1, H, longest, d}, {kFloat32}, &gen);
  const Tensor v = randn({1, H, longest, d}, {kFloat32}, &gen);
  for (const int64_t p : c.positions) {
    auto state = FlowAttentionStepState::zeros(1, H, d, d);
    const auto t0 = Clock::now();
    flow_attention_step(q.narrow(2, 0, p), k.narrow(2, 0, p), v.narrow(2, 0, p), state, opts);
    const double prefill = ms_since(t0);
    Tensor y_step;
    const double step_ms = median_ms(c.reps, [&] {
      const int64_t i = state.position;
      y_step = flow_attention_step(q.narrow(2, i, 1), k.narrow(2, i, 1), v.narrow(2, i, 1), state, opts);
    });
    const int64_t last = state.position - 1;  // the token of the last timed step
    Tensor y_full;
    const double rerun_ms = median_ms(c.rerun_reps, [&] {
      y_full = flow_attention(q.narrow(2, 0, last + 1), k.narrow(2, 0, last + 1), v.narrow(2, 0, last + 1), opts)
                   .narrow(2, last, 1);
    });
    line("op", p, "step", step_ms, state.bytes(), prefill, "prefill_ms");
    line("op", p, "rerun", rerun_ms, 0, static_cast<double>(2 * 2 * d * H * (p + 1) * 4), "kv_cache_bytes_softmax");
    std::printf("{\"level\":\"op\",\"position\":%lld,\"check\":\"step vs rerun\",\"max_abs_diff\":%.3g}\n",
                static_cast<long long>(p), max_diff(y_step, y_full));
  }
}

void bench_model(const Config& c) {
  nn::FlowformerLMConfig mc;
  mc.vocab_size = c.vocab, mc.d_model = c.d_model, mc.n_heads = c.heads, mc.d_ff = c.d_ff, mc.n_layers = c.layers;
  mc.flow = FlowAttentionOptions::nlp();
  const int64_t longest = *std::max_element(c.positions.begin(), c.positions.end()) + c.reps + 1;
  mc.max_len = longest;
  Generator gen(2);
  nn::FlowformerLM model(mc, &gen);
  model.eval();
  const Tensor tokens = randint(4, c.vocab, {1, longest}, {kInt64}, &gen);
  auto logits_of = [&](const Tensor& features) {  // the last row's [V] logits
    return matmul(features.select(1, features.size(1) - 1), model.output_weight().t());
  };
  const int64_t dh = c.d_model / c.heads;
  for (const int64_t p : c.positions) {
    auto state = model.initial_decode_state(1);
    const auto t0 = Clock::now();
    model.decode(tokens.narrow(1, 0, p), state);
    const double prefill = ms_since(t0);
    Tensor step_logits;
    const double step_ms =
        median_ms(c.reps, [&] { step_logits = logits_of(model.decode(tokens.narrow(1, state.position, 1), state)); });
    const int64_t n = state.position;  // prefix of the last timed step
    Tensor rerun_logits;
    const double rerun_ms = median_ms(c.rerun_reps, [&] { rerun_logits = logits_of(model.features(tokens.narrow(1, 0, n))); });
    line("model", p, "step", step_ms, state.bytes(), prefill, "prefill_ms");
    line("model", p, "rerun", rerun_ms, 0, static_cast<double>(2 * 2 * dh * c.heads * (p + 1) * 4 * c.layers),
         "kv_cache_bytes_softmax");
    std::printf("{\"level\":\"model\",\"position\":%lld,\"check\":\"step vs rerun logits\",\"max_abs_diff\":%.3g}\n",
                static_cast<long long>(p), max_diff(step_logits, rerun_logits));
  }
}

std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::atoll(item.c_str()));
  return out;
}

}  // namespace

int main(int argc, char** argv) try {
  Config c;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      CFX_CHECK(i + 1 < argc, "conflux-bench-flow-attention-step: ", a, " needs a value");
      return argv[++i];
    };
    if (a == "--positions") c.positions = parse_list(value());
    else if (a == "--heads") c.heads = std::atoll(value().c_str());
    else if (a == "--head-dim") c.head_dim = std::atoll(value().c_str());
    else if (a == "--layers") c.layers = std::atoll(value().c_str());
    else if (a == "--d-model") c.d_model = std::atoll(value().c_str());
    else if (a == "--d-ff") c.d_ff = std::atoll(value().c_str());
    else if (a == "--vocab") c.vocab = std::atoll(value().c_str());
    else if (a == "--reps") c.reps = std::atoi(value().c_str());
    else if (a == "--rerun-reps") c.rerun_reps = std::atoi(value().c_str());
    else if (a == "--threads") c.threads = std::atoi(value().c_str());
    else if (a == "--levels") c.levels = value();
    else {
      std::fprintf(stderr,
                   "usage: %s [--positions 10,100,...] [--levels op,model] [--heads H] [--head-dim d] [--layers N]\n"
                   "          [--d-model D] [--d-ff F] [--vocab V] [--reps R] [--rerun-reps R] [--threads T]\n",
                   argv[0]);
      return a == "-h" || a == "--help" ? 0 : 2;
    }
  }
  CFX_CHECK(!c.positions.empty() && c.reps > 0 && c.rerun_reps > 0, "conflux-bench-flow-attention-step: empty run");
  for (const int64_t p : c.positions) CFX_CHECK(p >= 1, "conflux-bench-flow-attention-step: positions must be >= 1");
  if (c.threads > 0) set_num_threads(c.threads);
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::printf("{\"config\":{\"bench\":\"flow_attention_step\",\"cpu\":\"%s\",\"cpu_capability\":\"%s\",\"threads\":%d,"
              "\"OPENBLAS_CORETYPE\":\"%s\",\"heads\":%lld,\"head_dim\":%lld,\"layers\":%lld,\"d_model\":%lld,"
              "\"d_ff\":%lld,\"vocab\":%lld,\"reps\":%d,\"rerun_reps\":%d,\"dtype\":\"float32\",\"clamp\":5,"
              "\"loadavg_1min\":%.2f}}\n",
              cpu_model_name().c_str(), cpu_capability_name(cpu_capability()), num_threads(),
              coretype ? coretype : "(unset)", static_cast<long long>(c.heads), static_cast<long long>(c.head_dim),
              static_cast<long long>(c.layers), static_cast<long long>(c.d_model), static_cast<long long>(c.d_ff),
              static_cast<long long>(c.vocab), c.reps, c.rerun_reps, bench::load_average());
  std::fflush(stdout);
  NoGradGuard no_grad;
  if (c.levels.find("op") != std::string::npos) bench_op(c);
  if (c.levels.find("model") != std::string::npos) bench_model(c);
  std::printf("{\"done\":true,\"loadavg_1min\":%.2f}\n", bench::load_average());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "conflux-bench-flow-attention-step: %s\n", e.what());
  return 1;
}
