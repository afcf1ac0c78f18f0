// Checkpoints, state.json and the resumable batch stream (see run_state.h).
#include "apps/common/run_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "apps/common/cli.h"
#include "core/error.h"
#include "core/generator.h"
#include "nn/checkpoint.h"

namespace cfx::app {

namespace fs = std::filesystem;

void write_file_atomically(const fs::path& path, const std::string& text) {
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    CFX_CHECK(f.is_open(), "cannot write '", tmp.string(), "'");
    f << text;
    f.flush();
    CFX_CHECK(f.good(), "write error on '", tmp.string(), "'");
  }
  fs::rename(tmp, path);
}

std::string read_file(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  CFX_CHECK(f.is_open(), "cannot read '", path.string(), "'");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

namespace {

// Step checkpoints in `out`, oldest first.
std::vector<std::pair<int64_t, fs::path>> step_checkpoints(const fs::path& out) {
  std::vector<std::pair<int64_t, fs::path>> found;
  for (const auto& entry : fs::directory_iterator(out)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 8 && name.rfind("ckpt_", 0) == 0 && name.substr(name.size() - 3) == ".h5") {
      try {
        found.emplace_back(std::stoll(name.substr(5, name.size() - 8)), entry.path());
      } catch (const std::exception&) {  // not one of ours
      }
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace

void write_run_state(const fs::path& out, const RunState& state) {
  app::JsonObject json{{"checkpoint", state.checkpoint},
                       {"step", state.step},
                       {"epoch", state.epoch},
                       {"batch", state.batch},
                       {"rng_seed", static_cast<int64_t>(state.rng_seed)},
                       {"rng_offset", static_cast<int64_t>(state.rng_offset)},
                       {"elapsed_s", state.elapsed_s}};
  if (state.best) {
    json.emplace_back("best", *state.best);
    json.emplace_back("best_step", state.best_step);
  }
  write_file_atomically(out / "state.json", app::to_json(json) + "\n");
}

void save_run(const fs::path& out, const nn::Module& model, const nn::Optimizer& optimizer, RunState& state,
              int64_t keep) {
  fs::create_directories(out);
  state.checkpoint = fmt::format("ckpt_{:06}.h5", state.step);
  nn::save(model, optimizer, out / state.checkpoint);
  write_run_state(out, state);
  auto all = step_checkpoints(out);
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i)
    if (all[i].second.filename() != state.checkpoint) fs::remove(all[i].second);
}

void clear_run(const fs::path& out) {
  if (!fs::exists(out)) return;
  for (const auto& [step, file] : step_checkpoints(out)) fs::remove(file);
  fs::remove(out / "state.json");
}

std::optional<RunState> read_run_state(const fs::path& out) {
  const fs::path file = out / "state.json";
  if (!fs::exists(file)) return std::nullopt;
  const auto json = app::parse_json_object(read_file(file));
  auto get = [&](const char* key) -> const app::JsonValue& {
    auto it = json.find(key);
    CFX_CHECK(it != json.end(), "run state: '", file.string(), "' has no \"", key, "\"");
    return it->second;
  };
  RunState s;
  CFX_CHECK(std::holds_alternative<std::string>(get("checkpoint")), "run state: '", file.string(),
            "': \"checkpoint\" must be a string");
  s.checkpoint = std::get<std::string>(get("checkpoint"));
  s.step = static_cast<int64_t>(app::json_number(get("step")));
  s.epoch = static_cast<int64_t>(app::json_number(get("epoch")));
  s.batch = static_cast<int64_t>(app::json_number(get("batch")));
  s.rng_seed = static_cast<uint64_t>(std::get<int64_t>(get("rng_seed")));
  s.rng_offset = static_cast<uint64_t>(std::get<int64_t>(get("rng_offset")));
  s.elapsed_s = app::json_number(get("elapsed_s"));
  if (json.count("best")) {  // only runs that track a metric have it
    s.best = app::json_number(get("best"));
    s.best_step = static_cast<int64_t>(app::json_number(get("best_step")));
  }
  return s;
}

void load_run(const fs::path& out, const RunState& state, nn::Module& model, nn::Optimizer& optimizer) {
  nn::load(model, optimizer, out / state.checkpoint);
}

void capture_rng(RunState& state) {
  Generator& g = default_generator();
  state.rng_seed = g.seed();
  state.rng_offset = g.reserve(0);  // reserving nothing returns the next counter
}

void restore_rng(const RunState& state) {
  Generator& g = default_generator();
  g.manual_seed(state.rng_seed);
  g.reserve(state.rng_offset);
}

}  // namespace cfx::app
