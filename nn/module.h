// nn::Module: the base of everything with parameters, like torch.nn.Module / libtorch's Module.
//
// A layer registers its tensors and children by name in its constructor and writes its own
// `forward`; everything else (naming, state dicts, train/eval, zero_grad, dtype/device moves,
// printing) lives here, driven by the registered names (STYLE.md practice 12, anti-pattern d.9):
//
//   struct Linear : Module {
//     Linear(int64_t in, int64_t out) : Module("Linear") {
//       weight = register_parameter("weight", ...);   // key "weight"
//     }
//     Tensor forward(const Tensor& x) const { return linear(x, weight, bias); }
//     Tensor weight, bias;
//   };
//   model->register_module("encoder", std::make_shared<Encoder>(...));  // keys "encoder.*"
//
// Keys come out of the tree exactly as PyTorch builds them: "encoder.layers.0.attn.query_projection.weight".
// Member handles and the registry share one TensorImpl, so to(dtype)/to(device) and
// load_state_dict update both. Not here: forward signatures (each module declares its own,
// as in libtorch), serialisation to files (nn/checkpoint.h), optimisers (nn/optim.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace cfx::nn {

// Ordered (key, tensor) pairs: registration order, parents before children, like PyTorch.
using StateDict = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  explicit Module(std::string type_name = "Module") : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;             // modules are shared (std::shared_ptr), not copied
  Module& operator=(const Module&) = delete;

  // ---- registration (call from constructors) -----------------------------------------
  // A trainable leaf: detached from any history, requires_grad set. Returns the handle to keep.
  Tensor register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  // State that is not trained (running statistics, fixed tables). Non-persistent buffers
  // are moved by to() but left out of state_dict(), like PyTorch's persistent=False.
  Tensor register_buffer(const std::string& name, Tensor value, bool persistent = true);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

  // ---- the tree ------------------------------------------------------------------------
  StateDict named_parameters(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  StateDict named_buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }
  // Parameters then persistent buffers of every module, dotted keys (PyTorch order per module).
  StateDict state_dict() const;
  // Copies values into the registered tensors (no autograd, dtype converted to each tensor's
  // own). Checks everything first and changes nothing on error; the error lists every missing
  // key, unexpected key and shape mismatch with both shapes. strict=false ignores missing
  // and unexpected keys (shapes are still checked).
  void load_state_dict(const StateDict& state, bool strict = true);
  int64_t num_parameters() const;

  // ---- modes and moves -------------------------------------------------------------------
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // set_to_none (default, like PyTorch 2): grads become undefined; else they are zeroed.
  void zero_grad(bool set_to_none = true);
  // Converts floating parameters and buffers in place (every handle sees the change);
  // gradients are dropped. Integer buffers keep their dtype.
  Module& to(DType dtype);
  Module& to(Device device);

  const std::string& type_name() const { return type_name_; }
  // The tree with every parameter's shape, one line each.
  std::string str() const;

 private:
  struct Entry {
    std::string name;
    Tensor tensor;
    bool persistent = true;
  };
  void add_child(const std::string& name, std::shared_ptr<Module> child);
  void check_new_name(const std::string& name, const char* what) const;
  template <class Fn> void visit(const std::string& prefix, Fn&& fn) const;

  std::string type_name_;
  bool training_ = true;
  std::vector<Entry> params_;
  std::vector<Entry> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// An indexed list of submodules, registered as "0", "1", ... (torch.nn.ModuleList), so keys
// read "layers.3.norm1.weight".
template <class M>
class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}
  void push_back(std::shared_ptr<M> m) { items_.push_back(register_module(std::to_string(items_.size()), std::move(m))); }
  M& operator[](size_t i) const { return *items_.at(i); }
  size_t size() const { return items_.size(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<std::shared_ptr<M>> items_;
};

}  // namespace cfx::nn
