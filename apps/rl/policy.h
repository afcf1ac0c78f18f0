// What acts in the environments: a Policy picks the actions of a batch of episodes run in
// lockstep (all at the same step t; finished ones drop out). Three kinds:
//   RandomPolicy      uniform actions in [-1, 1] (D4RL's "random" reference)
//   ScriptedPolicy    a hand-written controller per task with optional Gaussian action noise:
//                     the data source of the offline end-to-end test (no D4RL files here)
//   DtPolicy          a trained Decision Transformer conditioned on a target return, as the
//                     official evaluate_episode_rtg runs it (Flowformer_RL): states normalised
//                     with the dataset's mean/std, returns-to-go start at target / scale and
//                     drop by r / scale, the model sees the last <= K steps unpadded (the
//                     current action slot zero) and its last action prediction is taken.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "apps/rl/env/tasks.h"
#include "core/device.h"
#include "core/generator.h"
#include "nn/models.h"

namespace cfx::rl {

class Policy {
 public:
  virtual ~Policy() = default;
  // A new batch of `episodes` episodes starts (step 0).
  virtual void begin(int64_t episodes) = 0;
  // Actions of the running episodes `alive` (ascending episode indices) from their current
  // observations (one per alive episode): alive.size() * act_dim values, row-major.
  virtual std::vector<double> act(std::span<const int64_t> alive, const std::vector<std::vector<double>>& obs) = 0;
  // The rewards the actions just earned, in the same order.
  virtual void observe(std::span<const int64_t> alive, std::span<const double> rewards) {}
};

class RandomPolicy : public Policy {
 public:
  RandomPolicy(int act_dim, uint64_t seed) : act_dim_(act_dim), gen_(seed) {}
  void begin(int64_t) override {}
  std::vector<double> act(std::span<const int64_t> alive, const std::vector<std::vector<double>>& obs) override;

 private:
  int act_dim_;
  Generator gen_;
};

// Hopper and Walker2d: a PD controller that holds the legs straight and the torso upright (it
// stands: return ~1000 of healthy reward, where random falls within ~20 steps); HalfCheetah:
// an open-loop gallop (sinusoids per joint; return ~ +370 where random gets ~ -330). Not good,
// but far better than random, which is what an offline learner must be able to tell apart.
class ScriptedPolicy : public Policy {
 public:
  ScriptedPolicy(Task task, double noise, uint64_t seed) : task_(task), noise_(noise), gen_(seed) {}
  void begin(int64_t episodes) override { t_ = 0; }
  std::vector<double> act(std::span<const int64_t> alive, const std::vector<std::vector<double>>& obs) override;

 private:
  Task task_;
  double noise_;
  Generator gen_;
  int64_t t_ = 0;
};

// The dataset statistics a Decision Transformer was trained with.
struct StateNormalizer {
  std::vector<float> mean, std;
};

struct DtPolicyOptions {
  double target_return = 3600;
  double return_scale = 1000;
  int64_t context = 20;  // K
  Device device = Device::cpu();
};

class DtPolicy : public Policy {
 public:
  DtPolicy(const nn::DecisionTransformer& model, StateNormalizer norm, DtPolicyOptions options);
  void begin(int64_t episodes) override;
  std::vector<double> act(std::span<const int64_t> alive, const std::vector<std::vector<double>>& obs) override;
  void observe(std::span<const int64_t> alive, std::span<const double> rewards) override;

 private:
  struct History {  // one episode so far; states normalised, one action slot per state
    std::vector<float> states, actions, rtg;
  };
  const nn::DecisionTransformer& model_;
  StateNormalizer norm_;
  DtPolicyOptions options_;
  std::vector<History> episodes_;
  int64_t t_ = 0;  // step of the batch (every running episode is at it)
};

}  // namespace cfx::rl
