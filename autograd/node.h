// autograd::Node: one recorded op in the define-by-run graph.
//
// Every Conflux op has exactly one output, so a Node maps one output gradient to one
// gradient per input. The derivative formula is NOT here: each op passes its backward as a
// lambda written right under its forward (ops/*.cpp), e.g.
//
//   Tensor out = ...forward...;
//   autograd::record("mul", out, {a, b}, [a = a.detach(), b = b.detach()](const Tensor& g, const NeedsGrad& needs) {
//     return grads{needs[0] ? g * b : Tensor(), needs[1] ? g * a : Tensor()};
//   });
//
// Capture inputs and outputs with .detach(): a node that held its own output with history
// would own itself through grad_fn and never be freed (STYLE.md hazard e.1).
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace cfx::autograd {

class Node;
using NeedsGrad = std::vector<bool>;
using grads = std::vector<Tensor>;
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output, const NeedsGrad& needs)>;

// Where the gradient for one input goes: into another node, into a leaf's .grad, or nowhere.
struct Edge {
  std::shared_ptr<Node> node;
  std::shared_ptr<TensorImpl> leaf;
  bool needed() const { return node || leaf; }
};

class Node {
 public:
  Node(std::string name, std::vector<Edge> next, std::vector<Shape> input_shapes, Shape output_shape,
       BackwardFn backward);
  // Frees the chain of nodes above it iteratively: a long recurrence would otherwise be
  // destroyed recursively, one stack frame per node, and overflow the stack.
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const std::string& name() const { return name_; }
  const std::vector<Edge>& next_edges() const { return next_; }
  const Shape& output_shape() const { return output_shape_; }
  const NeedsGrad& needs_input_grad() const { return needs_; }
  const std::vector<Shape>& input_shapes() const { return input_shapes_; }
  // Anomaly mode only (autograd/anomaly.h): the backtrace of the forward that made this node;
  // empty when anomaly mode was off then.
  const std::vector<void*>& creation_site() const { return creation_site_; }
  void set_creation_site(std::vector<void*> frames) { creation_site_ = std::move(frames); }

  // Runs the backward formula; checks every returned gradient's shape.
  std::vector<Tensor> apply(const Tensor& grad_output);
  // Drops the saved tensors; a later apply() throws (backward through a freed graph).
  void release() { backward_ = nullptr; }

 private:
  std::string name_;
  std::vector<Edge> next_;
  std::vector<Shape> input_shapes_;
  Shape output_shape_;
  NeedsGrad needs_;
  BackwardFn backward_;
  std::vector<void*> creation_site_;
};

// True when grad mode is on and some input requires grad: the op must record a node.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Attaches a node to `out` (which becomes a non-leaf requiring grad) when needs_grad(inputs).
// Inputs that do not require grad get an empty edge and needs[i] == false. In anomaly mode
// (autograd/grad_mode.h) it first checks `out` for NaN/Inf and keeps a backtrace in the node.
void record(const char* name, Tensor& out, const std::vector<Tensor>& inputs, BackwardFn backward);

}  // namespace cfx::autograd
