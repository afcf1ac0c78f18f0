// A compiled MuJoCo model (an owned mjModel), loaded from MJCF text or a file. One is shared,
// read-only, by every environment of a task; each environment owns its mjData.
//
//   auto model = MujocoModel::builtin(Task::Hopper);          // apps/rl/env/models/hopper.xml
//   auto gyms  = MujocoModel::from_file("gym/hopper.xml");    // any MJCF file
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "apps/rl/env/tasks.h"

struct mjModel_;

namespace cfx::rl {

class MujocoModel {
 public:
  // Compiles MJCF text; `name` is what errors call it. Throws cfx::Error with MuJoCo's message.
  static std::shared_ptr<const MujocoModel> from_xml(const std::string& xml, const std::string& name);
  static std::shared_ptr<const MujocoModel> from_file(const std::filesystem::path& path);
  // The task's model as this repository ships it (embedded in the binary at build time).
  static std::shared_ptr<const MujocoModel> builtin(Task task);
  // The MJCF text of builtin(task).
  static const std::string& builtin_xml(Task task);

  ~MujocoModel();
  MujocoModel(const MujocoModel&) = delete;
  MujocoModel& operator=(const MujocoModel&) = delete;

  const mjModel_* get() const { return model_; }
  const std::string& name() const { return name_; }
  int nq() const;
  int nv() const;
  int nu() const;
  double timestep() const;

 private:
  MujocoModel(mjModel_* model, std::string name) : model_(model), name_(std::move(name)) {}
  mjModel_* model_;
  std::string name_;
};

}  // namespace cfx::rl
