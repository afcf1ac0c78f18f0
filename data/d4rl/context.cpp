// Flowformer RL training windows (data/d4rl/context.h). Each value below follows
// Flowformer_RL/data/context_dataset.py (itself kzl/decision-transformer gym/experiment.py
// get_batch with right instead of left padding); where our arithmetic differs it says so.
#include "data/d4rl/context.h"

#include <algorithm>

#include "core/error.h"
#include "ops/creation.h"

namespace cfx::data::d4rl {

ContextSamples::ContextSamples(const D4rlDataset& d, std::vector<Trajectory> trajs, StateStats stats, ContextOptions o)
    : d_(d), trajs_(std::move(trajs)), stats_(std::move(stats)), o_(o) {
  const int64_t n = d.size(), C = d.obs_dim, A = d.act_dim;
  CFX_CHECK(o_.context > 0, "ContextSamples: context must be positive, got ", o_.context);
  CFX_CHECK(o_.max_ep_len > 0, "ContextSamples: max_ep_len must be positive, got ", o_.max_ep_len);
  CFX_CHECK(o_.return_scale != 0.0, "ContextSamples: return_scale must be nonzero");
  CFX_CHECK(static_cast<int64_t>(d.observations.size()) == n * C && static_cast<int64_t>(d.actions.size()) == n * A &&
                static_cast<int64_t>(d.terminals.size()) == n,
            "ContextSamples: inconsistent dataset: ", d.observations.size(), " observation values, ", d.actions.size(),
            " action values, ", d.terminals.size(), " terminals for ", n, " rows of width ", C, " / ", A);
  CFX_CHECK(static_cast<int64_t>(stats_.mean.size()) == C && static_cast<int64_t>(stats_.std.size()) == C,
            "ContextSamples: state statistics have ", stats_.mean.size(), " means and ", stats_.std.size(),
            " stds, the observations have width ", C);

  // Suffix sums in double, once per trajectory. The official discount_cumsum keeps them in a
  // float32 array (one rounding per step); double differs from it by float32 rounding only.
  offsets_.assign(1, 0);
  for (size_t j = 0; j < trajs_.size(); ++j) {
    const Trajectory& t = trajs_[j];
    CFX_CHECK(t.begin >= 0 && t.length > 0 && t.begin + t.length <= n, "ContextSamples: trajectory ", j,
              " covers rows [", t.begin, ", ", t.begin + t.length, "), the dataset has ", n, " rows");
    offsets_.push_back(offsets_.back() + t.length);
  }
  suffix_.resize(static_cast<size_t>(offsets_.back()));
  for (size_t j = 0; j < trajs_.size(); ++j) {
    double sum = 0.0;
    for (int64_t t = trajs_[j].length - 1; t >= 0; --t) {
      sum += d.rewards[trajs_[j].begin + t];  // gamma = 1
      suffix_[offsets_[j] + t] = sum;
    }
  }
}

TensorDict ContextSamples::batch(std::span<const int64_t> rows) const {
  const int64_t B = static_cast<int64_t>(rows.size()), K = o_.context, C = d_.obs_dim, A = d_.act_dim;
  Tensor states = empty({B, K, C}, {kFloat32}), actions = empty({B, K, A}, {kFloat32});
  Tensor rewards = empty({B, K, 1}, {kFloat32}), rtg = empty({B, K + 1, 1}, {kFloat32});
  Tensor dones = empty({B, K}, {kInt64}), timesteps = empty({B, K}, {kInt64}), mask = empty({B, K}, {kFloat32});
  float *sp = states.data_ptr<float>(), *ap = actions.data_ptr<float>(), *rp = rewards.data_ptr<float>();
  float *gp = rtg.data_ptr<float>(), *mp = mask.data_ptr<float>();
  int64_t *dp = dones.data_ptr<int64_t>(), *tp = timesteps.data_ptr<int64_t>();

  for (int64_t b = 0; b < B; ++b) {
    const int64_t row = rows[b];
    CFX_CHECK(row >= 0 && row < size(), "ContextSamples::batch: row ", row, " (batch position ", b,
              ") out of range [0, ", size(), ")");
    const size_t j = static_cast<size_t>(std::upper_bound(offsets_.begin(), offsets_.end(), row) - offsets_.begin() - 1);
    const Trajectory& traj = trajs_[j];
    const int64_t si = row - offsets_[j];                  // start step inside the trajectory
    const int64_t tlen = std::min(K, traj.length - si);    // real steps; the rest is padding
    for (int64_t k = 0; k < K; ++k) {
      const bool real = k < tlen;
      const int64_t i = traj.begin + si + k;  // dataset row (meaningful when real)
      // The official code pads s with float64 zeros and then computes (s - mean) / std in
      // float64 with the float32 statistics; the same here, rounded to float32 at the end.
      for (int64_t c = 0; c < C; ++c) {
        const double s = real ? static_cast<double>(d_.observations[i * C + c]) : 0.0;
        sp[(b * K + k) * C + c] = static_cast<float>((s - stats_.mean[c]) / static_cast<double>(stats_.std[c]));
      }
      for (int64_t a = 0; a < A; ++a) ap[(b * K + k) * A + a] = real ? d_.actions[i * A + a] : -10.0f;
      rp[b * K + k] = real ? d_.rewards[i] : 0.0f;
      dp[b * K + k] = real ? (d_.terminals[i] != 0 ? 1 : 0) : 2;
      tp[b * K + k] = real ? std::min(si + k, o_.max_ep_len - 1) : 0;
      mp[b * K + k] = real ? 1.0f : 0.0f;
    }
    // rtg[k] = suffix sum at step si + k for k = 0..K: the official code takes
    // discount_cumsum(r[si:])[:tlen + 1], appends a 0 when the trajectory ends inside the
    // window (no value at si + tlen), then pads with zeros to K + 1; i.e. 0 from the end on.
    for (int64_t k = 0; k <= K; ++k) {
      const int64_t t = si + k;
      gp[b * (K + 1) + k] = t < traj.length ? static_cast<float>(suffix_[offsets_[j] + t] / o_.return_scale) : 0.0f;
    }
  }
  return TensorDict{{"states", states}, {"actions", actions},     {"rewards", rewards}, {"dones", dones},
                    {"rtg", rtg},       {"timesteps", timesteps}, {"mask", mask}};
}

}  // namespace cfx::data::d4rl
