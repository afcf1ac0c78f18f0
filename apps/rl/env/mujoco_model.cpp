#include "apps/rl/env/mujoco_model.h"

#include <mujoco/mujoco.h>

#include <cstring>
#include <map>
#include <mutex>

#include "core/error.h"

namespace cfx::rl {

// Generated at build time from apps/rl/env/models/*.xml (apps/rl/env/embedded_models.cpp.in).
const char* embedded_mjcf(const char* file_name);

std::shared_ptr<const MujocoModel> MujocoModel::from_xml(const std::string& xml, const std::string& name) {
  // mj_loadXML reads files only, so the text goes into a virtual file system first. mjVFS
  // holds 2000 file-name slots of 1000 bytes: too big for the stack.
  auto vfs = std::make_unique<mjVFS>();
  mj_defaultVFS(vfs.get());
  const std::string file = "model.xml";
  CFX_CHECK(mj_makeEmptyFileVFS(vfs.get(), file.c_str(), static_cast<int>(xml.size())) == 0,
            "MuJoCo: cannot make a virtual file for ", name);
  const int index = mj_findFileVFS(vfs.get(), file.c_str());
  std::memcpy(vfs->filedata[index], xml.data(), xml.size());
  char error[1000] = "";
  mjModel* model = mj_loadXML(file.c_str(), vfs.get(), error, sizeof(error));
  mj_deleteVFS(vfs.get());
  CFX_CHECK(model != nullptr, "MuJoCo could not compile ", name, ": ", error);
  return std::shared_ptr<const MujocoModel>(new MujocoModel(model, name));
}

std::shared_ptr<const MujocoModel> MujocoModel::from_file(const std::filesystem::path& path) {
  CFX_CHECK(std::filesystem::is_regular_file(path), "MuJoCo model: no file ", path.string());
  char error[1000] = "";
  mjModel* model = mj_loadXML(path.c_str(), nullptr, error, sizeof(error));
  CFX_CHECK(model != nullptr, "MuJoCo could not compile ", path.string(), ": ", error);
  return std::shared_ptr<const MujocoModel>(new MujocoModel(model, path.string()));
}

const std::string& MujocoModel::builtin_xml(Task task) {
  static const std::map<Task, std::string> texts = [] {
    std::map<Task, std::string> m;
    for (Task t : {Task::Hopper, Task::Walker2d, Task::HalfCheetah}) m[t] = embedded_mjcf(task_rules(t).mjcf);
    return m;
  }();
  return texts.at(task);
}

std::shared_ptr<const MujocoModel> MujocoModel::builtin(Task task) {
  // Compiled once per task and process: rollouts make many environments.
  static std::mutex mu;
  static std::map<Task, std::shared_ptr<const MujocoModel>> cache;
  std::lock_guard lock(mu);
  auto& slot = cache[task];
  if (!slot) slot = from_xml(builtin_xml(task), std::string("apps/rl/env/models/") + task_rules(task).mjcf);
  return slot;
}

MujocoModel::~MujocoModel() { mj_deleteModel(model_); }
int MujocoModel::nq() const { return model_->nq; }
int MujocoModel::nv() const { return model_->nv; }
int MujocoModel::nu() const { return model_->nu; }
double MujocoModel::timestep() const { return model_->opt.timestep; }

}  // namespace cfx::rl
