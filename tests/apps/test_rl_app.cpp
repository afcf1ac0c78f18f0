// conflux-rl end to end (apps/rl/rl.h), called as its main() calls it: record -> train ->
// rollout on scripted Hopper data beats the random policy; the recorded file replays; the
// Decision Transformer policy's context is the official one; the loss ignores padding;
// resume continues a run exactly; bad flags get clear errors.
#include <doctest/doctest.h>

#if CONFLUX_RL_APP
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "app_testing.h"
#include "apps/common/run_state.h"
#include "apps/rl/agent.h"
#include "apps/rl/env/env_batch.h"
#include "apps/rl/policy.h"
#include "apps/rl/rl.h"
#include "apps/rl/rollout.h"
#include "autograd/grad_mode.h"
#include "core/error.h"
#include "data/d4rl/d4rl_file.h"
#include "ops/creation.h"

namespace fs = std::filesystem;
using namespace cfx;
using namespace cfx::rl;
using cfx::testing::num;
using cfx::testing::read_jsonl;
using cfx::testing::str;
using cfx::testing::TempDir;

namespace {

void record(const fs::path& file, const std::string& policy, double noise, int episodes) {
  REQUIRE(run({"record", "--env", "hopper", "--policy", policy, "--noise", std::to_string(noise), "--episodes",
               std::to_string(episodes), "--file", file.string(), "--log-every", "100000"}) == 0);
}

// A small Decision Transformer on the recorded data: 2 iterations of `steps` steps.
std::vector<std::string> small_train(const fs::path& data, const fs::path& out, int iterations, int steps) {
  return {"train", "--task", "hopper-scripted", "--env", "hopper", "--data-file", data.string(), "--out", out.string(),
          "--hidden", "32", "--layers", "1", "--heads", "2", "--d-ff", "64", "--iterations", std::to_string(iterations),
          "--steps-per-iteration", std::to_string(steps), "--warmup", "20", "--batch-size", "16", "--eval-episodes", "3",
          "--final-episodes", "3", "--targets", "1000", "--checkpoint-every", std::to_string(steps),
          "--log-every", "100000", "--seed", "3"};
}

}  // namespace

TEST_CASE("conflux-rl: record -> train -> rollout on scripted Hopper data beats the random policy") {
  TempDir tmp("rl_e2e");
  const fs::path data = tmp.path / "hopper_scripted-v2.hdf5", out = tmp.path / "run";
  record(data, "scripted", 0.3, 20);  // a noisy stand: episodes from ~50 to 1000 steps
  const data::d4rl::D4rlDataset d = data::d4rl::read_d4rl(data);
  CHECK(d.obs_dim == 11);
  CHECK(d.act_dim == 3);
  CHECK(d.nq == 6);

  REQUIRE(run(small_train(data, out, 2, 100)) == 0);
  for (const char* f : {"config.json", "state.json", "metrics.jsonl", "best.h5", "normalizer.h5", "ckpt_000200.h5"})
    CHECK_MESSAGE(fs::exists(out / f), "missing ", f);
  std::vector<int64_t> eval_steps;
  double final_score = 0;
  for (const auto& r : read_jsonl(out / "metrics.jsonl")) {
    if (str(r.at("split")) != "target_1000") continue;
    CHECK(r.count("loss") == 0);  // rollouts have no loss
    eval_steps.push_back(static_cast<int64_t>(num(r.at("step"))));
    final_score = num(r.at("score"));
  }
  CHECK(eval_steps == std::vector<int64_t>{100, 200});  // after each iteration (the last is the final one)

  // The trained policy against the random one, on the same episodes' resets.
  RlConfig cfg = parse_config("eval", {"--out", out.string()});
  Agent agent = load_agent(cfg);
  EnvBatch envs(Task::Hopper, 5, 100), random_envs(Task::Hopper, 5, 100);
  DtPolicy dt(*agent.model, agent.normalizer, {.target_return = 1000, .return_scale = 1000, .context = 20});
  RandomPolicy random(3, 1);
  const RolloutResult trained = rollout(envs, dt), baseline = rollout(random_envs, random);
  MESSAGE("Hopper: trained DT return ", trained.mean_return, " (score ", trained.mean_score, ", final eval ", final_score,
          "), random ", baseline.mean_return, " (score ", baseline.mean_score, ")");
  CHECK(trained.mean_return > 5 * baseline.mean_return);
  CHECK(trained.mean_length > 100);

  // rollout --policy checkpoint writes the episode and its picture
  REQUIRE(run({"rollout", "--policy", "checkpoint", "--out", out.string(), "--episodes", "1", "--trajectory",
               (tmp.path / "traj.jsonl").string(), "--log-every", "100000"}) == 0);
  const auto steps = read_jsonl(tmp.path / "traj.jsonl");
  REQUIRE(!steps.empty());
  CHECK(num(steps.back().at("step")) == static_cast<double>(steps.size() - 1));
  const std::string svg = app::read_file(tmp.path / "traj.svg");
  CHECK(svg.find("<svg") == 0);
  CHECK(svg.find(">torso x (m)</text>") != std::string::npos);
  CHECK(svg.find(">return so far</text>") != std::string::npos);
  REQUIRE(run({"eval", "--out", out.string(), "--final-episodes", "2"}) == 0);
}

TEST_CASE("conflux-rl: a recorded D4RL file replays: infos/qpos, qvel and the actions give its observations and rewards") {
  TempDir tmp("rl_replay");
  const fs::path file = tmp.path / "walker.hdf5";
  REQUIRE(run({"record", "--env", "walker2d", "--policy", "scripted", "--noise", "0.2", "--episodes", "3", "--file",
               file.string(), "--log-every", "100000"}) == 0);
  const data::d4rl::D4rlDataset d = data::d4rl::read_d4rl(file);
  REQUIRE(d.size() > 0);
  REQUIRE(d.nq == 9);
  REQUIRE(d.nv == 9);
  int64_t ends = 0;
  LocomotionEnv env(Task::Walker2d, 0);
  double worst = 0;
  for (int64_t t = 0; t < d.size(); ++t) {
    ends += d.terminals[static_cast<size_t>(t)] + d.timeouts[static_cast<size_t>(t)];
    env.set_state({d.qpos.data() + t * 9, 9}, {d.qvel.data() + t * 9, 9});
    const std::vector<double> obs = env.observation();
    for (int64_t j = 0; j < 17; ++j)  // the observation recorded before the step is the state's
      worst = std::max(worst, std::abs(obs[static_cast<size_t>(j)] - d.observations[static_cast<size_t>(t * 17 + j)]));
    const std::vector<double> action(d.actions.begin() + t * 6, d.actions.begin() + (t + 1) * 6);
    const StepResult r = env.step(action);
    worst = std::max(worst, std::abs(r.reward - d.rewards[static_cast<size_t>(t)]) / 10.0);
    for (int64_t j = 0; j < 17; ++j)
      worst = std::max(worst, std::abs(r.obs[static_cast<size_t>(j)] - d.next_observations[static_cast<size_t>(t * 17 + j)]));
    CHECK(r.terminated == static_cast<bool>(d.terminals[static_cast<size_t>(t)]));
  }
  CHECK(ends == 3);  // one end per episode, at its last step
  // float32 storage of observations and rewards; the actions were float32-rounded too, and the
  // replayed steps use them: agreement to float precision, not bitwise.
  MESSAGE("replayed ", d.size(), " Walker2d steps, largest difference ", worst);
  CHECK(worst < 1e-3);
}

TEST_CASE("conflux-rl: the DT policy feeds the model the last <= K steps, unpadded, with the current action zero") {
  nn::DecisionTransformerConfig mc;
  mc.state_dim = 11;
  mc.act_dim = 3;
  mc.hidden = 16;
  mc.n_layers = 1;
  mc.n_heads = 2;
  mc.d_ff = 32;
  mc.dropout = 0.0;
  Generator gen(5);
  nn::DecisionTransformer model(mc, &gen);
  model.eval();
  StateNormalizer norm{std::vector<float>(11, 0.5f), std::vector<float>(11, 2.0f)};
  const int64_t K = 3;
  DtPolicy policy(model, norm, {.target_return = 500, .return_scale = 100, .context = K});
  policy.begin(2);
  // The reference: the official get_action on hand-kept histories of episode 1.
  std::vector<float> states, actions, rtg{5.0f};
  std::vector<int64_t> alive{0, 1};
  for (int64_t t = 0; t < 6; ++t) {
    std::vector<std::vector<double>> obs(2, std::vector<double>(11));
    for (int e = 0; e < 2; ++e)
      for (int j = 0; j < 11; ++j) obs[static_cast<size_t>(e)][static_cast<size_t>(j)] = std::sin(0.3 * t + e + 0.1 * j);
    for (int j = 0; j < 11; ++j) states.push_back(static_cast<float>((obs[1][static_cast<size_t>(j)] - 0.5) / 2.0));
    for (int j = 0; j < 3; ++j) actions.push_back(0.0f);
    if (alive.size() == 1) obs.erase(obs.begin());  // observations of the running episodes only
    const std::vector<double> got = policy.act(alive, obs);
    const int64_t k = std::min<int64_t>(t + 1, K), first = t + 1 - k;
    std::vector<float> s(states.begin() + first * 11, states.end()), a(actions.begin() + first * 3, actions.end()),
        r(rtg.begin() + first, rtg.end());
    std::vector<int64_t> ts;
    for (int64_t i = first; i <= t; ++i) ts.push_back(i);
    NoGradGuard no_grad;
    const auto out = model.forward(tensor(s, {1, k, 11}), tensor(a, {1, k, 3}), tensor(r, {1, k, 1}), tensor(ts, {1, k}));
    const std::vector<float> expected = to_vector<float>(out.action_preds.select(1, k - 1).contiguous());
    REQUIRE(got.size() == 3 * alive.size());
    const size_t at = 3 * (alive.size() - 1);  // episode 1 is the last running one
    for (size_t j = 0; j < 3; ++j) CHECK(got[at + j] == doctest::Approx(expected[j]).epsilon(1e-6));
    for (size_t j = 0; j < 3; ++j) actions[actions.size() - 3 + j] = static_cast<float>(got[at + j]);
    const double reward = 10.0 + static_cast<double>(t);
    policy.observe(alive, alive.size() == 2 ? std::vector<double>{1.0, reward} : std::vector<double>{reward});
    rtg.push_back(rtg.back() - static_cast<float>(reward / 100.0));  // RTG drops by r / scale
    if (t == 3) alive = {1};  // episode 0 ends; episode 1 goes on alone
  }
}

TEST_CASE("conflux-rl: the masked action MSE leaves padded steps out") {
  // B = 1, K = 3, act 2; step 2 is padding (mask 0) with a huge error that must not count.
  const Tensor pred = tensor(std::vector<float>{0, 0, 1, 1, 100, 100}, {1, 3, 2});
  const Tensor target = tensor(std::vector<float>{1, 0, 1, 3, -10, -10}, {1, 3, 2});
  const Tensor mask = tensor(std::vector<float>{1, 1, 0}, {1, 3});
  CHECK(masked_action_mse(pred, target, mask, 2).item<double>() == doctest::Approx((1.0 + 0 + 0 + 4.0) / 4.0));
  CHECK_THROWS_WITH_AS(masked_action_mse(pred, target, mask * 0.0, 0), doctest::Contains("no real step"), Error);
}

TEST_CASE("conflux-rl: --resume continues a run exactly where an uninterrupted one goes") {
  TempDir tmp("rl_resume");
  const fs::path data = tmp.path / "hopper.hdf5";
  record(data, "scripted", 0.3, 4);
  REQUIRE(run(small_train(data, tmp.path / "whole", 2, 15)) == 0);
  REQUIRE(run(small_train(data, tmp.path / "cut", 1, 15)) == 0);
  auto args = small_train(data, tmp.path / "cut", 2, 15);
  args.push_back("--resume");
  REQUIRE(run(args) == 0);
  auto train_losses = [](const fs::path& file) {
    std::vector<double> losses;
    for (const auto& r : read_jsonl(file))
      if (str(r.at("split")) == "train") losses.push_back(num(r.at("loss")));
    return losses;
  };
  const auto whole = train_losses(tmp.path / "whole" / "metrics.jsonl");
  const auto cut = train_losses(tmp.path / "cut" / "metrics.jsonl");
  REQUIRE(whole.size() == 30);
  CHECK(cut == whole);  // same batches, same dropout, same updates: the same bits
}

TEST_CASE("conflux-rl --seeds: one run per seed, the final scores' mean and spread in summary.json") {
  TempDir tmp("rl_seeds");
  const fs::path data = tmp.path / "hopper.hdf5", out = tmp.path / "runs";
  record(data, "scripted", 0.3, 4);
  auto args = small_train(data, out, 1, 10);
  args.insert(args.end(), {"--seeds", "2"});
  REQUIRE(run(args) == 0);
  auto final_score = [](const fs::path& run_dir) {
    double score = 0;
    for (const auto& r : read_jsonl(run_dir / "metrics.jsonl"))
      if (str(r.at("split")) == "target_1000") score = num(r.at("score"));
    return score;
  };
  const double s3 = final_score(out / "seed_3"), s4 = final_score(out / "seed_4");
  const auto summary = app::parse_json_object(app::read_file(out / "summary.json"));
  CHECK(str(summary.at("task")) == "hopper-scripted");
  CHECK(num(summary.at("seeds")) == 2);
  CHECK(num(summary.at("target_1000_score_mean")) == doctest::Approx((s3 + s4) / 2));
  CHECK(num(summary.at("target_1000_score_std")) == doctest::Approx(std::abs(s3 - s4) / std::sqrt(2.0)));
  CHECK(num(summary.at("target_1000_score_seed_4")) == doctest::Approx(s4));
}

TEST_CASE("conflux-rl: bad flags and files get clear errors") {
  TempDir tmp("rl_errors");
  CHECK_THROWS_WITH_AS(run({"train", "--env", "ant"}), doctest::Contains("expected hopper, walker2d or halfcheetah"), Error);
  CHECK_THROWS_WITH_AS(run({"train", "--attention", "linear"}), doctest::Contains("--attention takes flow or softmax"), Error);
  CHECK_THROWS_WITH_AS(run({"train", "--targets", "3600,abc"}), doctest::Contains("--targets takes comma-separated"), Error);
  CHECK_THROWS_WITH_AS(run({"train", "--data", tmp.path.string(), "--out", (tmp.path / "r").string()}),
                       doctest::Contains("hopper_medium-v2.hdf5"), Error);
  CHECK_THROWS_WITH_AS(run({"record", "--env", "hopper", "--episodes", "1"}), doctest::Contains("--file is required"), Error);
  CHECK_THROWS_WITH_AS(run({"rollout", "--policy", "checkpoint", "--out", (tmp.path / "none").string()}),
                       doctest::Contains("no checkpoint"), Error);
  CHECK_THROWS_WITH_AS(run({"fly"}), doctest::Contains("unknown command 'fly'"), Error);
  // A Walker2d file given to a Hopper run: the widths disagree.
  const fs::path walker = tmp.path / "walker.hdf5";
  REQUIRE(run({"record", "--env", "walker2d", "--episodes", "1", "--file", walker.string(), "--log-every", "100000"}) == 0);
  CHECK_THROWS_WITH_AS(run({"train", "--env", "hopper", "--data-file", walker.string(), "--out", (tmp.path / "w").string()}),
                       doctest::Contains("17-dim observations"), Error);
}

#else
TEST_CASE("conflux-rl: SKIPPED") { MESSAGE("SKIPPED: libmujoco not found at configure time (Debian: libmujoco-dev)"); }
#endif
