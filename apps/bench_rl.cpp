// conflux-bench-rl: the two costs of the offline-RL app. One JSON line per figure.
//
//   env:    MuJoCo environment steps per second for each task, one environment alone and a
//           batch of --batch-envs stepped on the thread pool (random actions, episodes reset
//           when they end: the rollout workload).
//   train:  Decision Transformer training steps per second at the paper's config (5.3-5.4:
//           hidden 256, 3 layers, 4 heads, FFN 1024, K 20 -> 60 tokens, batch 64; AdamW,
//           clip 0.25, masked action MSE) on random windows with right padding, flow
//           (causal, clamp 10) or softmax attention. apps/bench/dt_torch.py is the PyTorch
//           twin (the official Flowformer_RL attention equations), same shapes and fields.
//   act:    one rollout step of the DT policy (forward over the last 20 steps) for a batch
//           of episodes, the cost that evaluation pays 1000 times per episode.
//
//   conflux-bench-rl [--what env,train,act] [--steps 30] [--batch 64] [--threads N] [--attention flow,softmax]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "apps/bench_machine.h"
#include "apps/rl/agent.h"
#include "apps/rl/env/env_batch.h"
#include "autograd/grad_mode.h"
#include "core/cpu_capability.h"
#include "core/generator.h"
#include "core/parallel.h"
#include "data/detail/rng.h"
#include "nn/optim.h"
#include "ops/creation.h"

using namespace cfx;
using namespace cfx::rl;

namespace {

struct Config {
  std::string what = "env,train,act";
  std::string attention = "flow,softmax";
  int64_t steps = 30, warmup = 3, batch = 64, context = 20, batch_envs = 16, env_steps = 20000, act_episodes = 10;
  int threads = 0;
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

bool has(const std::string& list, const std::string& item) {
  std::stringstream in(list);
  std::string x;
  while (std::getline(in, x, ','))
    if (x == item) return true;
  return false;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void bench_env(const Config& c) {
  for (Task task : {Task::Hopper, Task::Walker2d, Task::HalfCheetah}) {
    const TaskRules& rules = task_rules(task);
    Generator gen(1);
    data::detail::Rng rng(gen);
    std::vector<double> action(static_cast<size_t>(rules.act_dim));
    {
      LocomotionEnv env(task, 0);
      env.reset();
      const auto t0 = Clock::now();
      for (int64_t s = 0; s < c.env_steps; ++s) {
        for (double& a : action) a = rng.uniform(-1, 1);
        if (env.step(action).obs.empty() || env.done()) env.reset();
      }
      const double sec = seconds_since(t0);
      std::printf("{\"bench\":\"env\",\"env\":\"%s\",\"envs\":1,\"steps\":%lld,\"steps_per_s\":%.0f}\n", rules.gym_id,
                  static_cast<long long>(c.env_steps), static_cast<double>(c.env_steps) / sec);
    }
    EnvBatch envs(task, c.batch_envs, 0);
    envs.reset();
    std::vector<double> actions(static_cast<size_t>(c.batch_envs * rules.act_dim));
    int64_t stepped = 0;
    const auto t0 = Clock::now();
    while (stepped < c.env_steps) {
      for (double& a : actions) a = rng.uniform(-1, 1);
      stepped += envs.running();
      envs.step(actions);
      for (int64_t i = 0; i < envs.size(); ++i)
        if (envs.env(i).done()) envs.env(i).reset();
    }
    const double sec = seconds_since(t0);
    std::printf("{\"bench\":\"env\",\"env\":\"%s\",\"envs\":%lld,\"steps\":%lld,\"steps_per_s\":%.0f}\n", rules.gym_id,
                static_cast<long long>(c.batch_envs), static_cast<long long>(stepped), static_cast<double>(stepped) / sec);
    std::fflush(stdout);
  }
}

// A batch of the training windows' shapes: 17-dim states (HalfCheetah/Walker2d), 6-dim actions,
// the last quarter of every 4th row padded as the dataset pads episode ends.
struct Batch {
  Tensor states, actions, rtg, timesteps, mask;
  int64_t real = 0;
};
Batch random_batch(int64_t B, int64_t K, Generator& gen) {
  Batch b;
  b.states = randn({B, K, 17}, {}, &gen);
  b.actions = rand({B, K, 6}, {}, &gen) * 2.0 - 1.0;
  b.rtg = rand({B, K, 1}, {}, &gen);
  std::vector<int64_t> ts(static_cast<size_t>(B * K));
  std::vector<float> mask(static_cast<size_t>(B * K), 1.0f);
  for (int64_t i = 0; i < B; ++i)
    for (int64_t k = 0; k < K; ++k) {
      ts[static_cast<size_t>(i * K + k)] = (37 * i + k) % 1000;
      if (i % 4 == 0 && k >= 3 * K / 4) mask[static_cast<size_t>(i * K + k)] = 0.0f;
    }
  for (float m : mask) b.real += m > 0 ? 1 : 0;
  b.timesteps = tensor(ts, {B, K});
  b.mask = tensor(mask, {B, K});
  return b;
}

nn::DecisionTransformerConfig paper_model(const std::string& attention) {
  RlConfig cfg = preset("halfcheetah-medium");  // 5.3's sizes
  cfg.attention = attention;
  return model_config(cfg);
}

void bench_train(const Config& c) {
  for (const char* attention : {"flow", "softmax"}) {
    if (!has(c.attention, attention)) continue;
    Generator gen(0);
    nn::DecisionTransformer model(paper_model(attention), &gen);
    nn::AdamW opt(model.parameters(), {.lr = 1e-4, .weight_decay = 1e-4});
    const Batch b = random_batch(c.batch, c.context, gen);
    std::vector<double> ms;
    for (int64_t s = 0; s < c.warmup + c.steps; ++s) {
      const auto t0 = Clock::now();
      opt.zero_grad();
      const auto out = model.forward(b.states, b.actions, b.rtg, b.timesteps);
      const Tensor loss = masked_action_mse(out.action_preds, b.actions, b.mask, b.real);
      loss.backward();
      nn::clip_grad_norm_(model.parameters(), 0.25);
      opt.step();
      if (s >= c.warmup) ms.push_back(1e3 * seconds_since(t0));
    }
    const double med = median(ms);
    std::printf("{\"bench\":\"train\",\"impl\":\"conflux\",\"attention\":\"%s\",\"batch\":%lld,\"context\":%lld,"
                "\"params\":%lld,\"ms_per_step\":%.2f,\"steps_per_s\":%.2f,\"min_ms\":%.2f}\n",
                attention, static_cast<long long>(c.batch), static_cast<long long>(c.context),
                static_cast<long long>(model.num_parameters()), med, 1e3 / med, *std::min_element(ms.begin(), ms.end()));
    std::fflush(stdout);
  }
}

void bench_act(const Config& c) {
  Generator gen(0);
  nn::DecisionTransformer model(paper_model("flow"), &gen);
  model.eval();
  NoGradGuard no_grad;
  const Batch b = random_batch(c.act_episodes, c.context, gen);
  std::vector<double> ms;
  for (int64_t s = 0; s < c.warmup + c.steps; ++s) {
    const auto t0 = Clock::now();
    const auto out = model.forward(b.states, b.actions, b.rtg, b.timesteps);
    (void)to_vector<float>(out.action_preds.select(1, c.context - 1).contiguous());
    if (s >= c.warmup) ms.push_back(1e3 * seconds_since(t0));
  }
  std::printf("{\"bench\":\"act\",\"impl\":\"conflux\",\"attention\":\"flow\",\"episodes\":%lld,\"context\":%lld,"
              "\"ms_per_step\":%.3f}\n",
              static_cast<long long>(c.act_episodes), static_cast<long long>(c.context), median(ms));
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "conflux-bench-rl: %s needs a value\n", flag.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (flag == "--what") c.what = value();
    else if (flag == "--attention") c.attention = value();
    else if (flag == "--steps") c.steps = std::stoll(value());
    else if (flag == "--batch") c.batch = std::stoll(value());
    else if (flag == "--batch-envs") c.batch_envs = std::stoll(value());
    else if (flag == "--env-steps") c.env_steps = std::stoll(value());
    else if (flag == "--threads") c.threads = std::stoi(value());
    else {
      std::fprintf(stderr, "usage: conflux-bench-rl [--what env,train,act] [--attention flow,softmax] [--steps N] "
                           "[--batch B] [--batch-envs N] [--env-steps N] [--threads N]\n");
      return flag == "--help" || flag == "-h" ? 0 : 2;
    }
  }
  try {
    if (c.threads > 0) set_num_threads(c.threads);
    std::printf("{\"config\":{\"bench\":\"rl\",\"cpu\":\"%s\",\"cpu_capability\":\"%s\",\"threads\":%d,\"what\":\"%s\","
                "\"steps\":%lld,\"batch\":%lld,\"context\":%lld,\"batch_envs\":%lld},\"loadavg_1min\":%.2f}\n",
                cpu_model_name().c_str(), cpu_capability_name(cpu_capability()), num_threads(), c.what.c_str(),
                static_cast<long long>(c.steps), static_cast<long long>(c.batch), static_cast<long long>(c.context),
                static_cast<long long>(c.batch_envs), bench::load_average());
    if (has(c.what, "env")) bench_env(c);
    if (has(c.what, "train")) bench_train(c);
    if (has(c.what, "act")) bench_act(c);
    std::printf("{\"done\":true,\"loadavg_1min\":%.2f}\n", bench::load_average());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "conflux-bench-rl: %s\n", e.what());
    return 1;
  }
  return 0;
}
