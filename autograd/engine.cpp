#include "autograd/engine.h"

#include <unordered_map>
#include <vector>

#include "autograd/anomaly.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/detail/static_tls.h"
#include "core/kernels.h"
#include "core/profiler.h"

namespace cfx {

namespace {
CFX_STATIC_TLS thread_local bool grad_mode = true;
// Anomaly mode, per thread; kAnomalyUnset until the thread's first query takes the process
// default (CONFLUX_DETECT_ANOMALY). record() tests `!= kAnomalyOff` inline first, so when off
// the whole cost is that read (one %fs-relative load: CFX_STATIC_TLS) and one predictable branch.
enum : signed char { kAnomalyOff = 0, kAnomalyOn = 1, kAnomalyUnset = 2 };
CFX_STATIC_TLS thread_local signed char anomaly_mode = kAnomalyUnset;
}  // namespace
bool grad_mode_enabled() { return grad_mode; }
void set_grad_mode_enabled(bool enabled) { grad_mode = enabled; }

namespace autograd {

bool anomaly_mode_enabled() {
  if (anomaly_mode == kAnomalyUnset) anomaly_mode = anomaly_mode_default() ? kAnomalyOn : kAnomalyOff;
  return anomaly_mode == kAnomalyOn;
}
void set_anomaly_mode_enabled(bool enabled) { anomaly_mode = enabled ? kAnomalyOn : kAnomalyOff; }
void forget_thread_anomaly_mode() { anomaly_mode = kAnomalyUnset; }

Node::Node(std::string name, std::vector<Edge> next, std::vector<Shape> input_shapes, Shape output_shape,
           BackwardFn backward)
    : name_(std::move(name)), next_(std::move(next)), input_shapes_(std::move(input_shapes)),
      output_shape_(std::move(output_shape)), backward_(std::move(backward)) {
  for (const Edge& e : next_) needs_.push_back(e.needed());
}

Node::~Node() {
  std::vector<std::shared_ptr<Node>> doomed;
  for (Edge& e : next_)
    if (e.node) doomed.push_back(std::move(e.node));
  while (!doomed.empty()) {
    std::shared_ptr<Node> n = std::move(doomed.back());
    doomed.pop_back();
    if (n.use_count() == 1)  // we hold the last reference: take its inputs before it dies
      for (Edge& e : n->next_)
        if (e.node) doomed.push_back(std::move(e.node));
  }
}

std::vector<Tensor> Node::apply(const Tensor& grad_output) {
  CFX_CHECK(backward_, "backward: trying to backward through the graph a second time (at node '",
            name_, "'); its saved tensors were freed. Pass retain_graph=true to the first backward.");
  std::vector<Tensor> result = backward_(grad_output, needs_);
  CFX_CHECK(result.size() == next_.size(), "backward of '", name_, "': returned ", result.size(),
            " gradients for ", next_.size(), " inputs");
  for (size_t i = 0; i < result.size(); ++i) {
    if (!needs_[i] || !result[i].defined()) continue;
    CFX_CHECK(result[i].shape() == input_shapes_[i], "backward of '", name_, "': gradient for input ",
              i, " has shape ", result[i].shape(), ", expected the input's shape ", input_shapes_[i]);
  }
  return result;
}

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!grad_mode_enabled()) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!grad_mode_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(const char* name, Tensor& out, const std::vector<Tensor>& inputs, BackwardFn backward) {
  if (!needs_grad(inputs)) return;
  std::vector<void*> site;
  if (anomaly_mode != kAnomalyOff) [[unlikely]] {
    if (anomaly_mode_enabled()) {
      site = capture_creation_site();
      check_forward_output(name, out, inputs, site);
    }
  }
  std::vector<Edge> edges;
  std::vector<Shape> shapes;
  for (const Tensor& t : inputs) {
    Edge e;
    if (t.defined() && t.requires_grad()) {
      if (t.grad_fn()) e.node = t.grad_fn();
      else e.leaf = t.impl_ptr();
    }
    edges.push_back(std::move(e));
    shapes.push_back(t.defined() ? t.shape() : Shape{});
  }
  out.unsafe_impl()->grad_fn =
      std::make_shared<Node>(name, std::move(edges), std::move(shapes), out.shape(), std::move(backward));
  if (!site.empty()) [[unlikely]] out.unsafe_impl()->grad_fn->set_creation_site(std::move(site));
  out.unsafe_impl()->requires_grad = true;
}

namespace {

// The engine sums gradients through the kernel table (core/kernels.h), not through ops:
// autograd sits below ops, and nothing here must record history anyway.
Tensor sum_of(const Tensor& a, const Tensor& b) {
  CFX_CHECK(a.shape() == b.shape() && a.dtype() == b.dtype() && a.device() == b.device(),
            "backward: cannot add gradients of shape ", a.shape(), " (", a.dtype(), ", ", a.device(), ") and ",
            b.shape(), " (", b.dtype(), ", ", b.device(), ")");
  Tensor out = detail::make_empty(a.shape(), a.dtype(), a.device());
  binary_kernel(a.device(), BinaryOp::Add, a, b, out);
  return out;
}

Tensor filled_like(const Tensor& t, double value) {
  Tensor out = detail::make_empty(t.shape(), t.dtype(), t.device());
  fill_kernel(t.device(), out, value);
  return out;
}

void accumulate_into_leaf(TensorImpl& leaf, const Tensor& g) {
  CFX_CHECK(g.shape() == leaf.sizes, "backward: gradient of shape ", g.shape(),
            " does not match leaf of shape ", leaf.sizes);
  if (!leaf.grad) {
    // Own a fresh copy: `g` may alias another input's gradient (add returns g for both).
    Tensor copy = detail::make_empty(g.shape(), g.dtype(), g.device());
    copy_kernel(g.device(), copy, g);
    leaf.grad = copy.impl_ptr();
  } else {
    Tensor acc(leaf.grad);  // in place, as torch accumulates into .grad
    copy_kernel(acc.device(), acc, sum_of(acc, g));
  }
}

}  // namespace

void backward(const Tensor& root, const Tensor& grad_in, bool retain_graph) {
  CFX_CHECK(root.requires_grad(), "backward: the tensor does not require grad and has no grad_fn "
            "(did you forget requires_grad_() on a leaf, or run the forward under NoGradGuard?)");
  Tensor grad = grad_in;
  if (!grad.defined()) {
    CFX_CHECK(root.numel() == 1, "backward: grad can be implicitly created only for scalar outputs; "
              "got a tensor of shape ", root.shape(), ", pass a gradient of that shape");
    grad = filled_like(root, 1.0);
  }
  CFX_CHECK(grad.shape() == root.shape(), "backward: gradient has shape ", grad.shape(),
            ", expected the output's shape ", root.shape());
  NoGradGuard no_grad;
  const bool anomaly = anomaly_mode_enabled();
  if (!root.grad_fn()) {
    accumulate_into_leaf(*root.unsafe_impl(), grad);
    return;
  }

  // Count, for every node above the root, how many edges point at it (iterative DFS:
  // graph depth can exceed the C++ stack in long recurrences).
  std::unordered_map<Node*, int> pending;
  std::vector<Node*> stack{root.grad_fn().get()};
  pending[root.grad_fn().get()] = 0;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges()) {
      if (!e.node) continue;
      auto [it, fresh] = pending.try_emplace(e.node.get(), 0);
      ++it->second;
      if (fresh) stack.push_back(e.node.get());
    }
  }

  // Kahn's algorithm: a node runs once every consumer has sent its gradient.
  std::unordered_map<Node*, Tensor> grads_of{{root.grad_fn().get(), grad}};
  std::vector<std::shared_ptr<Node>> ready{root.grad_fn()};
  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    Tensor g = std::move(grads_of[node.get()]);
    grads_of.erase(node.get());
    // No consumer produced a gradient (e.g. every path went through argmax): nothing flows.
    std::vector<Tensor> input_grads;
    {
      const profiler::Range range(node->name().c_str(), profiler::RangeKind::backward);
      input_grads = g.defined() ? node->apply(g) : std::vector<Tensor>(node->next_edges().size());
    }
    if (anomaly) [[unlikely]]
      for (size_t i = 0; i < input_grads.size(); ++i)
        if (node->needs_input_grad()[i] && input_grads[i].defined())
          check_backward_gradient(*node, i, input_grads[i], g);
    for (size_t i = 0; i < input_grads.size(); ++i) {
      const Edge& e = node->next_edges()[i];
      if (!e.needed() || !input_grads[i].defined()) {
        if (e.node && --pending[e.node.get()] == 0) ready.push_back(e.node);
        continue;
      }
      if (e.leaf) {
        accumulate_into_leaf(*e.leaf, input_grads[i]);
        continue;
      }
      Tensor& slot = grads_of[e.node.get()];
      slot = slot.defined() ? sum_of(slot, input_grads[i]) : input_grads[i];
      if (--pending[e.node.get()] == 0) ready.push_back(e.node);
    }
    if (!retain_graph) node->release();
  }
}

}  // namespace autograd

// ---- Tensor's autograd methods ---------------------------------------------------------

Tensor& Tensor::requires_grad_(bool enabled) {
  CFX_CHECK(is_leaf() || enabled, "requires_grad_: only leaf tensors can stop requiring grad; "
            "use detach() on a result of an op");
  CFX_CHECK(!enabled || is_floating(dtype()), "requires_grad_: only float tensors can require grad, got ",
            dtype());
  unsafe_impl()->requires_grad = enabled;
  return *this;
}

std::string Tensor::grad_fn_name() const { return grad_fn() ? grad_fn()->name() : std::string(); }

Tensor Tensor::detach() const { return detail::make_view(*this, shape(), strides(), offset()); }

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  autograd::backward(*this, grad, retain_graph);
}

}  // namespace cfx
