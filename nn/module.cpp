// nn::Module bookkeeping: registration, dotted names, state dicts, modes, dtype/device moves.
#include "nn/module.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "autograd/grad_mode.h"

namespace cfx::nn {

namespace {

// Points every handle of `t` (they share the impl) at `src`'s data, like libtorch set_data.
void replace_data(const Tensor& t, const Tensor& src) {
  TensorImpl* impl = t.unsafe_impl();
  impl->storage = src.storage();
  impl->sizes = src.shape();
  impl->strides = src.strides();
  impl->offset = src.offset();
  impl->dtype = src.dtype();
  impl->grad.reset();  // a gradient of the old dtype/device would no longer match
}

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

}  // namespace

void Module::check_new_name(const std::string& name, const char* what) const {
  CFX_CHECK(!name.empty() && name.find('.') == std::string::npos, type_name_, ": ", what,
            " name must be non-empty and contain no '.', got '", name, "'");
  for (const auto& e : params_) CFX_CHECK(e.name != name, type_name_, ": '", name, "' is already a parameter");
  for (const auto& e : buffers_) CFX_CHECK(e.name != name, type_name_, ": '", name, "' is already a buffer");
  for (const auto& c : children_) CFX_CHECK(c.first != name, type_name_, ": '", name, "' is already a submodule");
}

Tensor Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
  check_new_name(name, "parameter");
  CFX_CHECK(value.defined(), type_name_, ": parameter '", name, "' is an undefined tensor");
  CFX_CHECK(is_floating(value.dtype()), type_name_, ": parameter '", name, "' must be float32/float64, got ",
            value.dtype());
  Tensor leaf = value.detach();
  leaf.requires_grad_(requires_grad);
  params_.push_back({name, leaf, true});
  return leaf;
}

Tensor Module::register_buffer(const std::string& name, Tensor value, bool persistent) {
  check_new_name(name, "buffer");
  CFX_CHECK(value.defined(), type_name_, ": buffer '", name, "' is an undefined tensor");
  Tensor t = value.detach();
  buffers_.push_back({name, t, persistent});
  return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> child) {
  check_new_name(name, "submodule");
  CFX_CHECK(child != nullptr, type_name_, ": submodule '", name, "' is null");
  children_.emplace_back(name, std::move(child));
}

// Calls fn(prefix, module) for this module and every descendant, parents first.
template <class Fn>
void Module::visit(const std::string& prefix, Fn&& fn) const {
  fn(prefix, *this);
  for (const auto& [name, child] : children_) child->visit(join(prefix, name), fn);
}

StateDict Module::named_parameters(bool recurse) const {
  StateDict out;
  if (!recurse) {
    for (const auto& e : params_) out.emplace_back(e.name, e.tensor);
    return out;
  }
  visit("", [&](const std::string& prefix, const Module& m) {
    for (const auto& e : m.params_) out.emplace_back(join(prefix, e.name), e.tensor);
  });
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

StateDict Module::named_buffers(bool recurse) const {
  StateDict out;
  if (!recurse) {
    for (const auto& e : buffers_) out.emplace_back(e.name, e.tensor);
    return out;
  }
  visit("", [&](const std::string& prefix, const Module& m) {
    for (const auto& e : m.buffers_) out.emplace_back(join(prefix, e.name), e.tensor);
  });
  return out;
}

StateDict Module::state_dict() const {
  StateDict out;
  visit("", [&](const std::string& prefix, const Module& m) {
    for (const auto& e : m.params_) out.emplace_back(join(prefix, e.name), e.tensor);
    for (const auto& e : m.buffers_)
      if (e.persistent) out.emplace_back(join(prefix, e.name), e.tensor);
  });
  return out;
}

void Module::load_state_dict(const StateDict& state, bool strict) {
  const StateDict mine = state_dict();
  std::map<std::string, const Tensor*> given;
  for (const auto& [key, t] : state) {
    CFX_CHECK(given.emplace(key, &t).second, "load_state_dict: key '", key, "' appears twice");
  }
  std::ostringstream problems;
  int n_problems = 0;
  std::map<std::string, bool> expected;
  for (const auto& [key, dst] : mine) {
    expected[key] = true;
    auto it = given.find(key);
    if (it == given.end()) {
      if (strict) problems << "\n  missing key '" << key << "' (module shape " << shape_str(dst.shape()) << ")", ++n_problems;
    } else if (it->second->shape() != dst.shape()) {
      problems << "\n  shape mismatch for '" << key << "': checkpoint " << shape_str(it->second->shape())
               << " vs module " << shape_str(dst.shape()), ++n_problems;
    }
  }
  if (strict)
    for (const auto& [key, t] : state)
      if (!expected.count(key))
        problems << "\n  unexpected key '" << key << "' (checkpoint shape " << shape_str(t.shape()) << ")", ++n_problems;
  CFX_CHECK(n_problems == 0, "load_state_dict: ", n_problems, " problem(s) loading into ", type_name_, ":",
            problems.str());

  NoGradGuard no_grad;
  for (const auto& [key, dst] : mine) {
    auto it = given.find(key);
    if (it == given.end()) continue;
    Tensor d = dst;
    d.copy_(*it->second);
  }
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (auto& [name, p] : named_parameters()) {
    if (!p.grad().defined()) continue;
    if (set_to_none) p.unsafe_impl()->grad.reset();
    else p.grad().zero_();
  }
}

Module& Module::to(DType dtype) {
  CFX_CHECK(is_floating(dtype), type_name_, ".to: modules convert to float32 or float64, got ", dtype);
  NoGradGuard no_grad;
  visit("", [&](const std::string&, const Module& m) {
    for (const auto& e : m.params_)
      if (e.tensor.dtype() != dtype) replace_data(e.tensor, e.tensor.detach().to(dtype));
    for (const auto& e : m.buffers_)
      if (is_floating(e.tensor.dtype()) && e.tensor.dtype() != dtype) replace_data(e.tensor, e.tensor.detach().to(dtype));
  });
  return *this;
}

Module& Module::to(Device device) {
  NoGradGuard no_grad;
  visit("", [&](const std::string&, const Module& m) {
    for (const auto* list : {&m.params_, &m.buffers_})
      for (const auto& e : *list)
        if (e.tensor.device() != device) replace_data(e.tensor, e.tensor.detach().to(device));
  });
  return *this;
}

std::string Module::str() const {
  std::ostringstream os;
  int64_t total = 0;
  visit("", [&](const std::string& prefix, const Module& m) {
    const auto depth = prefix.empty() ? 0 : std::count(prefix.begin(), prefix.end(), '.') + 1;
    const std::string indent(2 * depth, ' ');
    const std::string last = prefix.substr(prefix.rfind('.') == std::string::npos ? 0 : prefix.rfind('.') + 1);
    os << indent << (prefix.empty() ? "" : last + ": ") << m.type_name_ << "\n";
    for (const auto& e : m.params_) {
      os << indent << "  " << e.name << " " << shape_str(e.tensor.shape()) << "\n";
      total += e.tensor.numel();
    }
    for (const auto& e : m.buffers_)
      os << indent << "  " << e.name << " " << shape_str(e.tensor.shape()) << " (buffer"
         << (e.persistent ? "" : ", not saved") << ")\n";
  });
  os << "parameters: " << total << "\n";
  return os.str();
}

}  // namespace cfx::nn
