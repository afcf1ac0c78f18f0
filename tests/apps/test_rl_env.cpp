// The MuJoCo locomotion environments (apps/rl/env/): our MJCF models against gym's, gym v3's
// reward and termination rules by hand, determinism, replay from recorded states, batching.
#include <doctest/doctest.h>

#if CONFLUX_RL_APP
#include <mujoco/mujoco.h>

#include <cmath>
#include <string>
#include <vector>

#include "apps/rl/env/env_batch.h"
#include "apps/rl/env/locomotion_env.h"
#include "core/generator.h"
#include "data/detail/rng.h"
#include "testing.h"

using namespace cfx;
using namespace cfx::rl;

namespace {

const Task kAllTasks[] = {Task::Hopper, Task::Walker2d, Task::HalfCheetah};

// Seeded actions in [-1, 1] (what a random policy does).
std::vector<std::vector<double>> random_actions(int act_dim, int64_t steps, uint64_t seed) {
  Generator gen(seed);
  data::detail::Rng rng(gen);
  std::vector<std::vector<double>> actions(static_cast<size_t>(steps), std::vector<double>(static_cast<size_t>(act_dim)));
  for (auto& a : actions)
    for (double& x : a) x = rng.uniform(-1.0, 1.0);
  return actions;
}

double max_abs_diff(std::span<const double> a, std::span<const double> b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

}  // namespace

TEST_CASE("rl env: our MJCF models compile to gym's bodies, joints and actuators") {
  if (!testing::have_shared_data("d4rl/gym_mujoco_assets")) return;
  for (Task task : kAllTasks) {
    const TaskRules& rules = task_rules(task);
    const std::string gym_id = rules.gym_id;
    CAPTURE(gym_id);
    const auto ours = MujocoModel::builtin(task);
    const auto gyms = MujocoModel::from_file(testing::shared_data_dir() / "d4rl/gym_mujoco_assets" / rules.mjcf);
    const mjModel* a = ours->get();
    const mjModel* b = gyms->get();
    REQUIRE(a->nq == b->nq);
    REQUIRE(a->nv == b->nv);
    REQUIRE(a->nu == b->nu);
    REQUIRE(a->nbody == b->nbody);
    CHECK(a->opt.timestep == b->opt.timestep);
    CHECK(a->opt.integrator == b->opt.integrator);
    for (int i = 0; i < a->nq; ++i) CHECK(a->qpos0[i] == doctest::Approx(b->qpos0[i]).epsilon(1e-12));
    for (int i = 0; i < a->nbody; ++i) {
      CAPTURE(std::string(mj_id2name(a, mjOBJ_BODY, i) ? mj_id2name(a, mjOBJ_BODY, i) : "world"));
      CHECK(std::abs(a->body_mass[i] - b->body_mass[i]) < 1e-12);
      for (int k = 0; k < 3; ++k) CHECK(std::abs(a->body_inertia[3 * i + k] - b->body_inertia[3 * i + k]) < 1e-12);
    }
    for (int i = 0; i < a->nv; ++i) {
      CHECK(a->dof_damping[i] == b->dof_damping[i]);
      CHECK(a->dof_armature[i] == b->dof_armature[i]);
    }
    for (int j = 0; j < a->njnt; ++j) {
      CHECK(a->jnt_limited[j] == b->jnt_limited[j]);
      CHECK(a->jnt_stiffness[j] == b->jnt_stiffness[j]);
      for (int k = 0; k < 2; ++k) CHECK(std::abs(a->jnt_range[2 * j + k] - b->jnt_range[2 * j + k]) < 1e-12);
    }
    for (int u = 0; u < a->nu; ++u) CHECK(a->actuator_gear[6 * u] == b->actuator_gear[6 * u]);
    for (int g = 0; g < a->ngeom; ++g)
      for (int k = 0; k < 3; ++k) {
        CHECK(std::abs(a->geom_size[3 * g + k] - b->geom_size[3 * g + k]) < 1e-12);
        CHECK(a->geom_friction[3 * g + k] == b->geom_friction[3 * g + k]);
      }

    // The same world at rest: centres of mass, joint anchors and axes (the body frames differ:
    // ours sit at the joints, and gym anchors the root slides at the world origin).
    mjData* da = mj_makeData(a);
    mjData* db = mj_makeData(b);
    mj_forward(a, da);
    mj_forward(b, db);
    CHECK(max_abs_diff({da->xipos, static_cast<size_t>(3 * a->nbody)}, {db->xipos, static_cast<size_t>(3 * b->nbody)}) < 1e-12);
    CHECK(max_abs_diff({da->ximat, static_cast<size_t>(9 * a->nbody)}, {db->ximat, static_cast<size_t>(9 * b->nbody)}) < 1e-12);
    for (int j = 0; j < a->njnt; ++j) {
      if (a->jnt_type[j] != mjJNT_HINGE) continue;  // where a slide joint is anchored changes nothing
      CAPTURE(j);
      CHECK(max_abs_diff({da->xanchor + 3 * j, 3}, {db->xanchor + 3 * j, 3}) < 1e-12);
    }
    CHECK(max_abs_diff({da->xaxis, static_cast<size_t>(3 * a->njnt)}, {db->xaxis, static_cast<size_t>(3 * b->njnt)}) < 1e-12);
    mj_deleteData(da);
    mj_deleteData(db);
  }
}

TEST_CASE("rl env: the same action sequences give the same trajectories in our models and gym's") {
  if (!testing::have_shared_data("d4rl/gym_mujoco_assets")) return;
  for (Task task : kAllTasks) {
    const TaskRules& rules = task_rules(task);
    const std::string gym_id = rules.gym_id;
    CAPTURE(gym_id);
    const auto gyms = MujocoModel::from_file(testing::shared_data_dir() / "d4rl/gym_mujoco_assets" / rules.mjcf);
    for (uint64_t seed : {1, 2, 3}) {
      CAPTURE(seed);
      LocomotionEnv ours(task, seed), gym(task, gyms, seed);
      ours.reset();
      gym.reset();
      const auto actions = random_actions(rules.act_dim, 300, seed);
      double worst = 0;
      int64_t t = 0;
      for (; t < 300 && !ours.done(); ++t) {
        const StepResult ra = ours.step(actions[static_cast<size_t>(t)]);
        const StepResult rb = gym.step(actions[static_cast<size_t>(t)]);
        REQUIRE(ra.terminated == rb.terminated);
        worst = std::max({worst, max_abs_diff(ours.qpos(), gym.qpos()), max_abs_diff(ours.qvel(), gym.qvel()),
                          std::abs(ra.reward - rb.reward)});
      }
      CHECK(gym.done() == ours.done());
      MESSAGE(rules.gym_id, " seed ", seed, ": ", t, " steps, largest difference ", worst);
      CHECK(worst < 1e-6);
    }
  }
}

TEST_CASE("rl env: reward and termination follow gym v3's rules, step by step") {
  for (Task task : kAllTasks) {
    const TaskRules& rules = task_rules(task);
    const std::string gym_id = rules.gym_id;
    CAPTURE(gym_id);
    LocomotionEnv env(task, 7);
    const std::vector<double> obs0 = env.reset();
    REQUIRE(static_cast<int>(obs0.size()) == rules.obs_dim);
    // The observation is qpos without x, then qvel (clipped for Hopper and Walker2d).
    for (size_t i = 1; i < env.qpos().size(); ++i) CHECK(obs0[i - 1] == env.qpos()[i]);
    // Reset noise: within U(+-noise) of qpos0 for positions.
    const mjModel* m = MujocoModel::builtin(task)->get();
    for (int i = 0; i < m->nq; ++i) CHECK(std::abs(env.qpos()[static_cast<size_t>(i)] - m->qpos0[i]) <= rules.reset_noise);

    const std::vector<double> action = random_actions(rules.act_dim, 1, 3)[0];
    double a2 = 0;
    for (double a : action) a2 += a * a;
    const double x0 = env.qpos()[0];
    const StepResult r = env.step(action);
    const double expected = (env.qpos()[0] - x0) / (m->opt.timestep * rules.frame_skip) + rules.healthy_reward -
                            rules.ctrl_cost_weight * a2;
    CHECK(r.reward == doctest::Approx(expected).epsilon(1e-14));
    CHECK(env.dt() == doctest::Approx(task == Task::HalfCheetah ? 0.05 : 0.008));
    CHECK_FALSE(r.terminated);
  }

  // Hopper: tilted past 0.2 rad, or too low, is unhealthy after the step.
  LocomotionEnv hopper(Task::Hopper, 1);
  hopper.reset();
  std::vector<double> qpos(hopper.qpos().begin(), hopper.qpos().end()), qvel(6, 0.0);
  qpos[2] = 0.3;
  hopper.set_state(qpos, qvel);
  CHECK_FALSE(hopper.healthy());
  CHECK(hopper.step(std::vector<double>(3, 0.0)).terminated);
  CHECK(hopper.done());
  CHECK_THROWS_WITH_AS(hopper.step(std::vector<double>(3, 0.0)), doctest::Contains("after the episode ended"), Error);
  hopper.reset();
  qpos = {0, 1.25, 0, 0, 0, 0};
  qvel[3] = 150;  // hopper also requires every velocity inside (-100, 100)
  hopper.set_state(qpos, qvel);
  CHECK_FALSE(hopper.healthy());
  qvel[3] = 0;
  hopper.set_state(qpos, qvel);
  CHECK(hopper.healthy());

  // Walker2d: torso above 2.0 is unhealthy too (the range is open at both ends).
  LocomotionEnv walker(Task::Walker2d, 1);
  walker.reset();
  std::vector<double> wq(walker.qpos().begin(), walker.qpos().end()), wv(9, 0.0);
  wq[1] = 2.5;
  walker.set_state(wq, wv);
  CHECK_FALSE(walker.healthy());
}

TEST_CASE("rl env: a Hopper given zero actions falls and terminates; a HalfCheetah runs to the time limit") {
  LocomotionEnv hopper(Task::Hopper, 0);
  hopper.reset();
  StepResult r;
  int64_t steps = 0;
  while (!hopper.done()) {
    r = hopper.step(std::vector<double>(3, 0.0));
    ++steps;
  }
  CHECK(r.terminated);
  CHECK_FALSE(r.truncated);
  CHECK(steps < 200);
  const double z = hopper.qpos()[1], angle = hopper.qpos()[2];
  CHECK((z <= 0.7 || std::abs(angle) >= 0.2));
  MESSAGE("zero-action Hopper fell after ", steps, " steps (z ", z, ", angle ", angle, ")");

  LocomotionEnv cheetah(Task::HalfCheetah, 0);
  cheetah.reset();
  steps = 0;
  while (!cheetah.done()) {
    r = cheetah.step(std::vector<double>(6, 0.0));
    ++steps;
  }
  CHECK(steps == LocomotionEnv::kMaxEpisodeSteps);
  CHECK(r.truncated);
  CHECK_FALSE(r.terminated);
}

TEST_CASE("rl env: seeded resets; replaying recorded states reproduces observations and rewards") {
  for (Task task : kAllTasks) {
    const TaskRules& rules = task_rules(task);
    const std::string gym_id = rules.gym_id;
    CAPTURE(gym_id);
    LocomotionEnv a(task, 11), b(task, 11), c(task, 12);
    CHECK(a.reset() == b.reset());
    CHECK(a.reset() == b.reset());  // the second episode too
    CHECK(c.reset() != b.reset());

    // Record (qpos, qvel) before each step with its action, observation and reward ...
    LocomotionEnv rec(task, 5);
    rec.reset();
    const auto actions = random_actions(rules.act_dim, 200, 9);
    std::vector<std::vector<double>> qpos, qvel, obs;
    std::vector<double> rewards;
    for (const auto& action : actions) {
      if (rec.done()) break;
      qpos.emplace_back(rec.qpos().begin(), rec.qpos().end());
      qvel.emplace_back(rec.qvel().begin(), rec.qvel().end());
      const StepResult r = rec.step(action);
      obs.push_back(r.obs);
      rewards.push_back(r.reward);
    }
    // ... then replay each step from its recorded state in a fresh environment. MuJoCo warm-starts
    // its contact solver from the previous step, which a replay does not have: close, not bitwise.
    LocomotionEnv replay(task, 99);
    double worst = 0;
    for (size_t t = 0; t < qpos.size(); ++t) {
      replay.set_state(qpos[t], qvel[t]);
      const StepResult r = replay.step(actions[t]);
      worst = std::max({worst, max_abs_diff(r.obs, obs[t]), std::abs(r.reward - rewards[t])});
    }
    MESSAGE(rules.gym_id, ": replayed ", qpos.size(), " steps, largest difference ", worst);
    CHECK(worst < 1e-6);
  }
}

TEST_CASE("rl env: a batch of environments steps like each environment alone") {
  EnvBatch batch(Task::Walker2d, 4, 20);
  const auto obs = batch.reset();
  REQUIRE(obs.size() == 4);
  std::vector<LocomotionEnv> alone;
  for (uint64_t i = 0; i < 4; ++i) {
    alone.emplace_back(Task::Walker2d, 20 + i);
    CHECK(alone.back().reset() == obs[i]);
  }
  const auto actions = random_actions(6 * 4, 100, 4);
  for (const auto& a : actions) {
    if (batch.running() == 0) break;
    const auto results = batch.step(a);
    for (size_t i = 0; i < 4; ++i) {
      if (alone[i].done()) {
        CHECK(results[i].obs.empty());
        continue;
      }
      const StepResult r = alone[i].step(std::span<const double>(a).subspan(6 * i, 6));
      CHECK(r.obs == results[i].obs);
      CHECK(r.reward == results[i].reward);
      CHECK(r.terminated == results[i].terminated);
    }
  }
}

TEST_CASE("rl env: bad input gets a clear error") {
  LocomotionEnv env(Task::Hopper, 0);
  CHECK_THROWS_WITH_AS(env.step(std::vector<double>(3, 0.0)), doctest::Contains("before reset"), Error);
  env.reset();
  CHECK_THROWS_WITH_AS(env.step(std::vector<double>(2, 0.0)), doctest::Contains("action has 2 values, expected 3"), Error);
  CHECK_THROWS_WITH_AS(env.step(std::vector<double>{0.0, NAN, 0.0}), doctest::Contains("action[1]"), Error);
  CHECK_THROWS_WITH_AS(parse_task("ant"), doctest::Contains("expected hopper, walker2d or halfcheetah"), Error);
  CHECK_THROWS_WITH_AS(MujocoModel::from_xml("<mujoco><worldbody><body></mujoco>", "broken.xml"),
                       doctest::Contains("broken.xml"), Error);
  CHECK_THROWS_WITH_AS(LocomotionEnv(Task::Walker2d, MujocoModel::builtin(Task::Hopper), 0),
                       doctest::Contains("Walker2d-v3 expects nq = nv = 9, nu 6"), Error);
}

#else
TEST_CASE("rl env: SKIPPED") { MESSAGE("SKIPPED: libmujoco not found at configure time (Debian: libmujoco-dev)"); }
#endif
